"""Task outbox: no Celery message is lost when Redis is down.

Every task of the project's Celery app is an `OutboxTask` (governance/celery.py sets it as the app's
task class). Work that follows a change is queued with `some_task.delay_on_commit(...)`: the outbox row
is written inside the caller's transaction (it commits with the change or not at all: no instant
after the commit in which a dying process loses the message), and the publish happens after the
commit. A plain `some_task.delay(...)` (outside a transaction, or in `transaction.on_commit`) does
the same in its own short transaction. When tasks are not run eagerly, `apply_async`:

1. stores the message (task name, arguments, options, task id) as an `OutboxMessage` row;
2. publishes it to the broker, with short connection timeouts and few retries (settings, "reliability"),
   so a page that queues work does not hang when Redis is down;
3. marks the row sent only after the broker accepted the message. A failed publish leaves the row
   pending and is logged; the page goes on.

Pending rows are sent again by `flush()`: the `governance.tasks.flush_outbox` beat job, the
`manage.py flush_outbox` command, and a cheap attempt after a later publish that succeeded (the
broker is back): at once when this process saw a publish fail, otherwise at most every
`TASK_OUTBOX_DRAIN_CHECK_SECONDS`, so that the hot paths (event intake) do not pay a query each. A row is claimed with a conditional update on its attempt counter, so two
flushers never publish the same row twice. The task id is kept, and tasks are idempotent (dedupe keys,
conditional updates), so the rare double delivery (the broker took the message, then the process
died before marking the row) changes nothing.

Not stored: eager runs (the embedded run and tests), messages published with an explicit producer
(Celery beat: a missed periodic run is simply run at the next tick) and messages with callbacks
(links cannot be kept as JSON). When the database cannot take the row, the message is published
directly, as before.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass

from celery import Task
from celery.utils import uuid
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

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
    import json

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
        app = self._get_app()
        if app.conf.task_always_eager or not enabled() or not transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: self.apply_async(args, kwargs, **options))
            return
        from .models import OutboxMessage

        task_id = uuid()
        # No savepoint: the row is part of the change; if it cannot be written, neither is the change.
        message = OutboxMessage.objects.create(
            task_id=task_id, task_name=self.name, args=_json_ready(list(args or [])),
            kwargs=_json_ready(dict(kwargs or {})), options=_kept_options(options),
            attempts=1, attempted_at=timezone.now(),
        )
        transaction.on_commit(lambda: self._publish_stored(message.pk, args, kwargs, task_id, options))

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
    from .models import OutboxMessage

    OutboxMessage.objects.filter(pk=pk).update(sent_at=timezone.now(), last_error="")


def _mark_failed(pk: int, exc: BaseException) -> None:
    from .models import OutboxMessage

    global _failed_since_check
    _failed_since_check = True
    OutboxMessage.objects.filter(pk=pk).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])


# When this process last looked for a backlog, and whether it saw a publish fail since.
_last_backlog_check = float("-inf")
_failed_since_check = False


def _drain_backlog_after_success() -> None:
    """The broker just took a message: if older ones wait, send a small batch of them now.

    Looked for at once after a failure seen here; otherwise at most every few seconds (rows another
    process kept are also sent by the beat job)."""
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
    from .celery import app

    app.send_task(message.task_name, args=message.args, kwargs=message.kwargs, task_id=message.task_id,
                  **_sendable_options(message.options))


def flush(*, limit: int = 500, include_fresh: bool = False) -> FlushResult:
    """Send pending messages oldest first; stop at the first failure (the broker is still down).

    Rows younger than the grace period are left to the publish that wrote them, unless
    `include_fresh` (the command, run by an operator after an outage)."""
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
    from .models import OutboxMessage

    days = older_than_days if older_than_days is not None else getattr(settings, "TASK_OUTBOX_KEEP_DAYS", 7)
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def pending_count() -> int:
    from .models import OutboxMessage

    return OutboxMessage.objects.filter(sent_at__isnull=True).count()
