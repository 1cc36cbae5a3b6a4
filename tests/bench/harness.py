"""Scaffolding shared by the benchmarks tests/bench/bench_*.py.

Each benchmark runs in a throwaway database: a fresh PostgreSQL database on DATABASE_URL's server
(named <benchmark>_<pid>), or a SQLite file under var/bench/ when DATABASE_URL is unset. It
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

import json
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "var" / "bench"


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
        self.name = f"{benchmark}_{os.getpid()}"
        self.sqlite_file: Path | None = None
        self.admin_conninfo = ""

    def create(self) -> str:
        """Create the database; return the DATABASE_URL that points at it."""
        if not self.url:
            BENCH_DIR.mkdir(parents=True, exist_ok=True)
            self.sqlite_file = BENCH_DIR / f"{self.name}.sqlite3"
            self._remove_sqlite_files()
            return f"sqlite:///{self.sqlite_file}"
        import environ
        import psycopg
        from psycopg.conninfo import make_conninfo

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
        import psycopg

        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _remove_sqlite_files(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.sqlite_file}{suffix}").unlink(missing_ok=True)


def setup_django(database_url: str, env: dict[str, str | None] | None = None) -> None:
    """Configure Django on `database_url`; `env` sets (or, with None, removes) further variables."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "governance.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["TESTING"] = "1"
    os.environ["DEBUG"] = "0"
    os.environ.pop("REDIS_URL", None)  # in-process only: eager Celery, local-memory cache
    for key, value in (env or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    import django

    django.setup()


def run_in_throwaway_database(
    benchmark: str,
    body: Callable[[], None],
    *,
    env: dict[str, str | None] | None = None,
    keep: bool = False,
) -> None:
    """Create the throwaway database, configure Django on it, run `body`, then drop the database
    (unless `keep`) and print the total time."""
    started = time.perf_counter()
    database = ThrowawayDatabase(benchmark)
    url = database.create()
    try:
        setup_django(url, env)
        body()
    finally:
        try:
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
