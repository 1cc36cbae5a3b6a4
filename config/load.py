"""A seeded, reproducible county-scale data set for benchmarks (`manage.py generate_load`).
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import contextlib
import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from viewflow.workflow.fields import get_flow_ref
from viewflow.workflow.models import Process, Task

from grid import event_counts
from grid.event_flow import EventFlow
from grid.models import Department, Event, EventCategory, Post, Region, Role, Tier
from rectification.models import RectificationItem, RectificationPlan
from workflows.models import TaskDeadline

COUNTY_NAME = "负载测试县"
VILLAGES_PER_TOWNSHIP = 20
GRIDS_PER_VILLAGE = 10
ITEMS_PER_PLAN = 15
CHUNK = 200_000
BULK_MODE_FROM = 100_000  # events added at once from which indexes are dropped and built again
POST_START = datetime.date(2025, 1, 1)
FLOW = get_flow_ref(EventFlow)  # "grid/event_flow.EventFlow", as viewflow stores it
# Every generated account has this password, so that a load tool can log in as any of them.
LOAD_PASSWORD = "Load@2026-bench"
# The users whose lists and dashboards the benchmarks measure: (username, role, where).
LOAD_USERS = {
    "county": ("load_county", "county_office"),
    "township": ("load_township", "township_office"),
    "village": ("load_village", "village_cadre"),
    "grid": ("load_grid", "grid_leader"),
}


@dataclass
class County:
    county: int
    townships: list[int]
    villages: list[int]
    grids: list[tuple[int, int, int]]  # (grid, village, township) ids
    members: dict[int, int]  # grid id → grid member user id
    departments: dict[int, int]  # township id → department id
    measured: dict[str, int] = field(default_factory=dict)  # LOAD_USERS key → region id


def existing_county() -> Region | None:
    return Region.objects.filter(depth=1, name=COUNTY_NAME).first()


def generate(*, villages: int, events: int, seed: int, now: datetime.datetime | None = None, log=print) -> dict:
    """Build the county (once) and grow its events to `events`; returns what was written."""
    if villages < 1 or events < 0:
        raise ValueError("村数至少为 1，事件数不能为负")
    written = {"regions": 0, "users": 0, "events": 0}
    county = load_county()
    if county is None:
        county = build_county(villages, seed)
        written["regions"] = 1 + len(county.townships) + len(county.villages) + len(county.grids)
        written["users"] = get_user_model().objects.filter(username__startswith="load").count()
        log(f"county: {len(county.townships)} townships, {len(county.villages)} villages, {len(county.grids)} grids")
    elif len(county.villages) != villages:
        raise ValueError(f"数据库中已有 {len(county.villages)} 个村的负载县，不是 {villages} 个")
    factory = EventFactory(county, seed, now=now)
    have = factory.written
    if events > have:
        factory.grow(events, log=log)
        written["events"] = events - have
        # The rows were written around the services: count them again (grid.event_counts).
        log(f"event counts: {event_counts.rebuild():,} rows")
    return written


# ---------------------------------------------------------------------------------------------- county


def build_county(villages: int, seed: int) -> County:
    rng = random.Random(seed)
    tier = {t.key: t for t in Tier.objects.all()}
    townships = -(-villages // VILLAGES_PER_TOWNSHIP)
    nodes: list[Region] = []

    def node(parent_path, depth, step, name, full_path, tier_key, numchild):
        path = Region._get_path(parent_path, depth, step)
        nodes.append(Region(path=path, depth=depth, numchild=numchild, name=name, full_path=full_path, tier=tier[tier_key]))
        return path

    root_step = Region.objects.get_root_nodes().count() + 1
    county_path = node(None, 1, root_step, COUNTY_NAME, COUNTY_NAME, "county", townships)
    layout: list[tuple[str, str, str]] = []
    township_paths, village_paths = [], []
    left = villages
    for t in range(1, townships + 1):
        count = min(VILLAGES_PER_TOWNSHIP, left)
        left -= count
        t_name = f"{COUNTY_NAME}/第{t}镇"
        t_path = node(county_path, 2, t, f"第{t}镇", t_name, "township", count)
        township_paths.append(t_path)
        for v in range(1, count + 1):
            v_name = f"{t_name}/第{v}村"
            v_path = node(t_path, 3, v, f"第{v}村", v_name, "village", GRIDS_PER_VILLAGE)
            village_paths.append(v_path)
            for g in range(1, GRIDS_PER_VILLAGE + 1):
                g_path = node(v_path, 4, g, f"第{g}网格", f"{v_name}/第{g}网格", "grid", 0)
                layout.append((g_path, v_path, t_path))
    with transaction.atomic():
        Region.objects.bulk_create(nodes, batch_size=2000)
        ids = dict(Region.objects.filter(path__startswith=county_path).values_list("path", "id"))
        county = County(
            county=ids[county_path], townships=[ids[p] for p in township_paths],
            villages=[ids[p] for p in village_paths],
            grids=[(ids[g], ids[v], ids[t]) for g, v, t in layout], members={}, departments={},
        )
        _create_organisation(county, rng)
        _create_rectification(county)
    return county


def _create_organisation(county: County, rng: random.Random) -> None:
    User = get_user_model()
    role = dict(Role.objects.values_list("key", "id"))
    Department.objects.bulk_create([Department(name="综合行政执法办", region_id=t) for t in county.townships])
    county.departments = dict(
        Department.objects.filter(region_id__in=county.townships).values_list("region_id", "id"))
    places: list[tuple[str, int, int | None]] = [("county_office", county.county, None)]
    for grid, _, _ in county.grids:
        places += [("grid_member", grid, None), ("grid_leader", grid, None)]
    for village in county.villages:
        places += [("village_cadre", village, None), ("grid_instructor", village, None)]
    for township in county.townships:
        places += [("township_office", township, None), ("township_committee", township, None),
                   ("department", township, county.departments[township])]
    # The measured users, in the middle of the county (chosen by the seed).
    township = rng.choice(county.townships)
    village = rng.choice([v for _, v, t in county.grids if t == township])
    grid = rng.choice([g for g, v, _ in county.grids if v == village])
    county.measured = {"county": county.county, "township": township, "village": village, "grid": grid}
    named = [(username, role_key, county.measured[key]) for key, (username, role_key) in LOAD_USERS.items()]
    password = _password_hash()  # one hash for all: hashing 10,000 passwords would take minutes
    users = [User(username=f"load{i:05d}", password=password, first_name=f"负载{i}") for i in range(len(places))]
    users += [User(username=username, password=password, first_name=username) for username, _, _ in named]
    User.objects.bulk_create(users, batch_size=2000)
    user_ids = dict(User.objects.filter(username__startswith="load").values_list("username", "id"))
    posts = [Post(user_id=user_ids[f"load{i:05d}"], role_id=role[key], region_id=region, department_id=dept,
                  start_date=POST_START) for i, (key, region, dept) in enumerate(places)]
    posts += [Post(user_id=user_ids[username], role_id=role[role_key], region_id=region, start_date=POST_START)
              for username, role_key, region in named]
    Post.objects.bulk_create(posts, batch_size=2000)
    county.members = {region: user_ids[f"load{i:05d}"] for i, (key, region, _) in enumerate(places) if key == "grid_member"}


def _password_hash() -> str:
    """A PBKDF2 hash, which a production server accepts (the load test signs in through gunicorn),
    made without the settings' hasher list (a test run lists only a fast one). Fewer iterations than
    Django's default: 50 clients sign in at once on 2 cores; Django raises them at the first sign-in."""
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(LOAD_PASSWORD, hasher.salt(), iterations=100_000)


