from celery import shared_task

from .retention import purge_job_files as purge
from .runner import run_job  # noqa: F401 (the runner's task, found here by the worker's autodiscovery)


@shared_task(name="jobs.tasks.purge_job_files")
def purge_job_files() -> dict:
    """Daily (celery beat): delete old job files, fail jobs stuck without progress (jobs/retention.py)."""
    return purge()
