"""Files of finished jobs are kept for settings.JOBS_KEEP_DAYS days, then deleted (the job row stays, as
the audit trail's object); a job stuck queued or running without progress for a day is marked failed."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from governance import audit

from .models import Job

STALE_AFTER = datetime.timedelta(hours=24)


def purge_job_files(*, days: int | None = None, now: datetime.datetime | None = None) -> dict:
    days = getattr(settings, "JOBS_KEEP_DAYS", 7) if days is None else days
    now = now or timezone.now()
    purged = 0
    old = Job.objects.filter(status__in=Job.FINISHED, finished_at__lt=now - datetime.timedelta(days=days)).filter(
        ~Q(result_file="") | ~Q(input_file=""))
    for job in old.iterator():
        for field in (job.result_file, job.input_file):
            if field:
                field.delete(save=False)
        Job.objects.filter(pk=job.pk).update(result_file="", input_file="")
        purged += 1
    stale = 0
    cutoff = now - STALE_AFTER
    for job in Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)):
        with transaction.atomic():
            updated = Job.objects.filter(pk=job.pk, status=job.status, run_token=job.run_token).update(
                status=Job.Status.FAILED, finished_at=now,
                summary="任务已中断（超过 24 小时没有进展），未生成结果。请重新发起。")
            if updated:
                audit.record("job.finish", actor=job.owner, obj=job, after={"kind": job.kind, "status": "failed",
                                                                             "reason": "stale"})
                stale += 1
    return {"purged": purged, "stale": stale}
