"""Scaffolding shared by the benchmarks tests/bench/bench_*.py.

Each benchmark runs in a throwaway database: a fresh PostgreSQL database on DATABASE_URL's server
(named gov_bench_<benchmark>_<pid>, or gov_bench_<benchmark>_<BENCH_DB_TAG>_<pid>), or a SQLite file under var/bench/ when DATABASE_URL is unset (a
script run by hand; `make bench` refuses SQLite, see run.py). Figures go to bench/results.json
through `figure` and `record`. It
configures Django on that database itself, so under pytest (`make bench`), where Django is already
configured on the default database, the benchmark's test runs the script in its own process.

A benchmark script imports this module both when run directly (sys.path[0] is tests/bench) and when
pytest imports it as tests.bench.bench_<name>:

    if __package__:
        from . import harness
    else:
        import harness
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import django
import environ
import psycopg
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "var" / "bench"
RESULTS_FILE = ROOT / "bench" / "results.json"


def run_script(script: str | Path, timeout: int = 900) -> None:
    """`make bench` entry point: pytest has already configured Django on the default database, so run
    the benchmark in its own process, where it configures Django on its throwaway database."""
    subprocess.run([sys.executable, str(Path(script).resolve())], cwd=ROOT, check=True, timeout=timeout)


# --------------------------------------------------------------------------------------------------
# Throwaway database and Django set-up


class ThrowawayDatabase:
    """A fresh PostgreSQL database on DATABASE_URL's server, or a SQLite file under var/bench/."""

    def __init__(self, benchmark: str):
        self.benchmark = benchmark
        self.url = os.environ.get("DATABASE_URL", "")
        short = benchmark.removeprefix("gov_bench_").removeprefix("bench_")
        tag = os.environ.get("BENCH_DB_TAG", "")  # tells apart the databases of sessions sharing a server
        self.name = f"gov_bench_{short}_{tag + '_' if tag else ''}{os.getpid()}"
        self.sqlite_file: Path | None = None
        self.admin_conninfo = ""

    def create(self) -> str:
        """Create the database; return the DATABASE_URL that points at it."""
        if not self.url:
            BENCH_DIR.mkdir(parents=True, exist_ok=True)
            self.sqlite_file = BENCH_DIR / f"{self.name}.sqlite3"
            self._remove_sqlite_files()
            return f"sqlite:///{self.sqlite_file}"

        config = environ.Env.db_url_config(self.url)
        if "postgresql" not in config["ENGINE"]:
            raise SystemExit(
                f"{self.benchmark}: DATABASE_URL must be PostgreSQL (or unset for SQLite), not {config['ENGINE']}"
            )
        params = {
            "dbname": config.get("NAME") or "postgres",
            "user": config.get("USER") or None,
            "password": config.get("PASSWORD") or None,
            "host": config.get("HOST") or None,
            "port": str(config["PORT"]) if config.get("PORT") else None,
        }
        self.admin_conninfo = make_conninfo(**{k: v for k, v in params.items() if v})
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        parts = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{self.name}"))

    def drop(self) -> None:
        if self.sqlite_file is not None:
            self._remove_sqlite_files()
            return
        if not self.admin_conninfo:
            return
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _remove_sqlite_files(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.sqlite_file}{suffix}").unlink(missing_ok=True)


def setup_django(database_url: str, env: dict[str, str | None] | None = None, *, redis: bool = False) -> None:
    """Configure Django on `database_url`; `env` sets (or, with None, removes) further variables.

    With `redis` (and REDIS_URL set) the cache and the Celery broker are Redis, as in production:
    queued tasks wait in the broker (no worker runs; `purge_queue` empties it afterwards)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["TESTING"] = "1"
    os.environ["DEBUG"] = "0"
    if not redis:
        os.environ.pop("REDIS_URL", None)  # in-process only: eager Celery, local-memory cache
    for key, value in (env or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    django.setup()


def run_in_throwaway_database(
    benchmark: str,
    body: Callable[[], None],
    *,
    env: dict[str, str | None] | None = None,
    keep: bool = False,
    redis: bool = False,
) -> None:
    """Create the throwaway database, configure Django on it, run `body`, then drop the database
    (unless `keep`) and print the total time."""
    started = time.perf_counter()
    database = ThrowawayDatabase(benchmark)
    url = database.create()
    try:
        setup_django(url, env, redis=redis)
        body()
    finally:
        if redis:
            purge_queue()
        try:
            # Deferred: Django is set up (setup_django) before this runs
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not even be configured
            pass
        if keep:
            print(f"database kept: {database.sqlite_file or database.name}")
        else:
            database.drop()
    print(f"total {time.perf_counter() - started:.1f} s")


# --------------------------------------------------------------------------------------------------
# Helpers for the run and the report


def analyze() -> None:
    """PostgreSQL: refresh planner statistics after a bulk load, as autovacuum would soon do."""
    # Deferred: Django is set up (setup_django) before this runs
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def database_label(connection) -> str:
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version}"
    version = connection.pg_version
    return f"PostgreSQL {version // 10000}.{version % 10000}"


def write_json(benchmark: str, entry: dict) -> None:
    """Store `entry` (which has a "vendor") under its vendor in var/bench/<benchmark>.json."""
    result_file = BENCH_DIR / f"{benchmark}.json"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[entry["vendor"]] = entry
    result_file.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nfigures written to {result_file.relative_to(ROOT)} ({entry['vendor']})")


def purge_queue() -> None:
    """Drop the Celery messages this benchmark left in the broker (no worker takes them)."""
    if not os.environ.get("REDIS_URL"):
        return
    try:
        # Deferred: the project's Celery app needs the settings setup_django loaded
        from governance.celery import app

        app.control.purge()
    except Exception as exc:  # the figures are written already
        print(f"could not purge the Celery queue: {exc}")


def percentiles(fn, runs: int) -> dict:
    """Median and p95 in milliseconds of `runs` timed calls of `fn` after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return {"median": round(p(times, 50), 2), "p95": round(p(times, 95), 2), "runs": runs}


def p(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(round(q / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


# --------------------------------------------------------------------------------------------------
# bench/results.json: every figure of the run, with its baseline, ratio and goal


def figure(name: str, value, unit: str, *, goal: str = "", met: bool | None = None, baseline: str = "",
           baseline_value=None, note: str = "") -> dict:
    """One line of the results table. The ratio is value / baseline_value when both are numbers."""
    ratio = None
    if isinstance(value, (int, float)) and isinstance(baseline_value, (int, float)) and baseline_value:
        ratio = round(value / baseline_value, 2)
    return {"figure": name, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value,
            "ratio": ratio, "goal": goal, "met": met, "note": note}


def record(benchmark: str, figures: list[dict], meta: dict | None = None) -> None:
    """Store this benchmark's figures in bench/results.json (other benchmarks' entries are kept)."""
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(RESULTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data.setdefault("benchmarks", {})[benchmark] = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **(meta or {}),
        "figures": figures,
    }
    RESULTS_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"figures recorded in {RESULTS_FILE.relative_to(ROOT)} ({benchmark})")
