"""Running a Job: claim it, report progress, finish it exactly once.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from governance import audit

from . import kinds
from .models import Job

logger = logging.getLogger(__name__)

MAX_ERRORS = 2000  # a file of 100,000 bad rows still lists the first 2,000 (and says how many in all)


class Superseded(Exception):
    """Another delivery of the task has taken the job over; this run stops without writing."""


class JobFailed(Exception):
    """The whole job fails: `message` (Chinese) says why, `errors` lists the bad rows or documents."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass
class Result:
    """What a job produced: a summary line and, optionally, a file (bytes or a temporary file's path)."""

    summary: str
    content: bytes | None = None
    path: Path | None = None
    filename: str = ""
    url: str = ""
    extra_errors: list[dict] = field(default_factory=list)

    @property
    def has_file(self) -> bool:
        return self.content is not None or self.path is not None


def row_error(row: int | None, message: str) -> dict:
    return {"row": row, "item": "", "message": message}


def item_error(item: str, message: str) -> dict:
    return {"row": None, "item": item, "message": message}


class Progress:
    """Counts the work done and writes it to the job row now and then (not once per item)."""

    clock = staticmethod(time.monotonic)

    def __init__(self, job: Job, token: str, *, every: int | None = None, seconds: float | None = None):
        self.job = job
        self.token = token
        self.every = max(1, every or getattr(settings, "JOBS_PROGRESS_EVERY", 1000))
        self.seconds = seconds if seconds is not None else getattr(settings, "JOBS_PROGRESS_SECONDS", 0.5)
        self.done = 0
        self.total = 0
        self.stage_text = ""
        self.errors: list[dict] = []
        self.error_count = 0
        self.writes = 0
        self._written_done = 0
        self._written_at = self.clock()

    # -- counting
    def start(self, total: int, stage: str = "") -> None:
        self.total, self.done = max(0, int(total)), 0
        if stage:
            self.stage_text = stage
        self.flush()

    def stage(self, text: str) -> None:
        self.stage_text = text
        self.flush()

    def step(self, count: int = 1) -> None:
        self.done += count
        self.maybe_flush()

    def set_done(self, done: int) -> None:
        """For code that reports how far it is (export_events' progress callback)."""
        self.done = done
        self.maybe_flush()

    def fail_item(self, item: str, message: str) -> None:
        self._add_error(item_error(item, message))

    def fail_row(self, row: int | None, message: str) -> None:
        self._add_error(row_error(row, message))

    def _add_error(self, error: dict) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)

    # -- writing
    def maybe_flush(self) -> None:
        if self.done - self._written_done >= self.every or self.clock() - self._written_at >= self.seconds:
            self.flush()

    def flush(self) -> None:
        updated = Job.objects.filter(pk=self.job.pk, run_token=self.token, status=Job.Status.RUNNING).update(
            done=min(self.done, 2**31 - 1), total=self.total, stage=self.stage_text[:100], errors=self.errors,
            heartbeat_at=timezone.now(),
        )
        self.writes += 1
        self._written_done, self._written_at = self.done, self.clock()
        if not updated:
            raise Superseded(self.job.pk)

    def lock(self) -> Job:
        """Inside a transaction: lock the job row and make sure this run still owns it (for work that must
        commit together with the job's end, such as an import)."""
        job = Job.objects.select_for_update().filter(pk=self.job.pk, run_token=self.token,
                                                     status=Job.Status.RUNNING).first()
        if job is None:
            raise Superseded(self.job.pk)
        return job

    def finish(self, result: Result) -> Job:
        return _finish(self, result)


# ---------------------------------------------------------------- queueing


def start_job(*, kind: str, owner, title: str, params: dict | None = None, region=None, upload=None) -> Job:
    """Create the job (audited as started by its owner) and queue it once the transaction commits."""
    with transaction.atomic():
        job = Job(kind=kind, title=title[:200], owner=owner, region=region, params=params or {})
        if upload is not None:
            job.input_name = Path(upload.name).name[:255]
            job.input_file.save(_safe_name(upload.name), upload, save=False)
        job.save()
        audit.record("job.start", actor=owner, obj=job,
                     after={"kind": kind, "title": job.title, "params": job.params, "file": job.input_name})
        transaction.on_commit(lambda: run_job.delay(job.pk))
    return job


def _safe_name(name: str) -> str:
    suffix = Path(name).suffix.lower()[:10]
    return f"upload{suffix}"


# ---------------------------------------------------------------- running


