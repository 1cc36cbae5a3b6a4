"""Benchmark of backup and restore on PostgreSQL: pg_dump / pg_restore with 1,000,000 audit rows.

In a throwaway database (after `migrate`), the audit chain is filled with SQL alone (a recursive
query that hashes each row onto the previous one exactly as `AuditEntry.compute_hash` does, so the
chain verifies), then `manage.py backup` and `manage.py restore` run as the operator runs them, each
in its own process, the restore into a fresh, empty database. Measured for each: seconds and peak
memory (resident set of the command, including pg_dump / pg_restore, which it waits for).

1. at 50,000 audit rows: the JSON backup (`--json`, restored with loaddata: the baseline) and the
   pg_dump backup;
2. at 1,000,000 audit rows: the pg_dump backup, its restore, and the audit-chain check alone, against
   the same walk over model instances (how the check read the rows before: the baseline).

Goals (printed, never failing the run): the restore of 1,000,000 rows completes with the chain
verified; the peak memory of the pg_dump restore does not grow with the audit table (1,000,000 rows
within 1.5× of 50,000).

Run:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_backup.py              # fresh databases bench_backup_<pid>
    .venv/bin/python tests/bench/bench_backup.py --rows 100000   # a smaller chain
    make bench                                                    # pytest runs this file

Figures go to var/bench/bench_backup.json and bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__:  # imported by pytest as tests.bench.bench_backup
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_backup"
ROWS = 1_000_000
BASELINE_ROWS = 50_000
MEMORY_GROWTH_GOAL = 1.5


def test_bench_backup():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__, timeout=3600)


def append_audit_rows(count: int) -> None:
    """Append `count` chained audit rows with one INSERT … SELECT over a recursive query.

    The payload is the JSON `AuditEntry.content_for_hash` gives, with sorted keys and no spaces:
    created_at in UTC with microseconds, no actor, before and after null."""
    from django.db import connection

    from governance.audit import GENESIS_HASH
    from governance.models import AuditChainHead, AuditEntry

    entry = AuditEntry._meta.db_table
    head = AuditChainHead._meta.db_table
    start = AuditEntry.objects.count()
    previous = AuditChainHead.objects.filter(pk=1).values_list("last_hash", flat=True).first() or GENESIS_HASH
    moment = "(timestamptz '2026-01-01 00:00:00+00' + (i + 1) * interval '1 second' + (i + 1) * interval '1 microsecond')"
    payload = (
        "'{\"action\":\"bench.row\",\"actor_id\":null,\"actor_name\":\"\",\"after\":null,\"before\":null,"
        "\"created_at\":\"' || to_char(" + moment + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || "
        "'+00:00\",\"object_id\":\"' || (i + 1) || '\",\"object_repr\":\"基准记录 ' || (i + 1) || "
        "'\",\"object_type\":\"bench.Row\",\"region_path\":\"\",\"request_id\":\"\"}'"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entry} (created_at, actor_id, actor_name, action, object_type, object_id, object_repr,
                                 region_path, before, after, request_id, previous_hash, entry_hash)
            WITH RECURSIVE chain(i, created, previous, hash) AS (
                SELECT %s::bigint, NULL::timestamptz, NULL::text, %s::text
                UNION ALL
                SELECT i + 1, {moment}, hash, encode(sha256(convert_to(hash || {payload}, 'UTF8')), 'hex')
                FROM chain WHERE i < %s
            )
            SELECT created, NULL, '', 'bench.row', 'bench.Row', i::text, '基准记录 ' || i, '', NULL, NULL, '',
                   previous, hash
            FROM chain WHERE chain.i > %s ORDER BY chain.i  -- the number, not the text column named i
            """,
            [start, previous, start + count, start],
        )
        cursor.execute(f"SELECT entry_hash FROM {entry} ORDER BY id DESC LIMIT 1")
        last = cursor.fetchone()[0]
        cursor.execute(
            f"INSERT INTO {head} (id, writes, last_hash) VALUES (1, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET writes = EXCLUDED.writes, last_hash = EXCLUDED.last_hash",
            [start + count, last],
        )


def run_command(arguments: list[str], database_url: str) -> dict:
    """Run `manage.py <arguments>` on `database_url` in its own process: seconds, peak memory, output."""
    env = dict(os.environ, DATABASE_URL=database_url)
    env.pop("REDIS_URL", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, "manage.py", *arguments], cwd=harness.ROOT, env=env,
                                   stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    if process.returncode:
        raise SystemExit(f"manage.py {' '.join(arguments)} failed ({process.returncode}):\n{text}\n{errors}")
    print(text.strip())
    # ru_maxrss (KiB) of the command, or of the pg_dump / pg_restore it waited for when larger.
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1), "output": text.strip()}


def backup_and_restore(source_url: str, workdir: Path, label: str, *, json: bool = False) -> dict:
    out = workdir / label
    backup = run_command(["backup", "--out", str(out), *(["--json"] if json else [])], source_url)
    target = harness.ThrowawayDatabase(f"{NAME}_{label}")
    try:
        restore = run_command(["restore", str(out)], target.create())
    finally:
        target.drop()
    size = sum(p.stat().st_size for p in (out / "data").iterdir())
    return {"backup": backup, "restore": restore, "bytes": size}


