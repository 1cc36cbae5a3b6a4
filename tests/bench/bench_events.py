"""Benchmark of event intake (issues 4 and 10): the full report service against a bare insert.

In a throwaway PostgreSQL database with Redis as cache and Celery broker, as in production (the
待办 notice each report queues is published to Redis by the process's outbox relay thread, and the
service's time runs until the relay has handed over all of them; no worker runs, the messages are
dropped at the end), on the load county of `manage.py generate_load --villages 400 --events 10000 --seed 1`,
it reports events one transaction each through `grid.events.report_event` (permission check,
validation, insert, audit trail, EventFlow start with its tasks and SLA deadline, the queued notice)
and, in the same run, inserts the same rows bare with `Event.objects.create`.

Goals: at least 200 events/s through the service; the service costs at most 5x the bare insert.
Both are printed with the queries of one report, grouped by table, so that a miss says where the
time goes.

Run:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python tests/bench/bench_events.py
    make bench
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import re
import time

if __package__:  # imported by pytest as tests.bench.bench_events
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_events"
REPORTS = 300
RATE_GOAL = 200.0
SERVICE_RATIO_GOAL = 5.0


def test_bench_events():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


# --------------------------------------------------------------------------------------------------
# Reporting throughput


def report_throughput(reporter_id: int, grid_id: int, count: int) -> dict:
    """`count` events through the report service, then `count` bare inserts of the same rows."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from viewflow.workflow.models import Task

    from governance.models import AuditEntry
    from grid.event_flow import EventFlow
    from grid.events import handling_start_region, report_event
    from grid.models import Event, EventCategory, Region
    from workflows.models import EventProcess, TaskDeadline

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
    query_kinds = kinds([q["sql"] for q in ctx.captured_queries])

    handling = handling_start_region(region)

    def service(i: int) -> None:
        report_event(by=reporter, region=region, idempotency_key=f"bench-service-{i}", **fields(i))

    def published() -> None:
        """Until the process's outbox relay has handed all the round's notices to Redis."""
        # Deferred: Django is set up by the benchmark harness before this runs
        from governance import outbox

        outbox.wait_for_relay(timeout=30)

    def bare(i: int) -> None:
        Event.objects.create(reporter=reporter, region=region, handling_region=handling,
                             idempotency_key=f"bench-bare-{i}", status=Event.Status.HANDLING, **fields(i))

    def bare_rows(i: int) -> None:
        """The rows the service writes, inserted bare in one transaction (no checks, no lookups)."""
        with transaction.atomic():
            event = Event.objects.create(reporter=reporter, region=region, handling_region=handling,
                                         idempotency_key=f"bench-rows-{i}", status=Event.Status.HANDLING, **fields(i))
            process = EventProcess.objects.create(flow_class=EventFlow, artifact=event, data={"decision": None})
            start = Task.objects.create(process=process, flow_task=EventFlow.start, flow_task_type="START",
                                        status="DONE", started=event.created_at, finished=event.created_at)
            task = Task.objects.create(process=process, flow_task=EventFlow.handle, flow_task_type="HUMAN",
                                       owner_permission="grid.triage_event", owner_permission_obj_pk=str(handling.pk))
            task.previous.add(start)
            TaskDeadline.objects.create(task=task, due_at=event.created_at)
            AuditEntry.objects.create(created_at=event.created_at, action="event.report", object_type="grid.Event",
                                      object_id=str(event.pk), previous_hash="0" * 64,
                                      entry_hash=hashlib.sha256(f"bench-rows-{i}".encode()).hexdigest())

    # Side by side: the three ways take turns in rounds, so that the machine's other load falls on all.
    bare(-1), bare_rows(-1)  # warm-up
    seconds = {"service": 0.0, "bare": 0.0, "rows": 0.0, "published": 0.0}
    rounds, paired = 10, []
    for r in range(rounds):
        part = range(r * count // rounds, (r + 1) * count // rounds)
        this_round = {}
        for name, fn in (("service", service), ("bare", bare), ("rows", bare_rows)):
            began = time.perf_counter()
            for i in part:
                fn(i)
            this_round[name] = time.perf_counter() - began
            seconds[name] += this_round[name]
            if fn is service:  # the relay's rest, so that it does not fall on the next way's time
                published()
                seconds["published"] += time.perf_counter() - began
        paired.append(this_round["service"] / this_round["bare"])
    service_s, bare_s, rows_s = seconds["service"], seconds["bare"], seconds["rows"]
    Event.objects.filter(idempotency_key__startswith="bench-bare-").delete()
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
        "rows_ms_each": round(rows_s * 1000 / count, 3),
        "published_ms_each": round(seconds["published"] * 1000 / count, 3),
        # Each round's service/bare ratio: the two ways ran back to back, under the same load.
        "round_ratios": sorted(round(x, 2) for x in paired),
        "published_ratio": round(seconds["published"] / bare_s, 2),
        "rows_ratio": round(service_s / rows_s, 2),
        "service_query_kinds": query_kinds,
    }


