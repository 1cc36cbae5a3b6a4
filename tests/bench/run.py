"""`make bench`: every benchmark in tests/bench/ against PostgreSQL and Redis, then the results table.

Refuses to run without a PostgreSQL DATABASE_URL and a REDIS_URL (the figures are meant for the
production set-up; SQLite would measure something else). Each benchmark creates and drops its own
database on DATABASE_URL's server (the database named in the URL is only used to connect). The
figures of the run go to bench/results.json (replaced at the start of a full run) and, as a table,
to the top of bench/results.md and to the terminal; the dated records below the table in results.md
(each under a "### " heading, written by hand after a run) are kept.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/14 make bench
    .venv/bin/python tests/bench/run.py --table     # print the table of the last run only
    .venv/bin/python tests/bench/run.py -k county    # only the benchmarks whose name contains "county"
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import environ
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results.json"
TABLE = ROOT / "bench" / "results.md"
EXAMPLE = ("DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/14 "
           "make bench")


def refuse(reason: str) -> None:
    sys.exit(
        f"make bench: {reason}\n"
        "基准测试只在 PostgreSQL + Redis 上运行（SQLite 与进程内缓存测不出生产环境的数字）。\n"
        "Benchmarks run only against PostgreSQL and Redis (SQLite would measure something else).\n"
        f"例 / e.g.: {EXAMPLE}\n"
        "每个基准在该 PostgreSQL 服务器上自建并删除临时库；Redis 请用一个空闲的库号（运行结束时清空其 Celery 队列）。\n"
        "Each benchmark creates and drops its own database on that server; give Redis a db number of its own "
        "(its Celery queue is purged at the end)."
    )


def check_services() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        refuse("没有设置 DATABASE_URL / DATABASE_URL is not set")
    engine = environ.Env.db_url_config(url)["ENGINE"]
    if "postgresql" not in engine:
        refuse(f"DATABASE_URL 不是 PostgreSQL（{engine}）/ DATABASE_URL is not PostgreSQL ({engine})")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        refuse("没有设置 REDIS_URL / REDIS_URL is not set")
    config = environ.Env.db_url_config(url)
    try:
        with psycopg.connect(host=config.get("HOST") or None, port=config.get("PORT") or None,
                             user=config.get("USER") or None, password=config.get("PASSWORD") or None,
                             dbname=config.get("NAME") or "postgres", connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:
        refuse(f"PostgreSQL 无法连接 / cannot connect: {exc}")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:
        refuse(f"Redis 无法连接 / cannot connect: {exc}")
    return {"postgresql": version, "cpus": os.cpu_count(), "python": platform.python_version()}


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(data: dict) -> str:
    machine = data.get("machine", {})
    lines = [
        f"基准测试结果 / benchmark results · {data.get('started_at', '')} · PostgreSQL {machine.get('postgresql', '?')} · "
        f"{machine.get('cpus', '?')} 核 · Python {machine.get('python', '?')}",
        "",
        "| 基准 | 指标 | 数值 | 对照（同一次运行） | 比值 | 目标 | 达到 | 说明 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in data.get("benchmarks", {}).items():
        for f in entry.get("figures", []):
            baseline = f"{fmt(f['baseline_value'])} {f['unit']}（{f['baseline']}）" if f.get("baseline") else ""
            ratio = f"{f['ratio']:.2f}×" if f.get("ratio") is not None else ""
            met = {True: "是", False: "**否**", None: ""}[f.get("met")]
            value = f"{fmt(f['value'])} {f['unit']}" if f.get("value") is not None else "未测"
            lines.append(f"| {name} | {f['figure']} | {value} | {baseline} | {ratio} | {f.get('goal', '')} | {met} | "
                         f"{f.get('note', '')} |")
    return "\n".join(lines) + "\n"


RECORDS_HEADING = "### "  # each dated record below the table starts with such a line


def write_table(text: str, path: Path = TABLE) -> None:
    """Put the run's table at the top of `path`, keeping the dated records that follow the old table."""
    records = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        at = 0 if old.startswith(RECORDS_HEADING) else old.find("\n" + RECORDS_HEADING)
        if at >= 0:
            records = old[at:].lstrip("\n")
    path.write_text(text + ("\n\n" + records if records else ""), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="print the table of bench/results.json and stop")
    parser.add_argument("-k", default="", help="run only the benchmarks whose file name contains this")
    args, pytest_args = parser.parse_known_args()
    if args.table:
        print(table(json.loads(RESULTS.read_text(encoding="utf-8"))))
        return
    machine = check_services()
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "bench").glob("bench_*.py") if args.k in p.name)
    if not files:
        sys.exit(f"no benchmark matches -k {args.k!r}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = {}
    if args.k and RESULTS.exists():  # a partial run keeps the other benchmarks' figures
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
    data = {**previous, "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": machine}
    data.setdefault("benchmarks", {})
    RESULTS.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    code = subprocess.call([sys.executable, "-m", "pytest", *files, "-s", "-q", "-p", "no:randomly", *pytest_args],
                           cwd=ROOT)
    data = json.loads(RESULTS.read_text(encoding="utf-8"))
    text = table(data)
    write_table(text)
    print()
    print(text)
    print(f"written: {RESULTS.relative_to(ROOT)}, {TABLE.relative_to(ROOT)}")
    sys.exit(code)


if __name__ == "__main__":
    main()
