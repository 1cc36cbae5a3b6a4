"""Celery jobs of the township big patrol (大巡查).
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass

from celery import shared_task
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from governance.models import Notification
from governance.notifications import notify
from grid.models import Post, Region

from .models import CatalogItem, SupervisionGroup
from .patrol import oversight
from .rounds.letters import flag_overdue_letters as flag


@dataclass
class ReminderResult:
    departments_late: int = 0
    circulars_late: int = 0
    sent: int = 0


def _holders(perm_codename: str, **filters) -> list[tuple[int, int | None, int]]:
    """(user id, department id, region id) of active posts whose role grants `inspection.<codename>`."""
    return list(
        Post.objects.active().granting(f"inspection.{perm_codename}").filter(user__is_active=True, **filters)
        .values_list("user_id", "department_id", "region_id").distinct()
    )


def send_late_reminders(today: datetime.date | None = None) -> ReminderResult:
    """Remind last month's late departments (after the 5th) and late offices (after the 10th)."""
    today = today or timezone.localdate()
    month = oversight.month_start(today.replace(day=1) - datetime.timedelta(days=1))
    result = ReminderResult()
    if today <= oversight.confirmation_deadline(month):
        return result
    township_ids = set(CatalogItem.objects.filter(is_active=True).values_list("township_id", flat=True))
    township_ids |= set(SupervisionGroup.objects.values_list("township_id", flat=True))
    townships = list(Region.objects.filter(pk__in=township_ids).order_by("path"))
    if not townships:
        return result
    confirm_rows = _holders("confirm_month", department__isnull=False)
    office_rows = _holders("publish_circular", region_id__in=township_ids, department__isnull=True)
    users = get_user_model().objects.in_bulk({row[0] for row in confirm_rows} | {row[0] for row in office_rows})
    confirmers: dict[int, list[int]] = {}
    for user_id, department_id, _ in confirm_rows:
        confirmers.setdefault(department_id, []).append(user_id)
    office: dict[int, list[int]] = {}
    for user_id, _, region_id in office_rows:
        office.setdefault(region_id, []).append(user_id)
    url = reverse("patrol:oversight")
    label = f"{month.year}年{month.month}月"

    def send(user_id: int, title: str, body: str, key: str) -> None:
        user = users.get(user_id)
        if user is not None and notify(user, kind=Notification.Kind.SUPERVISION, title=title, body=body, url=url,
                                       dedupe_key=f"{key}:{today:%Y%m%d}:{user_id}"):
            result.sent += 1

    deadline = oversight.confirmation_deadline(month)
    for township in townships:
        unconfirmed = [late for late in oversight.late_departments(township, month, today) if late.confirmed_at is None]
        result.departments_late += len(unconfirmed)
        for late in unconfirmed:
            title = f"督办：{late.department.name}尚未确认{label}大巡查考评"
            body = (f"{township.name}{late.department.name}应于 {deadline:%Y-%m-%d} 前确认{label}各村（居）的加减分，"
                    f"已逾期 {late.days_late} 天，请尽快确认。")
            for user_id in sorted(set(confirmers.get(late.department.pk, []))):
                send(user_id, title, body, f"patrol-confirm-late:{late.department.pk}:{month:%Y-%m}")
        if unconfirmed:
            names = "、".join(late.department.name for late in unconfirmed)
            for user_id in sorted(set(office.get(township.pk, []))):
                send(user_id, f"督办：{label}大巡查考评尚有部门未确认",
                     f"{township.name}以下部门逾期未确认{label}考评：{names}。",
                     f"patrol-confirm-late-office:{township.pk}:{month:%Y-%m}")
        if today > oversight.circular_deadline(month) and oversight.month_circular(township, month) is None:
            result.circulars_late += 1
            for user_id in sorted(set(office.get(township.pk, []))):
                send(user_id, f"督办：{township.name}{label}大巡查通报逾期未发布",
                     f"{label}的考评通报应于 {oversight.circular_deadline(month):%Y-%m-%d} 前发布，请尽快通报。",
                     f"patrol-circular-late:{township.pk}:{month:%Y-%m}")
    return result


@shared_task(name="inspection.tasks.remind_late_patrol_work")
def remind_late_patrol_work() -> dict:
    """Daily 督办 of late month confirmations and circulars, run by Celery beat; safe to run twice."""
    return asdict(send_late_reminders())


@shared_task(name="inspection.tasks.flag_overdue_letters")
def flag_overdue_letters() -> dict:
    """Daily: flag inspection letters past their written-reply date (巡察提醒函 etc.) and tell the office once."""
    return flag()
