from celery import shared_task


@shared_task(name="jobs.tasks.run_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int) -> None:
    """Run one long job (jobs/runner.py); safe to deliver twice."""
    from .runner import run

    run(job_id)


@shared_task(name="jobs.tasks.purge_job_files")
def purge_job_files() -> dict:
    """Daily (celery beat): delete old job files, fail jobs stuck without progress (jobs/retention.py)."""
    from .retention import purge_job_files as purge

    return purge()
