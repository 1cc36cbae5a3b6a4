"""Benchmark of the access layer: does checking and scoping stay flat as data grows?

Builds, in a throwaway database, a tree of 1 county, 20 townships, 400 villages and 4,000 grids,
20,000 posts, and departments (objects with a region) at random grids and villages: first 1,000,
then 100,000. For a township user (township_office at one township), a grid user (grid_member
at one grid) and a county user (county_office at the root: sees everything) it measures

- queries and time of one `user.has_perm(perm, obj)`, with a fresh user object (nothing cached)
  and with the same user object again (grants cached on it), for an object inside and outside
  the user's subtree;
- queries and time of a scoped list page of 50,
  `scope(user, Department.objects.all(), perm).order_by("-id")[:50]`, paginated without a count
  (51 rows fetched to know whether there is a next page) and with Django's Paginator (count + page).

Goals (printed as PASS/MISS, never failing the run for timing): query counts are equal at both
sizes; the page time at 100,000 objects is within 3x the time at 1,000.

Run:
    .venv/bin/python tests/bench/bench_access.py                 # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_access.py             # fresh database bench_access_<pid>
    make bench                                                   # pytest runs this file (SQLite)

Figures are written to var/bench/bench_access.json (one entry per database vendor).
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import time

if __package__:  # imported by pytest as tests.bench.bench_access
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_access"

TOWNSHIPS = 20
VILLAGES_PER_TOWNSHIP = 20
GRIDS_PER_VILLAGE = 10
POSTS = 20_000
SIZES = (1_000, 100_000)
PAGE_SIZE = 50
PERM = "grid.view_department"
WHO = ("township", "grid", "county")
TIME_RATIO_GOAL = 3.0
SEED = 20260301
POST_START = datetime.date(2025, 1, 1)


def test_bench_access():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


# --------------------------------------------------------------------------------------------------
# Data


def build_tree() -> dict:
    """County → townships → villages → grids, bulk-created with treebeard's paths computed here."""
    # Deferred: Django is set up by the benchmark harness before this runs
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
    townships, villages, grids = [], [], []
    for t in range(1, TOWNSHIPS + 1):
        t_name = f"基准县/第{t}镇"
        t_path = node(county, 2, t, f"第{t}镇", t_name, "township", VILLAGES_PER_TOWNSHIP)
        townships.append(t_path)
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
            v_name = f"{t_name}/第{v}村"
            v_path = node(t_path, 3, v, f"第{v}村", v_name, "village", GRIDS_PER_VILLAGE)
            villages.append(v_path)
            for g in range(1, GRIDS_PER_VILLAGE + 1):
                grids.append(node(v_path, 4, g, f"第{g}网格", f"{v_name}/第{g}网格", "grid", 0))
    Region.objects.bulk_create(nodes, batch_size=1000)

    problems = Region.objects.find_problems()
    if any(problems):
        raise RuntimeError(f"treebeard finds problems in the bulk-created tree: {problems}")
    ids = dict(Region.objects.values_list("path", "id"))
    return {
        "county": ids[county],
        "townships": [ids[p] for p in townships],
        "villages": [ids[p] for p in villages],
        "grids": [ids[p] for p in grids],
    }


def create_posts(tree: dict, count: int) -> None:
    """`count` users with one post each: most at grids and villages, some at townships and the county."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.contrib.auth import get_user_model

    from grid.models import Post, Role

    User = get_user_model()
    role = dict(Role.objects.values_list("key", "id"))
    places: list[tuple[str, int]] = []
    for grid in tree["grids"]:
        places += [("grid_member", grid)] * 3
    for village in tree["villages"]:
        places += [("grid_leader", village)] * 10 + [("village_cadre", village)] * 5 + [("grid_instructor", village)] * 2
    for township in tree["townships"]:
        places += [("township_office", township)] * 30 + [("department", township)] * 10 + [("discipline", township)] * 5
    places += [("county_office", tree["county"])] * max(0, count - len(places))
    places = places[:count]

    users = [User(username=f"bench{i:05d}", password="!bench-unusable") for i in range(len(places))]
    User.objects.bulk_create(users, batch_size=2000)
    user_ids = dict(User.objects.filter(username__startswith="bench").values_list("username", "id"))
    posts = [
        Post(user_id=user_ids[f"bench{i:05d}"], role_id=role[key], region_id=region, start_date=POST_START)
        for i, (key, region) in enumerate(places)
    ]
    Post.objects.bulk_create(posts, batch_size=2000)


def grow_departments(targets: list[int], start: int, stop: int, rng: random.Random) -> None:
    """Departments number start..stop-1, each at a random grid or village."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from grid.models import Department

    batch = 5000
    for first in range(start, stop, batch):
        Department.objects.bulk_create(
            [Department(name=f"部门{i:06d}", region_id=rng.choice(targets)) for i in range(first, min(stop, first + batch))],
            batch_size=batch,
        )


def create_bench_user(username: str, role_key: str, region_id: int):
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.contrib.auth import get_user_model

    from grid.models import Post, Role

    user = get_user_model().objects.create(username=username, password="!bench-unusable")
    Post.objects.create(user=user, role=Role.objects.get(key=role_key), region_id=region_id, start_date=POST_START)
    return user


