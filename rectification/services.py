"""Rectification (整改) services: the plan's header and records, the items and their flow steps.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import audit, evidence
from governance.chinese_dates import chinese_date
from governance.input_rules import date_problem
from grid.access import scope
from rectification.rectification_flow import (
    complete_step,
    current_step,
    ensure_flow,
    notify_committee_of_verdict,
)

from . import states
from .models import (
    Accountability,
    MoneyRecovered,
    PetitionTransfer,
    PlanMeasure,
    PlanMeeting,
    ProgressEntry,
    ProgressNotice,
    RectificationItem,
    RectificationPlan,
)


def visible_progress(user):
    """Progress entries (and their evidence) are seen by whoever may see their item."""
    return ProgressEntry.objects.filter(
        item__in=scope(user, RectificationItem.objects.all(), "rectification.view_rectificationitem").values("pk"))


def visible_notices(user):
    """Progress notices, drafts included, are seen by whoever may see their plan (published ones also publicly)."""
    return ProgressNotice.objects.filter(
        plan__in=scope(user, RectificationPlan.objects.all(), "rectification.view_rectificationplan").values("pk"))


Status = RectificationItem.Status
CHANGE_PLAN = "rectification.change_rectificationplan"
CHANGE_ITEM = "rectification.change_rectificationitem"
ADD_PROGRESS = "rectification.add_progressentry"
ADD_ACCOUNTABILITY = "rectification.add_accountability"
VIEW_ACCOUNTABILITY = "rectification.view_accountability"
VERIFY = "rectification.verify_rectificationitem"

HEADER_FIELDS = ["group_name", "inspected_from", "inspected_to", "feedback_on", "title", "first_responsible",
                 "document_title", "document_number", "organisation_text", "next_plan", "contact"]
ITEM_FIELDS = ["responsible_leader", "responsible_unit", "measures", "deadline", "deadline_text", "status", "result",
               "unfinished_reason", "next_steps", "new_deadline", "is_overdue", "closed_at"]


class RectificationError(ValidationError):
    """A user mistake in rectification; the message is in Chinese."""


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


# ---------------------------------------------------------------- who may do what


def may_edit(user, plan: RectificationPlan) -> bool:
    """The committee of the plan's organisation (or above it) edits the plan and its items."""
    return _active(user) and user.has_perm(CHANGE_PLAN, plan)


def may_report(user, item: RectificationItem) -> bool:
    return _active(user) and user.has_perm(CHANGE_ITEM, item) and user.has_perm(ADD_PROGRESS, item)


def may_verify(user, item: RectificationItem) -> bool:
    return _active(user) and user.has_perm(VERIFY, item)


def may_add_accountability(user, plan: RectificationPlan) -> bool:
    return _active(user) and user.has_perm(ADD_ACCOUNTABILITY, plan)


def may_see_accountability(user, plan: RectificationPlan) -> bool:
    """Who was held accountable and how: the accountability records' own rule (RegionRule on
    VIEW_ACCOUNTABILITY, registered for the audit log), asked of the plan they belong to."""
    return _active(user) and user.has_perm(VIEW_ACCOUNTABILITY, plan)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _lock_plan(plan: RectificationPlan) -> RectificationPlan:
    return RectificationPlan.objects.select_for_update(of=("self",)).select_related("organisation", "round").get(pk=plan.pk)


def _lock_item(item: RectificationItem) -> RectificationItem:
    return (RectificationItem.objects.select_for_update(of=("self",))
            .select_related("plan__organisation", "plan__round").get(pk=item.pk))


def _text(value) -> str:
    return (value or "").strip()


# ---------------------------------------------------------------- the plan's header and records


