"""Task outbox: no Celery message is lost when Redis is down.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import atexit
import datetime
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from celery import Task, current_app, shared_task
from celery.utils import uuid
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import embedded_worker
from .celery import app

if TYPE_CHECKING:
    from .models import OutboxMessage

logger = logging.getLogger(__name__)

# Options kept with a message; everything else is left to the task's defaults when it is sent again.
_KEPT_OPTIONS = {"queue", "routing_key", "exchange", "priority", "expires", "eta", "headers", "ignore_result",
                 "time_limit", "soft_time_limit", "shadow"}


def enabled() -> bool:
    return getattr(settings, "TASK_OUTBOX_ENABLED", True)


def _grace() -> datetime.timedelta:
    """How long a fresh row belongs to the publish that wrote it (longer than a publish can take)."""
    return datetime.timedelta(seconds=getattr(settings, "TASK_OUTBOX_GRACE_SECONDS", 30))


def _json_ready(value):
    """Arguments as JSON stores them (datetimes, decimals and UUIDs as text, like Celery's JSON)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _kept_options(options: dict) -> dict:
    kept = {key: value for key, value in options.items() if key in _KEPT_OPTIONS and value is not None}
    countdown = options.get("countdown")
    if countdown is not None and "eta" not in kept:
        # A message sent again later keeps its original due time.
        kept["eta"] = timezone.now() + datetime.timedelta(seconds=float(countdown))
    for key in ("eta", "expires"):
        if isinstance(kept.get(key), datetime.datetime):
            kept[key] = kept[key].isoformat()
    return _json_ready(kept)


def _sendable_options(stored: dict) -> dict:
    options = dict(stored or {})
    for key in ("eta", "expires"):
        if isinstance(options.get(key), str):
            options[key] = datetime.datetime.fromisoformat(options[key])
    return options


class OutboxTask(Task):
    """Celery task class whose messages go through the outbox (see the module docstring)."""

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None,
                    shadow=None, **options):
        app = self._get_app()
        if app.conf.task_always_eager and embedded_worker.submit(self, args, kwargs):
            return self.AsyncResult(task_id or uuid())
        if app.conf.task_always_eager or producer is not None or link or link_error or not enabled():
            return super().apply_async(args, kwargs, task_id=task_id, producer=producer, link=link,
                                       link_error=link_error, shadow=shadow, **options)
        task_id = task_id or uuid()
        message = _store(self.name, args, kwargs, task_id, dict(options, shadow=shadow))
        try:
            result = super().apply_async(args, kwargs, task_id=task_id, shadow=shadow, **options)
        except Exception as exc:
            if message is None:
                raise  # nothing kept it: the caller must know, as without the outbox
            _mark_failed(message.pk, exc)
            logger.warning("task %s [%s] kept in the outbox, broker unavailable: %s", self.name, task_id, exc)
            return self.AsyncResult(task_id)
        if message is not None:
            _mark_sent(message.pk)
            _drain_backlog_after_success()
        return result

    def delay_on_commit(self, *args, **kwargs) -> None:
        """Run the task once the current transaction commits (Celery's Django API, with the outbox)."""
        self.apply_async_on_commit(args, kwargs)

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        """Queue the task for after the commit; its outbox row is written now, in the caller's transaction.

        Outside a transaction, or when tasks run eagerly, this is `on_commit(apply_async)`."""
        message = self.prepare_on_commit(args, kwargs, **options)
        if message is not None:
            # No savepoint: the row is part of the change; if it cannot be written, neither is the change.
            message.save()

    def prepare_on_commit(self, args=None, kwargs=None, **options) -> OutboxMessage | None:
        """An unsaved OutboxMessage for this task, whose publish is arranged for after the commit.
        The caller must insert it in the current transaction (its pk is read when the publish runs).
        Returns None when there is nothing to insert (eager, outbox disabled, or no open transaction):
        then the task is simply queued with on_commit(apply_async), as apply_async_on_commit does."""
        app = self._get_app()
        if app.conf.task_always_eager or not enabled() or not transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: self.apply_async(args, kwargs, **options))
            return None
        # Deferred: Celery may load this module (its task class) before the app registry is ready
        from .models import OutboxMessage

        task_id = uuid()
        message = OutboxMessage(
            task_id=task_id, task_name=self.name, args=_json_ready(list(args or [])),
            kwargs=_json_ready(dict(kwargs or {})), options=_kept_options(options),
            attempts=1, attempted_at=timezone.now(),
        )
        transaction.on_commit(lambda: self._after_commit(message, args, kwargs, task_id, options))
        return message

    def _after_commit(self, message: OutboxMessage, args, kwargs, task_id: str, options: dict) -> None:
        if message.pk is None:  # a caller of prepare_on_commit did not insert it: better sent than lost
            logger.error("task %s [%s]: its outbox row was never saved; queued without it", self.name, task_id)
            self.apply_async(args, kwargs, task_id=task_id, **options)
        elif getattr(settings, "TASK_OUTBOX_RELAY", "thread") == "inline":
            self._publish_stored(message.pk, args, kwargs, task_id, options)
        else:
            _relay().put(_Relayed(self, message.pk, args, kwargs, task_id, options))

    def _publish_stored(self, pk: int, args, kwargs, task_id: str, options: dict) -> None:
        try:
            Task.apply_async(self, args, kwargs, task_id=task_id, **options)
        except Exception as exc:
            _mark_failed(pk, exc)
            logger.warning("task %s [%s] kept in the outbox, broker unavailable: %s", self.name, task_id, exc)
            return
        _mark_sent(pk)
        _drain_backlog_after_success()


