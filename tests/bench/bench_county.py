"""Benchmark at county scale: scoped lists, dashboards, the overdue scan, 50 clients.

In a throwaway PostgreSQL database (Redis as cache and broker, as in production; no worker runs, the
queued messages are dropped at the end) it builds the load county with
`manage.py generate_load --villages 400 --events 10000 --seed 1`, measures, grows it to 1,000,000
events with the same command (timed: goal under 5 minutes), and measures again:

- scoped lists (my tasks, my region's events, rectification items) of a county, township, village
  and grid user, through the real views (django.test.Client, signed in): queries per page at both
  sizes (goal: equal), median time at 1,000,000 within 3x of 10,000, p95 under 100 ms;
- the dashboard of each of the four users (`config.dashboards.dashboard_for`) at 1,000,000
  events: p95 under 300 ms; and the county office's first view right after a change (an event
  reported through the service before each view): p95 under 300 ms;
- the overdue scan (`grid.supervision.supervise_overdue`) over the 1,000,000 open tasks of
  which 1% are due: the due tasks found through the partial index, claimed and queued in under
  1 s; beside it the workers' share (notices and audit rows of every batch) and the
  automatic escalation per event;
- 50 clients (tests/bench/loadtest.py) against gunicorn on loopback for 60 s, posting events and
  reading lists: no errors, no lost or doubled event, p95 latency.

Sizes and durations can be cut for a quick look: BENCH_LARGE_EVENTS=100000 BENCH_LOAD_SECONDS=10.

Run:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python tests/bench/bench_county.py
    make bench
"""

from __future__ import annotations

import argparse
import logging
import os
import time

if __package__:  # imported by pytest as tests.bench.bench_county
    from . import harness, loadtest
else:  # run as a script: sys.path[0] is tests/bench
    import harness
    import loadtest

NAME = "bench_county"
VILLAGES = 400
SEED = 1
SMALL = 10_000
LARGE = int(os.environ.get("BENCH_LARGE_EVENTS", "1000000"))
LOAD_CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "50"))
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
GENERATE_GOAL_S = 300
LIST_P95_GOAL_MS = 100
LIST_RATIO_GOAL = 3.0
DASHBOARD_P95_GOAL_MS = 300
SCAN_GOAL_S = 1.0
LISTS = {"my tasks": "grid:my_tasks", "region events": "grid:events", "rectification items": "rectification:items"}
ESCALATION_SAMPLE = 30


def test_bench_county():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__, timeout=3600)


def generate(events: int) -> float:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.core.management import call_command

    began = time.perf_counter()
    call_command("generate_load", villages=VILLAGES, events=events, seed=SEED, verbosity=0)
    return time.perf_counter() - began


def users() -> dict:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.contrib.auth import get_user_model

    from config.load import LOAD_USERS

    User = get_user_model()
    return {key: User.objects.get(username=username) for key, (username, _) in LOAD_USERS.items()}


def queries_of(fn) -> int:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def measure_lists(runs: int) -> dict:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.test import Client
    from django.urls import reverse

    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # the refused pages are expected

    figures = {}
    for who, user in users().items():
        client = Client()
        client.force_login(user)
        for name, url_name in LISTS.items():
            url = reverse(url_name)
            status = client.get(url).status_code
            if status != 200:
                figures[(who, name)] = {"status": status}
                continue

            def get(url=url, who=who, name=name, client=client):
                response = client.get(url)
                if response.status_code != 200:
                    raise AssertionError(f"{who} {name}: HTTP {response.status_code}")

            figures[(who, name)] = {"status": 200, "queries": queries_of(get), **harness.percentiles(get, runs)}
    return figures