@transaction.atomic
def update_plan_header(plan: RectificationPlan, *, by, **fields) -> RectificationPlan:
    """The committee fills the plan's header (first responsible person, document and number, …)."""
    _require(may_edit(by, plan), "只有本单位党组织可以编辑整改方案。")
    unknown = set(fields) - set(HEADER_FIELDS)
    if unknown:
        raise RectificationError(f"未知的方案字段：{'、'.join(sorted(unknown))}。")
    plan = _lock_plan(plan)
    errors = []
    values = {key: (_text(value) if isinstance(value, str) else value) for key, value in fields.items()}
    if "title" in values and not values["title"]:
        errors.append("请填写整改方案名称。")
    start, end = values.get("inspected_from", plan.inspected_from), values.get("inspected_to", plan.inspected_to)
    if start and end and end < start:
        errors.append("巡察结束日期不能早于开始日期。")
    feedback_on = values.get("feedback_on", plan.feedback_on)
    if feedback_on and end and feedback_on < end:
        errors.append(f"反馈日期（{chinese_date(feedback_on)}）不能早于巡察结束日期（{chinese_date(end)}）。")
    if feedback_on and "feedback_on" in values:
        earliest = plan.items.filter(deadline__lt=feedback_on).order_by("deadline").first()
        if earliest is not None:
            errors.append(f"第{earliest.number}项的整改时限早于反馈日期（{chinese_date(feedback_on)}），请先调整整改时限。")
        meeting = plan.meetings.filter(held_on__lt=feedback_on).order_by("held_on").first()
        if meeting is not None:
            errors.append(f"已登记的整改会议（{chinese_date(meeting.held_on)}{meeting.kind}）早于反馈日期"
                          f"（{chinese_date(feedback_on)}），请核对反馈日期。")
    if errors:
        raise RectificationError(errors)
    before = audit.snapshot(plan, HEADER_FIELDS)
    for key, value in values.items():
        setattr(plan, key, value)
    plan.save(update_fields=list(values) or None)
    after = audit.snapshot(plan, HEADER_FIELDS)
    changed = {key for key in after if after[key] != before[key]}
    if changed:
        audit.record("rectification_plan.header", actor=by, obj=plan,
                     before={key: before[key] for key in changed}, after={key: after[key] for key in changed})
    return plan


def _check_date(value, label: str, errors: list[str], *, required: bool = False) -> None:
    if value is None and required:
        errors.append(f"请填写{label}。")
    elif value is not None and value > timezone.localdate():
        errors.append(f"{label}不能晚于今天。")


def _meeting_too_early(plan: RectificationPlan, held_on: datetime.date) -> str | None:
    """A meeting held for the rectification comes after the feedback it answers (after the plan was
    entered, for a plan without a feedback date): the notice prints it as a step of the rectification."""
    if plan.feedback_on:
        if held_on < plan.feedback_on:
            return f"会议日期（{chinese_date(held_on)}）不能早于反馈日期（{chinese_date(plan.feedback_on)}）。"
    elif plan.created_at and held_on < timezone.localdate(plan.created_at):
        return (f"会议日期（{chinese_date(held_on)}）不能早于整改方案登记日期"
                f"（{chinese_date(timezone.localdate(plan.created_at))}）；有反馈日期的，请先在方案中填写反馈日期。")
    return None


@transaction.atomic
def add_meeting(plan: RectificationPlan, *, by, held_on: datetime.date, kind: str, topic: str) -> PlanMeeting:
    """A rectification meeting, held (never in the future) on or after the feedback date."""
    _require(may_edit(by, plan), "只有本单位党组织可以登记整改会议。")
    plan = _lock_plan(plan)  # the feedback date it is checked against cannot change meanwhile
    kind, topic = _text(kind), _text(topic)
    errors: list[str] = []
    _check_date(held_on, "会议日期", errors, required=True)
    if held_on and (too_early := _meeting_too_early(plan, held_on)):
        errors.append(too_early)
    if not kind:
        errors.append("请填写会议类型（如：党委会、专题民主生活会）。")
    if not topic:
        errors.append("请填写会议议题。")
    if errors:
        raise RectificationError(errors)
    meeting = PlanMeeting.objects.create(plan=plan, held_on=held_on, kind=kind[:50], topic=topic[:200])
    audit.record("rectification_plan.meeting", actor=by, obj=plan, after=audit.snapshot(meeting))
    return meeting


@transaction.atomic
def add_measure(plan: RectificationPlan, *, by, name: str, adopted_on: datetime.date | None = None) -> PlanMeasure:
    _require(may_edit(by, plan), "只有本单位党组织可以登记建章立制。")
    name = _text(name)
    errors: list[str] = []
    if not name:
        errors.append("请填写制度名称。")
    _check_date(adopted_on, "出台日期", errors)
    if errors:
        raise RectificationError(errors)
    measure = PlanMeasure.objects.create(plan=plan, name=name[:200], adopted_on=adopted_on)
    audit.record("rectification_plan.measure", actor=by, obj=plan, after=audit.snapshot(measure))
    return measure


