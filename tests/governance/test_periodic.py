"""The embedded run's scheduler runs Celery beat's own task list, each entry when it is due."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command

from governance.celery import app
from governance.periodic import Scheduler, beat_entries


def test_the_scheduler_runs_the_same_task_list_as_beat():
    assert [(entry.name, entry.task) for entry in beat_entries()] == [
        (name, spec["task"]) for name, spec in app.conf.beat_schedule.items()]
    # every task of the schedule exists (a renamed task would silently never run)
    assert all(entry.task in app.tasks for entry in beat_entries())


def test_every_entry_runs_at_start_then_each_when_its_interval_has_passed():
    ran = []
    scheduler = Scheduler(beat_entries(), run=ran.append)
    wait = scheduler.tick()
    assert ran == [entry.task for entry in scheduler.entries]  # daily jobs missed while nothing ran: caught up
    assert 1 <= wait <= 30
    ran.clear()
    scheduler.tick()
    assert ran == []  # nothing is due again right away
    timers = next(entry for entry in scheduler.entries if entry.task == "workflows.tasks.supervise_overdue")
    timers.last_run_at -= datetime.timedelta(minutes=6)  # its interval is 5 minutes
    scheduler.tick()
    assert ran == ["workflows.tasks.supervise_overdue"]


def test_a_failing_task_does_not_stop_the_others():
    ran = []

    def run(task):
        ran.append(task)
        if task == "governance.tasks.flush_outbox":
            raise RuntimeError("broken")

    Scheduler(beat_entries(), run=run).tick()
    assert len(ran) == len(app.conf.beat_schedule)


@pytest.mark.django_db
def test_run_periodic_once_runs_every_task_in_process(county, personas, capsys):
    call_command("run_periodic", "--once")
    out, err = capsys.readouterr()
    assert "定时任务（" in out and "运行失败" not in err
    assert out.count("已运行 ") == len(app.conf.beat_schedule)
