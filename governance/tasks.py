from dataclasses import asdict

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from .channels import deliver_channel_messages_task, deliver_due_channel_messages  # noqa: F401 (registered here)
from .outbox import delete_sent, flush, run_outbox_batch  # noqa: F401 (the relay's batch task, registered here too)

BEAT_HEARTBEAT_KEY = "governance:beat-heartbeat"


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
    result = flush()
    result.deleted = delete_sent()
    return asdict(result)