# --------------------------------------------------------------------------------------------------
# Measurements


def queries_of(fn) -> tuple[int, list[str]]:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def median_ms(fn, runs: int, prepare=None) -> float:
    """Median wall time of `fn` in milliseconds; `prepare` (untimed) runs before each call."""
    times = []
    for i in range(runs + 1):
        if prepare is not None:
            prepare()
        began = time.perf_counter()
        fn()
        if i:  # the first call warms up
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def measure_user(user_id: int, inside, outside, runs: int) -> dict:
    """Figures for one user: `inside`/`outside` are objects (region loaded) in and beside their subtree."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.contrib.auth import get_user_model
    from django.core.paginator import Paginator
    from django.db import connection

    from grid.access import scope
    from grid.models import Department

    User = get_user_model()
    figures: dict[str, dict] = {}
    # Each fresh-user step loads the user first (as a request's middleware does), outside the measurement.
    state: dict = {}

    def fresh_user():
        state["user"] = User.objects.get(pk=user_id)

    def record(name: str, step, *, fresh: bool, expect=None):
        fresh_user()
        step(state["user"])  # warm-up: process-wide caches (content types) are not what we measure
        fresh_user()
        if not fresh:
            step(state["user"])  # the same user object again: its grants are cached on it
        result: dict = {}
        count, sqls = queries_of(lambda: result.setdefault("value", step(state["user"])))
        if expect is not None and result["value"] != expect:
            raise AssertionError(f"{name}: expected {expect!r}, got {result['value']!r}")
        if fresh:
            timed = median_ms(lambda: step(state["user"]), runs, prepare=fresh_user)
        else:
            timed = median_ms(lambda: step(state["user"]), runs)
        figures[name] = {"queries": count, "ms": round(timed, 3), "sql": sqls}

    def page_without_count(user):
        rows = list(scope(user, Department.objects.all(), PERM).order_by("-id")[: PAGE_SIZE + 1])
        return len(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE

    def page_with_count(user):
        page = Paginator(scope(user, Department.objects.all(), PERM).order_by("-id"), PAGE_SIZE).page(1)
        return len(list(page.object_list)), page.paginator.count

    record("has_perm inside, fresh user", lambda u: u.has_perm(PERM, inside), fresh=True, expect=True)
    if outside is not None:
        record("has_perm outside, fresh user", lambda u: u.has_perm(PERM, outside), fresh=True, expect=False)
    record("has_perm inside, cached", lambda u: u.has_perm(PERM, inside), fresh=False, expect=True)
    if outside is not None:
        record("has_perm outside, cached", lambda u: u.has_perm(PERM, outside), fresh=False, expect=False)
    record("page of 50, no count", page_without_count, fresh=True)
    record("page of 50, with count", page_with_count, fresh=True)

    fresh_user()
    visible = scope(state["user"], Department.objects.all(), PERM)
    figures["visible objects"] = visible.count()
    options = {"analyze": True} if connection.vendor == "postgresql" else {}
    figures["explain"] = {
        "page": visible.order_by("-id")[: PAGE_SIZE + 1].explain(**options),
        "count": _explain_count(visible),
    }
    return figures


def _explain_count(queryset) -> str:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection

    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    prefix = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN ANALYZE"
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix} SELECT COUNT(*) FROM ({sql}) subquery", params)
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        return "\n".join(str(row[-1]) for row in rows)
    return "\n".join(row[0] for row in rows)


# --------------------------------------------------------------------------------------------------
# Report


MEASURES = [
    "has_perm inside, fresh user",
    "has_perm outside, fresh user",
    "has_perm inside, cached",
    "has_perm outside, cached",
    "page of 50, no count",
    "page of 50, with count",
]
TIMED_GOALS = ["page of 50, no count", "page of 50, with count"]


def report(meta: dict, results: dict, show_explain: bool) -> list[dict]:
    small, large = (str(size) for size in SIZES)
    print()
    print(f"bench_access · {meta['database']} · {meta['regions']:,} regions · {meta['posts']:,} posts · "
          f"median of {meta['runs']} runs")
    print(f"set-up: migrate {meta['seconds']['migrate']:.1f} s, tree+posts {meta['seconds']['tree_posts']:.1f} s, "
          f"objects {meta['seconds']['objects']:.1f} s")
    header = f"{'user':<9} {'measure':<30} {'queries':>8} {'ms':>9} {'queries':>8} {'ms':>9} {'ratio':>6}"
    print()
    print(f"{'':<40} {SIZES[0]:>11,} objects {SIZES[1]:>12,} objects")
    print(header)
    print("-" * len(header))
    checks = []
    for who in WHO:
        a, b = results[small][who], results[large][who]
        for measure in MEASURES:
            if measure not in a:  # the county user has nothing outside its subtree
                continue
            x, y = a[measure], b[measure]
            ratio = y["ms"] / x["ms"] if x["ms"] else float("inf")
            print(f"{who:<9} {measure:<30} {x['queries']:>8} {x['ms']:>9.3f} {y['queries']:>8} {y['ms']:>9.3f} {ratio:>5.1f}x")
            checks.append({
                "check": f"{who}: {measure}: queries {x['queries']} = {y['queries']}",
                "ok": x["queries"] == y["queries"],
            })
            if measure in TIMED_GOALS and who != "county":  # the county figures are shown, not goals
                checks.append({
                    "check": f"{who}: {measure}: {y['ms']:.3f} ms <= {TIME_RATIO_GOAL:g} x {x['ms']:.3f} ms ({ratio:.1f}x)",
                    "ok": ratio <= TIME_RATIO_GOAL,
                })
        print(f"{who:<9} {'visible objects':<30} {a['visible objects']:>18,} {b['visible objects']:>18,}")
    print()
    print("goals:")
    for check in checks:
        print(f"  {'PASS' if check['ok'] else 'MISS'}  {check['check']}")
    print()
    print("queries of one fresh-user page (no count), township user:")
    for sql in results[large]["township"]["page of 50, no count"]["sql"]:
        print(f"  {sql[:160]}{' …' if len(sql) > 160 else ''}")
    if show_explain:
        for who in WHO:
            for what in ("page", "count"):
                print()
                print(f"EXPLAIN {who} {what} at {SIZES[1]:,} objects:")
                for line in results[large][who]["explain"][what].splitlines():
                    print(f"  {line}")
    return checks


# --------------------------------------------------------------------------------------------------


def run(runs: int, show_explain: bool) -> None:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.core.management import call_command
    from django.db import connection

    from grid.models import Department, Post, Region

    seconds = {}
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    seconds["migrate"] = time.perf_counter() - began

    began = time.perf_counter()
    tree = build_tree()
    township, other_township = tree["townships"][4], tree["townships"][11]
    create_posts(tree, POSTS - 2)  # + the two measured users' posts
    seconds["tree_posts"] = time.perf_counter() - began

    rng = random.Random(SEED)
    targets = tree["grids"] + tree["villages"]
    began = time.perf_counter()
    grow_departments(targets, 0, SIZES[0], rng)
    seconds["objects"] = time.perf_counter() - began

    # The grid user sits at the grid of the first department placed at a grid, so that its page is
    # not empty at 1,000 objects either (1,000 objects over 4,400 regions leave most grids empty).
    grid_set = set(tree["grids"])
    objects = list(Department.objects.select_related("region").order_by("id"))
    at_grid = next(d for d in objects if d.region_id in grid_set)
    township_path = Region.objects.get(pk=township).path
    other_path = Region.objects.get(pk=other_township).path
    township_inside = next(d for d in objects if d.region.path.startswith(township_path))
    township_outside = next(d for d in objects if d.region.path.startswith(other_path))
    grid_outside = next(d for d in objects if d.region_id != at_grid.region_id and d.region.path.startswith(township_path))

    township_user = create_bench_user("bench_township", "township_office", township)
    grid_user = create_bench_user("bench_grid", "grid_member", at_grid.region_id)
    county_user = create_bench_user("bench_county", "county_office", tree["county"])

    results: dict[str, dict] = {}
    for size in SIZES:
        have = Department.objects.count()
        if have < size:
            began = time.perf_counter()
            grow_departments(targets, have, size, rng)
            seconds["objects"] += time.perf_counter() - began
        harness.analyze()
        print(f"measuring at {size:,} objects …", flush=True)
        results[str(size)] = {
            "township": measure_user(township_user.pk, township_inside, township_outside, runs),
            "grid": measure_user(grid_user.pk, at_grid, grid_outside, runs),
            "county": measure_user(county_user.pk, township_inside, None, runs),
        }

    meta = {
        "vendor": connection.vendor,
        "database": harness.database_label(connection),
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "regions": Region.objects.count(),
        "posts": Post.objects.count(),
        "objects": list(SIZES),
        "runs": runs,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    checks = report(meta, results, show_explain)
    harness.write_json(NAME, {**meta, "results": results, "checks": checks})
    small, large = (str(size) for size in SIZES)
    figures = []
    for who in ("township", "grid"):
        x, y = results[small][who]["page of 50, no count"], results[large][who]["page of 50, no count"]
        figures.append(harness.figure(
            f"范围过滤一页 50 条（{who}，{SIZES[1]:,} 个对象）/ scoped page", y["ms"], "ms",
            baseline=f"{SIZES[0]:,} 个对象时", baseline_value=x["ms"], goal=f"≤ {TIME_RATIO_GOAL:g}×，查询数相同",
            met=x["queries"] == y["queries"] and y["ms"] <= TIME_RATIO_GOAL * x["ms"],
            note=f"{y['queries']} 条查询（{SIZES[0]:,} 个对象时 {x['queries']} 条）"))
    harness.record(NAME, figures)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per measurement (median; default 20)")
    parser.add_argument("--no-explain", action="store_true", help="do not print the query plans at 100,000 objects")
    args = parser.parse_args(argv)

    harness.run_in_throwaway_database(NAME, lambda: run(args.runs, show_explain=not args.no_explain))


if __name__ == "__main__":
    main()
