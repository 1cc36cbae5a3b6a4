"""Benchmark of the point lookup "which grid contains this point" (Open311 reports, grid.boundaries.region_at).

Builds, in a throwaway database, 1 county, 20 townships, 100 villages and 2,000 grids, each grid with
a boundary of 64 vertices (the grids tile the county without overlapping), boundaries set the way
set_boundary stores them (with their bounding boxes). It then looks up random points, nine in ten
inside some grid and one in ten outside every grid, and measures per lookup

- `region_at` as it is: candidates filtered in SQL by the stored bounding box, then only those
  few polygons tested as stored;
- a floor: one fetch of a region by id with its tier (what a database round trip costs on the machine);
- the baseline in the same run: every grid with a boundary under the county read and its polygon
  validated and tested (how the lookup worked before bounding boxes were stored).

Both must give the same region for every point. Goal (printed as PASS/MISS, never failing the run for
timing): a median under 5 ms per lookup at 2,000 grids (the p95 is printed too).

Run:
    .venv/bin/python tests/bench/bench_boundaries.py                 # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_boundaries.py             # fresh database bench_boundaries_<pid>
    make bench                                                       # with all the other benchmarks

Figures are written to var/bench/bench_boundaries.json (one entry per database vendor).
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import time

if __package__:  # imported by pytest as tests.bench.bench_boundaries
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_boundaries"

TOWNSHIPS = 20
VILLAGES_PER_TOWNSHIP = 5
GRIDS_PER_VILLAGE = 20
COLUMNS = 50  # grids per row of the county; 2,000 grids make 40 rows
CELL = 0.01  # degrees: about 1 km
VERTICES_PER_SIDE = 16  # 64 vertices per grid boundary
ORIGIN = (113.0, 33.5)
GOAL_MS = 5.0
SEED = 20261206


def test_bench_boundaries():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


def cell_polygon(column: int, row: int) -> dict:
    """A square cell whose sides carry VERTICES_PER_SIDE points each (a realistic vertex count)."""
    west, south = ORIGIN[0] + column * CELL, ORIGIN[1] + row * CELL
    east, north = west + CELL, south + CELL
    steps = [k / VERTICES_PER_SIDE for k in range(VERTICES_PER_SIDE)]
    ring = ([[west + (east - west) * t, south] for t in steps] + [[east, south + (north - south) * t] for t in steps]
            + [[east - (east - west) * t, north] for t in steps] + [[west, north - (north - south) * t] for t in steps])
    ring = [[round(x, 7), round(y, 7)] for x, y in ring]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def build_tree() -> int:
    """County → townships → villages → grids with boundaries, bulk-created; returns the county's id."""
    from grid import boundaries
    from grid.models import Region, Tier

    tier = {t.key: t for t in Tier.objects.all()}
    nodes: list[Region] = []

    def node(parent_path, depth, step, name, full_path, tier_key, numchild, boundary=None):
        path = Region._get_path(parent_path, depth, step)
        nodes.append(Region(path=path, depth=depth, numchild=numchild, name=name, full_path=full_path,
                            tier=tier[tier_key], boundary=boundary, **boundaries.box_fields(boundary)))
        return path

    county = node(None, 1, 1, "基准县", "基准县", "county", TOWNSHIPS)
    number = 0
    for t in range(1, TOWNSHIPS + 1):
        t_name = f"基准县/第{t}镇"
        t_path = node(county, 2, t, f"第{t}镇", t_name, "township", VILLAGES_PER_TOWNSHIP)
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
            v_name = f"{t_name}/第{v}村"
            v_path = node(t_path, 3, v, f"第{v}村", v_name, "village", GRIDS_PER_VILLAGE)
            for g in range(1, GRIDS_PER_VILLAGE + 1):
                shape = cell_polygon(number % COLUMNS, number // COLUMNS)
                node(v_path, 4, g, f"第{g}网格", f"{v_name}/第{g}网格", "grid", 0, shape)
                number += 1
    Region.objects.bulk_create(nodes, batch_size=500)
    return Region.objects.get(path=county).pk


def baseline_region_at(jurisdiction, longitude: float, latitude: float, tiers=("microgrid", "grid")):
    """The lookup before bounding boxes were stored: every candidate read, validated and tested."""
    from grid import boundaries
    from grid.models import Region

    point = (float(longitude), float(latitude))
    candidates = (Region.objects.filter(path__startswith=jurisdiction.path, tier__key__in=tiers, boundary__isnull=False)
                  .select_related("tier").order_by("-depth", "path"))
    for region in candidates:
        if boundaries.contains(region.boundary, point):
            return region
    return None


def points(count: int, rows: int, rng: random.Random) -> list[tuple[float, float]]:
    """Nine in ten inside some grid, one in ten beyond the county's last row (inside no grid)."""
    chosen = []
    for n in range(count):
        lon = ORIGIN[0] + rng.uniform(0, COLUMNS * CELL)
        top = rows + (3 if n % 10 == 9 else 0)
        lat = ORIGIN[1] + rng.uniform(rows * CELL if n % 10 == 9 else 0, top * CELL)
        chosen.append((lon, lat))
    return chosen


def timed(lookup, county, chosen) -> tuple[list[float], list]:
    times, found = [], []
    for lon, lat in chosen:
        began = time.perf_counter()
        region = lookup(county, lon, lat)
        times.append((time.perf_counter() - began) * 1000)
        found.append(region.pk if region else None)
    return times, found


def run(lookups: int, baseline_lookups: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from grid import boundaries
    from grid.models import Region

    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    county_id = build_tree()
    harness.analyze()
    setup = time.perf_counter() - began
    county = Region.objects.get(pk=county_id)
    grids = Region.objects.filter(tier__key="grid", boundary__isnull=False).count()
    rows = grids // COLUMNS
    rng = random.Random(SEED)
    chosen = points(lookups, rows, rng)

    timed(boundaries.region_at, county, chosen[:20])  # warm the connection and the plan cache
    now, found_now = timed(boundaries.region_at, county, chosen)
    base, found_base = timed(baseline_region_at, county, chosen[:baseline_lookups])
    # The floor on this machine: one indexed fetch of a region with its tier (a database round trip).
    grid_ids = list(Region.objects.filter(tier__key="grid").values_list("pk", flat=True))
    floor = []
    for n in range(lookups):
        began = time.perf_counter()
        Region.objects.select_related("tier").filter(pk=grid_ids[n % len(grid_ids)]).first()
        floor.append((time.perf_counter() - began) * 1000)
    assert found_now[:baseline_lookups] == found_base, "the two lookups disagree"
    assert sum(1 for f in found_now if f is None) == sum(1 for n in range(lookups) if n % 10 == 9)

    def p95(values):
        return sorted(values)[int(len(values) * 0.95) - 1]

    median_now, median_base = statistics.median(now), statistics.median(base)
    met = median_now < GOAL_MS
    print(f"\n{grids:,} grid boundaries, set-up {setup:.1f} s ({harness.database_label(connection)})")
    print(f"region_at (bounding boxes in SQL): median {median_now:.2f} ms, p95 {p95(now):.2f} ms over {lookups} lookups")
    print(f"baseline (validate every polygon): median {median_base:.2f} ms, p95 {p95(base):.2f} ms "
          f"over {baseline_lookups} lookups")
    print(f"floor (fetch one region by id):    median {statistics.median(floor):.2f} ms")
    print(f"goal < {GOAL_MS:g} ms per lookup (median): {'PASS' if met else 'MISS'}")
    meta = {
        "vendor": connection.vendor, "database": harness.database_label(connection),
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "grids": grids, "vertices_per_grid": 4 * VERTICES_PER_SIDE, "lookups": lookups,
        "baseline_lookups": baseline_lookups,
        "ms": {"median": round(median_now, 3), "p95": round(p95(now), 3),
               "baseline_median": round(median_base, 3), "baseline_p95": round(p95(base), 3),
               "floor_median": round(statistics.median(floor), 3)},
    }
    harness.write_json(NAME, meta)
    harness.record(NAME, [
        harness.figure(f"按位置找网格（{grids:,} 个网格边界）/ point lookup, median", round(median_now, 3), "ms",
                       baseline="逐个读取并校验全部多边形", baseline_value=round(median_base, 3),
                       goal=f"< {GOAL_MS:g} ms", met=median_now < GOAL_MS,
                       note=f"{lookups} 次查找，一成在所有网格之外；每个边界 {4 * VERTICES_PER_SIDE} 个顶点；"
                            f"同一时刻按编号取一个区域 {statistics.median(floor):.2f} ms"),
        harness.figure("按位置找网格 / point lookup, p95", round(p95(now), 3), "ms",
                       baseline="逐个读取并校验全部多边形", baseline_value=round(p95(base), 3),
                       note="仅供参考，目标按中位数"),
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=1000, help="timed lookups (default 1000)")
    parser.add_argument("--baseline-lookups", type=int, default=20, help="timed lookups of the baseline (default 20)")
    args = parser.parse_args(argv)
    harness.run_in_throwaway_database(NAME, lambda: run(args.lookups, args.baseline_lookups))


if __name__ == "__main__":
    main()
