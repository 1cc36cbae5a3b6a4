"""The queries behind the event pages: "my tasks", "my region's events" and their filters.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field, replace

from django.db.models import Count, F, Func, Q, QuerySet, Window
from django.utils import timezone

from governance.chinese_dates import start_of_day
from governance.listing import word_search
from governance.paging import Concatenation

from .access import _minimal_prefixes, region_grants, scope
from .areas import in_area
from .category_catalogue import catalogue_cache
from .event_rules import STEP_BY_STATUS, may_verify
from .events import HANDLE_PERMISSION_BY_TIER
from .flow_policy import policy_of, step_name
from .models import Event, FlowPolicy, Post, Region, overdue_first, overdue_q
from .region_memo import regions_by_id


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


# Who may record a disposal (就地处置 at a tier, or a department's result).
DISPOSING_PERMS = {*HANDLE_PERMISSION_BY_TIER.values(), "grid.handle_dispatched_event"}


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
    to_verify = Q(status=Event.Status.VERIFYING) & verifiable
    if not grants.perms & DISPOSING_PERMS:
        return Event.objects.filter(condition | to_verify)
    # Whoever recorded a disposal verifies it only when nobody else may (grid.event_rules.verifiers).
    own = [event.pk for event in Event.objects.filter(to_verify, disposed_by=user).select_related("region")
           if may_verify(user, event, policy_of(event))]
    condition |= to_verify & ~Q(disposed_by=user)
    return Event.objects.filter(condition | Q(pk__in=own) if own else condition)


# My tasks' own order after "overdue first": the nearest deadline (the open step's), then the oldest.
BY_DEADLINE = (F("step_due_at").asc(nulls_last=True), "id")
# "Overdue first, then the nearest deadline" for tasks, which are all open events: an open event is
# overdue exactly when its deadline is before now, so the nearest deadline first already puts every
# overdue task first, in the same order, without a clock-dependent CASE to compile and evaluate.
TASKS_OVERDUE_FIRST = BY_DEADLINE

# Orders a user may choose for the events list (and its export and the API); "" is the default.
EVENT_SORTS = {
    "": ("最新上报在前", ("-created_at", "-id")),
    "oldest": ("最早上报在前", ("created_at", "id")),
    "occurred": ("发生时间由近及远", ("-occurred_at", "-id")),
    "overdue": ("超期的在前", (overdue_first, "-created_at", "-id")),  # a function: the order depends on the clock
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
    region: int | None = None  # the events that count toward this region (grid.areas, as the map counts them)
    mine: bool = False  # only the user's own reports (applied by region_events, which knows the user)

    def ordering(self) -> tuple:
        return tuple(part() if callable(part) else part for part in EVENT_SORTS.get(self.sort, EVENT_SORTS[""])[1])

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
            events = events.overdue()
        if self.date_from:
            events = events.filter(created_at__gte=start_of_day(self.date_from))
        if self.date_to:
            events = events.filter(created_at__lt=start_of_day(self.date_to + datetime.timedelta(days=1)))
        if self.source:
            events = events.filter(source=self.source)
        if self.region:
            area = Region.objects.filter(pk=self.region).first()
            events = in_area(events, area) if area is not None else events.none()
        return word_search(events, self.q, "title", "description")


def region_events(user, filters: EventFilters | None = None, *, perm: str = "grid.view_event") -> QuerySet[Event]:
    """The events of the user's regions (scoped by `perm`), filtered, in the chosen order (newest first)."""
    events = scope(user, Event.objects.all(), perm)
    if filters is None:
        return events.order_by(*EVENT_SORTS[""][1])
    if filters.mine:
        events = events.filter(reporter=user)
    return filters.apply(events).order_by(*filters.ordering())


def events_for_list_page(user, filters: EventFilters) -> PageEvents | Concatenation:
    """region_events as the list page reads it (PageEvents). In the "超期的在前" order, as two
    parts read newest first along the report-time index: the events overdue now, then the others (the
    same rows in the same order as the one ORDER BY, which made the database sort every matching event
    for each page)."""
    if filters.sort != "overdue":
        return PageEvents(region_events(user, filters))
    newest_first = region_events(user, replace(filters, sort=""))
    overdue = overdue_q(timezone.now())
    return Concatenation(PageEvents(newest_first.filter(overdue)), PageEvents(newest_first.exclude(overdue)))


