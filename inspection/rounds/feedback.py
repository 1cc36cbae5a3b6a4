"""The timeline after withdrawal and the feedback that hands the findings over as rectification items.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import audit
from governance.chinese_dates import chinese_date

from ..models import InspectionFinding, InspectionGroup
from .group_reports import ordered_findings

REPORT_DAYS = 10  # report to the leading group within 10 days of withdrawal
MEETING_DAYS = 10  # the secretary's special meeting within 10 days after the report
MANAGE_PERM = "inspection.manage_inspectionround"


class TimelineError(ValidationError):
    """A user mistake in the timeline or the feedback; the message is in Chinese."""


# ---------------------------------------------------------------- deadlines


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (the month's last day when it has no such day: 1月31日 + 1 → 2月28日)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def rectification_deadline(round, feedback_on: datetime.date) -> datetime.date:
    """The deadline the feedback gives every item: the end of the round's 集中整改期 (default one month)."""
    return add_months(feedback_on, round.rectification_months or 1)


def report_due(group: InspectionGroup) -> datetime.date:
    return group.round.withdrawal_date + datetime.timedelta(days=REPORT_DAYS)


def meeting_due(group: InspectionGroup) -> datetime.date:
    """10 days after the report; while the report is not made, 10 days after its own deadline."""
    if group.reported_on:
        return group.reported_on + datetime.timedelta(days=MEETING_DAYS)
    return group.round.withdrawal_date + datetime.timedelta(days=REPORT_DAYS + MEETING_DAYS)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    due: datetime.date | None
    done_on: datetime.date | None
    overdue: bool  # not done and past its deadline
    late: bool  # done, but after its deadline
    days_overdue: int

    @property
    def status(self) -> str:
        if self.done_on:
            return "逾期完成" if self.late else "已完成"
        return f"已逾期 {self.days_overdue} 天" if self.overdue else "未到期" if self.due else "待办理"


def timeline(group: InspectionGroup, today: datetime.date | None = None) -> list[Step]:
    """The three steps after withdrawal with their deadlines (feedback has none in the plan)."""
    today = today or timezone.localdate()
    steps = []
    for key, label, due, done in (
        ("report", "向巡察工作领导小组汇报", report_due(group), group.reported_on),
        ("meeting", "向县委书记专题会汇报", meeting_due(group), group.secretary_meeting_on),
        ("feedback", "向被巡察党组织反馈", None, group.feedback_on),
    ):
        overdue = bool(due and not done and today > due)
        steps.append(Step(key, label, due, done, overdue, bool(due and done and done > due),
                          (today - due).days if overdue else 0))
    return steps


def overdue_steps(group: InspectionGroup, today: datetime.date | None = None) -> list[Step]:
    """Each step not done by its deadline (report: withdrawal + 10 days; meeting: report + 10 days)."""
    return [step for step in timeline(group, today) if step.overdue]


# ---------------------------------------------------------------- recording the dates


def _require_office(by, group: InspectionGroup) -> None:
    if by is None or not by.is_authenticated or not by.has_perm(MANAGE_PERM, group):
        raise PermissionDenied("只有县委巡察办可以登记巡察时间节点和反馈。")


def _check_order(group: InspectionGroup, reported_on, meeting_on, feedback_on, today: datetime.date) -> None:
    withdrawal = group.round.withdrawal_date
    errors = []
    for label, day in (("向领导小组汇报日期", reported_on), ("书记专题会日期", meeting_on), ("反馈日期", feedback_on)):
        if day and day < withdrawal:
            errors.append(f"{label}（{chinese_date(day)}）不能早于撤回日期（{chinese_date(withdrawal)}）。")
        if day and day > today:
            errors.append(f"{label}（{chinese_date(day)}）不能晚于今天。")
    if meeting_on and not reported_on:
        errors.append("请先登记向领导小组汇报日期，再登记书记专题会日期。")
    if meeting_on and reported_on and meeting_on < reported_on:
        errors.append(f"书记专题会日期（{chinese_date(meeting_on)}）不能早于向领导小组汇报日期（{chinese_date(reported_on)}）。")
    if feedback_on and not meeting_on:
        errors.append("请先登记书记专题会日期，再向被巡察党组织反馈。")
    if feedback_on and meeting_on and feedback_on < meeting_on:
        errors.append(f"反馈日期（{chinese_date(feedback_on)}）不能早于书记专题会日期（{chinese_date(meeting_on)}）。")
    if errors:
        raise TimelineError(errors)