def _create_rectification(county: County) -> None:
    """A plan for every village, ITEMS_PER_PLAN items each (statuses cycling, some overdue)."""
    creator = get_user_model().objects.get(username=LOAD_USERS["county"][0])
    names = dict(Region.objects.filter(pk__in=county.villages).values_list("pk", "full_path"))
    RectificationPlan.objects.bulk_create([
        RectificationPlan(organisation_id=v, title=f"{names[v]}巡察整改方案", group_name="县委第一巡察组",
                          inspected_from=datetime.date(2025, 3, 1), inspected_to=datetime.date(2025, 4, 30),
                          feedback_on=datetime.date(2025, 6, 10), created_by=creator)
        for v in county.villages
    ], batch_size=2000)
    statuses = ["done", "fully_done", "in_progress", "done", "ongoing", "pending", "fully_done", "in_progress"]
    rows = []
    for plan_id in RectificationPlan.objects.filter(organisation_id__in=county.villages).values_list("pk", flat=True):
        for n in range(1, ITEMS_PER_PLAN + 1):
            status = statuses[(n - 1) % len(statuses)]
            rows.append(RectificationItem(
                plan_id=plan_id, number=n, category=f"第{(n - 1) // 5 + 1}类问题", title=f"问题{n}", status=status,
                deadline=datetime.date(2025, 12, 31), is_overdue=status in ("pending", "in_progress") and n % 3 == 0,
                closed_at=None if status in ("pending", "in_progress", "ongoing") else
                datetime.datetime(2025, 7 + n % 5, 1, 9, tzinfo=datetime.UTC),
            ))
    RectificationItem.objects.bulk_create(rows, batch_size=5000)