def with_list_columns(events: QuerySet[Event]) -> QuerySet[Event]:
    """The columns the lists and the export show. At most 8 tables in the page's query: PostgreSQL
    stops reordering joins past join_collapse_limit (8), and with the region subquery of scope()
    as a ninth it walked the whole table newest-first for a grid's page (1 s at 1,000,000 events)."""
    return events.select_related("region", "handling_region__tier", "category", "department").prefetch_related(
        "reporter", "category__parent"
    )


# What the HTML lists print (grid.event_rows) from the event's own row; the names around it are
# attached afterwards (attach_page_relations).
PAGE_COLUMNS = (
    "id", "title", "urgency", "status", "step_due_at", "created_at", "flow_policy_id", "region_id",
    "handling_region_id", "department_id", "category_id",
)


class PageEvent:
    """An event as the HTML lists show it: PAGE_COLUMNS and its department's name, read as a tuple (fifty
    Event instances with deferred fields took about a millisecond a page to build), then its regions and
    category (attach_page_relations) and, in my tasks, its step's name. Open and overdue are Event's own
    rules: the same functions."""

    __slots__ = (*PAGE_COLUMNS, "department_name", "region", "handling_region", "category", "step_label")
    OPEN_STATUSES = Event.OPEN_STATUSES
    is_open = Event.is_open
    overdue_at = Event.overdue_at
    is_overdue = Event.is_overdue
    _STATUS_LABELS = dict(Event.Status.choices)

    def __init__(self, row: tuple):
        for name, value in zip(PAGE_COLUMNS + ("department_name",), row, strict=True):
            setattr(self, name, value)

    @property
    def pk(self) -> int:
        return self.id

    def get_status_display(self) -> str:
        return str(self._STATUS_LABELS.get(self.status, self.status))


class PageEvents:
    """A queryset of events as the HTML lists read them, page by page (what UncountedPage and Concatenation
    ask of it: slices and count()): PageEvents with the columns they show and the department's name (one
    left join) and no other joins: PostgreSQL spent longer planning the five joins of with_list_columns
    than running the page's query (about 2 ms against 0.5 ms a page)."""

    def __init__(self, events: QuerySet[Event]):
        self.rows = events.values_list(*PAGE_COLUMNS, "department__name")

    def count(self) -> int:
        return self.rows.count()

    def __getitem__(self, window: slice) -> list[PageEvent]:
        return [PageEvent(row) for row in self.rows[window]]


def attach_page_relations(events: list[PageEvent]) -> list[PageEvent]:
    """Give a page of events their region and handling region (with its tier) and category: the regions
    kept by the process (grid.region_memo; at most one query), the categories from the catalogue."""
    regions = regions_by_id({event.region_id for event in events} | {event.handling_region_id for event in events})
    categories = catalogue_cache.get().categories
    for event in events:
        event.region = regions[event.region_id]
        event.handling_region = regions[event.handling_region_id]
        event.category = categories[event.category_id]
    return events


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

    @property
    def is_late(self) -> bool:
        """Past the step's deadline now (Event.is_overdue), whether or not the periodic 督办 scan has run."""
        return self.event.is_overdue


def task_rows(user, tasks) -> list[TaskRow]:
    """The first rows of my tasks, overdue first, each with its open step's deadline."""
    events = list(tasks.select_related("region", "category", "handling_region__tier")
                  .order_by(*TASKS_OVERDUE_FIRST)[:TASK_ROWS])
    return [TaskRow(event, open_step_label(event), event.step_due_at) for event in events]


@dataclass
class TaskSummary:
    count: int
    overdue: int
    rows: list[TaskRow]
    # The events read, earliest deadline first (overdue first is the same order for open events):
    # the first `read` of them, of which `rows` shows TASK_ROWS.
    earliest: list[Event] = field(default_factory=list)


# What the home page shows of a task row from the event's own row; its regions (the step's name needs
# the handling region's tier) are attached from the process's kept regions (grid.region_memo).
TASK_SUMMARY_COLUMNS = ("id", "title", "urgency", "status", "step_due_at", "flow_policy_id", "region_id",
                        "handling_region_id")


