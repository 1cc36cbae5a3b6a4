"""Events counted by month and region (EventMonthCount), kept in step with the events themselves.

The dashboards draw a county's event figures from these rows rather than from its million events. For
every region above an event, its own region included, one row per (month of report, the child region
the event lies under, category, outcome) holds how many events there are; a county's twelve months
are then a few thousand rows whatever the number of events.

The rows are a cache of stored facts and must agree exactly with the events:
- the services that add an event or change its outcome call `count_new` / `outcome_changed` in the
  same transaction (grid.events.report_event, the handle step's merge and reject, the flow's close in
  grid.event_rules); an event's region, category and report time never change after it is reported,
  and regions are never moved or deleted (grid.admin refuses it);
- writers that go around the services (the load generator, the demo's history, tests that insert
  rows) call `rebuild`, which computes every row again from the events; `manage.py
  rebuild_counts` does the same, and with --check only compares (`differences`).

Nothing date-dependent is stored: the month is the event's own report month in local time; which
months are "the last twelve" is decided when the figures are read.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, DateField, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from governance import audit

from .models import Event, EventMonthCount, Region, paths_from_root

OUTCOMES: dict[str, tuple[str, ...]] = {
    "open": tuple(Event.OPEN_STATUSES),
    "closed": (Event.Status.CLOSED,),
    "ended": (Event.Status.REJECTED, Event.Status.MERGED),
}
_OUTCOME_OF_STATUS = {status: key for key, statuses in OUTCOMES.items() for status in statuses}
# Deep enough for any tier configuration (county → … → micro-grid is five).
MAX_DEPTH = 12


def outcome_of(status: str) -> str:
    return _OUTCOME_OF_STATUS.get(status, "open")


def month_of(moment: datetime.datetime) -> datetime.date:
    """The first day of the local month of `moment` (the same month TruncMonth gives in the database)."""
    return timezone.localtime(moment).date().replace(day=1)


def _levels(path: str) -> list[tuple[str, str]]:
    """(root path, area path) of every region above the region at `path`, its own included."""
    step = Region.steplen
    depth = len(path) // step
    return [(path[: k * step], path[: min(k + 1, depth) * step]) for k in range(1, depth + 1)]


# ---------------------------------------------------------------- versions (for caches of figures)
#
# A cache of figures drawn from these rows is kept under the versions of the regions it counts: every
# change of the rows moves, in Django's cache, the version of each region above the event (its own
# included), now and again after the commit (a reader in between is not kept); a rebuild moves the
# version of every region (EVERY_REGION). A version missing from the cache (never moved, or evicted)
# is started (`start_versions`) before the figures are computed.

_NAMESPACE = getattr(settings, "ACCESS_CACHE_NAMESPACE", "")
EVERY_REGION = "*"


def version_key(path: str) -> str:
    """The cache key of the version of the counts under the region at `path` (or EVERY_REGION)."""
    return f"gv:counts:{_NAMESPACE}{path}"


def version_keys(paths: Iterable[str]) -> list[str]:
    """The keys a cache of figures over the regions at `paths` is kept under: theirs and EVERY_REGION's."""
    return [version_key(EVERY_REGION), *(version_key(path) for path in paths)]


def start_versions(keys: list[str]) -> dict[str, int]:
    """Give the versions missing from the cache a value (unless another process just did); their values."""
    for key in keys:
        cache.add(key, time.time_ns(), None)
    return cache.get_many(keys)


def _moved(event: Event | None) -> None:
    """The counts of `event` (None: of any region) changed: move the versions, now and after the commit."""
    region = event._state.fields_cache.get("region") if event is not None else None
    if region is not None and region.pk == event.region_id:
        step = Region.steplen
        keys = [version_key(region.path[:end]) for end in range(step, len(region.path) + 1, step)]
    else:
        keys = [version_key(EVERY_REGION)]

    def move():
        cache.set_many(dict.fromkeys(keys, time.time_ns()), None)

    move()
    transaction.on_commit(move)


# ---------------------------------------------------------------- kept current by the services


def _add(event: Event, outcome: str, n: int) -> None:
    """Add `n` (−1 takes one out) to the rows of `event` under `outcome`: one statement, every level."""
    sql, params = _add_statement(event, outcome, n)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _add_statement(event: Event, outcome: str, n: int) -> tuple[str, list]:
    """The statement of `_add`, with its parameters.

    The region's ancestors are found by their paths (prefixes of the event region's path), so no row is
    read first; ON CONFLICT makes the first event of a key insert its row and the next ones add to it.
    When the event's region is at hand (the services have it), its prefixes are given as values;
    otherwise the statement cuts them from the region's path itself."""
    table = EventMonthCount._meta.db_table
    region_table = Region._meta.db_table
    step = Region.steplen
    region = event._state.fields_cache.get("region")
    if region is not None and region.pk == event.region_id:
        prefixes = paths_from_root(region.path)
        source = (f"FROM {region_table} r JOIN {region_table} a ON a.path = substr(%s, 1, length(r.path) + {step}) "
                  f"WHERE r.path IN ({', '.join(['%s'] * len(prefixes))})")
        source_params = [region.path, *prefixes]
    else:
        cut = ", ".join(f"substr(e.path, 1, {k * step})" for k in range(1, MAX_DEPTH + 1))
        source = (f"FROM {region_table} e JOIN {region_table} r ON r.path IN ({cut}) "
                  f"JOIN {region_table} a ON a.path = substr(e.path, 1, length(r.path) + {step}) WHERE e.id = %s")
        source_params = [event.region_id]
    sql = (
        f'INSERT INTO {table} (root_id, area_id, "month", category_id, outcome, events) '
        f"SELECT r.id, a.id, %s, %s, %s, %s {source} "
        f'ON CONFLICT (root_id, "month", area_id, category_id, outcome) '
        f"DO UPDATE SET events = {table}.events + excluded.events"
    )
    month = connection.ops.adapt_datefield_value(month_of(event.created_at))
    return sql, [month, event.category_id, outcome, n, *source_params]


