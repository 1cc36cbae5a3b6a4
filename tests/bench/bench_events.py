"""Benchmark of grid events (issue "Benchmark: events"): reporting throughput, list pages, the overdue scan.

In a throwaway database (PostgreSQL when DATABASE_URL is set, otherwise a SQLite file with smaller
sizes) with a tree of 1 county, 20 townships, 400 villages and 4,000 grids, a grid member and a grid
leader at every grid, a cadre at every village, an office, a committee and a department at every
township, it measures:

(a) events per second through the full report service (`grid.events.report_event`: permission
    check, insert, audit trail, EventFlow start with its tasks and SLA deadline, the 待办 notice
    after commit), beside a bare `Event.objects.create` of the same rows in the same run
    (goal: the service costs at most 5x the bare insert);
(b) the "my tasks" and "my region's events" pages of a township user (township_office at one
    township) and a grid user (grid_leader at one grid), at 10,000 events and at 1,000,000
    (SQLite: 100,000): queries per page through the real views (django.test.Client, logged in) and
    through the list query alone (my_tasks / region_events + with_list_columns + UncountedPage);
    goals: the same number of queries at both sizes, and at the large size within 3x the
    milliseconds of the small one;
(c) the overdue scan (`workflows.supervision.supervise_overdue`) over the large size's open tasks
    (every event waits at a step with an SLA deadline) of which 1% are overdue and 0.5% were
    supervised before; goals: it finds the due tasks through the partial index (EXPLAIN) and
    finishes in under 1 s.

The bulk of the events is written with INSERT ... SELECT over a number series (generate_series on
PostgreSQL, a recursive CTE on SQLite), with the rows the report service would have written for an
event waiting at a step: the event, its EventProcess, the done start task, the waiting task (with
its permission and region) linked to it, and the open TaskDeadline. Every event is open: 50% at a
grid's handle step, 15% at a village's, 15% at a township's, 10% at a department, 10% at
verification; 1% of the deadlines are overdue and not yet supervised, 0.5% overdue and supervised.

Run:
    .venv/bin/python tests/bench/bench_events.py                 # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_events.py             # fresh database bench_events_<pid>
    make bench                                                   # pytest runs this file (SQLite)

Goals are printed as PASS/MISS; timing never fails the run. Figures are written to
var/bench/bench_events.json (one entry per database vendor).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time

if __package__:  # imported by pytest as tests.bench.bench_events
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_events"

TOWNSHIPS = 20
VILLAGES_PER_TOWNSHIP = 20
GRIDS_PER_VILLAGE = 10
SIZES = {"postgresql": (10_000, 1_000_000), "sqlite": (10_000, 100_000)}
REPORTS = {"postgresql": 300, "sqlite": 200}
PAGE_SIZE = 50  # grid.event_views.PAGE_SIZE
CHUNK = 250_000  # rows per INSERT ... SELECT
SERVICE_RATIO_GOAL = 5.0
TIME_RATIO_GOAL = 3.0
SCAN_SECONDS_GOAL = 1.0
ESCALATION_SAMPLE = 30
POST_START = datetime.date(2025, 1, 1)
FLOW = "workflows/event_flow.EventFlow"
WHO = {"township": "bench_township", "grid": "bench_grid"}
PAGES = {"my tasks": "grid:my_tasks", "region events": "grid:events"}


def test_bench_events():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


# --------------------------------------------------------------------------------------------------
# Organisation: tree, posts, departments


def build_tree() -> dict:
    """County → townships → villages → grids, bulk-created with treebeard's paths computed here."""
    from grid.models import Region, Tier

    tier = {t.key: t for t in Tier.objects.all()}
    nodes: list[Region] = []

    def node(parent_path, depth, step, name, full_path, tier_key, numchild):
        path = Region._get_path(parent_path, depth, step)
        nodes.append(
            Region(path=path, depth=depth, numchild=numchild, name=name, full_path=full_path, tier=tier[tier_key])
        )
        return path

    county = node(None, 1, 1, "基准县", "基准县", "county", TOWNSHIPS)
    layout = []  # (grid path, village path, township path)
    townships = []
    for t in range(1, TOWNSHIPS + 1):
        t_name = f"基准县/第{t}镇"
        t_path = node(county, 2, t, f"第{t}镇", t_name, "township", VILLAGES_PER_TOWNSHIP)
        townships.append(t_path)
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
            v_name = f"{t_name}/第{v}村"
            v_path = node(t_path, 3, v, f"第{v}村", v_name, "village", GRIDS_PER_VILLAGE)
            for g in range(1, GRIDS_PER_VILLAGE + 1):
                layout.append((node(v_path, 4, g, f"第{g}网格", f"{v_name}/第{g}网格", "grid", 0), v_path, t_path))
    Region.objects.bulk_create(nodes, batch_size=1000)
    problems = Region.objects.find_problems()
    if any(problems):
        raise RuntimeError(f"treebeard finds problems in the bulk-created tree: {problems}")
    ids = dict(Region.objects.values_list("path", "id"))
    return {
        "county": ids[county],
        "townships": [ids[p] for p in townships],
        "grids": [(ids[g], ids[v], ids[t]) for g, v, t in layout],
    }


