"""The queries behind the event pages: "my tasks", "my region's events" and their filters.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance.listing import word_search
from grid.event_flow import EventFlow
from workflows.models import TaskDeadline

from .access import _minimal_prefixes, region_grants, scope
from .events import HANDLE_PERMISSION_BY_TIER
from .flow_policy import policy_of, step_name
from .models import Event, FlowPolicy, Post, Region

# The flow step an open event waits at, by its status (kept in step by grid.events).
STEP_BY_STATUS = {
    Event.Status.HANDLING: "handle",
    Event.Status.DISPATCHED: "department",
    Event.Status.VERIFYING: "verify",
}


def _regions_under(prefixes_by_key: dict[str, list[str]]) -> dict[str, list[tuple[int, str]]]:
    """(id, tier key) of the regions under each key's path prefixes, all read in one query."""
    prefixes = {prefix for paths in prefixes_by_key.values() for prefix in paths}
    if not prefixes:
        return {key: [] for key in prefixes_by_key}
    condition = Q(pk__in=[])
    for prefix in _minimal_prefixes(prefixes):
        condition |= Q(path__startswith=prefix)
    rows = list(Region.objects.filter(condition).values_list("pk", "path", "tier__key"))
    return {
        key: [(pk, tier) for pk, path, tier in rows if any(path.startswith(prefix) for prefix in paths)]
        for key, paths in prefixes_by_key.items()
    }


def my_tasks(user) -> QuerySet[Event]:
    """Open events whose current step this user may take (mirrors grid.events.may_take_step).

    The user's regions are read first (one small query) and the events filtered by region id, so
    that each branch is an index lookup on (handling_region, status) or (region): a condition on the
    joined region's path cannot use an index on the events, and made the page read every open event.
    """
    if not user.is_authenticated or not user.is_active:
        return Event.objects.none()
    grants = region_grants(user)
    wanted = {tier_key: grants.paths(perm) for tier_key, perm in HANDLE_PERMISSION_BY_TIER.items()}
    wanted["department"] = grants.paths("grid.handle_dispatched_event")
    wanted["verify"] = grants.paths("grid.verify_event")
    wanted["callback"] = grants.paths("grid.centre_dispatch_event")
    regions = _regions_under(wanted)
    condition = Q(pk__in=[])
    for tier_key in HANDLE_PERMISSION_BY_TIER:
        ids = [pk for pk, tier in regions[tier_key] if tier == tier_key]
        if ids:
            condition |= Q(status=Event.Status.HANDLING, handling_region_id__in=ids)
    if regions["department"]:
        departments = list(Post.objects.active().filter(user=user, department__isnull=False).values_list("department_id", flat=True))
        if departments:
            condition |= Q(status=Event.Status.DISPATCHED, department_id__in=departments,
                           handling_region_id__in=[pk for pk, _ in regions["department"]])
    # Who verifies is the event's policy version's choice (grid.event_rules.may_verify).
    verifier = FlowPolicy.Verifier
    no_policy = Q(flow_policy__isnull=True)
    verifiable = Q(reporter=user) & (no_policy | Q(flow_policy__verifier__in=[verifier.REPORTER, verifier.REPORTER_OR_GRID_LEADER]))
    if regions["verify"]:
        verifiable |= Q(region_id__in=[pk for pk, _ in regions["verify"]]) & (
            no_policy | Q(flow_policy__verifier__in=[verifier.GRID_LEADER, verifier.REPORTER_OR_GRID_LEADER]))
    if regions["callback"]:
        verifiable |= Q(region_id__in=[pk for pk, _ in regions["callback"]], flow_policy__verifier=verifier.CALLBACK)
    condition |= Q(status=Event.Status.VERIFYING) & verifiable
    return Event.objects.filter(condition)


# Orders a user may choose for the events list (and its export and the API); "" is the default.
EVENT_SORTS = {
    "": ("最新上报在前", ("-id",)),
    "oldest": ("最早上报在前", ("id",)),
    "occurred": ("发生时间由近及远", ("-occurred_at", "-id")),
    "overdue": ("超期的在前", ("-is_overdue", "-id")),
}


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
    sort: str = ""

    def ordering(self) -> tuple[str, ...]:
        return EVENT_SORTS.get(self.sort, EVENT_SORTS[""])[1]

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
        return word_search(events, self.q, "title", "description")


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def region_events(user, filters: EventFilters | None = None, *, perm: str = "grid.view_event") -> QuerySet[Event]:
    """The events of the user's regions (scoped by `perm`), filtered, in the chosen order (newest first)."""
    events = scope(user, Event.objects.all(), perm)
    if filters is None:
        return events.order_by("-id")
    return filters.apply(events).order_by(*filters.ordering())


def with_list_columns(events: QuerySet[Event]) -> QuerySet[Event]:
    """The columns the lists and the export show. At most 8 tables in the page's query: PostgreSQL
    stops reordering joins past join_collapse_limit (8), and with the region subquery of scope()
    as a ninth it walked the whole table newest-first for a grid's page (1 s at 1,000,000 events)."""
    return events.select_related("region", "handling_region__tier", "category", "department").prefetch_related(
        "reporter", "category__parent"
    )


# ---------------------------------------------------------------- my tasks' first rows (home page, mobile)

TASK_ROWS = 8
STEP_LABELS = {Event.Status.HANDLING: "本级处置", Event.Status.DISPATCHED: "部门办理", Event.Status.VERIFYING: "核实办结"}


def open_step_label(event: Event) -> str:
    """The open step's name by the tier holding it (网格处置, 村级处置, 乡镇处置, 县网格化中心派单, 部门办理,
    核实办结), under the event's own policy version; needs `handling_region__tier` loaded."""
    step = STEP_BY_STATUS.get(event.status)
    if step is None:
        return event.get_status_display()
    return step_name(step, event.handling_region.tier.key, policy_of(event))


@dataclass
class TaskRow:
    event: Event
    step: str
    due_at: datetime.datetime | None


def task_rows(user, tasks) -> list[TaskRow]:
    """The first rows of my tasks, with each open step's deadline (one query for all deadlines)."""
    events = list(tasks.select_related("region", "category", "handling_region__tier").order_by("-is_overdue", "id")[:TASK_ROWS])
    if not events:
        return []
    due = dict(
        TaskDeadline.objects.filter(
            is_open=True, task__process__artifact_content_type=ContentType.objects.get_for_model(Event),
            task__process__artifact_object_id__in=[event.pk for event in events], task__process__flow_class=EventFlow,
        ).order_by("id").values_list("task__process__artifact_object_id", "due_at")
    )
    return [TaskRow(event, open_step_label(event), due.get(event.pk)) for event in events]