def _store(name: str, args, kwargs, task_id: str, options: dict):
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    try:
        with transaction.atomic():  # a savepoint inside the caller's transaction
            return OutboxMessage.objects.create(
                task_id=task_id, task_name=name, args=_json_ready(list(args or [])),
                kwargs=_json_ready(dict(kwargs or {})), options=_kept_options(options),
                attempts=1, attempted_at=timezone.now(),
            )
    except Exception as exc:  # no database at hand (or it failed): publish as before the outbox
        logger.warning("task %s [%s] not stored in the outbox: %s", name, task_id, exc)
        return None


def _mark_sent(pk: int) -> None:
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    OutboxMessage.objects.filter(pk=pk).update(sent_at=timezone.now(), last_error="")


def _mark_failed(pk: int | list[int], exc: BaseException) -> None:
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    global _failed_since_check
    _failed_since_check = True
    pks = pk if isinstance(pk, list) else [pk]
    OutboxMessage.objects.filter(pk__in=pks).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])


# When this process last looked for a backlog, and whether it saw a publish fail since.
_last_backlog_check = float("-inf")
_failed_since_check = False


def _drain_backlog_after_success() -> None:
    """The broker just took a message: if older ones wait, send a small batch of them now.

    Looked for at once after a failure seen here; otherwise at most every few seconds (rows another
    process kept are also sent by the beat job)."""
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    global _last_backlog_check, _failed_since_check
    now = time.monotonic()
    interval = getattr(settings, "TASK_OUTBOX_DRAIN_CHECK_SECONDS", 10)
    if not _failed_since_check and now - _last_backlog_check < interval:
        return
    _last_backlog_check, _failed_since_check = now, False
    try:
        if OutboxMessage.objects.filter(sent_at__isnull=True, attempted_at__lt=timezone.now() - _grace()).exists():
            flush(limit=getattr(settings, "TASK_OUTBOX_INLINE_BATCH", 50))
    except Exception:  # best effort: beat and the command will send them
        logger.exception("draining the task outbox failed")


@dataclass
class _Relayed:
    task: OutboxTask
    pk: int
    args: object
    kwargs: object
    task_id: str
    options: dict


