"""Throughput under load, against the ceiling measured in the same run.

On the load county (`manage.py generate_load --villages 400 --events 1000000 --seed 1`, PostgreSQL,
Redis as cache, sessions and broker) 50 clients drive one gunicorn (3 workers × 4 threads) for 60 s
with the real mix — report an event through the form (every 10th sent twice with the same key),
open the new event, my tasks, my region's events, and every 4th round the home page — and, on the
same gunicorn, for 20 s the trivial signed-in page /accounts/ping/ (every middleware, no work): the
ceiling of this machine with our middleware. The two alternate in three rounds (20 s of the mix,
then about 7 s of the ceiling, three times), so both are measured over the same stretch of time:
these hosts' speed drifts over minutes (BENCH_ROUNDS=1: the whole mix, then the whole ceiling).
Reported: both throughputs, the mix's as a fraction of the ceiling, p95 per kind, errors, lost or
doubled reports, from the server's own accounting (REQUEST_COST_LOG) the CPU milliseconds and
queries of each page, and the whole machine's CPU per request of each phase by program (gunicorn,
PostgreSQL, Redis, the clients: from /proc, where the database's share shows).

Through a running deployment (deploy/, nginx on loopback) instead of our own gunicorn:

    DATABASE_URL=<the deployment's> .venv/bin/python tests/bench/bench_throughput.py \\
        --port 8443 --tls --cost-log /var/log/governance/request-cost.log

(the deployment's database then gets the load county added, if it lacks it).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python tests/bench/bench_throughput.py
Shorter: BENCH_THROUGHPUT_EVENTS=100000 BENCH_LOAD_SECONDS=20 BENCH_CEILING_SECONDS=10.
Another gunicorn shape (same for the mix and the ceiling): BENCH_WORKERS=4 BENCH_THREADS=3.
The clients keep their connections (keep-alive), each with the worker that accepted it; the run
prints how they fell across the workers. BENCH_KEEPALIVE=0 has gunicorn close every connection
after its answer instead, so each request goes to whichever worker accepts it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

if __package__:  # imported by pytest as tests.bench.bench_throughput
    from . import harness, loadtest
else:  # run as a script: sys.path[0] is tests/bench
    import harness
    import loadtest

NAME = "bench_throughput"
VILLAGES = 400
EVENTS = int(os.environ.get("BENCH_THROUGHPUT_EVENTS", "1000000"))
CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "50"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
CEILING_SECONDS = float(os.environ.get("BENCH_CEILING_SECONDS", "20"))
RATE_GOAL = 100
P95_GOAL_MS = 1000
FRACTION_GOAL = 0.25
CEILING_VIEW = "session_ping"


def test_bench_throughput():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__, timeout=3600)


def machine_load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def machine_speed() -> float:
    """Seconds one core takes for a fixed piece of pure Python (the least of three): the hosts these
    runs land on differ by up to twice in speed, which moves every figure here, the fraction too."""
    def once() -> float:
        began = time.process_time()
        total = 0
        for number in range(10_000_000):
            total += number
        return time.process_time() - began
    return round(min(once() for _ in range(3)), 2)


def run(port: int | None, tls: bool, cost_log: str, label: str) -> None:
    from django.core.management import call_command
    from django.db import connection

    from config.load import LOAD_PASSWORD
    from grid.models import Post

    if connection.vendor != "postgresql":
        raise SystemExit(f"{NAME}: needs PostgreSQL (DATABASE_URL)")
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("generate_load", villages=VILLAGES, events=EVENTS, seed=1, verbosity=0)
    harness.analyze()
    print(f"load county with {EVENTS:,} events ready in {time.perf_counter() - began:.1f} s", flush=True)
    members = list(Post.objects.filter(role__key="grid_member", user__username__startswith="load0")
                   .order_by("user__username").values_list("user__username", flat=True)[:CLIENTS])
    speed = machine_speed()
    before = machine_load()
    print(f"one core: 10,000,000 additions in pure Python take {speed} s", flush=True)
    print(f"{CLIENTS} clients: the mix for {SECONDS:g} s and the ceiling for {CEILING_SECONDS:g} s, alternating · {before}",
          flush=True)
    result = loadtest.throughput_test(os.environ["DATABASE_URL"], members, LOAD_PASSWORD, SECONDS, CEILING_SECONDS,
                                      target_port=port, tls=tls, cost_log=Path(cost_log) if cost_log else None)
    result["uptime before"], result["uptime after"] = before, machine_load()
    result["python seconds for 1e7 additions"] = speed
    report(result, label, harness.database_label(connection))


def spread_note(spread: list[int] | None) -> str:
    if not spread:
        return ""
    return (f"组合进行到一半时各 gunicorn 进程持有的客户端连接：{' / '.join(map(str, spread))}"
            "（第一轮；连接留在接受它的进程里，持有多的进程的客户端等得久）")


PROGRAM_LABELS = {"clients": "客户端", "other": "其他"}  # the rest of loadtest.PROGRAMS print as named


def machine_figure(f, title: str, machine: dict) -> dict | None:
    """The whole machine's CPU per request of one kind of phase, by program (from /proc): where the two
    cores went, the database's share included, which the server's own accounting does not see."""
    used = {PROGRAM_LABELS.get(key, key): machine[key]["ms per request"]
            for key in loadtest.PROGRAMS if key != "idle" and key in machine}
    if not used:
        return None
    idle = machine.get("idle", {}).get("cores")
    split = "，".join(f"{name} {ms} ms" for name, ms in used.items())
    return f(title, round(sum(used.values()), 2), "ms", note=f"{split}；空闲 {idle} 核" if idle is not None else split)


def report(result: dict, label: str, database: str) -> None:
    f = harness.figure
    mix, ceiling, db = result["mix"], result["ceiling"], result["database"]
    fraction = result["fraction of ceiling"]
    where = f"（{label}）" if label else ""
    print()
    print(f"mix     {mix['requests per s']:>7} req/s  p95 {mix['p95 ms']} ms  errors {mix['errors']}")
    print(f"ceiling {ceiling['requests per s']:>7} req/s  p95 {ceiling['p95 ms']} ms  errors {ceiling['errors']}")
    print(f"fraction {fraction}  database {db}")
    load_note = (f"机器负载 {result['uptime before'].split('load average:')[-1].strip()}；单核速度：纯 Python "
                 f"1,000 万次加法 {result.get('python seconds for 1e7 additions', '—')} s")
    figures = [
        f(f"50 个客户端混合页面吞吐{where} / mix throughput", mix["requests per s"], "个/秒",
          baseline="同一 gunicorn 上的空白登录页 /accounts/ping/", baseline_value=ceiling["requests per s"],
          goal=f"≥ {RATE_GOAL}/s，≥ {FRACTION_GOAL:g}× 空白页", met=mix["requests per s"] >= RATE_GOAL
          and (fraction or 0) >= FRACTION_GOAL,
          note=f"{mix['requests']:,} 个请求 {mix['seconds']} s；{load_note}（共享 2 核）"),
        f(f"混合页面 p95{where} / mix p95", mix["p95 ms"], "ms", goal=f"< {P95_GOAL_MS} ms", met=mix["p95 ms"] < P95_GOAL_MS,
          note=spread_note(result.get("connections per worker"))),
        f(f"空白登录页 p95{where} / ceiling p95", ceiling["p95 ms"], "ms", note=f"{ceiling['requests']:,} 个请求"),
        f(f"错误数{where} / errors", mix["errors"] + ceiling["errors"], "个", goal="0",
          met=mix["errors"] + ceiling["errors"] == 0, note="; ".join(mix["first errors"][:2])),
        f(f"已确认上报丢失或重复{where} / lost or doubled", db["lost"] + db["doubled"] + db["acknowledged with another id"]
          + db["in database, not acknowledged"], "个", goal="0",
          met=db["lost"] + db["doubled"] + db["acknowledged with another id"] + db["in database, not acknowledged"] == 0,
          note=f"确认 {db['acknowledged']} 个，库中 {db['events in database']} 个；重试得同一事件 "
               f"{result['retries answered with the same event']} 次"),
    ]
    for kind, values in mix["by kind"].items():
        figures.append(f(f"并发{where}：{kind} p95", values["p95 ms"], "ms",
                         note=f"{values['count']} 次，中位数 {values['median ms']} ms"))
    for title, phase in ((f"整机 CPU 每请求{where}：混合页面", mix), (f"整机 CPU 每请求{where}：空白登录页", ceiling)):
        if figure := machine_figure(f, title, phase.get("machine cpu", {})):
            figures.append(figure)
    ping_cost = {**result["mix cost"], **result["ceiling cost"]}.get(f"GET {CEILING_VIEW}")
    for view, cost in {**result["mix cost"], **result["ceiling cost"]}.items():
        figures.append(f(f"每请求 CPU（服务器自计）{where}：{view}", cost["cpu ms median"], "ms",
                         baseline="空白登录页的 CPU 中位数", baseline_value=ping_cost["cpu ms median"] if ping_cost else None,
                         note=f"{cost['count']} 次，平均 {cost['cpu ms mean']} ms，查询 {cost['queries median']} 条"))
    print()
    for figure in figures:
        print(f"  {figure['figure']}: {figure['value']} {figure['unit']}  {figure['note']}")
    harness.write_json(NAME + ("_" + label if label else ""), {"vendor": "postgresql", **result})
    harness.record(NAME + (f" ({label})" if label else ""), figures,
                   meta={"database": database, "events": EVENTS, "clients": CLIENTS})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="drive a running deployment on 127.0.0.1:PORT instead")
    parser.add_argument("--tls", action="store_true", help="the deployment answers HTTPS (nginx)")
    parser.add_argument("--cost-log", default="", help="the deployment's REQUEST_COST_LOG file")
    parser.add_argument("--label", default="", help="a name for these figures, e.g. nginx")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args(argv)
    if args.port:
        harness.setup_django(os.environ["DATABASE_URL"], {"EMAIL_URL": None}, redis=True)
        run(args.port, args.tls, args.cost_log, args.label or "nginx")
        return
    harness.run_in_throwaway_database(
        "gov_bench_throughput", lambda: run(None, False, "", args.label),
        env={"ALLOWED_HOSTS": "testserver,127.0.0.1", "EMAIL_URL": None}, keep=args.keep, redis=True,
    )


if __name__ == "__main__":
    main()
