"""The grid's Celery tasks, found here by the worker's autodiscovery. Their names keep the prefix they
were first published under ("workflows.tasks."): beat's schedule and messages kept in the outbox carry them."""

from dataclasses import asdict

from celery import shared_task
from django.db import transaction

from .supervision import escalate_overdue_tasks_task as escalate_overdue_tasks  # noqa: F401
from .supervision import supervise_batch_task as supervise_batch  # noqa: F401
from .supervision import supervise_overdue as scan
from .task_notices import notify_task_holders_task as notify_task_holders  # noqa: F401


@shared_task(name="workflows.tasks.supervise_overdue")
def supervise_overdue() -> dict:
    """The overdue scan (督办), run by Celery beat; safe to run twice at once.

    One transaction: the scan claims deadlines (supervised_at) and queues each claimed batch
    (`supervise_batch`) only when it commits, so a worker killed in between undoes the claims and
    the redelivered task claims them again; no claimed batch is left without its message. (Eager
    Celery, the embedded run: the batches are supervised inside this transaction.)"""
    with transaction.atomic():
        return asdict(scan())
