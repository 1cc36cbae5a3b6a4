"""Benchmark of the rectification figures (rectification.states) on a county's pages.

In a throwaway database, a county of 10 townships and 90 villages with 100 plans and 6,000 items
(statuses cycling, deadlines past, some closed): the queries and the median / p95 milliseconds, as the
county office, of

- the board (整改工作看板, rectification:dashboard),
- the plan list (整改方案, rectification:plans),
- the home page (工作台, its rectification card and chart),
- the API's plan list (api:plans),

beside the baseline of the same run: the one aggregate query every figure of the board comes from
(`states.figures` over all the county's items), timed alone.

Goals (printed as PASS/MISS, never failing the run): the board in at most 20 queries with p95 < 200 ms;
the other pages are reported beside it (the home page's count includes its other cards).

Run:
    .venv/bin/python tests/bench/bench_rectification.py                  # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_rectification.py              # fresh database, dropped after
    make bench                                                            # pytest runs this file

Figures are written to var/bench/bench_rectification.json and bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime
import time

if __package__:  # imported by pytest as tests.bench.bench_rectification
    from . import harness
    from .bench_notice import build_county, build_plans
else:  # run as a script: sys.path[0] is tests/bench
    import harness
    from bench_notice import build_county, build_plans

NAME = "bench_rectification"
MAX_QUERIES = 20
P95_GOAL_MS = 200.0


def test_bench_rectification():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


def measure(client, url: str, runs: int, **params) -> dict:
    """Queries of one request (counted with an execute wrapper) and the median / p95 of `runs` requests."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection

    def get():
        response = client.get(url, params)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return response

    executed: list[str] = []

    def count(execute, sql, params_, many, context):
        executed.append(sql)
        return execute(sql, params_, many, context)

    get()  # warm-up (sessions, templates)
    with connection.execute_wrapper(count):
        get()
    return {"url": url, "queries": len(executed), **harness.percentiles(get, runs)}


def run(runs: int) -> None:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings
    from django.urls import reverse
    from rest_framework.test import APIClient

    from rectification import states
    from rectification.models import RectificationItem, RectificationPlan

    seconds = {}
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    seconds["migrate"] = time.perf_counter() - began
    began = time.perf_counter()
    county, townships, villages, office, _committee = build_county()
    build_plans(townships + villages, office)
    harness.analyze()
    seconds["data"] = time.perf_counter() - began
    print("measuring …", flush=True)

    client = Client()
    client.force_login(office)
    api = APIClient()
    api.force_authenticate(office)
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        pages = {
            "board": measure(client, reverse("rectification:dashboard"), runs),
            "plan list": measure(client, reverse("rectification:plans"), runs),
            "home": measure(client, "/", runs),
            "api plans": measure(api, reverse("api:plans"), runs),
        }
    items = RectificationItem.objects.all()
    baseline = harness.percentiles(lambda: states.figures(items), runs)
    figures = states.figures(items)
    meta = {
        "vendor": connection.vendor,
        "database": harness.database_label(connection),
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "plans": RectificationPlan.objects.count(),
        "items": items.count(),
        "runs": runs,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "figures": figures.as_dict(),
    }
    print()
    print(f"{NAME} · {meta['database']} · {runs} runs · {meta['plans']} plans, {meta['items']:,} items · set-up: "
          f"migrate {seconds['migrate']:.1f} s, data {seconds['data']:.1f} s")
    print(f"  baseline: the board's one aggregate alone   median {baseline['median']:.1f} ms, p95 {baseline['p95']:.1f} ms")
    for name, page in pages.items():
        print(f"  {name:<10} {page['queries']:>3} queries   median {page['median']:.1f} ms, p95 {page['p95']:.1f} ms")
    checks = [{"check": f"board: {pages['board']['queries']} queries ≤ {MAX_QUERIES}",
               "ok": pages["board"]["queries"] <= MAX_QUERIES}]
    checks.append({"check": f"board p95 {pages['board']['p95']:.1f} ms < {P95_GOAL_MS:g} ms",
                   "ok": pages["board"]["p95"] < P95_GOAL_MS})
    print()
    print("goals:")
    for check in checks:
        print(f"  {'PASS' if check['ok'] else 'MISS'}  {check['check']}")
    harness.write_json(NAME, {**meta, "pages": pages, "baseline": baseline, "checks": checks})
    f = harness.figure
    scale = f"{meta['plans']} 个方案、{meta['items']:,} 个事项"
    labels = {"board": "整改看板", "plan list": "整改方案列表", "home": "工作台", "api plans": "API 整改方案"}
    harness.record(NAME, [
        f(f"{labels[name]}（{scale}）p95 / {name}", page["p95"], "ms",
          baseline="看板全部计数的单条聚合查询 p95", baseline_value=baseline["p95"],
          goal=f"≤ {MAX_QUERIES} 条查询，p95 < {P95_GOAL_MS:g} ms" if name == "board" else "",
          met=page["queries"] <= MAX_QUERIES and page["p95"] < P95_GOAL_MS if name == "board" else None,
          note=f"{page['queries']} 条查询，中位数 {page['median']:.1f} ms")
        for name, page in pages.items()
    ], meta={"database": meta["database"], "runs": runs})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed requests per page (median, p95; default 20)")
    args = parser.parse_args(argv)
    harness.run_in_throwaway_database(NAME, lambda: run(args.runs))


if __name__ == "__main__":
    main()