# The relay closes its database connection after this long without work (a burst keeps one connection).
_RELAY_IDLE_SECONDS = 2.0
# After the first message of a batch, the relay lets more arrive for this long (a notice is at most this
# much later). A batch costs the process about 1.1 ms of CPU whatever its size (one publish of the
# batchable notices, one UPDATE): at 50 ms, with the load test's 17 reports a second per process, a batch
# held 1.25 messages; at 250 ms it holds about five.
_RELAY_LINGER_SECONDS = 0.25


def _holds_connection() -> bool:
    """Whether the calling thread has a database connection open."""
    return any(conn.connection is not None for conn in connections.all(initialized_only=True))


class _Relay:
    """This process's publisher of committed rows: a queue and the daemon thread that empties it."""

    def __init__(self):
        self.pid = os.getpid()
        self.waiting: deque[_Relayed] = deque()
        self.changed = threading.Condition()
        self.busy = False
        self.release_asked = False
        self.waiters = 0  # someone waits for the queue to empty: no lingering
        self.thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self.thread.start()

    def put(self, item: _Relayed) -> None:
        with self.changed:
            self.waiting.append(item)
            self.changed.notify_all()

    def wait(self, timeout: float, release: bool = False) -> bool:
        with self.changed:
            if release:
                self.release_asked = True
            self.waiters += 1
            self.changed.notify_all()
            try:
                return self.changed.wait_for(
                    lambda: not self.waiting and not self.busy and not self.release_asked, timeout)
            finally:
                self.waiters -= 1

    def _run(self) -> None:
        while True:
            with self.changed:
                # bool(): the predicate answers with the queue itself, which is emptied below
                woken = bool(self.changed.wait_for(lambda: self.waiting or self.release_asked, _RELAY_IDLE_SECONDS))
                if self.waiting and not self.waiters and not self.release_asked:
                    self.busy = True
                    until = time.monotonic() + _RELAY_LINGER_SECONDS
                    while not self.waiters and not self.release_asked and (left := until - time.monotonic()) > 0:
                        self.changed.wait(left)  # releases the lock: more may come
                batch = list(self.waiting)
                self.waiting.clear()
                release = self.release_asked or not woken
                self.busy = True
            try:
                if batch:
                    _relay_batch(batch)
            except Exception:  # the rows stay pending: the flush sends them
                logger.exception("the task outbox relay failed on %d messages", len(batch))
                release = True  # a broken connection is opened again for the next batch
            finally:
                # Idle, asked, or after a failure: hold no connection (nor block dropping a database).
                # An idle wake-up with no connection open (nothing ran since the last close) closes nothing.
                if release and _holds_connection():
                    try:
                        connections.close_all()
                    except Exception:
                        logger.exception("the task outbox relay could not close its connection")
                with self.changed:
                    self.busy = False
                    if release:
                        self.release_asked = False
                    self.changed.notify_all()


@shared_task(name="governance.tasks.run_outbox_batch", ignore_result=True)
def run_outbox_batch(task_name: str, calls: list) -> int:
    """Several messages of one batchable task that the outbox relay sent as one (below).

    Each call runs as its own task would; one that fails is logged and the others still run (the
    tasks are idempotent: a redelivered batch changes nothing for the calls already done)."""
    task = current_app.tasks[task_name]
    done = 0
    for args, kwargs in calls:
        try:
            task(*args, **kwargs)
        except Exception:
            logger.exception("outbox batch: %s%r failed", task_name, tuple(args))
        else:
            done += 1
    return done


def _broker_messages(batch: list[_Relayed]) -> list[tuple[list[_Relayed], object]]:
    """The broker messages that carry a batch, each with the items it carries and how to send it.

    One message per item, except for tasks marked `outbox_batchable` (idempotent, result ignored,
    sent without options): their items in the batch travel as one `run_outbox_batch` message, which
    the worker runs call by call. Under load (the relay lingers), a publish then serves many commits."""
    def alone(item: _Relayed):
        return [item], partial(Task.apply_async, item.task, item.args, item.kwargs, task_id=item.task_id, **item.options)

    messages, grouped = [], {}
    for item in batch:
        if getattr(item.task, "outbox_batchable", False) and not item.options:
            grouped.setdefault(item.task.name, []).append(item)
        else:
            messages.append(alone(item))
    for name, items in grouped.items():
        if len(items) == 1:
            messages.append(alone(items[0]))
        else:
            calls = [[list(item.args or []), dict(item.kwargs or {})] for item in items]
            messages.append((items, partial(Task.apply_async, run_outbox_batch, (name, calls))))
    return messages


