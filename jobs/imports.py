"""Imports run as jobs: the importers of inspection/imports.py and rectification/imports.py, unchanged.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.db import transaction
from django.urls import reverse

from governance.tabular import ImportFailed, read_table
from grid.models import Region

from .models import Job
from .runner import JobFailed, Progress, Result, row_error

PATROL_IMPORT_PERMS = ("inspection.add_catalogitem", "inspection.register_patrolfinding")
RECTIFICATION_IMPORT_PERM = "rectification.add_rectificationplan"


@contextmanager
def local_copy(job: Job):
    """The uploaded file as a local path with its suffix (the importers read by path and suffix)."""
    if not job.input_file:
        raise JobFailed("没有上传文件。")
    suffix = Path(job.input_name or job.input_file.name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="job-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with job.input_file.open("rb") as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target)
        yield path


def _count_rows(path: Path) -> int:
    try:
        return len(read_table(path, required=()))
    except ImportFailed as exc:
        raise JobFailed(exc.message) from exc


def _failed(exc: ImportFailed, progress: Progress) -> JobFailed:
    if exc.errors:  # every row was checked: the bar shows the whole file done, in red
        progress.done = progress.total
    return JobFailed(exc.message, [row_error(error.row, error.message) for error in exc.errors])


def _warnings(result) -> str:
    return "".join(f"\n提示：{warning}" for warning in result.warnings)


def _require(user, perms: tuple[str, ...], region: Region, message: str) -> None:
    if not all(user.has_perm(perm, region) for perm in perms):
        raise JobFailed(message)


def run_patrol_import(job: Job, progress: Progress) -> Result:
    from inspection.imports import import_patrol_catalog, import_patrol_findings, import_patrol_reports

    importer, what, url_name = {
        Job.Kind.PATROL_CATALOG_IMPORT: (import_patrol_catalog, "巡查目录", "patrol:catalog"),
        Job.Kind.PATROL_REPORTS_IMPORT: (import_patrol_reports, "村（居）历史上报", "patrol:reports"),
        Job.Kind.PATROL_FINDINGS_IMPORT: (import_patrol_findings, "巡查发现问题", "patrol:findings"),
    }[job.kind]
    user, township = job.owner, job.region
    if township is None:
        raise JobFailed("乡镇已不存在，未导入任何数据。")
    _require(user, PATROL_IMPORT_PERMS, township, f"您已没有在{township.name}导入大巡查数据的权限，未导入任何数据。")

    def run(path) -> Result:
        result = importer(path, township=township, by=user)
        return Result(summary=f"{township.name}{what}导入完成：{result.summary}。{_warnings(result)}",
                      url=reverse(url_name))

    return _import_in_job_transaction(job, progress, run)


def run_rectification_import(job: Job, progress: Progress) -> Result:
    from rectification.imports import import_rectification

    user, organisation = job.owner, job.region
    if organisation is None:
        raise JobFailed("整改党组织已不存在，未导入任何数据。")
    _require(user, (RECTIFICATION_IMPORT_PERM,), organisation,
             f"您已没有为{organisation.name}导入整改方案的权限，未导入任何数据。")
    params = job.params

    def run(path) -> Result:
        outcome = import_rectification(
            path, organisation=organisation, round=params["round"], group=params.get("group") or None,
            inspected=params.get("inspected") or None, feedback_date=params.get("feedback_date") or None,
            by=user,
        )
        lines = []
        if outcome.round_created:
            r = outcome.round
            lines.append(f"已新建巡察轮次“{r.name}”（{r.term}第 {r.number} 轮，{r.arrival_date} 至 "
                         f"{r.withdrawal_date}）。")
        if outcome.plan_created:
            lines.append(f"已新建整改方案“{outcome.plan.title}”。")
        lines.append(f"{outcome.summary}。")
        return Result(summary="\n".join(lines) + _warnings(outcome.result),
                      url=reverse("rectification:plan_detail", args=[outcome.plan.pk]))

    return _import_in_job_transaction(job, progress, run)


def _import_in_job_transaction(job: Job, progress: Progress, run) -> Result:
    """Run an all-or-nothing importer on the job's file; the job's finish commits with the import (both
    or neither), and an ImportFailed becomes the job's list of failed rows."""
    with local_copy(job) as path:
        progress.start(_count_rows(path), "读取文件")
        progress.stage(f"校验并导入 {progress.total} 行")
        try:
            with transaction.atomic():
                progress.lock()
                done = run(path)
                progress.done = progress.total
                progress.finish(done)
                return done
        except ImportFailed as exc:
            raise _failed(exc, progress) from exc