@transaction.atomic
def add_recovery(plan: RectificationPlan, *, by, amount, source: str) -> MoneyRecovered:
    _require(may_edit(by, plan), "只有本单位党组织可以登记追回资金。")
    source = _text(source)
    errors: list[str] = []
    try:
        amount = Decimal(str(amount)) if amount not in (None, "") else None
    except InvalidOperation:
        amount = None
        errors.append("金额格式不正确。")
    else:
        if amount is None:
            errors.append("请填写金额。")
        elif amount <= 0:
            errors.append("金额须大于零。")
    if not source:
        errors.append("请填写资金事由。")
    if errors:
        raise RectificationError(errors)
    recovery = MoneyRecovered.objects.create(plan=plan, amount=amount, source=source[:200])
    audit.record("rectification_plan.recovery", actor=by, obj=plan, after=audit.snapshot(recovery))
    return recovery


@transaction.atomic
def add_petition(plan: RectificationPlan, *, by, summary: str, received_on: datetime.date | None = None,
                 closed_on: datetime.date | None = None) -> PetitionTransfer:
    _require(may_edit(by, plan), "只有本单位党组织可以登记转办信访件。")
    summary = _text(summary)
    errors: list[str] = []
    if not summary:
        errors.append("请填写信访事项。")
    _check_date(received_on, "转办日期", errors)
    _check_date(closed_on, "办结日期", errors)
    if received_on and closed_on and closed_on < received_on:
        errors.append("办结日期不能早于转办日期。")
    if errors:
        raise RectificationError(errors)
    petition = PetitionTransfer.objects.create(plan=plan, summary=summary[:300], received_on=received_on,
                                               closed_on=closed_on)
    audit.record("rectification_plan.petition", actor=by, obj=plan, after=audit.snapshot(petition))
    return petition


@transaction.atomic
def add_accountability(plan: RectificationPlan, *, by, person: str, level: str, measure: str,
                       decided_on: datetime.date | None = None, item: RectificationItem | None = None) -> Accountability:
    """The committee or the discipline inspection records a person handled (问责)."""
    _require(may_add_accountability(by, plan), "只有本单位党组织或纪检监察机构可以登记问责处理。")
    person = _text(person)
    errors: list[str] = []
    if not person:
        errors.append("请填写被处理人姓名或职务。")
    if level not in Accountability.Level.values:
        errors.append("请选择被处理人层级。")
    if measure not in Accountability.Measure.values:
        errors.append("请选择处理方式。")
    _check_date(decided_on, "处理日期", errors)
    if item is not None and item.plan_id != plan.pk:
        errors.append("所选整改事项不属于该整改方案。")
    if errors:
        raise RectificationError(errors)
    record = Accountability.objects.create(plan=plan, item=item, person=person[:100], level=level, measure=measure,
                                           decided_on=decided_on)
    # On the record, not on the plan: the entry (who, how) is read by its kind's rule, not the plan's.
    audit.record("rectification_plan.accountability", actor=by, obj=record, after=audit.snapshot(record),
                 object_repr=f"{record}（{plan}）")
    return record


# ---------------------------------------------------------------- items and their flow


def _flow_step(item: RectificationItem, node_name: str, decision: str, *, by, data: dict | None = None) -> None:
    try:
        complete_step(item, node_name, decision, by=by, data=data)
    except LookupError as exc:
        raise RectificationError(str(exc)) from exc


def _require_open(item: RectificationItem) -> None:
    if item.closed_at is not None:
        raise RectificationError(f"第{item.number}项已于{chinese_date(timezone.localtime(item.closed_at).date())}销号，不能再办理。")


effective_deadline = states.effective_deadline


def _audit_item(action: str, item: RectificationItem, by, before: dict, **extra) -> None:
    after = audit.snapshot(item, ITEM_FIELDS)
    changed = {key for key in after if after[key] != before.get(key)}
    audit.record(action, actor=by, obj=item, before={key: before[key] for key in changed},
                 after={**{key: after[key] for key in changed}, **extra})


