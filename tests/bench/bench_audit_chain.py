"""The audit chain's head under concurrent writers: 1, 2, 4 and 8 writers at once.

Every audited change locks the one head row (governance.audit) for the rest of its transaction, so
writers queue behind each other however many web nodes there are. Each writer here is a thread with
its own PostgreSQL connection that, for SECONDS seconds, commits transactions of one audit entry
(`audit.record`) with WORK_MS of other work after it inside the transaction (the rest of a
service's writes: the lock is held until COMMIT). The control, in the same run, writes the same
rows without the head (plain INSERT). Reported: commits per second and p95 per writer count.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python tests/bench/bench_audit_chain.py
"""

from __future__ import annotations

import argparse
import os
import threading
import time

if __package__:  # imported by pytest as tests.bench.bench_audit_chain
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_audit_chain"
WRITERS = (1, 2, 4, 8)
SECONDS = float(os.environ.get("BENCH_CHAIN_SECONDS", "5"))
WORK_MS = float(os.environ.get("BENCH_CHAIN_WORK_MS", "2"))


def test_bench_audit_chain():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


def write_for(seconds: float, writers: int, chained: bool) -> dict:
    from django.db import connection, transaction

    from governance import audit
    from governance.models import AuditEntry

    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(writers)

    def writer(index: int) -> None:
        mine = []
        try:
            barrier.wait()
            stop = time.monotonic() + seconds
            number = 0
            while time.monotonic() < stop:
                number += 1
                began = time.perf_counter()
                with transaction.atomic():
                    if chained:
                        audit.record("bench.write", object_repr=f"{index}-{number}", region_path="")
                    else:
                        entry = audit.entry_for("bench.write", object_repr=f"{index}-{number}", region_path="",
                                                previous_hash=audit.GENESIS_HASH)
                        AuditEntry.objects.bulk_create([entry])
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(%s)", [WORK_MS / 1000])
                mine.append((time.perf_counter() - began) * 1000)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"commits": len(latencies), "per s": round(len(latencies) / elapsed, 1),
            "median ms": round(harness.p(latencies, 50), 2), "p95 ms": round(harness.p(latencies, 95), 2)}


def run() -> None:
    import subprocess

    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit(f"{NAME}: needs PostgreSQL (DATABASE_URL)")
    call_command("migrate", verbosity=0, interactive=False)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{SECONDS:g} s per step, {WORK_MS:g} ms of other work inside each transaction · {uptime}")
    results = {}
    for writers in WRITERS:
        results[writers] = {"chained": write_for(SECONDS, writers, True), "plain": write_for(SECONDS, writers, False)}
        c, p = results[writers]["chained"], results[writers]["plain"]
        print(f"{writers} writers: chained {c['per s']:>7}/s p95 {c['p95 ms']:>7} ms · "
              f"without the head {p['per s']:>7}/s p95 {p['p95 ms']:>7} ms", flush=True)
    f = harness.figure
    one = results[1]["chained"]["per s"]
    figures = []
    for writers, pair in results.items():
        c, p = pair["chained"], pair["plain"]
        figures.append(f(f"审计链头：{writers} 个并发写入 / chain head, {writers} writers", c["per s"], "个/秒",
                         baseline="同样的行不经链头（普通 INSERT）", baseline_value=p["per s"],
                         note=f"p95 {c['p95 ms']} ms（不经链头 {p['p95 ms']} ms）；1 个写入时 {one}/s；"
                              f"事务内另有 {WORK_MS:g} ms 工作；{uptime.split('load average:')[-1].strip()}"))
    harness.write_json(NAME, {"vendor": "postgresql", "seconds": SECONDS, "work ms": WORK_MS, "uptime": uptime,
                              "results": {str(k): v for k, v in results.items()}})
    harness.record(NAME, figures, meta={"database": harness.database_label(connection)})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    harness.run_in_throwaway_database(NAME, run)


if __name__ == "__main__":
    main()