def _relay_batch(batch: list[_Relayed]) -> None:
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    sent, failed, error = [], [], None
    for items, send in _broker_messages(batch):
        if error is None:
            try:
                send()
            except Exception as exc:
                error = exc
                logger.warning("%d task message(s) kept in the outbox, broker unavailable: %s", len(items), exc)
            else:
                sent.extend(item.pk for item in items)
                continue
        failed.extend(item.pk for item in items)
    if sent:
        OutboxMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now(), last_error="")
    if failed:
        _mark_failed(failed, error)
    elif sent:
        _drain_backlog_after_success()


_relay_instance: _Relay | None = None
_relay_lock = threading.Lock()


def _relay() -> _Relay:
    """The relay of this process; a forked child starts its own (the parent's thread is not in it)."""
    global _relay_instance
    relay = _relay_instance
    if relay is None or relay.pid != os.getpid():
        with _relay_lock:
            relay = _relay_instance
            if relay is None or relay.pid != os.getpid():
                relay = _relay_instance = _Relay()
    return relay


def _renew_lock_after_fork() -> None:
    global _relay_lock
    _relay_lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_renew_lock_after_fork)


def wait_for_relay(timeout: float = 5.0, *, release_connection: bool = False) -> bool:
    """Block until this process's relay has published all it was given (and, when asked, closed its
    database connection: before a test database is dropped); False on timeout."""
    relay = _relay_instance
    if relay is None or relay.pid != os.getpid():
        return True
    return relay.wait(timeout, release=release_connection)


# At exit, give the queue a moment; whatever is left stays pending for the flush.
atexit.register(wait_for_relay, 2.0)


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        text = f"已送达队列 {self.sent} 条，发送失败 {self.failed} 条，仍待发送 {self.pending} 条"
        if self.deleted:
            text += f"，清理已送达的旧记录 {self.deleted} 条"
        return text + "。"


def publish(message) -> None:
    """Send one stored message to the broker (raises when the broker does not take it)."""
    app.send_task(message.task_name, args=message.args, kwargs=message.kwargs, task_id=message.task_id,
                  **_sendable_options(message.options))


def flush(*, limit: int = 500, include_fresh: bool = False) -> FlushResult:
    """Send pending messages oldest first; stop at the first failure (the broker is still down).

    Rows younger than the grace period are left to the publish that wrote them, unless
    `include_fresh` (the command, run by an operator after an outage)."""
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    result = FlushResult()
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    if not include_fresh:
        pending = pending.filter(Q(attempted_at__isnull=True) | Q(attempted_at__lt=timezone.now() - _grace()))
    for message in list(pending.order_by("id")[:limit]):
        claimed = OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True, attempts=message.attempts).update(
            attempts=F("attempts") + 1, attempted_at=timezone.now())
        if not claimed:
            continue  # another flusher has it
        try:
            publish(message)
        except Exception as exc:
            _mark_failed(message.pk, exc)
            result.failed += 1
            logger.warning("outbox message %s [%s] still not sent: %s", message.task_name, message.task_id, exc)
            break
        _mark_sent(message.pk)
        result.sent += 1
    result.pending = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    return result


def delete_sent(older_than_days: int | None = None) -> int:
    """Forget messages the broker took more than `older_than_days` ago."""
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    days = older_than_days if older_than_days is not None else getattr(settings, "TASK_OUTBOX_KEEP_DAYS", 7)
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def pending_count() -> int:
    # Deferred: Celery may load this module (its task class) before the app registry is ready
    from .models import OutboxMessage

    return OutboxMessage.objects.filter(sent_at__isnull=True).count()
