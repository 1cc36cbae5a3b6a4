"""Grid events: reporting and every step of EventFlow, each a service taking the acting user.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from governance import audit, evidence, one_statement
from governance.input_rules import happened_problem
from governance.models import AuditEntry, OutboxMessage
from grid.event_flow import EventFlow
from grid.task_notices import notify_reporter_of_result
from workflows import flow_start
from workflows.engine import StepUnavailable, complete_task, open_task
from workflows.flow_parts import artifact_lookup
from workflows.models import EventProcess, TaskDeadline

from . import event_counts
from .category_attributes import clean_attribute_values
from .event_rules import (  # noqa: F401 (API)
    HANDLE_PERMISSION_BY_TIER,
    STEP_BY_STATUS,
    department_staffed,
    department_step_posts,
    handle_permission_for,
    mark_closed,
    may_take_step,
)
from .flow_policy import (
    DEFAULT_POLICY,
    decisions_at,
    dispatch_region,
    policy_in_force,
    policy_of,
    start_region,
    step_name,
    upper_region,
)
from .models import CategoryRouting, Department, Event, EventCategory, FlowPolicy, Region

# The decisions each tier may take at the handle step under the built-in default policy.
DECISIONS_BY_TIER = {key: decisions_at(key, DEFAULT_POLICY) for key in DEFAULT_POLICY.chain}
DECISION_LABELS = {
    "resolve": "就地处置结案", "escalate": "上报上一级", "merge": "合并为重复事件", "reject": "驳回",
    "dispatch": "派单至部门", "send_back": "退回", "satisfied": "核实满意", "return": "核实不满意退回",
    "return_to_department": "核实不满意退回部门",
}


class EventError(ValidationError):
    """A user mistake in an event step; the message is in Chinese."""


# ---------------------------------------------------------------- where an event is handled


def handling_start_region(region: Region, policy: FlowPolicy | None = None) -> Region:
    """The region whose tier first handles an event reported at `region` (the grid above a micro-grid;
    the village where the policy leaves the grid out)."""
    return start_region(region, policy or policy_in_force(region) or DEFAULT_POLICY)


def next_handling_region(region: Region, policy: FlowPolicy | None = None) -> Region | None:
    """One tier up the policy's chain (村呼镇应, 镇呼县应), or None at its top."""
    return upper_region(region, policy or DEFAULT_POLICY)


def current_step_name(event: Event) -> str:
    """The open step's name as users read it (网格处置 … 部门办理, 核实办结), or "" when none is open."""
    step = current_step(event) if event.is_open else None
    if step is None:
        return ""
    return step_name(step, event.handling_region.tier.key, policy_of(event))


def process_lookup(event: Event, prefix: str = "") -> dict:
    """ORM lookups of an event's EventFlow process (workflows.flow_parts.artifact_lookup)."""
    return artifact_lookup(EventFlow, event, prefix)


def current_step(event: Event) -> str | None:
    task = (
        Task.objects.filter(status__in=[STATUS.NEW, STATUS.ASSIGNED], **process_lookup(event, "process__"))
        .order_by("-id").first()
    )
    if task is None:
        return None
    return {EventFlow.handle: "handle", EventFlow.department_handle: "department", EventFlow.verify: "verify"}.get(
        task.flow_task
    )


def available_decisions(user, event: Event) -> dict[str, set[str]]:
    """The steps and decisions `user` may take on `event` now (for pages and the API).

    The step follows from the status, which the services keep in step with the flow's open task: a
    user who may not take it gets no decisions without the task being read."""
    if not event.is_open:
        return {}
    expected = STEP_BY_STATUS.get(event.status)
    if expected is not None and not may_take_step(user, event, expected):
        return {}
    step = current_step(event)
    if step is None or (step != expected and not may_take_step(user, event, step)):
        return {}
    if step == "handle":
        return {step: handle_decisions(event)}
    if step == "department":
        return {step: {"resolve", "send_back"} if policy_of(event).department_may_send_back else {"resolve"}}
    return {step: {"satisfied", "return"}}