def load_county() -> County | None:
    """The county an earlier run built, read back (to add events to it)."""
    root = existing_county()
    if root is None:
        return None
    regions = list(Region.objects.filter(path__startswith=root.path).values_list("pk", "path", "tier__key"))
    by_path = {path: pk for pk, path, _ in regions}
    step = Region.steplen
    townships = [pk for pk, path, tier in regions if tier == "township"]
    villages = [pk for pk, path, tier in regions if tier == "village"]
    grids = sorted(
        (pk, by_path[path[: 3 * step]], by_path[path[: 2 * step]]) for pk, path, tier in regions if tier == "grid")
    grid_ids = [g for g, _, _ in grids]
    members = dict(Post.objects.filter(role__key="grid_member", region_id__in=grid_ids,
                                       user__username__startswith="load0").values_list("region_id", "user_id"))
    departments = dict(Department.objects.filter(region_id__in=townships).values_list("region_id", "id"))
    measured = dict(Post.objects.filter(user__username__in=[u for u, _ in LOAD_USERS.values()])
                    .values_list("user__username", "region_id"))
    return County(county=root.pk, townships=sorted(townships), villages=sorted(villages), grids=grids,
                  members=members, departments=departments,
                  measured={key: measured.get(username) for key, (username, _) in LOAD_USERS.items()})


# ---------------------------------------------------------------------------------------------- events


