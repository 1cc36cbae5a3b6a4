"""The outbox relay: a commit only hands its rows to this process's relay thread, which publishes them.

The relay thread has its own database connection and sees committed rows only: these tests commit
for real (transaction=True), on SQLite in a file database that both threads may write at once. A gate in front of the relay's batch lets a test look at the state
between the commit and the publish.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from django.core.management import call_command
from django.db import transaction

from governance import outbox
from governance.models import OutboxMessage
from governance.tasks import ping

committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def queued(redis_server) -> list[dict]:
    """The task messages waiting in Redis' default queue."""
    raw = redis_server.client().lrange("celery", 0, -1)
    return [{"task": m["headers"]["task"], "id": m["headers"]["id"]} for m in map(json.loads, raw)]


class Gate:
    """Holds the relay before each batch until opened; records the batches it let through."""

    def __init__(self, monkeypatch):
        self.open_ = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[int]] = []
        real = outbox._relay_batch

        def gated(batch):
            self.entered.set()
            self.open_.wait(10)
            self.batches.append([item.pk for item in batch])
            real(batch)

        monkeypatch.setattr(outbox, "_relay_batch", gated)

    def open(self):
        self.open_.set()


@pytest.fixture
def relay(settings, redis_server, celery_on_redis, database_for_threads):
    settings.TASK_OUTBOX_RELAY = "thread"
    yield
    assert outbox.wait_for_relay(release_connection=True), "the relay did not finish"


@pytest.fixture
def gate(relay, monkeypatch):
    gate = Gate(monkeypatch)
    yield gate
    gate.open()  # never leave the relay thread stuck for the next test
    outbox.wait_for_relay()


@committed
def test_the_commit_hands_the_row_to_the_relay_which_publishes_and_marks_it(redis_server, gate):
    with transaction.atomic():
        ping.delay_on_commit()
    # Committed, and the request thread has published nothing.
    row = OutboxMessage.objects.get()
    assert row.sent_at is None and queued(redis_server) == []
    gate.open()
    assert outbox.wait_for_relay()
    row.refresh_from_db()
    assert row.sent_at is not None and row.last_error == ""
    assert queued(redis_server) == [{"task": "governance.tasks.ping", "id": row.task_id}]


@committed
def test_messages_committed_together_go_out_once_each_and_are_marked_in_one_update(redis_server, gate):
    with transaction.atomic():
        ping.delay_on_commit()
    assert gate.entered.wait(5)  # the relay holds the first one; the next four wait in its queue
    for _ in range(4):
        with transaction.atomic():
            ping.delay_on_commit()
    gate.open()
    assert outbox.wait_for_relay()
    rows = list(OutboxMessage.objects.order_by("id"))
    assert gate.batches == [[rows[0].pk], [r.pk for r in rows[1:]]]
    assert all(r.sent_at is not None for r in rows)
    assert len({r.sent_at for r in rows[1:]}) == 1  # one UPDATE for the batch
    assert sorted(m["id"] for m in queued(redis_server)) == sorted(r.task_id for r in rows)


@committed
def test_notices_committed_together_travel_as_one_broker_message(redis_server, gate):
    """notify_task_holders is batchable: under load the relay sends many in one message; others stay single."""
    import base64

    from governance.tasks import run_outbox_batch
    from grid.tasks import notify_task_holders

    with transaction.atomic():
        ping.delay_on_commit()
    assert gate.entered.wait(5)  # held: the next ones pile up in the relay's queue
    for task_id in (11, 12, 13):
        with transaction.atomic():
            notify_task_holders.delay_on_commit(task_id)
    with transaction.atomic():
        ping.delay_on_commit()
    gate.open()
    assert outbox.wait_for_relay()
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    raw = [json.loads(item) for item in redis_server.client().lrange("celery", 0, -1)]
    names = sorted(m["headers"]["task"] for m in raw)
    assert names == sorted([ping.name, ping.name, run_outbox_batch.name])
    [batch] = [m for m in raw if m["headers"]["task"] == run_outbox_batch.name]
    args, kwargs, _ = json.loads(base64.b64decode(batch["body"]))
    assert args == [notify_task_holders.name, [[[11], {}], [[12], {}], [[13], {}]]]


def test_a_batch_runs_every_call_and_one_failing_does_not_stop_the_others(caplog):
    from governance.tasks import run_outbox_batch

    with caplog.at_level(logging.ERROR, logger="governance.tasks"):
        done = run_outbox_batch(ping.name, [[[], {}], [["unexpected"], {}], [[], {}]])
    assert done == 2
    assert "governance.tasks.ping" in caplog.text


@committed
def test_redis_down_the_commit_does_not_wait_and_the_flush_sends_the_row_later(redis_server, gate):
    redis_server.stop()
    started = time.monotonic()
    with transaction.atomic():
        ping.delay_on_commit()
    assert time.monotonic() - started < 0.5
    row = OutboxMessage.objects.get()
    assert row.last_error == ""  # not tried by the committing thread
    gate.open()
    assert outbox.wait_for_relay()
    row.refresh_from_db()
    assert row.sent_at is None and row.last_error

    redis_server.start()
    call_command("flush_outbox")
    assert outbox.pending_count() == 0
    assert [m["id"] for m in queued(redis_server)] == [row.task_id]


