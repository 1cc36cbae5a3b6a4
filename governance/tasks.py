import logging

from celery import current_app, shared_task
from django.core.cache import cache
from django.utils import timezone

BEAT_HEARTBEAT_KEY = "governance:beat-heartbeat"

logger = logging.getLogger(__name__)


@shared_task(name="governance.tasks.ping")
def ping() -> str:
    """Round-trips through the broker and a worker; used by health checks and tests."""
    return "pong"


@shared_task(name="governance.tasks.beat_heartbeat")
def beat_heartbeat() -> str:
    """Scheduled by beat each minute; the health check reads when beat last ran."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(name="governance.tasks.flush_outbox")
def flush_outbox() -> dict:
    """Send the task messages kept in the outbox while the broker was down (beat, every 30 s)."""
    from dataclasses import asdict

    from .outbox import delete_sent, flush

    result = flush()
    result.deleted = delete_sent()
    return asdict(result)


@shared_task(name="governance.tasks.run_outbox_batch", ignore_result=True)
def run_outbox_batch(task_name: str, calls: list) -> int:
    """Several messages of one batchable task that the outbox relay sent as one (governance/outbox.py).

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
