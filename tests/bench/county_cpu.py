"""Wall and CPU milliseconds of the county office's heavy views, in one process.

The county office (load_county of the load county, `manage.py generate_load`) requests each view
`--runs` times after three warm-up calls:

- "items": the rectification item list (rectification:items) through Django's test client;
- "dashboard after change": an event reported through the report service, then `dashboard_for` for a
  fresh user object (the first view after a change, as tests/bench/bench_county.py measures it);
- "home after change": the same, then the home page through the test client.

Printed per view: wall median / p95, CPU median (time.process_time: this process only, not the
database) and the queries of one call. `--profile DIR` writes a cProfile file (CPU time) per view;
`--explain` prints EXPLAIN ANALYZE of the slowest queries of one call.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db with the load county> \\
        .venv/bin/python tests/bench/county_cpu.py --runs 30

Each run adds events to the database. Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", default="", help="write <view>.prof files (cProfile, CPU time) here")
    parser.add_argument("--only", default="", help="comma-separated view names")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest queries of one call")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECRET_KEY", "county-cpu-" + "x" * 40)
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from config.dashboards import dashboard_for
    from config.load import LOAD_USERS, load_county
    from grid.events import report_event
    from grid.models import EventCategory, Region

    User = get_user_model()
    office = User.objects.get(username=LOAD_USERS["county"][0])
    county = load_county()
    grid = Region.objects.get(pk=county.measured["grid"])
    member = User.objects.get(pk=county.members[grid.pk])
    category = EventCategory.objects.filter(parent__isnull=False, is_active=True).order_by("id").first()
    client = Client(secure=True)
    client.force_login(office)
    serial = [0]

    def change():
        serial[0] += 1
        report_event(by=member, region=grid, category=category, title="工作台变动", description="基准：数据变动后首次打开",
                     occurred_at=timezone.now(), idempotency_key=f"county-cpu-{time.time_ns()}-{serial[0]}")

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    views = {
        "items": (None, lambda: get("/rectification/items/")),
        "dashboard after change": (change, lambda: dashboard_for(User.objects.get(pk=office.pk))),
        "home after change": (change, lambda: get("/")),
        "events overdue first": (None, lambda: get("/grid/events/?sort=overdue")),
        "events overdue first p400": (None, lambda: get("/grid/events/?sort=overdue&page=400")),
    }
    print(f"load average {os.getloadavg()}")
    for name, (before, request) in views.items():
        if args.only and name not in args.only.split(","):
            continue
        for _ in range(3):
            if before:
                before()
            request()
        if before:
            before()
        with CaptureQueriesContext(connection) as queries:
            request()
        query_count = len(queries)
        if args.explain:
            slow = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:5]
            for q in slow:
                print(f"--- {q['time']} s: {q['sql'][:300]}")
                if q["sql"].lstrip().upper().startswith("SELECT"):
                    with connection.cursor() as cursor:
                        cursor.execute("EXPLAIN ANALYZE " + q["sql"])
                        print("\n".join(row[0] for row in cursor.fetchall()))
        profile = cProfile.Profile(time.process_time) if args.profile else None
        walls, cpus = [], []
        for _ in range(args.runs):
            if before:
                before()
            began, began_cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            request()
            if profile:
                profile.disable()
            cpus.append((time.process_time() - began_cpu) * 1000)
            walls.append((time.perf_counter() - began) * 1000)
        walls.sort()
        p95 = walls[max(0, min(len(walls) - 1, round(0.95 * len(walls) + 0.5) - 1))]
        print(f"{name:24s} wall median {statistics.median(walls):7.1f}  p95 {p95:7.1f}  CPU median "
              f"{statistics.median(cpus):6.1f}  least {min(cpus):6.1f}  queries {query_count}", flush=True)
        if profile:
            profile.dump_stats(str(Path(args.profile) / f"{name.replace(' ', '_')}.prof"))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