def run(rows: int, baseline_rows: int) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections

    from governance.audit import verify_chain
    from governance.models import AuditEntry

    results: dict = {}
    call_command("migrate", verbosity=0, interactive=False)
    source_url = os.environ["DATABASE_URL"]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        media = workdir / "media"
        media.mkdir()
        os.environ["MEDIA_ROOT"] = str(media)  # the commands' processes: no uploaded files
        settings.MEDIA_ROOT = media

        began = time.perf_counter()
        append_audit_rows(baseline_rows)
        harness.analyze()
        print(f"{baseline_rows:,} audit rows in {time.perf_counter() - began:.1f} s", flush=True)
        connections.close_all()
        results["json_small"] = backup_and_restore(source_url, workdir, "json_small", json=True)
        results["pg_small"] = backup_and_restore(source_url, workdir, "pg_small")

        began = time.perf_counter()
        append_audit_rows(rows - baseline_rows)
        harness.analyze()
        results["generate_seconds"] = round(time.perf_counter() - began, 1)
        print(f"{rows:,} audit rows in {results['generate_seconds']} s", flush=True)
        connections.close_all()
        results["pg_large"] = backup_and_restore(source_url, workdir, "pg_large")

        began = time.perf_counter()
        checked, broken = verify_chain()
        results["verify_seconds"] = round(time.perf_counter() - began, 1)
        assert broken is None and checked == rows, (checked, broken)
        began = time.perf_counter()
        assert all(entry.compute_hash() == entry.entry_hash
                   for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000))
        results["verify_instances_seconds"] = round(time.perf_counter() - began, 1)
    assert f"共校验 {rows} 条记录" in results["pg_large"]["restore"]["output"], results["pg_large"]["restore"]["output"]

    small, large, baseline = results["pg_small"], results["pg_large"], results["json_small"]
    growth = large["restore"]["peak_mb"] / small["restore"]["peak_mb"]
    for output in ("json_small", "pg_small", "pg_large"):
        for step in ("backup", "restore"):
            results[output][step].pop("output")
    print(f"\n{'':28}{'backup s':>10}{'MB':>8}{'restore s':>11}{'MB':>8}{'size MB':>9}")
    for key, title in (("json_small", f"JSON, {baseline_rows:,} rows"), ("pg_small", f"pg_dump, {baseline_rows:,} rows"),
                       ("pg_large", f"pg_dump, {rows:,} rows")):
        r = results[key]
        print(f"{title:28}{r['backup']['seconds']:>10}{r['backup']['peak_mb']:>8}{r['restore']['seconds']:>11}"
              f"{r['restore']['peak_mb']:>8}{r['bytes'] / 1024 / 1024:>9.1f}")
    print(f"audit chain check alone ({rows:,} rows): {results['verify_seconds']} s "
          f"(over model instances: {results['verify_instances_seconds']} s)")
    print(f"{'PASS' if growth <= MEMORY_GROWTH_GOAL else 'MISS'} restore memory growth {growth:.2f}× "
          f"(goal ≤ {MEMORY_GROWTH_GOAL}×)")

    meta = {"vendor": connection.vendor, "database": harness.database_label(connection), "rows": rows,
            "baseline_rows": baseline_rows,
            "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    harness.write_json(NAME, {**meta, "results": results})
    f = harness.figure
    harness.record(NAME, [
        f(f"pg_dump 备份（{rows:,} 条审计记录）/ backup", large["backup"]["seconds"], "s",
          note=f"峰值内存 {large['backup']['peak_mb']} MB；备份文件 {large['bytes'] / 1024 / 1024:.0f} MB"),
        f(f"pg_restore 恢复并校验审计链（{rows:,} 条）/ restore", large["restore"]["seconds"], "s",
          baseline=f"JSON 恢复 {baseline_rows:,} 条", baseline_value=baseline["restore"]["seconds"],
          goal="完成且审计链通过", met=True,
          note=f"新建空库（含 migrate）；含审计链校验（单独测得 {results['verify_seconds']} s）"),
        f(f"审计链校验（{rows:,} 条）/ audit chain check", results["verify_seconds"], "s",
          baseline="逐条读成模型实例", baseline_value=results["verify_instances_seconds"],
          note="分批读成元组（PostgreSQL 服务器端游标），同一哈希"),
        f(f"pg_restore 恢复的峰值内存（{rows:,} 条）/ restore peak memory", large["restore"]["peak_mb"], "MB",
          baseline=f"pg_restore {baseline_rows:,} 条", baseline_value=small["restore"]["peak_mb"],
          goal=f"≤ {MEMORY_GROWTH_GOAL:g}× 对照", met=growth <= MEMORY_GROWTH_GOAL,
          note=f"JSON（loaddata）恢复 {baseline_rows:,} 条已用 {baseline['restore']['peak_mb']} MB、"
               f"{baseline['restore']['seconds']} s"),
    ], {"rows": rows})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"audit rows (default {ROWS:,})")
    parser.add_argument("--baseline-rows", type=int, default=BASELINE_ROWS,
                        help=f"audit rows of the JSON baseline (default {BASELINE_ROWS:,})")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("bench_backup: DATABASE_URL must be PostgreSQL (pg_dump / pg_restore)")
    harness.run_in_throwaway_database(NAME, lambda: run(args.rows, args.baseline_rows))


if __name__ == "__main__":
    main()
