"""CPU milliseconds of each page of the throughput mix, in one process (Django's test client).

The pages of `bench_throughput`'s mix (report an event through the form, open it, my tasks, my
region's events, the home page) and the trivial signed-in page, each requested `--runs` times by one
grid member of the load county after three warm-up requests; printed: the median and least CPU time
(time.process_time: this process only, so the database's own work is not in it) and the queries of
one request. `--profile DIR` also writes a cProfile file per page (CPU time) to DIR.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db with the load county> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python tests/bench/page_cpu.py --runs 50

The database must hold the load county (`manage.py migrate` and `manage.py generate_load`); each run
adds `--runs`+4 events to it. Not part of `make bench` (it measures one process, not the server).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile", default="", help="write <page>.prof files (cProfile, CPU time) here")
    parser.add_argument("--only", default="", help="comma-separated page names")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECRET_KEY", "page-cpu-" + "x" * 40)
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from config.load import LOAD_PASSWORD
    from grid.models import Post

    username = (Post.objects.filter(role__key="grid_member", user__username__startswith="load0")
                .order_by("user__username").values_list("user__username", flat=True).first())
    if username is None:
        raise SystemExit("page_cpu: no load county in this database (manage.py generate_load)")
    client = Client(secure=True)
    if client.post("/accounts/login/", {"username": username, "password": LOAD_PASSWORD}).status_code != 302:
        raise SystemExit(f"page_cpu: {username} could not sign in")
    form = client.get("/grid/events/new/").content.decode()
    region = re.search(r'name="region".*?<option value="(\d+)"', form, re.S).group(1)
    category = re.findall(r'<option value="(\d+)"', form.split('name="category"', 1)[1].split("</select>", 1)[0])[-1]

    def report() -> str:
        response = client.post("/grid/events/new/", {
            "idempotency_key": f"page-cpu-{time.time_ns()}", "region": region, "category": category,
            "title": "负载测试上报", "description": "负载测试：村口道路旁有建筑垃圾堆放。",
            "occurred_at": time.strftime("%Y-%m-%d %H:%M"), "urgency": "normal", "source": "patrol",
            "latitude": "", "longitude": "", "address": "村口"})
        assert response.status_code == 302, response.status_code
        # The mix follows the redirect, whose page shows (and so drops) the success message: drop it
        # here too, or each report would sign a cookie holding every earlier message.
        client.cookies.pop("messages", None)
        return response["Location"]

    event_url = report()
    pages = {
        "ping": lambda: client.get("/accounts/ping/"),
        "report POST": report,
        "event detail": lambda: client.get(event_url),
        "my tasks": lambda: client.get("/grid/tasks/"),
        "region events": lambda: client.get("/grid/events/"),
        "home": lambda: client.get("/"),
        "home after report": lambda: client.get("/"),  # as in the mix: the user's own report comes first
        "report form": lambda: client.get("/grid/events/new/"),
    }
    print(f"{username}, load average {os.getloadavg()[0]:.2f}")
    for name, request in pages.items():
        if args.only and name not in args.only.split(","):
            continue
        for _ in range(3):
            request()
        with CaptureQueriesContext(connection) as queries:
            request()
        query_count = len(queries)  # now: every request empties the connection's query log
        profile = cProfile.Profile(time.process_time) if args.profile else None
        times = []
        for _ in range(args.runs):
            if name == "home after report":
                report()
            began = time.process_time()
            if profile:
                profile.enable()
            request()
            if profile:
                profile.disable()
            times.append((time.process_time() - began) * 1000)
        print(f"{name:14s} CPU ms median {statistics.median(times):6.2f}  least {min(times):6.2f}  "
              f"queries {query_count}", flush=True)
        if profile:
            profile.dump_stats(str(Path(args.profile) / f"{name.replace(' ', '_')}.prof"))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
