"""Benchmark of the big patrol's scoring: a month and a quarter of a whole county.

Builds, in a throwaway database, 1 county with 9 townships of 30 villages (270 villages), a patrol
catalog of 200 items (spread over the townships, one lead department each), 100,000 village reports
and 20,000 findings over 2025 (bulk-created, seeded: verdicts 属实/不属实/重复/待核实, every source,
findings partly matched to earlier reports, a few flagged 弄虚作假), then measures the time (median)
and the queries of

- `month_scores(township, month)` for one township (30 villages),
- `month_scores(all townships, month)` for the county (270 villages),
- `quarter_scores(...)` for one township and for the county,

each followed by `as_dict()` of every row, as the command and the circular use them.

Goals (printed as PASS/MISS, never failing the run): the queries of the county equal those of one
township (they do not grow with the number of villages); the county-wide month under 2 s on
PostgreSQL (shown, not a goal, on SQLite).

Run:
    .venv/bin/python tests/bench/bench_scoring.py                 # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_scoring.py             # fresh database bench_scoring_<pid>
    make bench                                                    # pytest runs this file (SQLite)

Figures are written to var/bench/bench_scoring.json (one entry per database vendor).
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import time
from decimal import Decimal

if __package__:  # imported by pytest as tests.bench.bench_scoring
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_scoring"

TOWNSHIPS = 9
VILLAGES_PER_TOWNSHIP = 30
ITEMS = 200
REPORTS = 100_000
FINDINGS = 20_000
YEAR = 2025
MONTH = datetime.date(YEAR, 6, 1)
QUARTER = (YEAR, 2)
POINTS = [Decimal(p) for p in ("1", "2", "2", "3", "3", "5", "0.5")]
VERDICTS = [("true", 70), ("false", 10), ("duplicate", 10), ("pending", 10)]
SOURCES = [("township_group", 30), ("township_department", 20), ("district", 10), ("city", 8), ("province", 4),
           ("12345", 12), ("township_petition", 6), ("district_petition", 4), ("city_petition", 3),
           ("province_petition", 2), ("public_opinion", 2), ("mayor_mailbox", 1), ("mayor_hotline", 2), ("central", 1)]
BATCH = 5000
COUNTY_MONTH_GOAL_SECONDS = 2.0
SEED = 20260501


def test_bench_scoring():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


# --------------------------------------------------------------------------------------------------
# Data


def build_tree() -> dict:
    """County → townships → villages, bulk-created with treebeard's paths computed here."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from grid.models import Region, Tier

    tier = {t.key: t for t in Tier.objects.all()}
    nodes: list[Region] = []

    def node(parent_path, depth, step, name, full_path, tier_key, numchild):
        path = Region._get_path(parent_path, depth, step)
        nodes.append(Region(path=path, depth=depth, numchild=numchild, name=name, full_path=full_path,
                            tier=tier[tier_key]))
        return path

    county = node(None, 1, 1, "基准县", "基准县", "county", TOWNSHIPS)
    townships: dict[str, list[str]] = {}
    for t in range(1, TOWNSHIPS + 1):
        t_name = f"基准县/第{t}镇"
        t_path = node(county, 2, t, f"第{t}镇", t_name, "township", VILLAGES_PER_TOWNSHIP)
        townships[t_path] = [
            node(t_path, 3, v, f"第{v}村", f"{t_name}/第{v}村", "village", 0) for v in range(1, VILLAGES_PER_TOWNSHIP + 1)
        ]
    Region.objects.bulk_create(nodes, batch_size=1000)
    problems = Region.objects.find_problems()
    if any(problems):
        raise RuntimeError(f"treebeard finds problems in the bulk-created tree: {problems}")
    ids = dict(Region.objects.values_list("path", "id"))
    return {ids[t]: [ids[v] for v in villages] for t, villages in townships.items()}


