"""The embedded run's worker thread: with Celery eager (no Redis) and settings.EMBEDDED_WORKER on
(`make run`), tasks marked `runs_in_background` run one after another in a daemon thread of this
process instead of inside the request that queued them. Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading

from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

class _Worker:
    def __init__(self):
        self.pid = os.getpid()
        self.calls: queue.Queue = queue.Queue()
        self.idle = threading.Condition()
        self.pending = 0
        self.thread = threading.Thread(target=self._run, name="embedded-worker", daemon=True)
        self.thread.start()

    def put(self, task, args, kwargs) -> None:
        with self.idle:
            self.pending += 1
        self.calls.put((task, args, kwargs))

    def _run(self) -> None:
        while True:
            task, args, kwargs = self.calls.get()
            close_old_connections()
            try:
                task.apply(args, kwargs)  # Celery's own eager run: the same code path as CELERY_TASK_ALWAYS_EAGER
            except Exception:  # a task's failure is its own (jobs record theirs); the thread goes on
                logger.exception("embedded worker: %s failed", task.name)
            finally:
                connections.close_all()  # SQLite: no connection held between tasks
                with self.idle:
                    self.pending -= 1
                    self.idle.notify_all()

    def wait(self, timeout: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.pending == 0, timeout)


_worker: _Worker | None = None
_lock = threading.Lock()


def enabled() -> bool:
    return bool(getattr(settings, "EMBEDDED_WORKER", False))


def in_worker() -> bool:
    return threading.current_thread().name == "embedded-worker"


def submit(task, args=None, kwargs=None) -> bool:
    """Hand an eager task marked `runs_in_background` to this process's worker thread; False when the
    task must run inline (not enabled, not marked, or already on the worker thread)."""
    if not enabled() or not getattr(task, "runs_in_background", False) or in_worker():
        return False
    global _worker
    with _lock:
        if _worker is None or _worker.pid != os.getpid():
            _worker = _Worker()
        worker = _worker
    worker.put(task, tuple(args or ()), dict(kwargs or {}))
    return True


def wait_until_idle(timeout: float = 30.0) -> bool:
    """Block until the worker has run everything it was given (tests, commands); False on timeout."""
    worker = _worker
    if worker is None or worker.pid != os.getpid():
        return True
    return worker.wait(timeout)


# At exit (the server stopped), let the work already handed over finish for a moment.
atexit.register(wait_until_idle, 10.0)
