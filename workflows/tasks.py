from celery import shared_task


@shared_task(name="workflows.tasks.fire_due_timers")
def fire_due_timers() -> int:
    """Fire viewflow timers that are due (viewflow ships no Celery task for this; beat runs this one)."""
    from viewflow.workflow.timers import fire_due_timers as fire

    return fire()


@shared_task(name="workflows.tasks.supervise_overdue")
def supervise_overdue() -> dict:
    """The overdue scan (督办), run by Celery beat; safe to run twice at once.

    One transaction: the scan claims deadlines (supervised_at) and queues each claimed batch
    (`supervise_batch`) only when it commits, so a worker killed in between undoes the claims and
    the redelivered task claims them again; no claimed batch is left without its message. (Eager
    Celery, the embedded run: the batches are supervised inside this transaction.)"""
    from dataclasses import asdict

    from django.db import transaction

    from .supervision import supervise_overdue as scan

    with transaction.atomic():
        return asdict(scan())


@shared_task(name="workflows.tasks.notify_task_holders", ignore_result=True, outbox_batchable=True)
def notify_task_holders(task_id: int) -> int:
    """待办 notices for a task that just opened (queued after the step's commit).

    Nobody reads the results of this and the supervision batches: without ignore_result, every publish
    also subscribes to the result's channel in Redis (~0.4 ms of a ~1 ms publish, measured). Idempotent
    (dedupe key per task and user), so the outbox relay may send several in one message."""
    from .task_notices import notify_task_holders as send

    return send(task_id)


@shared_task(name="workflows.tasks.escalate_overdue_tasks", ignore_result=True)
def escalate_overdue_tasks(task_ids: list[int]) -> int:
    """Automatic escalation of the overdue handle tasks one scan batch found (idempotent per task)."""
    from .supervision import escalate_overdue_tasks as escalate

    return escalate(task_ids)


@shared_task(name="workflows.tasks.supervise_batch", ignore_result=True)
def supervise_batch(deadline_ids: list[int], now: str) -> dict:
    """One batch of due deadlines an overdue scan claimed: notices, overdue marks, audit, escalations."""
    import datetime
    from dataclasses import asdict

    from .supervision import supervise_batch as supervise

    return asdict(supervise(deadline_ids, datetime.datetime.fromisoformat(now)))
