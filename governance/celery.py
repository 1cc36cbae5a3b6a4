import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_init, worker_process_init

from governance import pdf
from governance.checks import MISSING_SECRET_KEY, secret_key_missing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Every task queues through the outbox (governance/outbox.py): nothing is lost while Redis is down.
app = Celery("governance", task_cls="governance.outbox:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_to_start_without_secret_key(**kwargs):
    # SystemExit, not ImproperlyConfigured: Celery logs and swallows exceptions raised by signal handlers.
    if secret_key_missing():
        raise SystemExit(MISSING_SECRET_KEY)


@worker_process_init.connect
def _load_the_pdf_engine(**kwargs):
    pdf.warm_up()


app.conf.beat_schedule = {
    # viewflow ships no Celery task for its timers: ours fires them.
    "fire-due-flow-timers": {"task": "workflows.tasks.fire_due_timers", "schedule": 60.0},
    # Overdue event tasks: 督办 notices and automatic escalation (grid/supervision.py).
    "supervise-overdue-tasks": {"task": "workflows.tasks.supervise_overdue", "schedule": 300.0},
    # Messages kept in the outbox while Redis was down go out once it is back.
    "flush-task-outbox": {"task": "governance.tasks.flush_outbox", "schedule": 30.0},
    # 待办/督办 by group robot and SMS that failed or waited for the rate limit (governance/channels.py).
    "deliver-channel-messages": {"task": "governance.tasks.deliver_due_channel_messages", "schedule": 60.0},
    "beat-heartbeat": {"task": "governance.tasks.beat_heartbeat", "schedule": 60.0},
    "remind-late-patrol-work": {"task": "inspection.tasks.remind_late_patrol_work", "schedule": crontab(hour=9, minute=0)},
    "flag-overdue-inspection-letters": {"task": "inspection.tasks.flag_overdue_letters", "schedule": crontab(hour=8, minute=30)},
    "flag-overdue-rectification-items": {"task": "rectification.tasks.flag_overdue_items", "schedule": crontab(hour=8, minute=45)},
    # Uploads and results of jobs finished over JOBS_KEEP_DAYS ago; jobs stuck for a day marked failed.
    "purge-job-files": {"task": "jobs.tasks.purge_job_files", "schedule": crontab(hour=3, minute=15)},
}
