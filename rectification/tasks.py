"""Celery jobs of rectification (整改): overdue items, reminder and supervision letters.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict

from celery import shared_task
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from governance import audit
from governance.chinese_dates import chinese_date
from governance.models import AuditEntry, Notification
from governance.notifications import notify
from inspection.models import InspectionLetter
from inspection.rounds.letters import (
    DEFAULT_REPLY_DAYS,
    issue_letter,
    may_issue,
    office_users,
    organisation_title,
)
from rectification.rectification_flow import committee_users

from . import states
from .models import RectificationItem
from .notices import write_published_pdf_task  # noqa: F401 (the notices' task, found here by the worker's autodiscovery)

logger = logging.getLogger(__name__)

SUPERVISION_AFTER_DAYS = 14
REMINDER_ACTION = "rectification_item.reminder"
SUPERVISION_ACTION = "rectification_item.supervision"


def _letters_of(items, action: str) -> dict[int, int | None]:
    """item id → letter id (None: no letter, the committee was notified) recorded for `action`."""
    rows = AuditEntry.objects.filter(
        action=action, object_type=RectificationItem._meta.label, object_id__in=[str(item.pk) for item in items],
    ).values_list("object_id", "after")
    return {int(object_id): (after or {}).get("letter") for object_id, after in rows}


def _issuer(round_):
    return next((user for user in office_users(round_) if may_issue(user, round_)), None)


def _letter_body(plan, items, kind: str, reply_due: datetime.date, reminder=None) -> str:
    lines = [f"{organisation_title(plan.organisation)}："]
    if kind == "reminder":
        lines.append(f"{plan.round.name}反馈问题中，你单位以下整改事项已超过整改时限仍未完成整改，现予以提醒：")
    else:
        lines.append(f"{plan.round.name}反馈问题中，你单位以下整改事项经{reminder}提醒后仍未完成整改，现予督办：")
    for item in items:
        deadline = item.new_deadline or item.deadline
        lines.append(f"第{item.number}项：{item.title.rstrip('。')}（整改时限{chinese_date(deadline)}）。")
    lines.append(f"请你单位切实履行整改主体责任，于{chinese_date(reply_due)}前将上述问题整改落实情况书面报告县委巡察办。")
    return "\n".join(lines)


def _issue(plan, items, kind: str, today: datetime.date, reminder=None):
    """One letter of `kind` to the plan's organisation for `items`; None when it cannot be issued."""
    if plan.round_id is None:
        return None
    by = _issuer(plan.round)
    if by is None:
        logger.warning("no office user may issue letters of round %s", plan.round_id)
        return None
    reply_due = max(today, timezone.localdate()) + datetime.timedelta(days=DEFAULT_REPLY_DAYS)
    word = "提醒" if kind == "reminder" else "督办"
    try:
        with transaction.atomic():
            return issue_letter(
                by=by, round=plan.round, kind=kind, recipient=plan.organisation, reply_due=reply_due,
                subject=f"关于{plan.organisation.name}巡察整改事项逾期未完成的{word}"[:200],
                body=_letter_body(plan, items, kind, reply_due, reminder=reminder),
            )
    except (ValidationError, PermissionDenied) as exc:
        logger.warning("overdue %s letter for plan %s not issued: %s", kind, plan.pk, exc)
        return None


def _notify_committee(plan, items, title: str, body: str, key: str) -> int:
    url = reverse("rectification:plan_detail", args=[plan.pk])
    numbers = "、".join(str(item.number) for item in items)
    sent = 0
    for user in committee_users(plan.organisation):
        if notify(user, kind=Notification.Kind.SUPERVISION, title=title, body=f"{body}（第{numbers}项）", url=url,
                  dedupe_key=f"{key}:{user.pk}"):
            sent += 1
    return sent


def flag_overdue(today: datetime.date | None = None) -> dict:
    """Flag overdue items (rectification.states.q_overdue: the rule every page reads), send the reminder
    and then the supervision letter; safe to run any number of times."""
    today = today or timezone.localdate()
    result = {"flagged": 0, "cleared": 0, "reminders": 0, "supervisions": 0, "notified": 0}
    with transaction.atomic():
        cleared = list(RectificationItem.objects.select_for_update().filter(is_overdue=True)
                       .exclude(states.q_overdue(today)))
        if cleared:
            RectificationItem.objects.filter(pk__in=[item.pk for item in cleared]).update(is_overdue=False)
            audit.record_many("rectification_item.overdue_cleared", cleared, after={"is_overdue": False})
        result["cleared"] = len(cleared)
        late = list(
            RectificationItem.objects.select_for_update(of=("self",)).filter(states.q_overdue(today))
            .select_related("plan__organisation__tier", "plan__round__county").order_by("plan_id", "number")
        )
        newly = [item for item in late if not item.is_overdue]
        if newly:
            RectificationItem.objects.filter(pk__in=[item.pk for item in newly]).update(is_overdue=True)
            audit.record_many("rectification_item.overdue", newly, after={"is_overdue": True})
        result["flagged"] = len(newly)

        reminded = _letters_of(late, REMINDER_ACTION)
        supervised = _letters_of(late, SUPERVISION_ACTION)

        reminders = InspectionLetter.objects.in_bulk([pk for pk in reminded.values() if pk])
        by_plan: dict[int, list] = defaultdict(list)
        for item in late:
            by_plan[item.plan_id].append(item)
        for items in by_plan.values():
            plan = items[0].plan
            to_remind = [item for item in items if item.pk not in reminded]
            if to_remind:
                letter = _issue(plan, to_remind, "reminder", today)
                audit.record_many(REMINDER_ACTION, to_remind, after={
                    "letter": letter.pk if letter else None, "number": letter.number if letter else ""})
                result["reminders"] += 1 if letter else 0
                what = f"，已发《巡察提醒函》（{letter.number}）" if letter else ""
                result["notified"] += _notify_committee(
                    plan, to_remind, f"整改逾期：{plan.organisation.name}有 {len(to_remind)} 项整改事项超过整改时限",
                    f"请抓紧整改并报送进展{what}", f"rectification-overdue:{plan.pk}:{to_remind[0].pk}:{len(to_remind)}")
            to_supervise = []
            for item in items:
                letter = reminders.get(reminded.get(item.pk))
                if (item.pk not in supervised and letter is not None and letter.reply_due is not None
                        and today > letter.reply_due + datetime.timedelta(days=SUPERVISION_AFTER_DAYS)):
                    to_supervise.append((item, letter))
            if to_supervise:
                first = to_supervise[0][1]
                supervise_items = [item for item, _ in to_supervise]
                letter = _issue(plan, supervise_items, "supervision", today, reminder=f"《巡察提醒函》（{first.number}）")
                audit.record_many(SUPERVISION_ACTION, supervise_items, after={
                    "letter": letter.pk if letter else None, "number": letter.number if letter else ""})
                result["supervisions"] += 1 if letter else 0
                what = f"（{letter.number}）" if letter else ""
                result["notified"] += _notify_committee(
                    plan, supervise_items, f"督办：{plan.organisation.name}整改事项提醒后仍逾期未完成",
                    f"县委巡察办已发督办函{what}，请立即整改并书面报告",
                    f"rectification-supervision:{plan.pk}:{supervise_items[0].pk}:{len(supervise_items)}")
    return result


@shared_task(name="rectification.tasks.flag_overdue_items")
def flag_overdue_items() -> dict:
    """Daily: flag overdue rectification items; 提醒函 first, 督办函 14 days after its reply date."""
    return flag_overdue()