def create_organisation(tree: dict) -> dict:
    """A department per township; posts as a county would have them. Returns {grid id: member user id}."""
    from django.contrib.auth import get_user_model

    from grid.models import Department, Post, Role

    User = get_user_model()
    role = dict(Role.objects.values_list("key", "id"))
    Department.objects.bulk_create([Department(name="综合行政执法办", region_id=t) for t in tree["townships"]])
    department = dict(Department.objects.values_list("region_id", "id"))
    places: list[tuple[str, int, int | None]] = []  # (role, region, department)
    for grid, _, _ in tree["grids"]:
        places += [("grid_member", grid, None), ("grid_leader", grid, None)]
    for village in sorted({v for _, v, _ in tree["grids"]}):
        places += [("village_cadre", village, None), ("grid_instructor", village, None)]
    for township in tree["townships"]:
        places += [("township_office", township, None), ("township_committee", township, None),
                   ("department", township, department[township])]
    users = [User(username=f"bench{i:05d}", password="!bench-unusable") for i in range(len(places))]
    User.objects.bulk_create(users, batch_size=2000)
    user_ids = dict(User.objects.filter(username__startswith="bench").values_list("username", "id"))
    Post.objects.bulk_create(
        [Post(user_id=user_ids[f"bench{i:05d}"], role_id=role[key], region_id=region, department_id=dept,
              start_date=POST_START) for i, (key, region, dept) in enumerate(places)],
        batch_size=2000,
    )
    members = {}
    for i, (key, region, _) in enumerate(places):
        if key == "grid_member":
            members[region] = user_ids[f"bench{i:05d}"]
    return {"members": members, "departments": department}


def create_bench_user(username: str, role_key: str, region_id: int):
    from django.contrib.auth import get_user_model

    from grid.models import Post, Role

    user = get_user_model().objects.create(username=username, password="!bench-unusable")
    Post.objects.create(user=user, role=Role.objects.get(key=role_key), region_id=region_id, start_date=POST_START)
    return user


# --------------------------------------------------------------------------------------------------
# (a) Reporting throughput


