from celery import shared_task


@shared_task(name="workflows.tasks.fire_due_timers")
def fire_due_timers() -> int:
    """Fire viewflow timers that are due (viewflow ships no Celery task for this; beat runs this one)."""
    from viewflow.workflow.timers import fire_due_timers as fire

    return fire()


@shared_task(name="workflows.tasks.supervise_overdue")
def supervise_overdue() -> dict:
    """The overdue scan (督办), run by Celery beat; safe to run twice at once."""
    from dataclasses import asdict

    from .supervision import supervise_overdue as scan

    return asdict(scan())


@shared_task(name="workflows.tasks.notify_task_holders")
def notify_task_holders(task_id: int) -> int:
    """待办 notices for a task that just opened (queued after the step's commit)."""
    from .task_notices import notify_task_holders as send

    return send(task_id)