def is_fed_back(group: InspectionGroup) -> bool:
    """Fed back: its findings were handed over (or the plans of the round's township exist)."""
    return (group.feedback_on is not None
            or InspectionFinding.objects.filter(group=group, fed_back_at__isnull=False).exists()
            or group.round.rectification_plans.filter(organisation=group.township).exists())


@transaction.atomic
def record_timeline(*, by, group: InspectionGroup, reported_on: datetime.date | None = None,
                    secretary_meeting_on: datetime.date | None = None, feedback_on: datetime.date | None = None,
                    feedback_document: str = "", today: datetime.date | None = None) -> InspectionGroup:
    """The office records (or corrects) the report and meeting dates; the feedback date and document
    may only be corrected after `feed_back` handed the findings over. Dates not given stay as they are."""
    _require_office(by, group)
    today = today or timezone.localdate()
    group = InspectionGroup.objects.select_for_update().select_related("round", "township").get(pk=group.pk)
    if (feedback_on or feedback_document) and not is_fed_back(group):
        raise TimelineError("反馈须通过“反馈”办理（同时移交整改事项），不能只登记反馈日期。")
    before = {"reported_on": group.reported_on, "secretary_meeting_on": group.secretary_meeting_on,
              "feedback_on": group.feedback_on, "feedback_document": group.feedback_document}
    new = {
        "reported_on": reported_on or group.reported_on,
        "secretary_meeting_on": secretary_meeting_on or group.secretary_meeting_on,
        "feedback_on": feedback_on or group.feedback_on,
        "feedback_document": (feedback_document or "").strip() or group.feedback_document,
    }
    _check_order(group, new["reported_on"], new["secretary_meeting_on"], new["feedback_on"], today)
    if new == before:
        return group
    for field, value in new.items():
        setattr(group, field, value)
    group.save(update_fields=list(new))
    audit.record("inspection_group.timeline", actor=by, obj=group, before=before, after=new)
    return group


# ---------------------------------------------------------------- feedback: the hand-over


@dataclass(frozen=True)
class FeedbackResult:
    group: InspectionGroup
    plans: list  # the rectification plans made
    items: int


# Who takes the findings over: the rectification app registers its hand-over at start-up
# (rectification.apps); it makes the plans and their items inside feed_back's transaction.
_handover = None


def use_handover(handover) -> None:
    """`handover(group, findings, by=user)` → (plans made, number of items)."""
    global _handover
    _handover = handover


def feed_back(*, by, group: InspectionGroup, feedback_on: datetime.date, feedback_document: str,
              today: datetime.date | None = None) -> FeedbackResult:
    """Feed the round back to the township: in one transaction, mark the findings of the township and
    its villages fed back, create one rectification plan per organisation (the township committee,
    and each village with findings) with one pending item per finding, numbered 1, 2, 3… in focus
    order and due at the end of the round's 集中整改期 (`rectification_deadline`; each item's deadline is
    then edited on its page), and record the feedback date and document. A second call refuses and
    changes nothing."""
    _require_office(by, group)
    today = today or timezone.localdate()
    feedback_document = (feedback_document or "").strip()
    if not feedback_on:
        raise TimelineError("请填写反馈日期。")
    if not feedback_document:
        raise TimelineError("请填写反馈文件（如反馈意见的文号或名称）。")
    try:
        with transaction.atomic():
            group = InspectionGroup.objects.select_for_update().select_related("round", "township__tier").get(pk=group.pk)
            if is_fed_back(group):
                when = f"已于{chinese_date(group.feedback_on)}" if group.feedback_on else "已"
                raise TimelineError(f"{group.name}{when}向{group.township.name}反馈，不能重复反馈。")
            _check_order(group, group.reported_on, group.secretary_meeting_on, feedback_on, today)
            findings = ordered_findings(group)
            group.feedback_on = feedback_on  # the plans carry the feedback date
            plans, count = _handover(group, findings, by=by)
            InspectionFinding.objects.filter(pk__in=[f.pk for f in findings]).update(fed_back_at=timezone.now())
            group.feedback_on, group.feedback_document = feedback_on, feedback_document
            group.save(update_fields=["feedback_on", "feedback_document"])
            audit.record("inspection_group.feedback", actor=by, obj=group, after={
                "feedback_on": feedback_on, "feedback_document": feedback_document, "findings": count,
                "plans": [plan.pk for plan in plans],
            })
    except IntegrityError as exc:  # a plan of the round for one of the organisations already exists
        raise TimelineError(f"{group.township.name}本轮巡察的整改方案已经存在，不能重复反馈。") from exc
    return FeedbackResult(group=group, plans=plans, items=count)