@transaction.atomic
def update_item(item: RectificationItem, *, by, responsible_leader: str, responsible_unit: str, measures: str,
                deadline: datetime.date | None, result: str | None = None) -> RectificationItem:
    """Assign the item (明确责任领导、责任单位、整改措施、整改时限): the flow's assign step."""
    _require(may_edit(by, item.plan) and by.has_perm(CHANGE_ITEM, item), "只有本单位党组织可以编辑整改事项。")
    item = _lock_item(item)
    _require_open(item)
    leader, unit, measures = _text(responsible_leader), _text(responsible_unit), _text(measures)
    errors = []
    if not leader:
        errors.append("请填写责任领导。")
    if not unit:
        errors.append("请填写责任单位。")
    if not measures:
        errors.append("请填写整改措施。")
    if deadline is None:
        errors.append("请填写整改时限。")
    elif item.plan.feedback_on and deadline < item.plan.feedback_on:
        errors.append(f"整改时限（{chinese_date(deadline)}）不能早于反馈日期（{chinese_date(item.plan.feedback_on)}）。")
    elif problem := date_problem(deadline, what="整改时限"):
        errors.append(problem)
    if len(leader) > 100 or len(unit) > 100:
        errors.append("责任领导、责任单位不能超过 100 个字。")
    if errors:
        raise RectificationError(errors)
    before = audit.snapshot(item, ITEM_FIELDS)
    if deadline != item.deadline:  # the plan's wording ("2024年12月前") no longer says the new date
        item.deadline_text = ""
    item.responsible_leader, item.responsible_unit, item.measures, item.deadline = leader, unit, measures, deadline
    if result is not None:
        item.result = _text(result)
    item.save()
    _flow_step(item, "assign", "assigned", by=by)
    _audit_item("rectification_item.update", item, by, before)
    return item


def _entry(item, *, by, kind: str, text: str, reported_on: datetime.date | None = None, files=()) -> ProgressEntry:
    inspected = evidence.inspect_uploads(files)
    entry = ProgressEntry.objects.create(item=item, reported_on=reported_on or timezone.localdate(), text=text,
                                         kind=kind, reported_by=by)
    if inspected:
        evidence.store(entry, inspected, by=by)
    return entry


@transaction.atomic
def report_progress(item: RectificationItem, *, by, reported_on: datetime.date, text: str, files=()) -> ProgressEntry:
    """A dated progress report with evidence (the flow's repeatable progress step)."""
    _require(may_report(by, item), "只有本单位党组织可以报送整改进展。")
    item = _lock_item(item)
    _require_open(item)
    text = _text(text)
    errors: list[str] = []
    if not text:
        errors.append("请填写整改进展情况。")
    _check_date(reported_on, "进展日期", errors, required=True)
    if reported_on and item.plan.feedback_on and reported_on < item.plan.feedback_on:
        errors.append(f"进展日期不能早于反馈日期（{chinese_date(item.plan.feedback_on)}）。")
    if errors:
        raise RectificationError(errors)

    if current_step(item) == "verify":
        raise RectificationError("该事项已申请销号，正在等待县委巡察办验收，请待验收后再报送进展。")
    before = audit.snapshot(item, ITEM_FIELDS)
    entry = _entry(item, by=by, kind="progress", text=text, reported_on=reported_on, files=files)
    if item.status == Status.PENDING:
        item.status = Status.IN_PROGRESS
        item.save(update_fields=["status"])
    _flow_step(item, "progress", "progress", by=by)
    _audit_item("rectification_item.progress", item, by, before, entry=entry.pk, text=text,
                attachments=len(list(files or ())))
    return entry


@transaction.atomic
def claim_done(item: RectificationItem, *, by, text: str, files=(), long_term: bool = False,
               result: str | None = None) -> ProgressEntry:
    """The committee claims the item done with evidence and asks the office to close it (申请销号); where
    the item's flow policy version lets the claim suffice, the claim closes it (销号) at once.
    `long_term`: the problem is settled but needs to be kept up (长期坚持)."""
    _require(may_report(by, item), "只有本单位党组织可以申请销号。")
    item = _lock_item(item)
    _require_open(item)
    text = _text(text)
    files = list(files or ())
    errors = []
    if not text:
        errors.append("请填写整改完成情况。")
    if not files:
        errors.append("申请销号须上传整改佐证材料。")
    if errors:
        raise RectificationError(errors)

    if current_step(item) == "verify":
        raise RectificationError("该事项已申请销号，正在等待县委巡察办验收。")
    before = audit.snapshot(item, ITEM_FIELDS)
    entry = _entry(item, by=by, kind="claim", text=text, files=files)
    item.status = Status.ONGOING if long_term else Status.DONE
    item.result = _text(result) or text
    item.save(update_fields=["status", "result"])
    _flow_step(item, "progress", "claim", by=by)
    closed = current_step(item) is None  # the item's policy version lets the claim suffice: the flow ended
    if closed:
        item.closed_at, item.is_overdue = timezone.now(), False
        item.save(update_fields=["closed_at", "is_overdue"])
    _audit_item("rectification_item.claim_closed" if closed else "rectification_item.claim", item, by, before,
                entry=entry.pk, attachments=len(files))
    return entry