def count_new_statement(event: Event) -> tuple[str, list]:
    """count_new as a statement, for intake's one statement on PostgreSQL (its audit entry's head lock
    is taken before that statement, as count_new requires)."""
    _moved(event)
    return _add_statement(event, outcome_of(event.status), 1)


def count_new(event: Event) -> None:
    """A new event: count it under its outcome, in the transaction that inserts it, after its audit
    entry (which holds the audit chain's head: the shared count rows are always taken after it)."""
    _add(event, outcome_of(event.status), 1)
    _moved(event)


def outcome_changed(event: Event, before_status: str) -> None:
    """The event's status moved from `before_status` to `event.status`: move its count if the outcome
    changed (open → closed, ended). The audit chain's head is taken first, as every writer of these
    shared rows does (see count_new), so two services never wait on each other in opposite orders."""
    before, after = outcome_of(before_status), outcome_of(event.status)
    if before != after:
        audit.hold_head()
        _add(event, before, -1)
        _add(event, after, 1)
        _moved(event)


# ---------------------------------------------------------------- derived from the events


def _derived(events) -> dict[tuple, int]:
    """{(root path, area path, month, category id, outcome): events} computed from `events`."""
    raw = (events.order_by()
           .annotate(month=TruncMonth("created_at", output_field=DateField()))
           .values_list("region__path", "month", "category_id", "status").annotate(n=Count("id")))
    counts: dict[tuple, int] = defaultdict(int)
    for path, month, category, status, n in raw.iterator(chunk_size=10_000):
        outcome = outcome_of(status)
        for root, area in _levels(path):
            counts[(root, area, month, category, outcome)] += n
    return counts


def _stored(rows) -> dict[tuple, int]:
    counts: dict[tuple, int] = defaultdict(int)
    for root, area, month, category, outcome, n in rows.values_list(
            "root__path", "area__path", "month", "category_id", "outcome", "events").iterator(chunk_size=10_000):
        if n:
            counts[(root, area, month, category, outcome)] += n
    return counts


def rebuild(*, event_model=Event, count_model=EventMonthCount, region_model=Region) -> int:
    """Compute every row again from the events; returns the number of rows written. (A migration passes
    its historical models.)"""
    with transaction.atomic():
        counts = _derived(event_model.objects.all())
        ids = dict(region_model.objects.values_list("path", "id"))
        count_model.objects.all().delete()
        rows = [count_model(root_id=ids[root], area_id=ids[area], month=month, category_id=category,
                            outcome=outcome, events=n)
                for (root, area, month, category, outcome), n in counts.items()]
        count_model.objects.bulk_create(rows, batch_size=5000)
        _moved(None)
    return len(rows)


def differences(limit: int = 20) -> list[str]:
    """Where the stored rows and the events disagree (empty when they agree): the consistency check."""
    derived, stored = _derived(Event.objects.all()), _stored(EventMonthCount.objects.all())
    found = []
    for key in sorted(set(derived) | set(stored), key=str):
        if derived.get(key, 0) != stored.get(key, 0):
            root, area, month, category, outcome = key
            found.append(f"区域 {root} 下级 {area} {month:%Y-%m} 类别 {category} {outcome}：计数 {stored.get(key, 0)}，"
                         f"事件 {derived.get(key, 0)}")
            if len(found) >= limit:
                break
    return found


# ---------------------------------------------------------------- read by the dashboards


def monthly(roots: Iterable[Region], months: list[datetime.date]) -> list[tuple]:
    """(area path, top-level category id, outcome, per-month counts) of the events under `roots` (regions
    that do not contain one another) reported in `months` (first days, consecutive): one grouped query
    over the roots' rows, grouped by month too and spread into the months here (twelve filtered sums
    took Django longer to compile than the database to run)."""
    roots = list(roots)
    if not roots or not months:
        return []
    position = {month: i for i, month in enumerate(months)}
    rows = (EventMonthCount.objects.filter(root__in=roots, month__gte=months[0], month__lte=months[-1])
            .order_by().annotate(top=Coalesce("category__parent_id", "category_id"))
            .values_list("area__path", "top", "outcome", "month").annotate(n=Sum("events")))
    per_key: dict[tuple, list[int]] = {}
    for area, top, outcome, month, n in rows:
        if month in position:
            per_key.setdefault((area, top, outcome), [0] * len(months))[position[month]] += n or 0
    return [(*key, tuple(counts)) for key, counts in per_key.items()]
