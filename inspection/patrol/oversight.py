"""Who is behind with the township big patrol (大巡查): unchecked villages, late departments, late circulars.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from grid.models import Department, Region

from ..models import CatalogItem, Circular, DepartmentConfirmation, SupervisionCheck, SupervisionGroup
from .scoring import month_start, next_month

CONFIRMATION_DAY = 5
CIRCULAR_DAY = 10


def confirmation_deadline(month: datetime.date) -> datetime.date:
    """The last day a lead department may confirm `month`'s points: the 5th of the next month."""
    return next_month(month_start(month)).replace(day=CONFIRMATION_DAY)


def circular_deadline(month: datetime.date) -> datetime.date:
    """The last day the office may circulate `month`: the 10th of the next month."""
    return next_month(month_start(month)).replace(day=CIRCULAR_DAY)


def _local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()


def _today(today: datetime.date | None) -> datetime.date:
    return today if today is not None else timezone.localdate()


# ------------------------------------------------------------------ supervision checks


def _checked_village_ids(month: datetime.date):
    start = month_start(month)
    return SupervisionCheck.objects.filter(date__gte=start, date__lt=next_month(start)).values("village_id")


def unchecked_villages(township: Region, month: datetime.date) -> list[Region]:
    """Villages assigned to the township's supervision groups that no group checked in `month` (one query)."""
    return list(
        Region.objects.filter(supervising_groups__township=township)
        .exclude(pk__in=_checked_village_ids(month))
        .distinct()
        .order_by("path")
    )


@dataclass
class GroupProgress:
    group: SupervisionGroup
    villages: list[Region]
    unchecked: list[Region]

    @property
    def checked_count(self) -> int:
        return len(self.villages) - len(self.unchecked)


def unchecked_by_group(township: Region, month: datetime.date) -> list[GroupProgress]:
    """Each group of the township with its villages and those not checked in `month` (three queries)."""
    groups = list(SupervisionGroup.objects.filter(township=township).prefetch_related("villages").order_by("number"))
    unchecked_ids = {village.pk for village in unchecked_villages(township, month)}
    result = []
    for group in groups:
        villages = sorted(group.villages.all(), key=lambda village: village.path)
        result.append(GroupProgress(group, villages, [v for v in villages if v.pk in unchecked_ids]))
    return result


# ------------------------------------------------------------------ department confirmations


@dataclass
class LateDepartment:
    department: Department
    confirmed_at: datetime.datetime | None
    days_late: int


@dataclass
class DepartmentStatus:
    """A lead department's confirmation of a month: on time, late, not yet due, or overdue."""

    department: Department
    confirmed_at: datetime.datetime | None
    confirmed_by_name: str
    deadline: datetime.date
    days_late: int  # 0 when on time or not yet due

    @property
    def is_late(self) -> bool:
        return self.days_late > 0

    @property
    def status(self) -> str:
        if self.confirmed_at is None:
            return "逾期未确认" if self.is_late else "待确认"
        return "逾期确认" if self.is_late else "按时确认"


def lead_departments(township: Region):
    """Departments that lead at least one active catalog item of the township (a queryset)."""
    led = CatalogItem.objects.filter(township=township, is_active=True).values("lead_department_id")
    return Department.objects.filter(pk__in=led).order_by("name", "pk")


def department_statuses(township: Region, month: datetime.date, today: datetime.date | None = None) -> list[DepartmentStatus]:
    """Every lead department of the township with its confirmation of `month` (two queries)."""
    start = month_start(month)
    deadline = confirmation_deadline(start)
    today = _today(today)
    departments = list(lead_departments(township))
    confirmations = {
        confirmation.department_id: confirmation
        for confirmation in DepartmentConfirmation.objects.filter(
            department__in=[d.pk for d in departments], month=start
        ).select_related("confirmed_by")
    }
    result = []
    for department in departments:
        confirmation = confirmations.get(department.pk)
        if confirmation is None:
            days_late = max(0, (today - deadline).days)
            result.append(DepartmentStatus(department, None, "", deadline, days_late))
        else:
            days_late = max(0, (_local_date(confirmation.confirmed_at) - deadline).days)
            by = confirmation.confirmed_by
            result.append(DepartmentStatus(department, confirmation.confirmed_at,
                                           by.get_full_name() or by.get_username(), deadline, days_late))
    return result


def late_departments(township: Region, month: datetime.date, today: datetime.date | None = None) -> list[LateDepartment]:
    """Lead departments that did not confirm `month` by the 5th of the next month: still unconfirmed
    after the deadline, or confirmed after it (two queries)."""
    return [
        LateDepartment(status.department, status.confirmed_at, status.days_late)
        for status in department_statuses(township, month, today)
        if status.is_late
    ]


# ------------------------------------------------------------------ circulars


def month_circular(township: Region, month: datetime.date) -> Circular | None:
    return Circular.objects.filter(
        township=township, period=Circular.Period.MONTH, period_start=month_start(month)
    ).first()


def circular_days_late(township: Region, month: datetime.date, today: datetime.date | None = None) -> int:
    """Days past the 10th of the next month: until publication, or of the publication (one query)."""
    deadline = circular_deadline(month)
    circular = month_circular(township, month)
    day = _local_date(circular.published_at) if circular is not None else _today(today)
    return max(0, (day - deadline).days)


def circular_is_late(township: Region, month: datetime.date, today: datetime.date | None = None) -> bool:
    """Whether the month's circular was (or still is not) published after the 10th of the next month."""
    return circular_days_late(township, month, today) > 0