@transaction.atomic
def verify_item(item: RectificationItem, *, by, accept: bool, reason: str = "") -> RectificationItem:
    """The county office verifies a claimed item: accepted → closed (销号: closed_at set, status 已整改到位,
    or 长期坚持 where the committee marked it so); returned → 正在整改中 with the reason as a 'returned' entry."""
    _require(may_verify(by, item), "只有县委巡察办可以验收整改事项。")
    item = _lock_item(item)
    _require_open(item)

    if current_step(item) != "verify":
        raise RectificationError("该事项尚未申请销号，不能验收。")
    reason = _text(reason)
    if not accept and not reason:
        raise RectificationError("退回时须填写退回理由。")
    before = audit.snapshot(item, ITEM_FIELDS)
    if accept:
        _entry(item, by=by, kind="verified", text=reason or "经验收，整改到位，同意销号。")
        item.status = Status.ONGOING if item.status == Status.ONGOING else Status.FULLY_DONE
        item.closed_at, item.is_overdue = timezone.now(), False
    else:
        _entry(item, by=by, kind="returned", text=reason)
        item.status = Status.IN_PROGRESS
    item.save(update_fields=["status", "closed_at", "is_overdue"])
    _flow_step(item, "verify", "accepted" if accept else "returned", by=by, data={"reason": reason})
    _audit_item("rectification_item.verify" if accept else "rectification_item.return", item, by, before, reason=reason)

    notify_committee_of_verdict(item, accepted=accept, reason=reason)
    return item


@transaction.atomic
def mark_unfinished(item: RectificationItem, *, by, reason: str, next_steps: str,
                    new_deadline: datetime.date | None) -> RectificationItem:
    """An item that cannot be finished in time: why, what next, and a new deadline (通报 四)."""
    _require(may_edit(by, item.plan) and by.has_perm(CHANGE_ITEM, item), "只有本单位党组织可以填报未完成原因。")
    item = _lock_item(item)
    _require_open(item)
    reason, next_steps = _text(reason), _text(next_steps)
    errors = []
    if not reason:
        errors.append("请填写未完成原因。")
    if not next_steps:
        errors.append("请填写下一步措施。")
    if new_deadline is None:
        errors.append("请填写新的整改时限。")
    else:
        if item.plan.feedback_on and new_deadline < item.plan.feedback_on:
            errors.append(f"新的整改时限（{chinese_date(new_deadline)}）不能早于反馈日期（{chinese_date(item.plan.feedback_on)}）。")
        if new_deadline < timezone.localdate():
            errors.append("新的整改时限不能早于今天。")
        elif problem := date_problem(new_deadline, what="新的整改时限"):
            errors.append(problem)
    if errors:
        raise RectificationError(errors)
    before = audit.snapshot(item, ITEM_FIELDS)
    item.unfinished_reason, item.next_steps, item.new_deadline = reason, next_steps, new_deadline
    if item.status == Status.PENDING:
        item.status = Status.IN_PROGRESS
    item.is_overdue = False
    item.save(update_fields=["unfinished_reason", "next_steps", "new_deadline", "status", "is_overdue"])

    ensure_flow(item, by=by)
    if item.responsible_unit or item.responsible_leader:
        # Who answers for it is known (an imported item): the flow waits at 报送进展, as `position` said
        # before it started, and no 待办 asks the committee that just acted to 明确责任 again.
        complete_step(item, "assign", "assigned", by=by)
    _audit_item("rectification_item.unfinished", item, by, before)
    return item
