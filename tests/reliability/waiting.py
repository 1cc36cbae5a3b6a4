"""Waiting for another process (a Celery worker, a gunicorn) to get somewhere, without sleeping blind."""

from __future__ import annotations

import time


def wait_for(condition, timeout: float = 20, what: str = "the condition", interval: float = 0.05):
    """The first true value of condition(), polled every interval seconds; fails after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
