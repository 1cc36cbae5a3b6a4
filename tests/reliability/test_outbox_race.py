"""Two real `outbox.flush()` calls racing over the same pending rows: each row goes to the broker once.

Both flushers are held at a barrier after each has read the pending rows and before either claims
one, so both hold the same stale list, and again when each publishes its first row, so both claims
have been tried before either row is marked sent: the conditional claim alone decides who sends it.
On SQLite the two threads write to a file database (`database_for_threads`), as the embedded run does.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from governance import outbox
from governance.models import OutboxMessage

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.usefixtures("database_for_threads")]

ROWS = 6


class _HeldClock:
    """`timezone` for the outbox module whose first `now()` in each flushing thread — the claim of its
    first row, after the pending rows were read — waits until both threads got there."""

    def __init__(self, barrier: threading.Barrier):
        self.barrier = barrier
        self.local = threading.local()

    def now(self):
        if not getattr(self.local, "held", False):
            self.local.held = True
            self.barrier.wait(timeout=30)
        return timezone.now()


def test_two_racing_flushes_send_every_pending_row_exactly_once(monkeypatch):
    for number in range(ROWS):
        OutboxMessage.objects.create(task_id=f"race-{number}", task_name="governance.tasks.ping")
    published: list[str] = []
    lock = threading.Lock()
    first_publish, local = threading.Barrier(2), threading.local()

    def publish(message):
        with lock:
            published.append(message.task_id)
        if not getattr(local, "published", False):
            local.published = True
            first_publish.wait(timeout=30)

    monkeypatch.setattr(outbox, "publish", publish)
    monkeypatch.setattr(outbox, "timezone", _HeldClock(threading.Barrier(2)))
    results, errors = [], []

    def flusher():
        try:
            results.append(outbox.flush(include_fresh=True))
        except Exception as exc:  # reported below: a flusher must not fail because another one runs
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=flusher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(published) == sorted(f"race-{number}" for number in range(ROWS)), published
    assert sum(result.sent for result in results) == ROWS
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}, connection.vendor
