"""The periodic work without Celery beat: the same schedule, run in-process (`manage.py run_periodic`).

Production runs Celery beat and workers (governance/celery.py: `app.conf.beat_schedule`). The embedded
run (`make run`: SQLite, eager Celery, no Redis) has neither, so nothing periodic would ever happen
there — no 督办 of overdue events, no overdue rectification items and letters, no 5th/10th reminders.
`make run` therefore starts `manage.py run_periodic` beside the web server: it reads the very same
beat schedule (one list of periodic tasks, never a second one) and runs each entry in this process
when it is due. Every entry runs once at start (a daily job missed while nothing ran is caught up),
then on its own interval or crontab. The tasks are idempotent, as they must be under beat.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery.schedules import maybe_schedule

from .celery import app as celery_app

logger = logging.getLogger(__name__)


@dataclass
class Entry:
    name: str
    task: str
    schedule: object  # a celery schedule (interval or crontab)
    last_run_at: datetime.datetime | None = None


def beat_entries(app=None) -> list[Entry]:
    """The entries of Celery beat's schedule, in its order (the tasks' modules loaded, as a worker does)."""
    if app is None:
        app = celery_app
    app.loader.import_default_modules()
    return [Entry(name, spec["task"], maybe_schedule(spec["schedule"], app=app))
            for name, spec in app.conf.beat_schedule.items()]


def run_task(task_name: str, app=None):
    """Run one task here and now (as a worker would), whatever the broker."""
    if app is None:
        app = celery_app
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker loads them at start
    return app.tasks[task_name].apply(throw=True).get()


class Scheduler:
    """Runs each beat entry when it is due; `tick()` returns the seconds until the next one is due."""

    def __init__(self, entries: list[Entry], run: Callable[[str], object] = run_task, max_sleep: float = 30.0):
        self.entries, self.run, self.max_sleep = entries, run, max_sleep

    def due(self) -> list[Entry]:
        return [entry for entry in self.entries
                if entry.last_run_at is None or entry.schedule.is_due(entry.last_run_at).is_due]

    def tick(self) -> float:
        self.last_results: list[tuple[str, bool, object]] = []  # (entry name, succeeded, result or error)
        for entry in self.due():
            entry.last_run_at = entry.schedule.now()
            try:
                result = self.run(entry.task)
            except Exception as exc:  # one failing task must not stop the others, as under beat
                logger.exception("periodic task %s (%s) failed", entry.name, entry.task)
                self.last_results.append((entry.name, False, exc))
            else:
                logger.info("periodic task %s (%s): %s", entry.name, entry.task, result)
                self.last_results.append((entry.name, True, result))
        waits = [entry.schedule.remaining_estimate(entry.last_run_at).total_seconds() for entry in self.entries]
        return max(1.0, min([self.max_sleep, *waits]))
