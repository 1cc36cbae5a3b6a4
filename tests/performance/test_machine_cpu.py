"""The load test's reading of where the machine's CPU went (tests/bench/loadtest.py)."""

import os
import sys

import pytest

from tests.bench import loadtest


def test_cpu_used_counts_each_process_once_by_its_program():
    # Processes are keyed by (pid, start time).
    before = ({(10, 1): ("gunicorn", 5.0), (11, 1): ("PostgreSQL", 2.0), (12, 1): ("PostgreSQL", 1.0)}, 100.0)
    after = ({(10, 1): ("gunicorn", 6.5),  # ran on
              (12, 1): ("PostgreSQL", 1.25),  # ran on
              (13, 7): ("PostgreSQL", 0.5),  # started meanwhile: counts whole
              (11, 9): ("PostgreSQL", 0.25)},  # pid 11 ended (its last part is lost) and a new process took it
             101.5)
    used = loadtest.machine_cpu_used(before, after)
    assert used == {"gunicorn": 1.5, "PostgreSQL": 1.0, "idle": 1.5}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_this_process_is_the_clients():
    processes, idle = loadtest.machine_cpu()
    [(program, seconds)] = [value for (pid, _started), value in processes.items() if pid == os.getpid()]
    assert program == "clients" and seconds > 0 and idle > 0
    assert loadtest._program(1, "postgres", "postgres: 15/main: app 127.0.0.1(5) idle") == "PostgreSQL"
    assert loadtest._program(1, "python", "/srv/.venv/bin/python gunicorn config.wsgi") == "gunicorn"
