"""The queries behind the event pages: "my tasks", "my region's events" and their filters.

Both are one indexed query whatever the number of events: the user's grants become a handful of
path-prefix conditions (grid.access), and pages never count the whole list (governance.paging).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from .access import region_grants, scope
from .events import HANDLE_PERMISSION_BY_TIER
from .models import Event, Post

# The flow step an open event waits at, by its status (kept in step by grid.events).
STEP_BY_STATUS = {
    Event.Status.HANDLING: "handle",
    Event.Status.DISPATCHED: "department",
    Event.Status.VERIFYING: "verify",
}


def _under(prefixes: list[str], lookup: str) -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(**{f"{lookup}__startswith": prefix})
    return condition


def my_tasks(user) -> QuerySet[Event]:
    """Open events whose current step this user may take (mirrors grid.events.may_take_step)."""
    if not user.is_authenticated or not user.is_active:
        return Event.objects.none()
    grants = region_grants(user)
    condition = Q(pk__in=[])
    for tier_key, perm in HANDLE_PERMISSION_BY_TIER.items():
        paths = grants.paths(perm)
        if paths:
            condition |= Q(status=Event.Status.HANDLING, handling_region__tier__key=tier_key) & _under(
                paths, "handling_region__path"
            )
    department_paths = grants.paths("grid.handle_dispatched_event")
    if department_paths:
        departments = list(Post.objects.active().filter(user=user, department__isnull=False).values_list("department_id", flat=True))
        if departments:
            condition |= Q(status=Event.Status.DISPATCHED, department_id__in=departments) & _under(
                department_paths, "handling_region__path"
            )
    condition |= Q(status=Event.Status.VERIFYING) & (Q(reporter=user) | _under(grants.paths("grid.verify_event"), "region__path"))
    return Event.objects.filter(condition)


@dataclass
class EventFilters:
    status: str = ""
    category: int | None = None
    tier: str = ""
    overdue: bool = False
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    source: str = ""
    q: str = ""

    def apply(self, events: QuerySet[Event]) -> QuerySet[Event]:
        if self.status == "open":
            events = events.filter(status__in=Event.OPEN_STATUSES)
        elif self.status:
            events = events.filter(status=self.status)
        if self.category:
            events = events.filter(Q(category_id=self.category) | Q(category__parent_id=self.category))
        if self.tier:
            events = events.filter(handling_region__tier__key=self.tier)
        if self.overdue:
            events = events.filter(is_overdue=True)
        if self.date_from:
            events = events.filter(created_at__gte=_start_of(self.date_from))
        if self.date_to:
            events = events.filter(created_at__lt=_start_of(self.date_to + datetime.timedelta(days=1)))
        if self.source:
            events = events.filter(source=self.source)
        if self.q:
            for word in self.q.split()[:5]:
                events = events.filter(Q(title__icontains=word) | Q(description__icontains=word))
        return events


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def region_events(user, filters: EventFilters | None = None, *, perm: str = "grid.view_event") -> QuerySet[Event]:
    """The events of the user's regions (scoped by `perm`), filtered, newest first."""
    events = scope(user, Event.objects.all(), perm)
    if filters is not None:
        events = filters.apply(events)
    return events.order_by("-id")


def with_list_columns(events: QuerySet[Event]) -> QuerySet[Event]:
    return events.select_related("region", "handling_region__tier", "category__parent", "reporter", "department")
