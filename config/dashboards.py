"""The home dashboard (工作台) of each user: tasks, what changed, and the figures of their tier.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone

from governance.charts import Figure, Series
from grid import access_cache, event_counts
from grid.access import explicit_grants, region_grants, regions_named, scope
from grid.category_catalogue import catalogue_cache
from grid.event_lists import TaskRow, my_tasks, task_summary
from grid.models import Event, Region, WorkDiary, overdue_q
from grid.region_memo import regions_by_id
from inspection.models import PatrolReport
from inspection.patrol.scoring import mean_score, month_scores, ranked
from rectification import states
from rectification.models import ProgressEntry, RectificationItem

from .worklist import (
    DEADLINE_ROWS,
    Deadline,
    GroupCard,
    Queue,
    deadlines_this_week,
    group_cards,
    item_figures,
    item_figures_by_organisation,
    waiting_for,
)

SESSION_PREVIOUS_LOGIN = "gv_previous_login"
MONTHS = 12

# Event statuses grouped as the charts show them (the outcomes the monthly counts keep).
STATUS_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("open", "办理中", event_counts.OUTCOMES["open"]),
    ("closed", "已办结", event_counts.OUTCOMES["closed"]),
    ("ended", "驳回或合并", event_counts.OUTCOMES["ended"]),
]
TASK_PERMS = ("grid.add_event", "grid.triage_event", "grid.handle_village_event", "grid.dispatch_event",
              "grid.centre_dispatch_event", "grid.handle_dispatched_event", "grid.verify_event")
@dataclass
class Change:
    label: str
    count: int
    url: str = ""


@dataclass
class Dashboard:
    scope_name: str = ""
    tasks: list[TaskRow] = field(default_factory=list)
    task_count: int = 0
    overdue_tasks: int = 0
    overdue_events: int | None = None
    queues: list[Queue] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    groups: list[GroupCard] = field(default_factory=list)
    since: datetime.datetime | None = None
    changes: list[Change] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    diary_due: bool = False
    handles_events: bool = False


# ------------------------------------------------------------------ last visit


def _stash_previous_login(sender, instance, update_fields=None, **kwargs):
    """Before Django stamps last_login at sign-in, keep the previous value on the instance."""
    if update_fields and set(update_fields) == {"last_login"} and instance.pk:
        previous = sender._default_manager.filter(pk=instance.pk).values_list("last_login", flat=True).first()
        instance._gv_previous_login = previous


def remember_previous_login(sender, request, user, **kwargs):
    """Keep the previous sign-in in the session: the dashboard shows what changed since then."""
    previous = getattr(user, "_gv_previous_login", None)
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_PREVIOUS_LOGIN] = previous.isoformat() if previous else ""


pre_save.connect(_stash_previous_login, sender=get_user_model(), dispatch_uid="gv_stash_previous_login")
user_logged_in.connect(remember_previous_login, dispatch_uid="gv_remember_previous_login")


def last_visit(request) -> tuple[datetime.datetime | None, bool]:
    """(the user's previous sign-in, whether this is their first sign-in).

    The time is None when unknown: the first sign-in, or a session older than this feature.
    """
    value = request.session.get(SESSION_PREVIOUS_LOGIN) if hasattr(request, "session") else None
    if not value:
        return None, value == ""
    try:
        return datetime.datetime.fromisoformat(value), False
    except ValueError:
        return None, False


# ------------------------------------------------------------------ helpers


def _roots(user, perm: str) -> list[Region]:
    """The regions (subtree tops) where the user holds `perm`; for a superuser, the top regions.

    Read once per request: every event figure asks (kept on the user object, like the cube); they follow
    from the user's grants and the regions' rows only, so they are kept with the access snapshot too."""
    memo = user.__dict__.setdefault("_gv_dashboard_roots", {})
    if perm not in memo:
        if user.is_superuser:
            regions = Region.objects.filter(depth=1)
        else:
            paths = region_grants(user).paths(perm)
            regions = Region.objects.filter(path__in=paths) if paths else Region.objects.none()
        memo[perm] = _kept_regions(user, f"dashboard|roots|{perm}", regions.order_by("path"))
    return memo[perm]


def _kept_regions(user, key: str, regions, limit: int | None = None) -> list[Region]:
    """The first `limit` of `regions` (ordered), which follow from the user's grants and the regions' rows
    only. In a request with an access snapshot, their ids are kept with it (not the rows: every request
    reads the snapshot, and a boundary can be large) and the rows come from the process's kept regions
    (grid.region_memo); otherwise they are read in one query."""
    if access_cache.request_version() is None:
        return list(regions.select_related("tier").defer("boundary")[:limit])
    ids = access_cache.kept(user, key, lambda: list(regions.values_list("pk", flat=True)[:limit]))
    found = regions_by_id(ids)
    return [found[pk] for pk in ids if pk in found]


def _month_starts(today: datetime.date, count: int = MONTHS) -> list[datetime.date]:
    year, month = today.year, today.month
    result = []
    for _ in range(count):
        result.append(datetime.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return result[::-1]


def _month_label(month: datetime.date, first: bool) -> str:
    return f"{month.year % 100:02d}年{month.month}月" if first or month.month == 1 else f"{month.month}月"


def _caption(scope_name: str, note: str = "") -> str:
    now = timezone.localtime()
    parts = [f"范围：{scope_name}" if scope_name else "", note, f"数据截至 {now.year}年{now.month}月{now.day}日 {now:%H:%M}"]
    return " · ".join(part for part in parts if part)


def _scope_name(roots: list[Region]) -> str:
    names = [region.name for region in roots]
    if len(names) > 3:
        return "、".join(names[:3]) + f"等 {len(names)} 个区域"
    return "、".join(names)


def _status_series(counts: dict[tuple, int], keys: list) -> list[Series]:
    return [Series(label, [counts.get((key, group), 0) for key in keys]) for group, label, _ in STATUS_GROUPS]


def _scoped_events(user):
    return scope(user, Event.objects.all(), "grid.view_event")


# ------------------------------------------------------------------ figures


def _month_bounds(months: list[datetime.date]) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """Each month's [start, end) as aware local datetimes."""
    starts = [*months, datetime.date(months[-1].year + (months[-1].month == 12), months[-1].month % 12 + 1, 1)]
    aware = [timezone.make_aware(datetime.datetime.combine(day, datetime.time.min)) for day in starts]
    return list(zip(aware, aware[1:], strict=False))


_CUBE_ATTR = "_gv_event_cube"


def event_cube(user) -> list[tuple]:
    """The user's events of the last 12 months counted by (area, top-level category, status group),
    one column per month: rows (area path or "", top category pk, group key, per-month counts).

    The area is the child of the user's one scope region that the event lies under (the root's own
    path for events on the root itself; "" when the scope has several regions: no area figure then).
    The three event figures are drawn from this. It is read from the monthly counts kept beside the
    events (grid.event_counts: one grouped query over a few thousand rows for a county, however many
    events it has), plus, for events granted to the user one by one outside their regions, one small
    query on those events. A user object keeps the rows for the request.
    """
    cached = getattr(user, _CUBE_ATTR, None)
    if cached is not None:
        return cached
    months = _month_starts(timezone.localdate())
    roots = _roots(user, "grid.view_event")
    single = len(roots) == 1
    rows = [(area if single else "", top, group, per_month)
            for area, top, group, per_month in event_counts.monthly(roots, months)]
    rows += _granted_outside(user, roots, months)
    folded: dict[tuple, list[int]] = {}
    for area, top, group, per_month in rows:
        totals = folded.setdefault((area, top, group), [0] * len(months))
        for i, n in enumerate(per_month):
            totals[i] += n
    rows = [(*key, tuple(totals)) for key, totals in folded.items()]
    setattr(user, _CUBE_ATTR, rows)
    return rows


def _granted_outside(user, roots: list[Region], months: list[datetime.date]) -> list[tuple]:
    """Cube rows ("" area) of the events granted to the user one by one that lie outside their regions."""
    granted = [] if user.is_superuser else explicit_grants(user, Event, "grid.view_event")
    if not granted:
        return []
    bounds = _month_bounds(months)
    outside = Q()
    for root in roots:
        outside &= ~Q(region__path__startswith=root.path)
    counters = {f"m{i}": Count("id", filter=Q(created_at__gte=start, created_at__lt=end))
                for i, (start, end) in enumerate(bounds)}
    raw = (Event.objects.filter(outside, pk__in=granted, created_at__gte=bounds[0][0], created_at__lt=bounds[-1][1])
           .order_by().annotate(top=Coalesce("category__parent_id", "category_id"))
           .values_list("top", "status").annotate(**counters))
    return [("", top, event_counts.outcome_of(status), tuple(per_month)) for top, status, *per_month in raw]


def events_by_month(user) -> Figure | None:
    """Events reported in each of the last 12 months, by status (from event_cube)."""
    roots = _roots(user, "grid.view_event")
    if not roots:
        return None
    months = _month_starts(timezone.localdate())
    counts: dict[tuple, int] = defaultdict(int)
    for _area, _category, group, per_month in event_cube(user):
        for month, n in zip(months, per_month, strict=True):
            counts[(month, group)] += n
    name = _scope_name(roots)
    return Figure(
        key="events-by-month", title=f"{name}近 12 个月网格事件（按上报月份）", kind="stacked",
        labels=[_month_label(month, i == 0) for i, month in enumerate(months)],
        series=_status_series(counts, months), unit="件", caption=_caption(name),
    )


def events_by_category(user) -> Figure | None:
    """Events of the last 12 months by top-level category, by status (from event_cube; the categories'
    names and order from the process's catalogue)."""
    roots = _roots(user, "grid.view_event")
    if not roots:
        return None
    cube = event_cube(user)
    categories = catalogue_cache.get().categories
    tops = {pk: (categories[pk].name, categories[pk].sort_order or 0) for pk in {top for _, top, _, _ in cube}}
    counts: dict[tuple, int] = defaultdict(int)
    for _area, top, group, per_month in cube:
        counts[(tops[top][0], group)] += sum(per_month)
    groups = list(dict.fromkeys(tops[pk][0] for pk in sorted(tops, key=lambda pk: (tops[pk][1], pk))))
    name = _scope_name(roots)
    return Figure(
        key="events-by-category", title=f"{name}近 12 个月网格事件（按类别）", kind="stacked",
        labels=groups, series=_status_series(counts, groups), unit="件", caption=_caption(name),
    )


def events_by_area(user) -> Figure | None:
    """Events of the last 12 months per next-lower region (the township's villages, …), by status.

    From event_cube (already folded by area); the children's names read in one query. Only for a
    user whose events scope is one region with regions under it.
    """
    roots = _roots(user, "grid.view_event")
    if len(roots) != 1:
        return None
    root = roots[0]
    if not root.numchild:  # a grid: nothing below it to compare (treebeard counts each region's children)
        return None
    children = list(Region.objects.filter(path__startswith=root.path, depth=root.depth + 1)
                    .order_by("path").values_list("path", "name"))
    if not children:
        return None
    counts: dict[tuple, int] = defaultdict(int)
    for area, _top, group, per_month in event_cube(user):
        counts[(area or root.path, group)] += sum(per_month)
    keys = [path for path, _ in children]
    labels = [child_name for _, child_name in children]
    if any(area == root.path for area, _ in counts):  # reported on the root region itself
        keys.append(root.path)
        labels.append(f"{root.name}本级")
    # Regions without events are left out (a township has dozens of villages) and named in the caption.
    with_events = [(key, label) for key, label in zip(keys, labels, strict=True)
                   if any(counts.get((key, group)) for group, _, _ in STATUS_GROUPS)]
    quiet = len(keys) - len(with_events)
    with_events.sort(key=lambda row: -sum(counts.get((row[0], group), 0) for group, _, _ in STATUS_GROUPS))
    keys, labels = [key for key, _ in with_events], [label for _, label in with_events]
    tier_name = _child_tier_name(root)
    note = f"其余 {quiet} 个{tier_name}无事件" if quiet and keys else ""
    return Figure(
        key="events-by-area", title=f"{root.name}各{tier_name}近 12 个月网格事件", kind="hbar",
        labels=labels, series=_status_series(counts, keys), unit="件", caption=_caption(root.name, note),
    )


def _child_tier_name(root: Region) -> str:
    return {"county": "乡镇", "township": "村（社区）", "village": "网格", "grid": "微网格"}.get(root.tier.key, "下级区域")


def _patrol_townships(user) -> list[Region]:
    """The townships whose ranking the user sees (from their grants and the regions' rows only: kept with
    the access snapshot)."""
    perm = "inspection.view_circular"
    if not user.is_superuser and not region_grants(user).paths(perm) and not explicit_grants(user, Region, perm):
        return []  # nothing to scope to: no query
    return _kept_regions(user, "dashboard|patrol-townships",
                         scope(user, Region.objects.filter(tier__key="township"), perm).order_by("path"), 100)


def patrol_ranking(user) -> Figure | None:
    """This month's big-patrol scores, live: a township's villages ranked, or each township's average."""
    townships = _patrol_townships(user)
    if not townships:
        return None
    month = timezone.localdate().replace(day=1)
    scores = month_scores(townships, month)  # four queries, however many villages
    label = f"{month.year}年{month.month}月"
    if len(townships) == 1:
        township = townships[0]
        rows = ranked(scores)
        return Figure(
            key="patrol-ranking", title=f"{township.name}{label}大巡查积分排名（实时）", kind="hbar",
            labels=[f"{rank}. {score.village.name}" for rank, score in rows],
            series=[Series("得分", [float(score.score) for _, score in rows])], unit="分", y_max=100,
            caption=_caption(township.name, "基础分 60，满分 100；以发布的通报为准"),
        )
    totals: dict[int, list] = defaultdict(list)
    by_path = {t.path: t for t in townships}
    lengths = sorted({len(path) for path in by_path})
    for score in scores:
        # The township a village lies under: the first (shortest) of the townships' paths its path starts with.
        township = next((by_path[score.village.path[:n]] for n in lengths if score.village.path[:n] in by_path), None)
        if township is not None:
            totals[township.pk].append(score.score)
    # Each township's average as its circular prints it (to the cent, half up).
    rows = [(t, float(mean_score(totals[t.pk]))) for t in townships if totals.get(t.pk)]
    rows.sort(key=lambda row: -row[1])  # stable: equal averages keep tree order
    labels, previous, rank = [], None, 0
    for position, (township, average) in enumerate(rows, start=1):
        if average != previous:  # competition ranking (1, 2, 2, 4), as inspection.patrol.scoring.ranked
            rank, previous = position, average
        labels.append(f"{rank}. {township.name}")
    return Figure(
        key="patrol-ranking", title=f"各乡镇{label}大巡查村（居）平均得分（实时）", kind="hbar", labels=labels,
        series=[Series("平均分", [average for _, average in rows])], unit="分", y_max=100,
        caption=_caption(_scope_name(townships), "各村（居）当月得分的平均"),
    )


def rectification_progress(user) -> Figure | None:
    """Rectification items per responsible organisation, by the states of rectification.states: the one
    aggregate the queues count from too (config.worklist.item_figures_by_organisation)."""
    if not user.is_superuser and not region_grants(user).paths("rectification.view_rectificationitem"):
        return None
    groups = [("pending", "#c62828"), ("in_progress", "#ef6c00"), ("done", "#2e7d32"), ("ongoing", "#00838f")]
    rows = item_figures_by_organisation(user)
    if not rows:
        return None
    total = item_figures(user)
    series = [Series(states.LABELS[key], [row[key] for row in rows], colour) for key, colour in groups]
    caption = (f"共 {total.total} 项：已整改 {total.done} 项，长期坚持 {total.ongoing} 项，整改率 "
               f"{states.percent(total.rectified_rate)}；已销号 {total.closed} 项，销号率 {states.percent(total.closed_rate)}；"
               f"已逾期 {total.overdue} 项")
    if total.no_deadline:
        caption += f"；无整改时限 {total.no_deadline} 项"
    return Figure(
        key="rectification-progress", title="各单位巡察整改进度", kind="stacked",
        labels=[row["plan__organisation__name"] for row in rows], series=series, unit="项", caption=_caption("", caption),
    )


FIGURES: dict[str, Callable] = {
    "events-by-month": events_by_month,
    "events-by-category": events_by_category,
    "events-by-area": events_by_area,
    "patrol-ranking": patrol_ranking,
    "rectification-progress": rectification_progress,
}


# The event figures of the home page are kept per user in Django's cache while nothing they count from
# changes: the monthly counts under the user's regions (their versions, grid.event_counts), what the user
# may see and the regions' and categories' names (the access version, grid.access_cache), the day (the
# twelve months end today) and the user. Their captions keep the time they were computed ("数据截至").
EVENT_FIGURES = ("events-by-month", "events-by-category", "events-by-area")
EVENT_FIGURES_SECONDS = 3600
_FIGURES_NAMESPACE = getattr(settings, "ACCESS_CACHE_NAMESPACE", "")


def _event_figures_key(user_pk) -> str:
    return f"gv:home-figures:{_FIGURES_NAMESPACE}user:{user_pk}"


def event_figures(user) -> dict[str, Figure | None]:
    """The event figures (EVENT_FIGURES) of the user, from the cache when what they count is unchanged."""
    def build():
        return {key: FIGURES[key](user) for key in EVENT_FIGURES}

    roots = _roots(user, "grid.view_event")
    if not roots or access_cache.seconds() <= 0:
        return build()
    if not user.is_superuser and explicit_grants(user, Event, "grid.view_event"):
        return build()  # events granted one by one: their versions are not among the regions'
    key = _event_figures_key(user.pk)
    version_keys = [access_cache.VERSION_KEY, *event_counts.version_keys(root.path for root in roots)]
    found = cache.get_many([key, *version_keys])
    if missing := [version for version in version_keys if version not in found]:
        found |= event_counts.start_versions(missing)  # before the figures are computed under them
    versions = tuple(found.get(version) for version in version_keys)
    stamp = (versions, timezone.localdate().isoformat(), user.is_superuser, user.get_username(),
             user.date_joined.isoformat() if user.date_joined else "")
    kept = found.get(key)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    figures = build()
    if None not in versions:  # (None: the cache is unreachable)
        cache.set(key, (stamp, figures), EVENT_FIGURES_SECONDS)
    return figures


def figure_for(user, key: str) -> Figure | None:
    """One figure for the user, or None if the key is unknown or the user may not see it."""
    builder = FIGURES.get(key)
    if builder is None or not user.is_authenticated or not user.is_active:
        return None
    return builder(user)


# ------------------------------------------------------------------ tasks and changes


# A scope of at most this many regions (a grid, a village with its grids) has its home-page event counts
# read in one pass over its events; a larger one reads each count along its own index.
ONE_PASS_REGIONS = 12


@dataclass
class EventCounts:
    overdue: int  # overdue at `now`
    newly_overdue: int = 0  # of them, those whose deadline passed after `since`
    new: int = 0  # reported after `since`
    closed: int = 0  # closed after `since`


def _event_counts(user, events, now: datetime.datetime, since: datetime.datetime | None) -> EventCounts:
    """The home page's counts of the user's events (without `since`, the overdue ones only). A small
    scope's in one aggregate over its events; a larger scope's overdue ones in one count over the overdue
    events (indexed: status, step_due_at) and the new and closed ones each along its own index
    (created_at; status), rather than one aggregate that would read every event of its regions."""
    overdue = overdue_q(now)
    if since is None:
        return EventCounts(events.filter(overdue).count())
    named = regions_named(user, "grid.view_event")
    if named is not None and named <= ONE_PASS_REGIONS:
        counts = events.aggregate(
            overdue=Count("id", filter=overdue), newly=Count("id", filter=overdue & Q(step_due_at__gt=since)),
            new=Count("id", filter=Q(created_at__gt=since)),
            closed=Count("id", filter=Q(status=Event.Status.CLOSED, closed_at__gt=since)))
        return EventCounts(counts["overdue"], counts["newly"], counts["new"], counts["closed"])
    counts = events.filter(overdue).aggregate(overdue=Count("id"), newly=Count("id", filter=Q(step_due_at__gt=since)))
    return EventCounts(counts["overdue"], counts["newly"], events.filter(created_at__gt=since).count(),
                       events.filter(status=Event.Status.CLOSED, closed_at__gt=since).count())


def _changes(user, since: datetime.datetime | None, *, events=None, counted: EventCounts | None = None,
             now: datetime.datetime | None = None) -> list[Change]:
    """Counts of what happened in the user's regions since `since` (one query per kind of record).
    `events` (the user's scoped events) and `counted` (_event_counts at `since`) when the caller has them."""
    if since is None:
        return []
    changes = []
    events_url = reverse("grid:events")
    if user.has_perm("grid.view_event"):
        # Newly overdue: still overdue now, and the deadline passed since `since`.
        if counted is None:
            events = _scoped_events(user) if events is None else events
            counted = _event_counts(user, events, now or timezone.now(), since)
        since_day = timezone.localtime(since).date().isoformat()
        changes += [
            Change("新上报的事件", counted.new, f"{events_url}?date_from={since_day}"),
            Change("办结的事件", counted.closed, f"{events_url}?status=closed"),
            Change("新超期的事件", counted.newly_overdue, f"{events_url}?overdue=on&status=open"),
        ]
    if user.has_perm("inspection.view_patrolreport"):
        count = scope(user, PatrolReport.objects.filter(reported_on__gte=timezone.localtime(since).date()),
                      "inspection.view_patrolreport").count()
        changes.append(Change("大巡查村级上报", count, reverse("patrol:reports")))
    if user.has_perm("rectification.view_rectificationitem"):
        items = scope(user, RectificationItem.objects.all(), "rectification.view_rectificationitem")
        count = ProgressEntry.objects.filter(item__in=items.values("pk"), created_at__gt=since).count()
        changes.append(Change("整改进展报送", count, reverse("rectification:items")))
    count = user.notifications.filter(created_at__gt=since).count()
    changes.append(Change("新消息", count, reverse("inbox")))
    return changes


def dashboard_for(user, *, since: datetime.datetime | None = None) -> Dashboard:
    """Everything the home page shows to `user`: a constant number of queries whatever the data size."""
    dashboard = Dashboard(since=since)
    if not user.is_authenticated or not user.is_active:
        return dashboard
    dashboard.handles_events = any(user.has_perm(perm) for perm in TASK_PERMS)
    tasks = my_tasks(user)
    now = timezone.now()  # one moment for the home page's overdue figures
    summary = task_summary(tasks, now, read=DEADLINE_ROWS)  # the week's deadlines are among the first
    dashboard.task_count, dashboard.overdue_tasks, dashboard.tasks = summary.count, summary.overdue, summary.rows
    roots = _roots(user, "grid.view_event")
    dashboard.scope_name = _scope_name(roots)
    # The overdue events of the user's regions and those newly overdue since `since` (for a small scope
    # also the new and closed ones): one query.
    events = counted = None
    if roots or (since is not None and user.has_perm("grid.view_event")):
        events = _scoped_events(user)
        counted = _event_counts(user, events, now, since)
        if roots:
            dashboard.overdue_events = counted.overdue
    dashboard.queues = waiting_for(user)
    dashboard.deadlines = deadlines_this_week(user, earliest_tasks=summary.earliest)
    dashboard.groups = group_cards(user)
    dashboard.changes = _changes(user, since, events=events, counted=counted, now=now)
    if user.has_perm("grid.add_workdiary"):
        dashboard.diary_due = not WorkDiary.objects.filter(author=user, date=timezone.localdate()).exists()
    kept = event_figures(user)
    dashboard.figures = [figure for key, builder in FIGURES.items()
                         if (figure := kept[key] if key in kept else builder(user)) is not None]
    return dashboard