def measure_dashboards(runs: int) -> dict | None:
    try:
        from config.dashboards import dashboard_for
    except ImportError:
        return None
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.test import Client

    figures = {}
    for who, user in users().items():
        figures[who] = {"queries": queries_of(lambda user=user: dashboard_for(user)),
                        **harness.percentiles(lambda user=user: dashboard_for(user), runs)}
        client = Client()
        client.force_login(user)

        def home(client=client, who=who):
            response = client.get("/")
            if response.status_code != 200:
                raise AssertionError(f"{who} home: HTTP {response.status_code}")

        figures[who]["home page"] = {"queries": queries_of(home), **harness.percentiles(home, max(5, runs // 2))}
    figures["county"]["after a change"] = after_a_change(users()["county"], max(5, runs // 2))
    return figures


def after_a_change(user, runs: int) -> dict:
    """The county office's dashboard right after an event was reported (through the report service):
    the first view after a change, the one no cache can answer. Median / p95 ms of `runs`."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from config.dashboards import dashboard_for
    from config.load import load_county
    from grid.events import report_event
    from grid.models import EventCategory, Region

    county = load_county()
    grid = Region.objects.get(pk=county.measured["grid"])
    member = get_user_model().objects.get(pk=county.members[grid.pk])
    category = EventCategory.objects.filter(parent__isnull=False, is_active=True).order_by("id").first()
    times = []
    for i in range(runs):
        report_event(by=member, region=grid, category=category, title="工作台变动", description="基准：数据变动后首次打开工作台",
                     occurred_at=timezone.now(), idempotency_key=f"bench-dashboard-change-{i}")
        fresh = type(user).objects.get(pk=user.pk)
        began = time.perf_counter()
        dashboard_for(fresh)
        times.append((time.perf_counter() - began) * 1000)
    return {"median": round(harness.p(times, 50), 2), "p95": round(harness.p(times, 95), 2), "runs": runs}


def measure_scan() -> dict:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection
    from django.utils import timezone
    from viewflow.workflow.models import Task

    from grid.event_flow import EventFlow
    from grid.events import escalate_overdue_event
    from grid.models import Event
    from grid.supervision import BATCH_SIZE, supervise_batch, supervise_overdue
    from workflows.models import TaskDeadline

    now = timezone.now()
    due = TaskDeadline.objects.filter(is_open=True, supervised_at__isnull=True, due_at__lte=now)
    figures = {"open tasks": TaskDeadline.objects.filter(is_open=True).count(), "due": due.count()}
    figures["explain"] = due.order_by("due_at").values_list("pk", flat=True)[:BATCH_SIZE].explain(analyze=True)
    began = time.perf_counter()
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        result = supervise_overdue(now)
    figures["scan s"] = round(time.perf_counter() - began, 3)
    figures["scan queries"] = len(queries)
    figures["claimed"] = result.supervised
    figures["still due after the scan"] = due.count()

    # The workers' share: every claimed batch supervised (notices, audit rows).
    claimed = list(TaskDeadline.objects.filter(supervised_at=now).order_by("due_at", "pk").values_list("pk", flat=True))
    began = time.perf_counter()
    notices = escalations = 0
    for start in range(0, len(claimed), BATCH_SIZE):
        batch = supervise_batch(claimed[start:start + BATCH_SIZE], now)
        notices += batch.notices
        escalations += batch.escalated
    figures["batches s"] = round(time.perf_counter() - began, 3)
    figures["notices"] = notices
    figures["escalations queued"] = escalations
    figures["events overdue"] = Event.objects.overdue(now).count()

    # Automatic escalation, one event at a time as the worker does it (a sample).
    sample = list(
        Task.objects.filter(flow_task=EventFlow.handle, status="NEW", deadline__supervised_at=now,
                            deadline__is_open=True)
        .order_by("-pk").values_list("process__artifact_object_id", flat=True)[: ESCALATION_SAMPLE + 1])
    if sample:
        escalate_overdue_event(Event.objects.get(pk=sample[0]))  # warm-up
        began = time.perf_counter()
        for pk in sample[1:]:
            escalate_overdue_event(Event.objects.get(pk=pk))
        figures["escalation ms each"] = round((time.perf_counter() - began) * 1000 / max(1, len(sample) - 1), 1)
    return figures


def run(runs: int) -> None:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.core.management import call_command
    from django.db import connection

    from config.load import LOAD_PASSWORD

    if connection.vendor != "postgresql":
        raise SystemExit("bench_county: needs PostgreSQL (DATABASE_URL)")
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrate {time.perf_counter() - began:.1f} s", flush=True)
    seconds_small = generate(SMALL)
    print(f"generate_load: county and {SMALL:,} events in {seconds_small:.1f} s; measuring lists …", flush=True)
    small = measure_lists(runs)
    seconds_large = generate(LARGE)
    print(f"generate_load: {LARGE - SMALL:,} more events in {seconds_large:.1f} s; measuring lists …", flush=True)
    large = measure_lists(runs)
    print("dashboards …", flush=True)
    dashboards = measure_dashboards(runs)
    print("overdue scan …", flush=True)
    scan = measure_scan()
    print(f"{LOAD_CLIENTS} clients for {LOAD_SECONDS:g} s …", flush=True)
    # Deferred: Django is set up by the benchmark harness before this runs
    from grid.models import Post

    members = list(Post.objects.filter(role__key="grid_member", user__username__startswith="load0")
                   .order_by("user__username").values_list("user__username", flat=True)[:LOAD_CLIENTS])
    load = loadtest.load_test(os.environ["DATABASE_URL"], members, LOAD_PASSWORD, LOAD_SECONDS)
    report(runs, seconds_small, seconds_large, small, large, dashboards, scan, load)


def report(runs, seconds_small, seconds_large, small, large, dashboards, scan, load) -> None:
    f = harness.figure
    figures = [
        f(f"generate_load：{LARGE:,} 个事件（含流程记录）/ generate {LARGE:,} events", round(seconds_small + seconds_large, 1),
          "s", goal=f"< {GENERATE_GOAL_S} s", met=seconds_small + seconds_large < GENERATE_GOAL_S,
          note=f"{SMALL:,} 个 {seconds_small:.1f} s，其余 {seconds_large:.1f} s"),
    ]
    print()
    print(f"scoped lists, views through django.test.Client, {runs} runs each (median / p95 ms, queries)")
    print(f"{'user · list':<30} {SMALL:>10,} events {LARGE:>24,} events   ratio")
    for key, a in small.items():
        b = large[key]
        who, name = key
        label = f"{who} · {name}"
        if a.get("status") != 200:
            print(f"{label:<30} HTTP {a.get('status')} (no permission)")
            continue
        ratio = b["median"] / a["median"] if a["median"] else float("inf")
        print(f"{label:<30} {a['median']:>7.1f} / {a['p95']:>6.1f} ms {a['queries']:>3} q   "
              f"{b['median']:>7.1f} / {b['p95']:>6.1f} ms {b['queries']:>3} q   {ratio:.2f}x")
        figures.append(f(f"列表 {label}：查询数 / queries", b["queries"], "条", baseline=f"{SMALL:,} 个事件时",
                         baseline_value=a["queries"], goal="相同 / equal", met=a["queries"] == b["queries"]))
        figures.append(f(f"列表 {label}：中位数 / median", b["median"], "ms", baseline=f"{SMALL:,} 个事件时",
                         baseline_value=a["median"], goal=f"≤ {LIST_RATIO_GOAL:g}×", met=ratio <= LIST_RATIO_GOAL))
        figures.append(f(f"列表 {label}：p95", b["p95"], "ms", goal=f"< {LIST_P95_GOAL_MS} ms",
                         met=b["p95"] < LIST_P95_GOAL_MS))
    print()
    if dashboards is None:
        print("dashboards: config.dashboards.dashboard_for not found: not measured")
        figures.append(f("工作台（各层级）/ dashboards", None, "ms", goal=f"p95 < {DASHBOARD_P95_GOAL_MS} ms",
                         note="未测：config.dashboards 尚不存在 / not measured"))
    else:
        print(f"dashboards at {LARGE:,} events (dashboard_for; home page view), median / p95 ms, queries")
        change = dashboards["county"]["after a change"]
        print(f"  county dashboard, first view after a change (an event reported): median {change['median']:.1f} / "
              f"p95 {change['p95']:.1f} ms")
        figures.append(f("工作台 county：数据变动后首次打开 / first view after a change p95", change["p95"], "ms",
                         goal=f"< {DASHBOARD_P95_GOAL_MS} ms", met=change["p95"] < DASHBOARD_P95_GOAL_MS,
                         note=f"每次先经上报服务新增一个事件，中位数 {change['median']:.1f} ms"))
        for who, d in dashboards.items():
            h = d["home page"]
            print(f"  {who:<10} {d['median']:>7.1f} / {d['p95']:>7.1f} ms {d['queries']:>3} q    "
                  f"home page {h['median']:>7.1f} / {h['p95']:>7.1f} ms {h['queries']:>3} q")
            figures.append(f(f"工作台 {who}：dashboard_for p95", d["p95"], "ms", goal=f"< {DASHBOARD_P95_GOAL_MS} ms",
                             met=d["p95"] < DASHBOARD_P95_GOAL_MS, note=f"{d['queries']} 条查询"))
            figures.append(f(f"工作台 {who}：首页 / home page p95", h["p95"], "ms", goal=f"< {DASHBOARD_P95_GOAL_MS} ms",
                             met=h["p95"] < DASHBOARD_P95_GOAL_MS, note=f"{h['queries']} 条查询"))
    print()
    by_index = "deadline_open_unsupervised_idx" in scan["explain"] and "Seq Scan" not in scan["explain"]
    print(f"overdue scan: {scan['open tasks']:,} open tasks, {scan['due']:,} due; scan {scan['scan s']:.3f} s "
          f"({scan['scan queries']} queries, {scan['claimed']:,} claimed, {scan['still due after the scan']} left); "
          f"partial index: {by_index}")
    print(f"  workers' share: {scan['batches s']:.2f} s for the batches ({scan['notices']:,} notices, "
          f"{scan['escalations queued']:,} escalations queued); escalation "
          f"{scan.get('escalation ms each', 0):.1f} ms per event")
    figures += [
        f(f"督办扫描：{scan['open tasks']:,} 个未办环节、{scan['due']:,} 个超期 / overdue scan", scan["scan s"], "s",
          goal=f"< {SCAN_GOAL_S:g} s", met=scan["scan s"] < SCAN_GOAL_S and scan["claimed"] == scan["due"]
          and by_index, note=f"按部分索引查找 {'是' if by_index else '否'}；{scan['scan queries']} 条查询；认领后按批入队"),
        f("督办批处理（worker）：通知、超期标记、审计 / supervision batches", scan["batches s"], "s",
          note=f"{scan['notices']:,} 条督办消息；{scan['escalations queued']:,} 个自动上报入队"),
        f("自动上报（worker，每个事件）/ escalation per event", scan.get("escalation ms each"), "ms",
          note="逐个加锁、完成流程环节、开新时限"),
    ]
    print()
    db = load["database"]
    print(f"load: {load['clients']} clients, {load['seconds']} s, {load['requests']:,} requests "
          f"({load['requests per s']}/s), p95 {load['p95 ms']} ms, {load['errors']} errors")
    for kind, k in load["by kind"].items():
        print(f"  {kind:<22} {k['count']:>6,}  median {k['median ms']:>7.1f} ms  p95 {k['p95 ms']:>7.1f} ms")
    print(f"  database: {db}; retries with the same key answered with the same event: "
          f"{load['retries answered with the same event']} (another: {load['retries answered with another event']})")
    for line in load["first errors"]:
        print(f"  error: {line}")
    intact = (db["acknowledged"] > 0 and db["lost"] == 0 and db["doubled"] == 0 and db["acknowledged with another id"] == 0
              and db["in database, not acknowledged"] == 0 and load["retries answered with another event"] == 0)
    figures += [
        f(f"{load['clients']} 个并发客户端 {load['seconds']:g} s：全部请求 p95 / load p95", load["p95 ms"], "ms",
          note=f"{load['requests']:,} 个请求，{load['requests per s']}/s"),
        f("并发：错误数 / errors", load["errors"], "个", goal="0", met=load["errors"] == 0),
        f("并发：已确认上报丢失或重复 / lost or doubled events",
          db["lost"] + db["doubled"] + db["acknowledged with another id"] + db["in database, not acknowledged"], "个",
          goal="0", met=intact, note=f"确认 {db['acknowledged']:,} 个，库中 {db['events in database']:,} 个"),
    ]
    for kind, k in load["by kind"].items():
        figures.append(f(f"并发：{kind} p95", k["p95 ms"], "ms", note=f"{k['count']:,} 次，中位数 {k['median ms']} ms"))
    harness.record(NAME, figures, {"events": LARGE, "villages": VILLAGES, "seed": SEED, "runs": runs,
                                   "load": load, "scan": {k: v for k, v in scan.items() if k != "explain"}})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per list and dashboard (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args(argv)
    harness.run_in_throwaway_database(
        "gov_bench_county", lambda: run(args.runs),
        env={"ALLOWED_HOSTS": "testserver,127.0.0.1", "EMAIL_URL": None}, keep=args.keep, redis=True,
    )


if __name__ == "__main__":
    main()