def build_catalog(tree: dict, rng: random.Random) -> dict[int, list[tuple[int, Decimal]]]:
    """One lead department and category per township; ITEMS items dealt round-robin over the townships."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from grid.models import Department
    from inspection.models import CatalogItem, PatrolCategory

    townships = list(tree)
    departments = Department.objects.bulk_create([Department(name="综合行政执法办", region_id=t) for t in townships])
    categories = PatrolCategory.objects.bulk_create([
        PatrolCategory(township_id=t, name="综合", lead_department_id=dep.pk)
        for t, dep in zip(townships, departments, strict=True)
    ])
    items = []
    for i in range(ITEMS):
        index = i % len(townships)
        items.append(CatalogItem(
            township_id=townships[index], code=f"XC-{i:03d}", name=f"巡查事项{i:03d}", category_id=categories[index].pk,
            lead_department_id=departments[index].pk, points=rng.choice(POINTS),
        ))
    CatalogItem.objects.bulk_create(items)
    catalog: dict[int, list[tuple[int, Decimal]]] = {t: [] for t in townships}
    for item_id, township_id, points in CatalogItem.objects.values_list("id", "township_id", "points"):
        catalog[township_id].append((item_id, points))
    return catalog


def weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def build_reports_and_findings(tree: dict, catalog: dict, rng: random.Random) -> None:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.utils import timezone

    from inspection.models import PatrolFinding, PatrolReport

    villages = [(t, v) for t, vs in tree.items() for v in vs]
    first_day = datetime.date(YEAR, 1, 1)
    tz = timezone.get_current_timezone()

    def day_of_year() -> datetime.date:
        return first_day + datetime.timedelta(days=rng.randrange(365))

    rows = []
    for i in range(REPORTS):
        township, village = rng.choice(villages)
        item, points = rng.choice(catalog[township])
        reported = day_of_year()
        verdict = weighted(rng, VERDICTS)
        rows.append(PatrolReport(
            township_id=township, village_id=village, number=f"R{i:06d}", item_id=item,
            occurred_at=datetime.datetime.combine(reported, datetime.time(8), tzinfo=tz), location="村内",
            description="巡查发现", reported_on=reported, verdict=verdict,
            verified_on=None if verdict == "pending" else reported + datetime.timedelta(days=rng.randrange(11)),
            points=points if verdict == "true" else Decimal(0), is_fraud=rng.random() < 0.01,
        ))
    for first in range(0, len(rows), BATCH):
        PatrolReport.objects.bulk_create(rows[first:first + BATCH])

    # Some findings reference one of the village's reports of the same item (earlier, the same day or later).
    reports_by_village: dict[int, list[tuple[int, int, datetime.date]]] = {}
    for pk, village, item, reported in PatrolReport.objects.values_list("id", "village_id", "item_id", "reported_on"):
        reports_by_village.setdefault(village, []).append((pk, item, reported))
    rows = []
    for i in range(FINDINGS):
        township, village = rng.choice(villages)
        matched = None
        if rng.random() < 0.3 and reports_by_village.get(village):
            matched, item, reported = rng.choice(reports_by_village[village])
            points = dict(catalog[township])[item]
            discovered = reported + datetime.timedelta(days=rng.randrange(-3, 20))
        else:
            item, points = rng.choice(catalog[township])
            discovered = day_of_year()
        rows.append(PatrolFinding(
            township_id=township, village_id=village, number=f"F{i:06d}", item_id=item,
            source=weighted(rng, SOURCES), discovered_on=discovered,
            is_true=weighted(rng, [("1", 80), ("0", 10), ("", 10)]) or None, matched_report_id=matched,
            points=points, is_fraud=rng.random() < 0.01,
        ))
        if rows[-1].is_true is not None:
            rows[-1].is_true = rows[-1].is_true == "1"
    for first in range(0, len(rows), BATCH):
        PatrolFinding.objects.bulk_create(rows[first:first + BATCH])


# --------------------------------------------------------------------------------------------------
# Measurements


def queries_of(fn) -> tuple[int, list[str], object]:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], result


def median_seconds(fn, runs: int) -> float:
    times = []
    for i in range(runs + 1):
        began = time.perf_counter()
        fn()
        if i:  # the first call warms up
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def explain(sql: str) -> str:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS)"
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix} {sql}")
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        return "\n".join(str(row[-1]) for row in rows)
    return "\n".join(row[0] for row in rows)


def measure(runs: int, show_explain: bool) -> dict:
    # Deferred: Django is set up by the benchmark harness before this runs
    from grid.models import Region
    from inspection.patrol.scoring import month_scores, quarter_scores

    townships = list(Region.objects.filter(tier__key="township").order_by("path"))
    one = townships[4]
    cases = {
        "month, one township": lambda: [s.as_dict() for s in month_scores(one, MONTH)],
        "month, all townships": lambda: [s.as_dict() for s in month_scores(townships, MONTH)],
        "quarter, one township": lambda: [q.as_dict() for q in quarter_scores(one, *QUARTER)],
        "quarter, all townships": lambda: [q.as_dict() for q in quarter_scores(townships, *QUARTER)],
    }
    figures = {}
    for name, fn in cases.items():
        count, sqls, result = queries_of(fn)
        figures[name] = {
            "queries": count, "villages": len(result), "seconds": round(median_seconds(fn, runs), 4), "sql": sqls,
            "entries": sum(len(row.get("entries", [])) for row in result),
        }
    if show_explain:
        # The raw SQL Django logged has its parameters inlined, which is enough for EXPLAIN here.
        figures["explain"] = {f"query {i + 1}": explain(sql) for i, sql in enumerate(figures["month, all townships"]["sql"])}
    return figures


# --------------------------------------------------------------------------------------------------
# Report


def report(meta: dict, figures: dict) -> list[dict]:
    print()
    print(f"bench_scoring · {meta['database']} · {meta['villages']} villages · {meta['items']} items · "
          f"{meta['reports']:,} reports · {meta['findings']:,} findings · median of {meta['runs']} runs")
    print(f"set-up: migrate {meta['seconds']['migrate']:.1f} s, data {meta['seconds']['data']:.1f} s")
    print()
    header = f"{'measure':<26} {'villages':>8} {'entries':>8} {'queries':>8} {'seconds':>9}"
    print(header)
    print("-" * len(header))
    for name in ("month, one township", "month, all townships", "quarter, one township", "quarter, all townships"):
        f = figures[name]
        entries = f"{f['entries']:>8}" if name.startswith("month") else f"{'-':>8}"
        print(f"{name:<26} {f['villages']:>8} {entries} {f['queries']:>8} {f['seconds']:>9.3f}")
    checks = []
    for period in ("month", "quarter"):
        a, b = figures[f"{period}, one township"], figures[f"{period}, all townships"]
        checks.append({"check": f"{period}: queries for {b['villages']} villages = for {a['villages']} "
                                f"({b['queries']} = {a['queries']})", "ok": a["queries"] == b["queries"]})
    county_month = figures["month, all townships"]["seconds"]
    goal = {"check": f"county-wide month {county_month:.3f} s < {COUNTY_MONTH_GOAL_SECONDS:g} s",
            "ok": county_month < COUNTY_MONTH_GOAL_SECONDS}
    if meta["vendor"] == "postgresql":
        checks.append(goal)
    print()
    print("goals:")
    for check in checks:
        print(f"  {'PASS' if check['ok'] else 'MISS'}  {check['check']}")
    if meta["vendor"] != "postgresql":
        print(f"  (shown, the goal is for PostgreSQL: {goal['check']})")
    print()
    print("queries of the county-wide month:")
    for sql in figures["month, all townships"]["sql"]:
        print(f"  {sql[:200]}{' …' if len(sql) > 200 else ''}")
    for name, plan in figures.get("explain", {}).items():
        print()
        print(f"EXPLAIN county-wide month, {name}:")
        for line in plan.splitlines():
            print(f"  {line}")
    return checks


# --------------------------------------------------------------------------------------------------


def run(runs: int, show_explain: bool) -> None:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.core.management import call_command
    from django.db import connection

    from grid.models import Region
    from inspection.models import CatalogItem, PatrolFinding, PatrolReport

    seconds = {}
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    seconds["migrate"] = time.perf_counter() - began

    began = time.perf_counter()
    rng = random.Random(SEED)
    tree = build_tree()
    catalog = build_catalog(tree, rng)
    build_reports_and_findings(tree, catalog, rng)
    harness.analyze()
    seconds["data"] = time.perf_counter() - began
    print("measuring …", flush=True)
    figures = measure(runs, show_explain)

    meta = {
        "vendor": connection.vendor,
        "database": harness.database_label(connection),
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "villages": Region.objects.filter(tier__key="village").count(),
        "items": CatalogItem.objects.count(),
        "reports": PatrolReport.objects.count(),
        "findings": PatrolFinding.objects.count(),
        "month": f"{MONTH:%Y-%m}",
        "quarter": f"{QUARTER[0]}Q{QUARTER[1]}",
        "runs": runs,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    checks = report(meta, figures)
    harness.write_json(NAME, {**meta, "results": figures, "checks": checks})
    month, one = figures["month, all townships"], figures["month, one township"]
    quarter = figures["quarter, all townships"]
    f = harness.figure
    harness.record(NAME, [
        f(f"全县一个月的大巡查积分（{month['villages']} 个村）/ month's patrol scores", month["seconds"], "s",
          baseline=f"一个乡镇（{one['villages']} 个村）", baseline_value=one["seconds"],
          goal=f"< {COUNTY_MONTH_GOAL_SECONDS:g} s", met=month["seconds"] < COUNTY_MONTH_GOAL_SECONDS,
          note=f"{month['queries']} 条查询（一个乡镇 {one['queries']} 条）；{meta['reports']:,} 条上报、"
               f"{meta['findings']:,} 条发现问题"),
        f("全县一个季度的积分 / quarter's scores", quarter["seconds"], "s", note=f"{quarter['queries']} 条查询"),
    ], {"villages": meta["villages"]})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median; default 5)")
    parser.add_argument("--no-explain", action="store_true", help="do not print the query plans of the county month")
    args = parser.parse_args(argv)

    harness.run_in_throwaway_database(NAME, lambda: run(args.runs, show_explain=not args.no_explain))


if __name__ == "__main__":
    main()