def handle_decisions(event: Event) -> set[str]:
    """What the handle step may decide where the event is now, under its policy version (an escalation
    needs a region above in the chain, not only a tier)."""
    policy = policy_of(event)
    decisions = decisions_at(event.handling_region.tier.key, policy)
    if "escalate" in decisions and upper_region(event.handling_region, policy) is None:
        decisions.discard("escalate")
    return decisions


# ---------------------------------------------------------------- reporting


def _coordinate(value, name: str, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError) as exc:
        raise EventError(f"{name}必须是数字。") from exc
    if not number.is_finite() or not -limit <= number <= limit:
        raise EventError(f"{name}超出范围（应在 -{limit} 到 {limit} 之间）。")
    return number


def _clean_report(*, region, category, title, description, occurred_at, urgency, source, latitude, longitude, idempotency_key):
    errors = []
    if not idempotency_key or len(str(idempotency_key)) > 64:
        errors.append("缺少提交标识（idempotency key），或超过 64 个字符。")
    if not (title or "").strip():
        errors.append("请填写标题。")
    elif len(title.strip()) > 100:
        errors.append("标题不能超过 100 个字。")
    if not (description or "").strip():
        errors.append("请填写事件描述。")
    if not isinstance(category, EventCategory) or not category.is_active or category.parent_id is None:
        errors.append("请选择有效的事件小类。")
    if occurred_at is None:
        errors.append("请填写发生时间。")
    elif problem := happened_problem(occurred_at):
        errors.append(problem)
    if urgency not in Event.Urgency.values:
        errors.append("紧急程度无效。")
    if source not in Event.Source.values:
        errors.append("事件来源无效。")
    try:
        lat = _coordinate(latitude, "纬度", 90)
        lon = _coordinate(longitude, "经度", 180)
        if (lat is None) != (lon is None):
            errors.append("经纬度须同时填写或同时留空。")
    except EventError as exc:
        errors.extend(exc.messages)
        lat = lon = None
    if errors:
        raise EventError(errors)
    return lat, lon