def kinds(sql_list: list[str]) -> dict[str, int]:
    """Queries of one report by statement kind and table (a statement of CTEs lists every table it writes)."""
    counted: dict[str, int] = {}
    for sql in sql_list:
        if sql.startswith("WITH ") and "INSERT INTO " in sql:  # several rows in one statement
            tables = re.findall(r'INSERT INTO "?([\w.]+)"?', sql)
            final = sql[sql.rindex(")") + 1:].split()
            if final and final[0] in ("UPDATE", "INSERT"):
                tables.append(f"{final[0]} {final[1].strip(chr(34))}")
            key = "WITH INSERT " + ", ".join(tables)
        else:
            words = sql.split()
            verb = words[0] if words else "?"
            table = ""
            markers = {"INSERT": ("INSERT INTO ",), "UPDATE": ("UPDATE ",)}.get(verb, (" FROM ",))
            for marker in markers:
                if marker in sql:
                    table = sql.split(marker, 1)[1].split()[0].strip('"')
                    break
            key = f"{verb} {table}".strip()
        counted[key] = counted.get(key, 0) + 1
    return counted


def run(count: int) -> None:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.core.management import call_command

    from config import load

    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("generate_load", villages=400, events=10_000, seed=1, verbosity=0)
    print(f"set-up {time.perf_counter() - began:.1f} s; reporting {count} events each way …", flush=True)
    county = load.load_county()
    grid = county.measured["grid"]
    in_force = with_flow_policy(grid)
    t = report_throughput(county.members[grid], grid, count)
    broker = "Redis broker (notices queued)" if _redis() else "eager Celery (notices inline)"
    print()
    print(f"event intake, {t['events']} events each way, one transaction each, {broker}, {in_force}")
    print(f"  report service + flow start: {t['service_per_s']:>8.1f} events/s ({t['service_ms_each']:.2f} ms, "
          f"{t['service_queries_each']} queries each)")
    print(f"  bare Event.objects.create:   {t['bare_per_s']:>8.1f} events/s ({t['bare_ms_each']:.2f} ms, 1 query)")
    print(f"  the same rows bare, one transaction: {t['rows_ms_each']:.2f} ms each")
    print(f"  until the relay has also handed every notice to Redis: {t['published_ms_each']:.2f} ms each "
          f"({t['published_ratio']:.1f}x the bare insert)")
    print(f"  ratio {t['ratio']:.1f}x the bare event insert, {t['rows_ratio']:.1f}x the same rows inserted bare")
    rr = t["round_ratios"]
    print(f"  per round (the two ways back to back): median {rr[len(rr) // 2]:.1f}x, {rr[0]:.1f}-{rr[-1]:.1f}x")
    for kind, n in sorted(t["service_query_kinds"].items(), key=lambda item: -item[1]):
        print(f"    {n:>3} x {kind}")
    f = harness.figure
    harness.record(NAME, [
        f("事件上报（上报服务 + 启动流程）/ event intake", t["service_per_s"], "个/秒", goal=f"≥ {RATE_GOAL:g}/s",
          met=t["service_per_s"] >= RATE_GOAL, note=f"{t['service_queries_each']} 条查询/个；{broker}"),
        f("事件上报耗时 / intake time per event", t["service_ms_each"], "ms", baseline="直接插入同样的事件行",
          baseline_value=t["bare_ms_each"], goal=f"≤ {SERVICE_RATIO_GOAL:g}×", met=t["ratio"] <= SERVICE_RATIO_GOAL,
          note=f"10 轮中每轮（两种方式紧接着运行）的比值：中位数 {rr[len(rr) // 2]:g}×，{rr[0]:g}–{rr[-1]:g}×"),
        f("事件上报耗时（对照：同样的全部行）/ intake vs the same rows bare", t["service_ms_each"], "ms",
          baseline="同一事务直接插入服务写的全部行（事件、流程、两个环节、时限、审计）", baseline_value=t["rows_ms_each"],
          goal=f"≤ {SERVICE_RATIO_GOAL:g}×", met=t["rows_ratio"] <= SERVICE_RATIO_GOAL),
        f("事件上报耗时（含中继把待办消息交给 Redis）/ intake incl. the relay's hand-over", t["published_ms_each"], "ms",
          baseline="直接插入同样的事件行", baseline_value=t["bare_ms_each"],
          note="中继线程在页面返回后发送；仅供参考，目标按上一行"),
    ], {"throughput": t})


def with_flow_policy(grid_id: int) -> str:
    """The load county gets a flow policy (up to the county centre, with deadlines), so that each report
    finds its version and keeps it, as in a county that configured its flow."""
    from grid import services
    from grid.models import Region

    grid = Region.objects.get(pk=grid_id)
    county = Region.objects.get(path=grid.path[:Region.steplen])
    policy = services.create_flow_policy(by=None, region=county, use_county=True, dispatch_at_county=True, deadlines=[
        {"tier": "grid", "urgency": "normal", "hours": 24, "action": "escalate"},
        {"tier": "township", "urgency": "normal", "hours": 72, "action": "escalate_notify"},
    ])
    return f"flow policy {policy.chain} in force"


def _redis() -> bool:
    return bool(os.environ.get("REDIS_URL"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=REPORTS, help=f"events each way (default {REPORTS})")
    args = parser.parse_args(argv)
    harness.run_in_throwaway_database(NAME, lambda: run(args.reports), env={"EMAIL_URL": None}, redis=True)


if __name__ == "__main__":
    main()