@committed
def test_a_batch_stops_at_the_first_failure_and_keeps_all_its_rows(redis_server, gate, monkeypatch):
    tries = []

    class BrokerDown:
        @staticmethod
        def apply_async(task, *args, **kwargs):
            tries.append(kwargs["task_id"])
            raise ConnectionError("Error 111 connecting to redis")

    monkeypatch.setattr(outbox, "Task", BrokerDown)  # what the relay publishes with
    with transaction.atomic():
        ping.delay_on_commit()
    assert gate.entered.wait(5)
    for _ in range(3):
        with transaction.atomic():
            ping.delay_on_commit()
    gate.open()
    assert outbox.wait_for_relay()
    assert [len(b) for b in gate.batches] == [1, 3]
    assert len(tries) == 2  # one try per batch: the broker is down, the rest are not tried
    assert OutboxMessage.objects.filter(sent_at__isnull=True, last_error__contains="Error 111").count() == 4


@committed
def test_the_relay_survives_an_error_and_leaves_that_batch_to_the_flush(redis_server, relay, monkeypatch):
    real, calls = outbox._relay_batch, []

    def failing_once(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        real(batch)

    monkeypatch.setattr(outbox, "_relay_batch", failing_once)
    with transaction.atomic():
        ping.delay_on_commit()
    assert outbox.wait_for_relay()
    with transaction.atomic():
        ping.delay_on_commit()
    assert outbox.wait_for_relay()
    first, second = OutboxMessage.objects.order_by("id")
    assert first.sent_at is None and second.sent_at is not None
    assert outbox._relay().thread.is_alive()
    assert [m["id"] for m in queued(redis_server)] == [second.task_id]


@committed
def test_a_forked_process_gets_its_own_relay_thread_and_queue(redis_server, relay, monkeypatch):
    parent = outbox._relay()
    monkeypatch.setattr(outbox.os, "getpid", lambda: parent.pid + 1)
    child = outbox._relay()
    assert child is not parent and child.pid == parent.pid + 1
    assert child.thread is not parent.thread and child.waiting is not parent.waiting
    assert child.thread.is_alive()
    with transaction.atomic():
        ping.delay_on_commit()
    assert outbox.wait_for_relay()
    assert OutboxMessage.objects.get().sent_at is not None
    assert outbox._relay() is child  # the same pid: the same relay


@pytest.mark.django_db
def test_prepare_on_commit_leaves_the_insert_to_the_caller(
    redis_server, celery_on_redis, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            messages = [ping.prepare_on_commit(), ping.prepare_on_commit()]
            assert all(m.pk is None for m in messages) and not OutboxMessage.objects.exists()
            OutboxMessage.objects.bulk_create(messages)  # as a caller inserting it with its own rows
    rows = list(OutboxMessage.objects.order_by("id"))
    assert [r.task_id for r in rows] == [m.task_id for m in messages]
    assert all(r.sent_at is not None for r in rows)
    assert sorted(m["id"] for m in queued(redis_server)) == sorted(r.task_id for r in rows)


@pytest.mark.django_db
def test_prepare_on_commit_not_inserted_is_still_queued(
    redis_server, celery_on_redis, django_capture_on_commit_callbacks, caplog,
):
    with caplog.at_level(logging.ERROR, logger="governance.outbox"):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                message = ping.prepare_on_commit()
    assert "never saved" in caplog.text
    assert [m["id"] for m in queued(redis_server)] == [message.task_id]


@pytest.mark.django_db
def test_prepare_on_commit_with_eager_tasks_has_nothing_to_insert(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            assert ping.prepare_on_commit() is None
    assert len(callbacks) == 1 and not OutboxMessage.objects.exists()


@committed
def test_prepare_on_commit_outside_a_transaction_has_nothing_to_insert(redis_server, celery_on_redis):
    assert ping.prepare_on_commit() is None  # queued at once, by apply_async, with its own row
    [row] = OutboxMessage.objects.all()
    assert row.sent_at is not None
    assert [m["id"] for m in queued(redis_server)] == [row.task_id]


@committed
def test_the_relay_keeps_its_database_connection_from_batch_to_batch(redis_server, relay, monkeypatch):
    """Closed only after an idle spell (or when asked): under load a new connection for every batch
    cost PostgreSQL a backend each time."""
    closed, real_close_all = [], outbox.connections.close_all

    def close_all():
        closed.append(threading.current_thread().name)
        real_close_all()

    monkeypatch.setattr(outbox.connections, "close_all", close_all)
    for _ in range(3):
        with transaction.atomic():
            ping.delay_on_commit()
        assert outbox.wait_for_relay()
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert closed == []


@committed
def test_an_idle_relay_that_holds_no_connection_closes_nothing(redis_server, relay, monkeypatch):
    """The relay wakes every idle spell; it closes its connection after work, not on every wake-up (a
    close counted in the middle of a burst made the test above depend on the clock)."""
    with transaction.atomic():
        ping.delay_on_commit()
    assert outbox.wait_for_relay(release_connection=True)  # sent, and the connection closed
    closed, real_close_all = [], outbox.connections.close_all

    def close_all():
        closed.append(threading.current_thread().name)
        real_close_all()

    monkeypatch.setattr(outbox.connections, "close_all", close_all)
    time.sleep(outbox._RELAY_IDLE_SECONDS * 1.5)  # at least one idle wake-up
    assert closed == []
    with transaction.atomic():
        ping.delay_on_commit()
    assert outbox.wait_for_relay(release_connection=True)
    assert closed == ["outbox-relay"]  # after work, asked: closed once
