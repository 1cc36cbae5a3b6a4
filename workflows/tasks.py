from celery import shared_task
from viewflow.workflow.timers import fire_due_timers as fire


@shared_task(name="workflows.tasks.fire_due_timers")
def fire_due_timers() -> int:
    """Fire viewflow timers that are due (viewflow ships no Celery task for this; beat runs this one)."""
    return fire()
