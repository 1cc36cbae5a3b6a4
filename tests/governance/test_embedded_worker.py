"""make run's worker thread: tasks marked runs_in_background leave the request and run one after another in
a thread of the server; everything else (and every test by default) still runs inline."""

from __future__ import annotations

import threading

import pytest

from governance import embedded_worker
from governance.celery import app

calls: list[tuple[str, str]] = []


@app.task(name="tests.embedded_worker.background_probe", runs_in_background=True, ignore_result=True)
def background_probe(value: str) -> None:
    if value == "boom":
        raise RuntimeError("a task's own failure")
    calls.append((value, threading.current_thread().name))


@app.task(name="tests.embedded_worker.inline_probe", ignore_result=True)
def inline_probe(value: str) -> None:
    calls.append((value, threading.current_thread().name))


@pytest.fixture(autouse=True)
def _fresh():
    calls.clear()
    yield
    assert embedded_worker.wait_until_idle(10)


def test_marked_tasks_run_in_the_worker_thread_when_it_is_on(settings):
    settings.EMBEDDED_WORKER = True
    background_probe.delay("first")
    background_probe.delay("boom")  # fails in the thread; the next one still runs
    background_probe.delay("second")
    inline_probe.delay("inline")
    assert ("inline", threading.current_thread().name) in calls
    assert embedded_worker.wait_until_idle(10)
    assert [call for call in calls if call[0] != "inline"] == [("first", "embedded-worker"), ("second", "embedded-worker")]


def test_without_the_setting_every_task_runs_inline(settings):
    settings.EMBEDDED_WORKER = False
    background_probe.delay("inline too")
    assert calls == [("inline too", threading.current_thread().name)]


def test_make_run_turns_it_on_for_the_server_only():
    makefile = open("Makefile", encoding="utf-8").read()
    server_line = next(line for line in makefile.splitlines() if "runserver" in line)
    assert "EMBEDDED_WORKER=1" in server_line
    assert sum("EMBEDDED_WORKER=1" in line for line in makefile.splitlines()) == 1