def report_throughput(reporter_id: int, grid_id: int, count: int) -> dict:
    """`count` events through the report service, then `count` bare inserts of the same rows."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from grid.events import handling_start_region, report_event
    from grid.models import Event, EventCategory, Region

    reporter = get_user_model().objects.get(pk=reporter_id)
    region = Region.objects.select_related("tier").get(pk=grid_id)
    categories = list(EventCategory.objects.filter(parent__isnull=False, is_active=True).order_by("id"))
    occurred = timezone.now() - datetime.timedelta(hours=2)

    def fields(i: int) -> dict:
        return {
            "category": categories[i % len(categories)], "title": f"基准上报 {i}",
            "description": "村口道路旁有建筑垃圾堆放，影响通行。", "occurred_at": occurred,
            "urgency": Event.Urgency.NORMAL, "source": Event.Source.PATROL, "address": "村口",
        }

    # Warm-up outside the measurement (content types, permission caches, the SLA rule cache of the process).
    report_event(by=reporter, region=region, idempotency_key="bench-warm", **fields(0))
    with CaptureQueriesContext(connection) as ctx:
        report_event(by=reporter, region=region, idempotency_key="bench-count", **fields(1))
    service_queries = len(ctx.captured_queries)

    began = time.perf_counter()
    for i in range(count):
        report_event(by=reporter, region=region, idempotency_key=f"bench-service-{i}", **fields(i))
    service_s = time.perf_counter() - began

    handling = handling_start_region(region)
    bare_ids = []
    Event.objects.create(reporter=reporter, region=region, handling_region=handling, idempotency_key="bench-bare-warm",
                         status=Event.Status.HANDLING, **fields(0)).delete()
    began = time.perf_counter()
    for i in range(count):
        bare_ids.append(Event.objects.create(
            reporter=reporter, region=region, handling_region=handling, idempotency_key=f"bench-bare-{i}",
            status=Event.Status.HANDLING, **fields(i),
        ).pk)
    bare_s = time.perf_counter() - began
    Event.objects.filter(pk__in=bare_ids).delete()  # not part of the data set the pages are measured on

    service_rate, bare_rate = count / service_s, count / bare_s
    return {
        "events": count,
        "service_per_s": round(service_rate, 1),
        "service_ms_each": round(service_s * 1000 / count, 3),
        "service_queries_each": service_queries,
        "bare_per_s": round(bare_rate, 1),
        "bare_ms_each": round(bare_s * 1000 / count, 3),
        "bare_queries_each": 1,
        "ratio": round(bare_rate / service_rate, 2),
    }


# --------------------------------------------------------------------------------------------------
# Bulk events with their flow rows


class EventFactory:
    """Writes events n = 1.. with the rows the report service (and later steps) would have written.

    Ids are computed from n (event E0+n, process P0+n, start task T0+2n-1, waiting task T0+2n,
    deadline D0+n), so each table is one INSERT ... SELECT over the same number series.
    """

    def __init__(self, tree: dict, org: dict):
        from django.contrib.contenttypes.models import ContentType
        from django.db import connection
        from django.db.models import Max
        from django.utils import timezone
        from viewflow.workflow.models import Process, Task

        from grid.models import Event, EventCategory, Region
        from workflows.models import TaskDeadline

        self.vendor = connection.vendor
        self.now = timezone.now()
        self.bases = {
            "event": Event.objects.aggregate(m=Max("id"))["m"] or 0,
            "process": Process.objects.aggregate(m=Max("id"))["m"] or 0,
            "task": Task.objects.aggregate(m=Max("id"))["m"] or 0,
            "deadline": TaskDeadline.objects.aggregate(m=Max("id"))["m"] or 0,
            "previous": self._max_id(Task.previous.through._meta.db_table),
        }
        self.event_ct = ContentType.objects.get_for_model(Event).pk
        self.region_ct = ContentType.objects.get_for_model(Region).pk
        self.grids = len(tree["grids"])
        categories = list(EventCategory.objects.filter(parent__isnull=False, is_active=True).order_by("id").values_list("id", flat=True))
        self.categories = len(categories)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_grid (k integer PRIMARY KEY, grid_id integer, village_id integer, "
                           "township_id integer, member_id integer, department_id integer)")
            cursor.executemany(
                "INSERT INTO bench_grid VALUES (%s, %s, %s, %s, %s, %s)",
                [(k, g, v, t, org["members"][g], org["departments"][t]) for k, (g, v, t) in enumerate(tree["grids"])],
            )
            cursor.execute("CREATE TABLE bench_category (k integer PRIMARY KEY, category_id integer)")
            cursor.executemany("INSERT INTO bench_category VALUES (%s, %s)", list(enumerate(categories)))
        self.written = 0

    @staticmethod
    def _max_id(table: str) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {table}")
            return cursor.fetchone()[0] or 0

    def _series(self, first: int, last: int) -> str:
        if self.vendor == "postgresql":
            return f"WITH s(n) AS (SELECT generate_series({first}, {last}))"
        return f"WITH RECURSIVE s(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM s WHERE n < {last})"

    def _dt(self, **delta) -> object:
        from django.db import connection

        return connection.ops.adapt_datetimefield_value(self.now + datetime.timedelta(**delta))

    def grow(self, to: int) -> None:
        """Write events written+1 .. `to` (their n), in chunks."""
        from django.db import connection, transaction

        while self.written < to:
            first, last = self.written + 1, min(to, self.written + CHUNK)
            with transaction.atomic(), connection.cursor() as cursor:
                for sql, params in self._statements(first, last):
                    cursor.execute(sql, params)
            self.written = last
        self._reset_sequences()

    def _statements(self, first: int, last: int):
        b = self.bases
        series = self._series(first, last)
        join = (f"FROM s JOIN bench_grid g ON g.k = s.n %% {self.grids} "
                f"JOIN bench_category c ON c.k = s.n %% {self.categories}")
        # Which step the event waits at: cycles through 20 buckets, shifted per round of grids so that
        # every grid gets every step.
        bucket = f"((s.n / {self.grids} + s.n) %% 20)"
        handling = (f"CASE WHEN {bucket} < 10 OR {bucket} >= 18 THEN g.grid_id "
                    f"WHEN {bucket} < 13 THEN g.village_id ELSE g.township_id END")
        status = (f"CASE WHEN {bucket} < 16 THEN 'handling' WHEN {bucket} < 18 THEN 'dispatched' "
                  f"ELSE 'verifying' END")
        due_round = "((s.n / 20) %% 200)"  # whole rounds of 20 (all steps alike)
        overdue = f"({due_round} IN (7, 107))"  # 1%: overdue, not yet supervised
        supervised = f"({due_round} = 11)"  # 0.5%: overdue and already supervised (event marked overdue)
        created = self._dt(days=-3)
        yield (
            f"{series} INSERT INTO grid_event (id, reporter_id, region_id, handling_region_id, department_id, "
            "category_id, title, description, latitude, longitude, address, occurred_at, urgency, source, "
            "idempotency_key, status, duplicate_of_id, result, rejection_reason, return_count, is_overdue, rating, "
            "rating_comment, created_at, updated_at, closed_at) "
            f"SELECT {b['event']} + s.n, g.member_id, g.grid_id, {handling}, "
            f"CASE WHEN {bucket} IN (16, 17) THEN g.department_id END, c.category_id, "
            "'基准事件 ' || s.n, '村口道路旁有建筑垃圾堆放，影响通行。', NULL, NULL, '', %s, "
            "CASE WHEN s.n %% 10 = 0 THEN 'urgent' ELSE 'normal' END, 'patrol', 'bulk-' || s.n, "
            f"{status}, NULL, '', '', 0, {supervised}, NULL, '', %s, %s, NULL {join}",
            [created, created, created],
        )
        yield (
            f"{series} INSERT INTO viewflow_process (id, status, created, finished, flow_class, "
            "artifact_content_type_id, artifact_object_id, parent_task_id, data, seed_content_type_id, seed_object_id) "
            f"SELECT {b['process']} + s.n, 'NEW', %s, NULL, '{FLOW}', {self.event_ct}, {b['event']} + s.n, NULL, "
            """'{"decision": null}', NULL, NULL FROM s""",
            [created],
        )
        task_columns = ("id, flow_task, flow_task_type, status, created, started, finished, token, external_task_id, "
                        "owner_permission, owner_id, process_id, owner_permission_content_type_id, owner_permission_obj_pk, "
                        "assigned, artifact_content_type_id, artifact_object_id, data, seed_content_type_id, seed_object_id, "
                        "scheduled")
        yield (
            f"{series} INSERT INTO viewflow_task ({task_columns}) "
            f"SELECT {b['task']} + 2 * s.n - 1, '{FLOW}.start', 'START', 'DONE', %s, %s, %s, 'start', NULL, NULL, "
            f"NULL, {b['process']} + s.n, NULL, NULL, NULL, NULL, NULL, '{{}}', NULL, NULL, NULL FROM s",
            [created, created, created],
        )
        node = (f"CASE WHEN {bucket} < 16 THEN '{FLOW}.handle' WHEN {bucket} < 18 THEN '{FLOW}.department_handle' "
                f"ELSE '{FLOW}.verify' END")
        perm = (f"CASE WHEN {bucket} < 10 THEN 'grid.triage_event' WHEN {bucket} < 13 THEN 'grid.handle_village_event' "
                f"WHEN {bucket} < 16 THEN 'grid.dispatch_event' WHEN {bucket} < 18 THEN 'grid.handle_dispatched_event' "
                "ELSE 'grid.verify_event' END")
        perm_region = f"CASE WHEN {bucket} >= 18 THEN g.grid_id ELSE {handling} END"
        yield (
            f"{series} INSERT INTO viewflow_task ({task_columns}) "
            f"SELECT {b['task']} + 2 * s.n, {node}, 'HUMAN', 'NEW', %s, NULL, NULL, 'start', NULL, {perm}, NULL, "
            f"{b['process']} + s.n, {self.region_ct}, CAST({perm_region} AS varchar(255)), NULL, NULL, NULL, '{{}}', "
            f"NULL, NULL, NULL {join}",
            [created],
        )
        yield (
            f"{series} INSERT INTO viewflow_task_previous (id, from_task_id, to_task_id) "
            f"SELECT {b['previous']} + s.n, {b['task']} + 2 * s.n, {b['task']} + 2 * s.n - 1 FROM s",
            [],  # a parameter list (even empty) makes both drivers read %% as %
        )
        yield (
            f"{series} INSERT INTO workflows_taskdeadline (id, task_id, due_at, is_open, supervised_at, escalated_at) "
            f"SELECT {b['deadline']} + s.n, {b['task']} + 2 * s.n, "
            f"CASE WHEN {overdue} THEN %s WHEN {supervised} THEN %s "
            "WHEN s.n %% 4 = 0 THEN %s WHEN s.n %% 4 = 1 THEN %s WHEN s.n %% 4 = 2 THEN %s ELSE %s END, "
            f"{'true' if self.vendor == 'postgresql' else '1'}, CASE WHEN {supervised} THEN %s END, NULL FROM s",
            [self._dt(hours=-1), self._dt(hours=-30), self._dt(hours=2), self._dt(hours=10), self._dt(hours=30),
             self._dt(hours=100), self._dt(hours=-6)],
        )

    def _reset_sequences(self) -> None:
        from django.db import connection

        if connection.vendor != "postgresql":
            return  # SQLite's AUTOINCREMENT follows the largest id written
        with connection.cursor() as cursor:
            for table in ("grid_event", "viewflow_process", "viewflow_task", "viewflow_task_previous",
                          "workflows_taskdeadline"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")


# --------------------------------------------------------------------------------------------------
# (b) Pages


def queries_of(fn) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def median_ms(fn, runs: int) -> float:
    times = []
    for i in range(runs + 1):
        began = time.perf_counter()
        fn()
        if i:  # the first call warms up
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def list_queryset(user, page: str):
    """The queryset each view pages over, built as the views build it."""
    from grid.event_lists import EventFilters, my_tasks, region_events, with_list_columns

    if page == "my tasks":
        return with_list_columns(my_tasks(user)).order_by("-is_overdue", "id")
    return with_list_columns(region_events(user, EventFilters()))


def explain(queryset) -> str:
    from django.db import connection

    limited = queryset[: PAGE_SIZE + 1]
    if connection.vendor == "postgresql":
        return limited.explain(analyze=True, buffers=True)
    return limited.explain()


def measure_pages(runs: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    figures: dict[str, dict] = {}
    for who, username in WHO.items():
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        for page in PAGES:
            figures[f"{who} · {page}"] = measure_page(client, username, page, runs)
    return figures


def measure_page(client, username: str, page: str, runs: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from governance.paging import UncountedPage

    User = get_user_model()
    url = reverse(PAGES[page])

    def view():
        response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"{username} {page}: HTTP {response.status_code}")
        return response

    def query_page():
        user = User.objects.get(username=username)  # fresh, as a request loads it
        return UncountedPage(list_queryset(user, page), 1, PAGE_SIZE)

    view()  # warm-up
    view_queries, view_sql = queries_of(view)
    holder: dict = {}
    query_queries, query_sql = queries_of(lambda: holder.setdefault("page", query_page()))
    result = holder["page"]
    return {
        "view": {"queries": view_queries, "ms": round(median_ms(view, runs), 3), "sql": view_sql},
        "query": {"queries": query_queries, "ms": round(median_ms(query_page, runs), 3), "sql": query_sql},
        "rows": len(result.object_list),
        "has_next": result.has_next(),
        "explain": explain(list_queryset(User.objects.get(username=username), page)),
    }


# --------------------------------------------------------------------------------------------------
# (c) The overdue scan


def measure_scan(expected_due: int) -> dict:
    """The real supervise_overdue over all open tasks; first the due-task query alone, with its plan."""
    from django.db import connection, transaction
    from django.utils import timezone

    from grid.events import escalate_overdue_event
    from grid.models import Event
    from workflows.models import SLARule, TaskDeadline
    from workflows.supervision import BATCH_SIZE, supervise_overdue

    now = timezone.now()
    figures: dict = {
        "open tasks": TaskDeadline.objects.filter(is_open=True).count(),
        "due, not supervised": expected_due,
    }
    due = TaskDeadline.objects.filter(is_open=True, supervised_at__isnull=True, due_at__lte=now).order_by("due_at")
    first_batch = due.values_list("pk", flat=True)[:BATCH_SIZE]
    if connection.vendor == "postgresql":
        figures["explain claim"] = first_batch.explain(analyze=True, buffers=True)
        figures["explain due count"] = due.order_by().values("pk").explain(analyze=True)
    else:
        figures["explain claim"] = first_batch.explain()
        figures["explain due count"] = due.order_by().values("pk").explain()
    with transaction.atomic():  # the claim as supervise_overdue takes it (row locks, skip locked)
        locking = first_batch
        if connection.features.has_select_for_update_skip_locked:
            locking = due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:BATCH_SIZE]
        figures["claim batch ms"] = round(median_ms(lambda: list(locking), 5), 3)
    figures["find all due ms"] = round(median_ms(lambda: list(due.values_list("pk", flat=True)), 3), 3)

    # 1. Supervision only: the SLA rules' automatic escalation switched off for this run.
    escalating = list(SLARule.objects.filter(auto_escalate=True).values_list("pk", flat=True))
    SLARule.objects.filter(pk__in=escalating).update(auto_escalate=False)
    began = time.perf_counter()
    with QueryRecorder() as recorder:
        result = supervise_overdue(now)
    seconds = time.perf_counter() - began
    figures["supervise"] = {
        "seconds": round(seconds, 3), "queries": len(recorder.queries), "supervised": result.supervised,
        "notices": result.notices, "escalated": result.escalated,
        "sql ms": round(sum(q[1] for q in recorder.queries) * 1000, 1),
        "queries by kind": recorder.kinds(),
    }
    SLARule.objects.filter(pk__in=escalating).update(auto_escalate=True)

    # 2. Automatic escalation, as the default rules do it for grid and village steps, per event on a sample
    #    of the supervised events (supervise_overdue calls escalate_overdue_event for each of them).
    candidates = list(
        Event.objects.filter(is_overdue=True, status=Event.Status.HANDLING,
                             handling_region__tier__key__in=["grid", "village"])
        .order_by("-id").values_list("pk", flat=True)[: ESCALATION_SAMPLE + 1]
    )
    escalatable = Event.objects.filter(is_overdue=True, status=Event.Status.HANDLING,
                                       handling_region__tier__key__in=["grid", "village"]).count()
    if candidates:
        escalate_overdue_event(Event.objects.get(pk=candidates[0]))  # warm-up
        sample = candidates[1:]
        began = time.perf_counter()
        with QueryRecorder() as recorder:
            for pk in sample:
                escalate_overdue_event(Event.objects.get(pk=pk))
        each_ms = (time.perf_counter() - began) * 1000 / max(1, len(sample))
        figures["escalate"] = {
            "sample": len(sample), "ms each": round(each_ms, 3),
            "queries each": round(len(recorder.queries) / max(1, len(sample)), 1),
            "escalatable": escalatable, "extrapolated seconds": round(each_ms * escalatable / 1000, 1),
            "queries by kind": recorder.kinds(),
            "slowest": recorder.slowest(3),
        }
    return figures


class QueryRecorder:
    """Every query run inside it, with its time (CaptureQueriesContext keeps only the last 9,000)."""

    def __init__(self):
        self.queries: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((sql, time.perf_counter() - began))

    def __enter__(self):
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)

    def kinds(self) -> dict[str, dict]:
        """Count and milliseconds per statement kind and table, the costliest first."""
        kinds: dict[str, dict] = {}
        for sql, seconds in self.queries:
            words = sql.split()
            verb = words[0] if words else "?"
            table = ""
            for marker in (" FROM ", "INSERT INTO ", "UPDATE "):
                if marker in sql:
                    table = sql.split(marker, 1)[1].split()[0].strip('"')
                    break
            entry = kinds.setdefault(f"{verb} {table}".strip(), {"count": 0, "ms": 0.0})
            entry["count"] += 1
            entry["ms"] += seconds * 1000
        for entry in kinds.values():
            entry["ms"] = round(entry["ms"], 1)
        return dict(sorted(kinds.items(), key=lambda item: -item[1]["ms"]))

    def slowest(self, count: int) -> list[dict]:
        ranked = sorted(self.queries, key=lambda q: -q[1])[:count]
        return [{"ms": round(seconds * 1000, 3), "sql": sql} for sql, seconds in ranked]


# --------------------------------------------------------------------------------------------------
# Report


def report(meta: dict, throughput: dict, pages: dict, scan: dict, show_explain: bool) -> list[dict]:
    small, large = (str(size) for size in meta["sizes"])
    checks: list[dict] = []
    print()
    print(f"bench_events · {meta['database']} · {meta['regions']:,} regions · {meta['posts']:,} posts · "
          f"median of {meta['runs']} runs")
    if meta["vendor"] == "sqlite":
        print(f"SQLite: smaller sizes than the issue's PostgreSQL run ({meta['sizes'][0]:,} / {meta['sizes'][1]:,} "
              "events instead of 10,000 / 1,000,000); set DATABASE_URL for the full-size run")
    print("set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in meta["seconds"].items()))

    print()
    print(f"(a) reporting, {throughput['events']} events each way (one transaction per event)")
    print(f"    report service + flow start: {throughput['service_per_s']:>8.1f} events/s "
          f"({throughput['service_ms_each']:.2f} ms, {throughput['service_queries_each']} queries each)")
    print(f"    bare Event.objects.create:   {throughput['bare_per_s']:>8.1f} events/s "
          f"({throughput['bare_ms_each']:.2f} ms, 1 query each)")
    print(f"    ratio: the service costs {throughput['ratio']:.1f}x the bare insert")
    checks.append({"check": f"(a) report service costs {throughput['ratio']:.1f}x the bare insert (<= {SERVICE_RATIO_GOAL:g}x)",
                   "ok": throughput["ratio"] <= SERVICE_RATIO_GOAL})

    print()
    print(f"(b) pages of {PAGE_SIZE} (view = GET through django.test.Client, logged in; query = the list query "
          "+ UncountedPage, fresh user)")
    header = (f"{'user · page':<24} {'':<6} {'queries':>8} {'ms':>9} {'rows':>5} {'queries':>8} {'ms':>9} {'rows':>5} "
              f"{'ratio':>6}")
    print(f"{'':<31} {int(small):>15,} events {int(large):>17,} events")
    print(header)
    print("-" * len(header))
    for name in pages[small]:
        a, b = pages[small][name], pages[large][name]
        for how in ("view", "query"):
            x, y = a[how], b[how]
            ratio = y["ms"] / x["ms"] if x["ms"] else float("inf")
            print(f"{name:<24} {how:<6} {x['queries']:>8} {x['ms']:>9.2f} {a['rows']:>5} {y['queries']:>8} "
                  f"{y['ms']:>9.2f} {b['rows']:>5} {ratio:>5.1f}x")
            checks.append({"check": f"(b) {name} ({how}): queries {x['queries']} = {y['queries']}",
                           "ok": x["queries"] == y["queries"]})
            checks.append({"check": f"(b) {name} ({how}): {y['ms']:.2f} ms <= {TIME_RATIO_GOAL:g} x {x['ms']:.2f} ms "
                                    f"({ratio:.1f}x)", "ok": ratio <= TIME_RATIO_GOAL})

    print()
    sup = scan["supervise"]
    print(f"(c) overdue scan over {scan['open tasks']:,} open tasks, {scan['due, not supervised']:,} due and not "
          "supervised (1%), 0.5% due and supervised before")
    print(f"    due-task query, first batch (claim): {scan['claim batch ms']:.2f} ms; all due ids: "
          f"{scan['find all due ms']:.2f} ms")
    print(f"    supervise_overdue (automatic escalation off): {sup['seconds']:.3f} s, {sup['queries']:,} queries "
          f"({sup['sql ms']:,.0f} ms in SQL), {sup['supervised']:,} supervised, {sup['notices']:,} notices")
    for kind, entry in list(sup["queries by kind"].items())[:8]:
        print(f"      {entry['count']:>7,} x {kind:<40} {entry['ms']:>10,.1f} ms")
    esc = scan.get("escalate")
    if esc:
        print(f"    automatic escalation (default rules, grid and village steps): {esc['ms each']:.2f} ms and "
              f"{esc['queries each']:.0f} queries per event (sample of {esc['sample']}); "
              f"{esc['escalatable']:,} escalatable → about {esc['extrapolated seconds']:.1f} s more")
        for kind, entry in list(esc["queries by kind"].items())[:5]:
            print(f"      {entry['count']:>7,} x {kind:<40} {entry['ms']:>10,.1f} ms")
        for q in esc["slowest"]:
            print(f"      slowest: {q['ms']:.2f} ms  {q['sql'][:150]}{' …' if len(q['sql']) > 150 else ''}")
    plan = scan["explain claim"]
    by_index = "deadline_open_unsupervised_idx" in plan and "Seq Scan on" not in plan and "SCAN workflows_taskdeadline" not in plan
    checks.append({"check": "(c) the due tasks are found through the partial index deadline_open_unsupervised_idx",
                   "ok": by_index})
    checks.append({"check": f"(c) the scan supervised exactly the {scan['due, not supervised']:,} due tasks",
                   "ok": sup["supervised"] == scan["due, not supervised"]})
    checks.append({"check": f"(c) supervise_overdue, escalation off: {sup['seconds']:.3f} s < {SCAN_SECONDS_GOAL:g} s",
                   "ok": sup["seconds"] < SCAN_SECONDS_GOAL})
    if esc:
        total = sup["seconds"] + esc["extrapolated seconds"]
        checks.append({"check": f"(c) supervise_overdue with the default rules' escalation: about {total:.1f} s "
                                f"< {SCAN_SECONDS_GOAL:g} s", "ok": total < SCAN_SECONDS_GOAL})

    print()
    print("goals:")
    for check in checks:
        print(f"  {'PASS' if check['ok'] else 'MISS'}  {check['check']}")

    print()
    print("queries of one page at the large size (list query path), township user · my tasks:")
    for sql in pages[large]["township · my tasks"]["query"]["sql"]:
        print(f"  {sql[:200]}{' …' if len(sql) > 200 else ''}")
    if show_explain:
        for name in pages[large]:
            print()
            print(f"EXPLAIN {name} at {int(large):,} events:")
            for line in pages[large][name]["explain"].splitlines():
                print(f"  {line}")
        for what in ("explain claim", "explain due count"):
            print()
            print(f"EXPLAIN {what[8:]} (overdue scan):")
            for line in scan[what].splitlines():
                print(f"  {line}")
    return checks


# --------------------------------------------------------------------------------------------------


def run(runs: int, show_explain: bool) -> None:
    from django.core.management import call_command
    from django.db import connection

    from grid.models import Event, Post, Region
    from workflows.models import TaskDeadline

    sizes = SIZES[connection.vendor]
    seconds = {}
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    seconds["migrate"] = time.perf_counter() - began

    began = time.perf_counter()
    tree = build_tree()
    org = create_organisation(tree)
    # The measured users: a township office at the 5th township, a grid leader at a grid in it.
    township = tree["townships"][4]
    grid, _, _ = next(row for row in tree["grids"] if row[2] == township)
    create_bench_user(WHO["township"], "township_office", township)
    create_bench_user(WHO["grid"], "grid_leader", grid)
    seconds["organisation"] = time.perf_counter() - began
    harness.analyze()

    print(f"(a) reporting {REPORTS[connection.vendor]} events each way …", flush=True)
    throughput = report_throughput(org["members"][grid], grid, REPORTS[connection.vendor])

    factory = EventFactory(tree, org)
    pages: dict[str, dict] = {}
    seconds["events"] = 0.0
    for size in sizes:
        began = time.perf_counter()
        factory.grow(size - Event.objects.count() + factory.written)
        harness.analyze()
        seconds["events"] += time.perf_counter() - began
        print(f"(b) measuring pages at {Event.objects.count():,} events …", flush=True)
        pages[str(size)] = measure_pages(runs)

    print("(c) overdue scan …", flush=True)
    expected_due = TaskDeadline.objects.filter(is_open=True, supervised_at__isnull=True, due_at__lte=factory.now).count()
    scan = measure_scan(expected_due)

    meta = {
        "vendor": connection.vendor,
        "database": harness.database_label(connection),
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "regions": Region.objects.count(),
        "posts": Post.objects.count(),
        "sizes": list(sizes),
        "runs": runs,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    checks = report(meta, throughput, pages, scan, show_explain)
    harness.write_json(NAME, {**meta, "throughput": throughput, "pages": pages, "scan": scan, "checks": checks})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per page measurement (median; default 10)")
    parser.add_argument("--no-explain", action="store_true", help="do not print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database (to investigate a plan)")
    args = parser.parse_args(argv)

    harness.run_in_throwaway_database(
        NAME,
        lambda: run(args.runs, show_explain=not args.no_explain),
        # the pages are fetched with django.test.Client; no mail leaves the process
        env={"ALLOWED_HOSTS": "testserver", "EMAIL_URL": None},
        keep=args.keep,
    )


if __name__ == "__main__":
    main()