class EventFactory:
    """Writes events n = 1.. with the rows the report service (and later steps) would have written.

    Ids are computed from n (event E0+n, process P0+n, start task T0+2n-1, waiting task T0+2n,
    deadline D0+n), so each table is one INSERT ... SELECT over the same number series. Events of
    this county are counted by their idempotency key "load-<n>", so a later run continues at n+1
    with the same seed's mapping.
    """

    def __init__(self, county: County, seed: int, now: datetime.datetime | None = None):
        self.vendor = connection.vendor
        self.now = now or timezone.now()
        self.county = county
        self.written = Event.objects.filter(region_id__in=[g for g, _, _ in county.grids],
                                            idempotency_key__startswith="load-").count()
        self.bases = {
            "event": Event.objects.aggregate(m=Max("id"))["m"] or 0,
            "process": Process.objects.aggregate(m=Max("id"))["m"] or 0,
            "task": Task.objects.aggregate(m=Max("id"))["m"] or 0,
            "deadline": TaskDeadline.objects.aggregate(m=Max("id"))["m"] or 0,
            "previous": self._max_id(Task.previous.through._meta.db_table),
        }
        self.event_ct = ContentType.objects.get_for_model(Event).pk
        self.region_ct = ContentType.objects.get_for_model(Region).pk
        rng = random.Random(seed)
        grids = list(county.grids)
        rng.shuffle(grids)
        categories = list(EventCategory.objects.filter(parent__isnull=False, is_active=True).order_by("id")
                          .values_list("id", flat=True))
        if not categories:
            raise ValueError("没有启用的事件小类：请先执行 migrate")
        rng.shuffle(categories)
        self.step_shift = rng.randrange(20)
        self.grids, self.categories = len(grids), len(categories)
        self.grid_rows = [(k, g, v, t, county.members[g], county.departments[t]) for k, (g, v, t) in enumerate(grids)]
        self.category_rows = list(enumerate(categories))

    @staticmethod
    def _max_id(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {table}")
            return cursor.fetchone()[0] or 0

    def _series(self, first: int, last: int) -> str:
        if self.vendor == "postgresql":
            return f"WITH s(n) AS (SELECT generate_series({first}, {last}))"
        return f"WITH RECURSIVE s(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM s WHERE n < {last})"

    def _dt(self, **delta):
        return connection.ops.adapt_datetimefield_value(self.now + datetime.timedelta(**delta))

    def grow(self, to: int, log=print) -> None:
        """Write events written+1 .. `to` (their n), in chunks, each chunk in one transaction."""
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS load_grid")
            cursor.execute("DROP TABLE IF EXISTS load_category")
            cursor.execute("CREATE TEMPORARY TABLE load_grid (k integer PRIMARY KEY, grid_id integer, village_id integer, "
                           "township_id integer, member_id integer, department_id integer)")
            cursor.executemany("INSERT INTO load_grid VALUES (%s, %s, %s, %s, %s, %s)", self.grid_rows)
            cursor.execute("CREATE TEMPORARY TABLE load_category (k integer PRIMARY KEY, category_id integer)")
            cursor.executemany("INSERT INTO load_category VALUES (%s, %s)", self.category_rows)
        start = self.written
        with self._bulk_mode(to - start, log):
            while self.written < to:
                first, last = self.written + 1, min(to, self.written + CHUNK)
                with transaction.atomic(), connection.cursor() as cursor:
                    for sql, params in self._statements(first, last, start):
                        cursor.execute(sql, params)
                self.written = last
                log(f"events: {last:,} / {to:,}")
        self._reset_sequences()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS load_grid")
            cursor.execute("DROP TABLE IF EXISTS load_category")
            if self.vendor == "postgresql":
                cursor.execute("ANALYZE")  # planner statistics for the new rows, as autovacuum would soon do

    @contextlib.contextmanager
    def _bulk_mode(self, adding: int, log):
        """PostgreSQL, a big load: drop the secondary indexes of the five tables and build them again
        afterwards (one sort per index instead of a million random inserts), and skip the per-row
        foreign-key triggers where the role may (the rows are consistent by construction)."""
        if self.vendor != "postgresql" or adding < BULK_MODE_FROM:
            yield
            return
        tables = ["grid_event", "viewflow_process", "viewflow_task", "viewflow_task_previous", "workflows_taskdeadline"]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [tables])
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
            try:
                with transaction.atomic():
                    cursor.execute("SET session_replication_role = replica")
                replica = True
            except Exception:  # not a superuser: the triggers stay
                replica = False
        log(f"bulk mode: {len(indexes)} secondary indexes dropped, foreign-key triggers "
            f"{'skipped' if replica else 'kept'}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                if replica:
                    cursor.execute("SET session_replication_role = DEFAULT")
                cursor.execute("SET maintenance_work_mem = '256MB'")
                for _, definition in indexes:
                    cursor.execute(definition)
                cursor.execute("RESET maintenance_work_mem")
            log(f"bulk mode: {len(indexes)} indexes built again")

    def _statements(self, first: int, last: int, start: int):
        b = self.bases
        # ids continue after the largest id found when this run began; n counts from the run's start
        offset = f"(s.n - {start})"
        series = self._series(first, last)
        join = (f"FROM s JOIN load_grid g ON g.k = s.n %% {self.grids} "
                f"JOIN load_category c ON c.k = (s.n * 7 + s.n / {self.grids}) %% {self.categories}")
        # Which step the event waits at: 20 buckets, shifted per round of grids so that every grid
        # gets every step.
        bucket = f"((s.n / {self.grids} + s.n + {self.step_shift}) %% 20)"
        handling = (f"CASE WHEN {bucket} < 10 OR {bucket} >= 18 THEN g.grid_id "
                    f"WHEN {bucket} < 13 THEN g.village_id ELSE g.township_id END")
        status = (f"CASE WHEN {bucket} < 16 THEN 'handling' WHEN {bucket} < 18 THEN 'dispatched' "
                  f"ELSE 'verifying' END")
        due_round = "((s.n / 20) %% 200)"  # whole rounds of 20 (all steps alike)
        overdue = f"({due_round} IN (7, 107))"  # 1%: overdue, not yet supervised
        supervised = f"({due_round} = 11)"  # 0.5%: overdue and already supervised
        # The open step's deadline, written on the event (step_due_at) and on its task's TaskDeadline.
        due_at = (f"CASE WHEN {overdue} THEN %s WHEN {supervised} THEN %s "
                  "WHEN s.n %% 4 = 0 THEN %s WHEN s.n %% 4 = 1 THEN %s WHEN s.n %% 4 = 2 THEN %s ELSE %s END")
        due_params = [self._dt(hours=-1), self._dt(hours=-30), self._dt(hours=2), self._dt(hours=10),
                      self._dt(hours=30), self._dt(hours=100)]
        created = self._dt(days=-3)
        true = "true" if self.vendor == "postgresql" else "1"
        empty_json = "'{}'::jsonb" if self.vendor == "postgresql" else "'{}'"  # Event.attributes
        yield (
            f"{series} INSERT INTO grid_event (id, reporter_id, region_id, handling_region_id, department_id, "
            "category_id, title, description, latitude, longitude, address, attributes, occurred_at, urgency, source, "
            "idempotency_key, status, duplicate_of_id, result, rejection_reason, return_count, step_due_at, rating, "
            "rating_comment, created_at, updated_at, closed_at) "
            f"SELECT {b['event']} + {offset}, g.member_id, g.grid_id, {handling}, "
            f"CASE WHEN {bucket} IN (16, 17) THEN g.department_id END, c.category_id, "
            "'负载事件 ' || s.n, '村口道路旁有建筑垃圾堆放，影响通行。', NULL, NULL, '', " + empty_json + ", %s, "
            "CASE WHEN s.n %% 10 = 0 THEN 'urgent' ELSE 'normal' END, 'patrol', 'load-' || s.n, "
            f"{status}, NULL, '', '', 0, {due_at}, NULL, '', %s, %s, NULL {join}",
            [created, *due_params, created, created],
        )
        yield (
            f"{series} INSERT INTO viewflow_process (id, status, created, finished, flow_class, "
            "artifact_content_type_id, artifact_object_id, parent_task_id, data, seed_content_type_id, seed_object_id) "
            f"SELECT {b['process']} + {offset}, 'NEW', %s, NULL, '{FLOW}', {self.event_ct}, {b['event']} + {offset}, "
            """NULL, '{"decision": null}', NULL, NULL FROM s""",
            [created],
        )
        task_columns = ("id, flow_task, flow_task_type, status, created, started, finished, token, external_task_id, "
                        "owner_permission, owner_id, process_id, owner_permission_content_type_id, "
                        "owner_permission_obj_pk, assigned, artifact_content_type_id, artifact_object_id, data, "
                        "seed_content_type_id, seed_object_id, scheduled")
        yield (
            f"{series} INSERT INTO viewflow_task ({task_columns}) "
            f"SELECT {b['task']} + 2 * {offset} - 1, '{FLOW}.start', 'START', 'DONE', %s, %s, %s, 'start', NULL, "
            f"NULL, NULL, {b['process']} + {offset}, NULL, NULL, NULL, NULL, NULL, '{{}}', NULL, NULL, NULL FROM s",
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
            f"SELECT {b['task']} + 2 * {offset}, {node}, 'HUMAN', 'NEW', %s, NULL, NULL, 'start', NULL, {perm}, NULL, "
            f"{b['process']} + {offset}, {self.region_ct}, CAST({perm_region} AS varchar(255)), NULL, NULL, NULL, "
            f"'{{}}', NULL, NULL, NULL {join}",
            [created],
        )
        yield (
            f"{series} INSERT INTO viewflow_task_previous (id, from_task_id, to_task_id) "
            f"SELECT {b['previous']} + {offset}, {b['task']} + 2 * {offset}, {b['task']} + 2 * {offset} - 1 FROM s",
            [],  # a parameter list (even empty) makes both drivers read %% as %
        )
        yield (
            f"{series} INSERT INTO workflows_taskdeadline (id, task_id, due_at, is_open, supervised_at, escalated_at) "
            f"SELECT {b['deadline']} + {offset}, {b['task']} + 2 * {offset}, {due_at}, "
            f"{true}, CASE WHEN {supervised} THEN %s END, NULL FROM s",
            [*due_params, self._dt(hours=-6)],
        )

    def _reset_sequences(self) -> None:
        if self.vendor != "postgresql":
            return  # SQLite's AUTOINCREMENT follows the largest id written
        with connection.cursor() as cursor:
            for table in ("grid_event", "viewflow_process", "viewflow_task", "viewflow_task_previous",
                          "workflows_taskdeadline"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
