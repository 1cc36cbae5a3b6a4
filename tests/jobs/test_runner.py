"""The runner: progress in chunks, one result per job however often the task is delivered, clean restarts."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance.models import AuditEntry
from grid.job_kinds import EVENT_EXPORT
from grid.models import Event, EventCategory
from inspection.models import PatrolCategory
from inspection.patrol.job_kinds import PATROL_CATALOG_IMPORT
from jobs import runner
from jobs.models import Job
from jobs.runner import Progress, Result


@pytest.fixture
def events(county, personas):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    now = timezone.now()
    return Event.objects.bulk_create([
        Event(reporter=personas["grid_member"], region=county.grid1, handling_region=county.grid1, category=category,
              title=f"事件{n}", description="描述", occurred_at=now - datetime.timedelta(hours=1), idempotency_key=f"r{n}")
        for n in range(12)
    ])


def export_job(user) -> Job:
    return Job.objects.create(kind=EVENT_EXPORT, owner=user, title="导出网格事件", params={"query": {}})


def test_progress_is_written_every_n_items_not_per_item(personas, events, monkeypatch):
    """The real event export, run directly with a chunk of 5: the row is written at the start, after
    items 5 and 10, and at the end — and what was written is visible to another reader meanwhile."""
    job = export_job(personas["township_office"])
    seen = []
    real_flush = Progress.flush

    def flush(self):
        real_flush(self)
        seen.append(Job.objects.values_list("status", "done", "total").get(pk=job.pk))

    monkeypatch.setattr(Progress, "flush", flush)
    finished = runner.run(job.pk, every=5, seconds=3600)

    assert seen == [("running", 0, 12), ("running", 5, 12), ("running", 10, 12)]
    assert (finished.status, finished.done, finished.total, finished.percent) == ("succeeded", 12, 12, 100)
    assert finished.result_file and finished.result_name.endswith(".xlsx")


def test_progress_is_also_written_after_half_a_second(personas, events, monkeypatch):
    job = export_job(personas["township_office"])
    clock = iter(range(0, 10_000))
    monkeypatch.setattr(Progress, "clock", staticmethod(lambda: next(clock) * 0.3))  # each look: +0.3 s
    writes = []
    real_flush = Progress.flush
    monkeypatch.setattr(Progress, "flush", lambda self: (writes.append(self.done), real_flush(self)))
    runner.run(job.pk, every=1000, seconds=0.5)
    assert 1 < len(writes) < 12  # by time, not per item and not only at the start


def test_a_redelivered_finished_job_does_not_run_again(personas, events):
    job = export_job(personas["township_office"])
    first = runner.run(job.pk)
    audit_count = AuditEntry.objects.count()

    assert runner.run(job.pk) is None  # the same task message delivered again
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result_file.name) == ("succeeded", 1, first.result_file.name)
    assert AuditEntry.objects.count() == audit_count
    assert AuditEntry.objects.filter(action="event.export").count() == 1


def test_a_job_interrupted_mid_way_restarts_cleanly(personas, events):
    job = export_job(personas["township_office"])
    # A worker died at item 7 of an earlier delivery: the row still says running, with its progress.
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, run_token="dead", attempts=1, done=7, total=12,
                                         errors=[{"row": None, "item": "x", "message": "旧的"}])
    finished = runner.run(job.pk)

    assert (finished.status, finished.done, finished.total, finished.attempts) == ("succeeded", 12, 12, 2)
    assert finished.errors == []
    assert AuditEntry.objects.filter(action="job.restart", object_id=str(job.pk)).count() == 1
    assert AuditEntry.objects.filter(action="event.export").count() == 1


def test_a_run_taken_over_by_another_delivery_stops_without_writing(personas, monkeypatch):
    job = Job.objects.create(kind=EVENT_EXPORT, owner=personas["outsider"], title="t")

    def handler(job, progress):
        progress.start(10)
        runner._claim(job.pk)  # a second delivery claims the job meanwhile
        for _ in range(10):
            progress.step()
        return Result(summary="不应写入", content=b"x", filename="x.txt")

    monkeypatch.setattr("jobs.runner.handler_for", lambda kind: handler)
    assert runner.run(job.pk, every=2) is None
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 2 and not job.result_file and job.summary == ""


def test_a_superseded_import_commits_nothing(county, personas, monkeypatch):
    """An import commits together with its job's end: a run that lost the job imports nothing."""

    job = Job.objects.create(kind=PATROL_CATALOG_IMPORT, owner=personas["township_office"], title="t",
                             region=county.taiping)

    def handler(job, progress):
        from django.db import transaction

        with transaction.atomic():
            progress.lock()
            PatrolCategory.objects.create(township=county.taiping, name="写了一半", lead_department=county.agriculture)
            Job.objects.filter(pk=job.pk).update(run_token="other-delivery")
            progress.finish(Result(summary="完成"))

    monkeypatch.setattr("jobs.runner.handler_for", lambda kind: handler)
    assert runner.run(job.pk) is None
    assert not PatrolCategory.objects.filter(name="写了一半").exists()


def test_an_unexpected_error_fails_the_job_in_chinese_and_is_not_raised(personas, monkeypatch):
    job = Job.objects.create(kind=EVENT_EXPORT, owner=personas["outsider"], title="t")

    def handler(job, progress):
        progress.start(3)
        progress.step()
        raise RuntimeError("boom")

    monkeypatch.setattr("jobs.runner.handler_for", lambda kind: handler)
    finished = runner.run(job.pk)
    assert finished.status == "failed" and "任务执行出错" in finished.summary and "boom" not in finished.summary
    assert finished.finished_at and finished.done == 1
    assert AuditEntry.objects.get(action="job.finish", object_id=str(job.pk)).after["status"] == "failed"


def test_the_export_job_stops_when_the_owner_lost_the_permission(personas, events):
    job = export_job(personas["outsider"])
    finished = runner.run(job.pk)
    assert finished.status == "failed" and "权限" in finished.summary and not finished.result_file


def test_old_files_are_purged_and_stuck_jobs_marked_failed(personas, events):

    job = export_job(personas["township_office"])
    finished = runner.run(job.pk)
    storage, name = finished.result_file.storage, finished.result_file.name
    assert storage.exists(name)
    stuck = Job.objects.create(kind=EVENT_EXPORT, owner=personas["outsider"], title="卡住的任务",
                               status=Job.Status.RUNNING, heartbeat_at=timezone.now() - datetime.timedelta(days=2))
    recent = export_job(personas["township_office"])

    call_command("purge_job_files", "--days", "7")  # the result is new: kept
    assert storage.exists(name)
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=8))
    call_command("purge_job_files", "--days", "7")

    job.refresh_from_db()
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert not storage.exists(name) and not job.result_file and job.result_name  # the row and its name stay
    assert stuck.status == "failed" and "中断" in stuck.summary
    assert recent.status == "queued"