def report_event(
    *,
    by,
    region: Region,
    category: EventCategory,
    title: str,
    description: str,
    occurred_at: datetime.datetime,
    idempotency_key: str,
    urgency: str = Event.Urgency.NORMAL,
    source: str = Event.Source.PATROL,
    latitude=None,
    longitude=None,
    address: str = "",
    files=(),
    attributes: dict | None = None,
) -> tuple[Event, bool]:
    """Report an event and start its flow. Submitting the same idempotency key again returns the first event.

    `attributes` are the values of the category's extra fields ({code: value}), checked here; a caller
    that passes none (an import, the demo) skips the check of required fields.

    A repeat is found by the unique key when the insert fails (no query up front on the intake path);
    with files, it is looked for first, so that a repeated upload is not inspected again."""
    if files and idempotency_key:
        existing = Event.objects.filter(reporter=by, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    if not by.has_perm("grid.add_event", region):
        raise PermissionDenied("您在该区域没有岗位，不能在此上报事件。")
    lat, lon = _clean_report(
        region=region, category=category, title=title, description=description, occurred_at=occurred_at,
        urgency=urgency, source=source, latitude=latitude, longitude=longitude, idempotency_key=idempotency_key,
    )
    values = clean_attribute_values(category, attributes) if attributes is not None else {}
    inspected = evidence.inspect_uploads(files)
    policy = policy_in_force(region)  # the version this case keeps to its close (read from a cache)
    event = Event(
        reporter=by, region=region, handling_region=start_region(region, policy or DEFAULT_POLICY),
        flow_policy=policy, category=category,
        title=title.strip(), description=description.strip(), occurred_at=occurred_at, urgency=urgency,
        source=source, latitude=lat, longitude=lon, address=(address or "").strip()[:200],
        idempotency_key=idempotency_key, status=Event.Status.HANDLING, attributes=values,
    )
    try:
        with transaction.atomic():
            if one_statement.supported():
                _write_report_in_one_statement(event, by=by)  # the month count included
            else:
                event.save(force_insert=True)
                audit.record("event.report", actor=by, obj=event, after=_report_snapshot(event))
                EventFlow.start.run(event=event)
                event_counts.count_new(event)
            evidence.store(event, inspected, by=by)
    except IntegrityError:
        existing = Event.objects.filter(reporter=by, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return event, True


def _report_snapshot(event: Event) -> dict:
    data = audit.snapshot(
        event, ["region", "category", "title", "urgency", "source", "occurred_at", "latitude", "longitude"]
    )
    if event.attributes:
        data["attributes"] = event.attributes
    return data


def _write_report_in_one_statement(event: Event, *, by) -> None:
    """PostgreSQL: what the ORM path writes (event, audit entry, EventFlow's start with its deadline
    and notice, the month count) in two statements: the audit head lock drawing the ids, then one
    INSERT of all rows.
    One event report is the hot path of the system (see the intake benchmark, tests/bench/bench_events.py)."""
    previous_hash, drawn = audit.take_head_drawing_ids(
        [Event, AuditEntry, *flow_start.MODELS, TaskDeadline, OutboxMessage])
    ids = iter(drawn)
    event.pk = next(ids)
    entry = audit.entry_for("event.report", actor=by, obj=event, after=_report_snapshot(event),
                            previous_hash=previous_hash)
    entry.pk = next(ids)
    start = flow_start.build(EventFlow, ids, created_task_rows=EventFlow.instance.rows_for_created_task,
                             event=event)
    one_statement.insert_rows([event, entry, *start.rows], also=[event_counts.count_new_statement(event)],
                              then=audit.head_move(entry))
    start.announce()


# ---------------------------------------------------------------- flow steps


def _lock(event: Event) -> Event:
    """Lock the event row on its own, then read it with its regions.

    Locking with the regions joined in loses a race on PostgreSQL: when the winner moved the event to
    another handling region, the loser's re-check of the join finds no row (a 500 instead of the
    "already handled" message)."""
    Event.objects.select_for_update().filter(pk=event.pk).values_list("pk", flat=True).get()
    return Event.objects.select_related("handling_region__tier", "region__tier").get(pk=event.pk)


def _process(event: Event):
    return EventProcess.objects.filter(**process_lookup(event)).order_by("-id").first()


def _complete(event: Event, step: str, decision: str, *, by) -> None:
    node = {"handle": EventFlow.handle, "department": EventFlow.department_handle, "verify": EventFlow.verify}[step]
    process = _process(event)
    task = open_task(process, node) if process else None
    if task is None:
        raise EventError("该事件当前不在此环节，可能已由他人办理，请刷新后查看。")
    process.data = {**(process.data or {}), "decision": decision}
    process.save(update_fields=["data"])
    try:
        complete_task(task, by=by)
    except StepUnavailable as exc:
        raise EventError(str(exc)) from exc
    # The next step (if any) wrote its own deadline as the event's step_due_at (EventFlow.task_created).
    event.refresh_from_db(fields=["step_due_at"])


def _require_step(user, event: Event, step: str) -> None:
    if not event.is_open or current_step(event) != step:
        raise EventError("该事件当前不在此环节，可能已由他人办理，请刷新后查看。")
    if not may_take_step(user, event, step):
        raise PermissionDenied("您不能办理此环节：需要该事件所在层级、所在区域的相应岗位。")


_FIELDS = ["status", "handling_region", "department", "result", "rejection_reason", "duplicate_of", "return_count"]


def _step_record(event: Event, *, opinion: str = "", files=(), **extra) -> dict:
    """What a step's audit row keeps: the event's fields after it, the opinion given (reason, result or
    instructions) and the ids of the files stored with it; the case record (grid.case_record) reads them."""
    after = audit.snapshot(event, _FIELDS)
    if opinion.strip():
        after["opinion"] = opinion.strip()
    if files:
        after["evidence"] = [attachment.pk for attachment in files]
    after.update({key: value for key, value in extra.items() if value not in (None, "")})
    return after


def handle_event(
    event: Event, *, by, decision: str, result: str = "", reason: str = "",
    department: Department | None = None, duplicate_of: Event | None = None, files=(),
    opinion: str = "", requirements: str = "", due_on: datetime.date | None = None,
) -> Event:
    """The "handle at this tier" step: resolve, escalate, or (grid) merge/reject, or (township) dispatch.

    A dispatch carries the township's 派单意见 (`opinion`), 办理要求 (`requirements`) and, when given, a
    办理时限 (`due_on`, a day from today up to DISPATCH_MAX_DAYS ahead) that replaces the rule's deadline
    of the department's step; they are kept in the step's audit row (the case record)."""
    with transaction.atomic():
        event = _lock(event)
        _require_step(by, event, "handle")
        policy = policy_of(event)
        if decision not in handle_decisions(event):
            raise EventError(f"{event.handling_region.tier.name}不能“{DECISION_LABELS.get(decision, decision)}”"
                             "（按本县流程策略）。")
        before = audit.snapshot(event, _FIELDS)
        before_status = event.status
        inspected = []
        if decision == "resolve":
            if not result.strip():
                raise EventError("请填写处置结果。")
            inspected = evidence.inspect_uploads(files)
            if not inspected:
                raise EventError("就地处置结案须上传至少一份处置佐证（照片或文档）。")
            event.result, event.status, event.disposed_by = result.strip(), Event.Status.VERIFYING, by
        elif decision == "escalate":
            if not reason.strip():
                raise EventError("请填写上报理由。")
            upper = upper_region(event.handling_region, policy)
            if upper is None:
                raise EventError("已是最高处置层级，不能再上报。")
            event.handling_region, event.rejection_reason, event.department = upper, "", None
        elif decision == "dispatch":
            _check_dispatch(opinion, requirements, due_on)
            department = department or default_department(event)
            if department is None:
                raise EventError("该类别未配置牵头部门，请选择承办部门。")
            target = dispatch_region(event.handling_region)
            if department.region_id != target.pk or department.is_grid_centre:
                raise EventError("只能派单给县直部门（责任单位）。" if target.tier.key == "county"
                                 else "只能派单给本乡镇的部门。")
            if not department_staffed(department):
                raise EventError(f"{department.name}暂无在岗的办理人员，派单后无人办理。请改派其他部门，或先为该部门设置岗位。")
            event.department, event.status = department, Event.Status.DISPATCHED
        elif decision == "merge":
            # A missing event and one outside the user's regions get the same answer (nothing about it leaks).
            if duplicate_of is None or not by.has_perm("grid.view_event", duplicate_of):
                raise EventError("找不到被重复的事件，或无权查看该事件。")
            if duplicate_of.pk == event.pk or duplicate_of.status == Event.Status.MERGED:
                raise EventError("请选择被重复的另一个有效事件。")
            event.duplicate_of, event.status, event.step_due_at = duplicate_of, Event.Status.MERGED, None
        elif decision == "reject":
            if not reason.strip():
                raise EventError("请填写驳回理由。")
            event.rejection_reason, event.status, event.step_due_at = reason.strip(), Event.Status.REJECTED, None
        event.save()
        event_counts.outcome_changed(event, before_status)
        stored = evidence.store(event, inspected, by=by)
        _complete(event, "handle", decision, by=by)
        if decision == "dispatch" and due_on is not None:
            _set_open_deadline(event, due_on)
        said = {"resolve": result, "dispatch": opinion}.get(decision, reason)
        extra = {"requirements": requirements.strip(), "due_on": due_on.isoformat() if due_on else ""} \
            if decision == "dispatch" else {}
        audit.record(f"event.{decision}", actor=by, obj=event, before=before,
                     after=_step_record(event, opinion=said, files=stored, **extra))
        if decision in ("merge", "reject") and event.reporter_id != by.pk:
            if decision == "merge":
                notify_reporter_of_result(event, title=f"事件 #{event.pk}“{event.title}”已合并到事件 #{event.duplicate_of_id}",
                                          body="该事件与已上报的事件重复，后续进展请查看被合并的事件。")
            else:
                notify_reporter_of_result(event, title=f"事件 #{event.pk}“{event.title}”被驳回", body=f"驳回理由：{event.rejection_reason}")
    return event


DISPATCH_MAX_DAYS = 90
OPINION_MAX, REQUIREMENTS_MAX = 500, 1000


def _check_dispatch(opinion: str, requirements: str, due_on: datetime.date | None) -> None:
    errors = []
    if len(opinion.strip()) > OPINION_MAX:
        errors.append(f"派单意见不能超过 {OPINION_MAX} 字。")
    if len(requirements.strip()) > REQUIREMENTS_MAX:
        errors.append(f"办理要求不能超过 {REQUIREMENTS_MAX} 字。")
    if due_on is not None:
        today = timezone.localdate()
        if due_on < today:
            errors.append("办理时限不能早于今天。")
        elif due_on > today + datetime.timedelta(days=DISPATCH_MAX_DAYS):
            errors.append(f"办理时限不能超过 {DISPATCH_MAX_DAYS} 天。")
    if errors:
        raise EventError(errors)


def _set_open_deadline(event: Event, due_on: datetime.date) -> None:
    """The department's step is due at the end of the chosen day instead of the rule's deadline."""
    due_at = timezone.make_aware(datetime.datetime.combine(due_on, datetime.time(23, 59)))
    set_step_due(event, due_at)


def set_step_due(event: Event, due_at: datetime.datetime) -> None:
    """Move the deadline of `event`'s open step: its task's deadline and the event's step_due_at together."""
    TaskDeadline.objects.filter(is_open=True, **process_lookup(event, "task__process__")).update(due_at=due_at)
    Event.objects.filter(pk=event.pk).update(step_due_at=due_at)
    event.step_due_at = due_at


def default_department(event: Event) -> Department | None:
    """The lead department routed for the category where the event is dispatched (a township, or
    the county for its centre)."""
    target = dispatch_region(event.handling_region)
    route = CategoryRouting.objects.filter(township=target, category=event.category).select_related(
        "department").first()
    if route is None and event.category.parent_id:
        route = CategoryRouting.objects.filter(township=target, category_id=event.category.parent_id
                                               ).select_related("department").first()
    return route.department if route else None


def dispatch_departments(event: Event):
    """The departments an event handled where it is now may be dispatched to (a township's offices,
    or the county's departments for its centre; never the centre itself), each with `staffed`."""
    return (Department.objects.filter(region=dispatch_region(event.handling_region), is_grid_centre=False)
            .annotate(staffed=Exists(department_step_posts().filter(department=OuterRef("pk")))).order_by("name"))


def send_back_count(event: Event) -> int:
    """How often departments have sent `event` back (read from its audit trail)."""
    return AuditEntry.objects.filter(action="event.department.send_back", object_type=Event._meta.label,
                                     object_id=str(event.pk)).count()


def department_handle_event(event: Event, *, by, decision: str, result: str = "", reason: str = "", files=()) -> Event:
    """The lead department records its result with evidence, or sends the event back with a reason."""
    with transaction.atomic():
        event = _lock(event)
        _require_step(by, event, "department")
        before = audit.snapshot(event, _FIELDS)
        before_status = event.status
        inspected = []
        if decision == "resolve":
            if not result.strip():
                raise EventError("请填写办理结果。")
            inspected = evidence.inspect_uploads(files)
            if not inspected:
                raise EventError("部门办结须上传至少一份办理佐证。")
            event.result, event.status, event.disposed_by = result.strip(), Event.Status.VERIFYING, by
        elif decision == "send_back":
            policy = policy_of(event)
            if not policy.department_may_send_back:
                raise EventError("按本县流程策略，部门不能退回派单事件，请办理。")
            if policy.send_back_limit is not None and send_back_count(event) >= policy.send_back_limit:
                raise EventError(f"退回次数已达上限（{policy.send_back_limit} 次），请办理。")
            if not reason.strip():
                raise EventError("请填写退回理由。")
            event.rejection_reason, event.department, event.status = reason.strip(), None, Event.Status.HANDLING
        else:
            raise EventError("无效的办理决定。")
        event.save()
        event_counts.outcome_changed(event, before_status)
        stored = evidence.store(event, inspected, by=by)
        _complete(event, "department", decision, by=by)
        audit.record(f"event.department.{decision}", actor=by, obj=event, before=before,
                     after=_step_record(event, opinion=result if decision == "resolve" else reason, files=stored))
    return event


def verify_event(event: Event, *, by, satisfied: bool, reason: str = "") -> Event:
    """The reporter or the grid leader checks the result: satisfied closes; not satisfied returns it (counted)."""
    with transaction.atomic():
        event = _lock(event)
        _require_step(by, event, "verify")
        before = audit.snapshot(event, _FIELDS)
        if satisfied:
            decision = "satisfied"
        else:
            if not reason.strip():
                raise EventError("请填写不满意的理由。")
            event.return_count += 1
            event.rejection_reason = reason.strip()
            policy = policy_of(event)
            limit = policy.returns_before_escalation
            upper = upper_region(event.handling_region, policy) if limit is not None and event.return_count > limit else None
            if upper is not None:
                # Returned more often than the policy allows: the tier above takes it over.
                event.handling_region, event.department = upper, None
                event.result = f"{event.result}\n[核实退回超过 {limit} 次，上报上一级]".strip()
                decision, event.status = "return", Event.Status.HANDLING
            elif event.department_id:
                decision, event.status = "return_to_department", Event.Status.DISPATCHED
            else:
                decision, event.status = "return", Event.Status.HANDLING
        event.save()
        _complete(event, "verify", decision, by=by)
        event.refresh_from_db()
        audit.record(f"event.verify.{decision}", actor=by, obj=event, before=before,
                     after=_step_record(event, opinion=reason if not satisfied else ""))
    return event


def rate_event(event: Event, *, by, rating: int, comment: str = "") -> Event:
    """The reporter rates a closed event (满意度 1–5), once."""
    with transaction.atomic():
        event = _lock(event)
        if by.pk != event.reporter_id:
            raise PermissionDenied("只有上报人可以评价。")
        if event.status != Event.Status.CLOSED:
            raise EventError("事件办结后才能评价。")
        if event.rating is not None:
            raise EventError("该事件已评价。")
        try:
            rating = int(rating)
        except (TypeError, ValueError):
            rating = 0
        if not 1 <= rating <= 5:
            raise EventError("满意度须为 1 到 5 分。")
        event.rating, event.rating_comment = rating, (comment or "").strip()[:200]
        event.save(update_fields=["rating", "rating_comment", "updated_at"])
        audit.record("event.rate", actor=by, obj=event, after={"rating": rating, "comment": event.rating_comment})
    return event


def system_user():
    """The account automatic actions (overdue escalation) are taken as; it cannot log in."""
    user, created = get_user_model().objects.get_or_create(
        username="system", defaults={"first_name": "系统", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def escalate_overdue_event(event: Event, *, reason: str = "超期未处置，系统自动上报上一级") -> Event | None:
    """Move an overdue event one tier up by itself (the SLA rule says so); no user permission applies.

    Returns None when the event is no longer at a handle step or is already at the top tier.
    """
    with transaction.atomic():
        event = _lock(event)
        if not event.is_open or current_step(event) != "handle":
            return None
        upper = upper_region(event.handling_region, policy_of(event))
        if upper is None:
            return None
        before = audit.snapshot(event, _FIELDS)
        event.handling_region = upper
        event.save()  # the new tier's step writes its own deadline
        _complete(event, "handle", "escalate", by=system_user())
        audit.record("event.auto_escalate", actor=None, obj=event, before=before, after=_step_record(event, opinion=reason))
    return event