class _NotFromAnIndex(Func):
    """The value itself, written on PostgreSQL so that no index provides it in order (timestamp plus a zero
    interval): sorting on it gives the same order as on the column."""

    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(%(expressions)s + INTERVAL '0')", **extra_context)


# task_summary's order: BY_DEADLINE on an expression. Its counts (window aggregates) need every task, but
# PostgreSQL costs a plan under LIMIT as if it could stop early, and with the column's own order it walked
# the whole deadline index (a township with 7,500 tasks among 1,000,000 events: 590 ms, against 25 ms
# reading the tasks through their own indexes and sorting them).
_BY_DEADLINE_SORTED = (_NotFromAnIndex("step_due_at").asc(nulls_last=True), "id")


def task_summary(tasks, now: datetime.datetime, *, read: int = TASK_ROWS) -> TaskSummary:
    """How many tasks there are, how many of them are overdue at `now`, and the first rows (as task_rows,
    overdue at `now` first, with TASK_SUMMARY_COLUMNS and their regions): one query without joins, the
    two counts taken over all the tasks beside the first `read` events (at least TASK_ROWS; the home
    page's deadlines read more)."""
    if tasks.query.is_empty():
        return TaskSummary(0, 0, [])
    events = list(tasks.only(*TASK_SUMMARY_COLUMNS)
                  .annotate(task_count=Window(Count("id")), overdue_count=Window(Count("id", filter=overdue_q(now))))
                  .order_by(*_BY_DEADLINE_SORTED)[:max(read, TASK_ROWS)])
    if not events:
        return TaskSummary(0, 0, [])
    regions = regions_by_id({event.region_id for event in events} | {event.handling_region_id for event in events})
    for event in events:
        event.region, event.handling_region = regions[event.region_id], regions[event.handling_region_id]
    rows = [TaskRow(event, open_step_label(event), event.step_due_at) for event in events[:TASK_ROWS]]
    return TaskSummary(events[0].task_count, events[0].overdue_count, rows, events)


@dataclass
class MyReport:
    """One of my own reports as the phone shows it: its state and, while open, where it waits."""

    event: Event
    state: str
    step: str


def my_reports(user, limit: int = 10) -> list[MyReport]:
    """The user's own reports, newest first, each with its status and current step (one query)."""
    if not user.is_authenticated:
        return []
    events = (Event.objects.filter(reporter=user).select_related("handling_region__tier", "department")
              .order_by("-created_at", "-id")[:limit])
    rows = []
    for event in events:
        step = ""
        if event.is_open:
            where = event.department.name if event.status == Event.Status.DISPATCHED and event.department_id else \
                event.handling_region.name
            step = f"{open_step_label(event)}：{where}"
        rows.append(MyReport(event, event.get_status_display(), step))
    return rows


MERGE_DAYS = 30
MERGE_ROWS = 8
MERGE_SCAN = 60


@dataclass
class MergeCandidate:
    event: Event
    distance_m: int | None  # metres between the two reported points, when both have one


def merge_candidates(user, event: Event) -> list[MergeCandidate]:
    """Events the user may see that `event` may repeat: same top-level category, reported in the same
    handling area within MERGE_DAYS days before or after it, not merged themselves; nearest first when
    both have coordinates, else newest first."""
    top = event.category.parent_id or event.category_id
    since = event.created_at - datetime.timedelta(days=MERGE_DAYS)
    until = event.created_at + datetime.timedelta(days=MERGE_DAYS)
    rows = list(
        scope(user, Event.objects.all(), "grid.view_event")
        .filter(Q(category_id=top) | Q(category__parent_id=top), region__path__startswith=event.handling_region.path,
                created_at__gte=since, created_at__lte=until)
        .exclude(pk=event.pk).exclude(status=Event.Status.MERGED)
        .select_related("region").order_by("-created_at", "-id")[:MERGE_SCAN]
    )
    candidates = [MergeCandidate(other, _metres(event, other)) for other in rows]
    candidates.sort(key=lambda row: (row.distance_m is None, row.distance_m or 0))
    return candidates[:MERGE_ROWS]


def _metres(a: Event, b: Event) -> int | None:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, map(float, (a.latitude, a.longitude, b.latitude, b.longitude)))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(2 * 6371000 * math.asin(math.sqrt(h)))