def run(job_id: int, *, every: int | None = None, seconds: float | None = None) -> Job | None:
    """Run the job once (see the module docstring). Never raises for the job's own failures: they are
    recorded on the job. Returns the job as this run left it, or None when there was nothing to do."""
    claimed = _claim(job_id)
    if claimed is None:
        return None
    job, token = claimed
    progress = Progress(job, token, every=every, seconds=seconds)
    try:
        result = handler_for(job.kind)(job, progress)
        job.refresh_from_db()
        if job.run_token == token and job.status == Job.Status.RUNNING:
            _finish(progress, result)
    except Superseded:
        logger.info("job %s taken over by another delivery; this run stops", job_id)
        return None
    except JobFailed as exc:
        for error in exc.errors:
            progress._add_error(error)
        _fail(progress, exc.message)
    except Exception:  # the job's own failure: recorded on it, never re-raised into the worker or request
        logger.exception("job %s failed", job_id)
        _fail(progress, "任务执行出错，未生成结果。请稍后重试；仍有问题请联系系统管理员。")
    job.refresh_from_db()
    return job


def _claim(job_id: int) -> tuple[Job, str] | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("owner").filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        restarted = job.status == Job.Status.RUNNING
        token = uuid.uuid4().hex
        now = timezone.now()
        job.status, job.run_token, job.attempts = Job.Status.RUNNING, token, job.attempts + 1
        job.started_at, job.heartbeat_at = now, now
        job.done, job.total, job.errors, job.stage, job.summary = 0, 0, [], "", ""
        job.save(update_fields=["status", "run_token", "attempts", "started_at", "heartbeat_at", "done", "total",
                                "errors", "stage", "summary"])
        if restarted:
            audit.record("job.restart", actor=job.owner, obj=job, after={"attempt": job.attempts})
    return job, token


def _store_result(job: Job, result: Result) -> None:
    name = result.filename or "result"
    if result.path is not None:
        with open(result.path, "rb") as handle:
            job.result_file.save(name, File(handle), save=False)
    elif result.content is not None:
        job.result_file.save(name, ContentFile(result.content), save=False)
    job.result_name = name[:255]


def _finish(progress: Progress, result: Result) -> Job:
    for error in result.extra_errors:
        progress._add_error(error)
    if progress.error_count and not result.has_file and not result.url:
        status = Job.Status.FAILED
    elif progress.error_count:
        status = Job.Status.PARTLY_FAILED
    else:
        status = Job.Status.SUCCEEDED
    stored = None
    try:
        with transaction.atomic():
            job = progress.lock()
            if result.has_file:
                _store_result(job, result)
                stored = job.result_file.name
            job.status, job.summary, job.result_url = status, result.summary, result.url[:300]
            job.done = progress.total if status == Job.Status.SUCCEEDED and progress.total else progress.done
            job.total, job.errors, job.stage = progress.total, progress.errors, ""
            job.finished_at = job.heartbeat_at = timezone.now()
            job.save()
            audit.record("job.finish", actor=job.owner, obj=job, after=_finish_facts(job, progress))
    except BaseException:
        if stored:
            job.result_file.storage.delete(stored)
        raise
    finally:
        if result.path is not None:
            Path(result.path).unlink(missing_ok=True)
    return job


def _fail(progress: Progress, message: str) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=progress.job.pk, run_token=progress.token,
                                                     status=Job.Status.RUNNING).first()
        if job is None:
            return
        job.status, job.summary, job.stage = Job.Status.FAILED, message, ""
        job.done, job.total, job.errors = progress.done, progress.total, progress.errors
        job.finished_at = job.heartbeat_at = timezone.now()
        job.save()
        audit.record("job.finish", actor=job.owner, obj=job, after=_finish_facts(job, progress))


def _finish_facts(job: Job, progress: Progress) -> dict:
    return {"kind": job.kind, "status": job.status, "done": job.done, "total": job.total,
            "errors": progress.error_count, "summary": job.summary[:500], "file": job.result_name}


# ---------------------------------------------------------------- kinds and the task


Handler = Callable[[Job, Progress], Result]


def register(kind: str, handler: Handler, *, label: str, running_label: str = "", may_see=None) -> None:
    """Which function does the work of a kind of job and its Chinese label; each app registers its kinds
    in its `job_kinds` module, which JobsConfig.ready imports (as the admin finds `admin` modules).
    `running_label` and `may_see`: see jobs.kinds.JobKind."""
    kinds.register(kind, handler, label=label, running_label=running_label, may_see=may_see)


def handler_for(kind: str) -> Handler:
    return kinds.handler_for(kind)


@shared_task(name="jobs.tasks.run_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             runs_in_background=True)
def run_job(job_id: int) -> None:
    """Run one long job; safe to deliver twice."""
    run(job_id)
