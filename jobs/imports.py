"""Imports run as jobs: an app's all-or-nothing importer, unchanged, inside the job's transaction.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django import forms
from django.conf import settings
from django.db import transaction

from governance.tabular import ImportFailed, read_table

from .models import Job
from .runner import JobFailed, Progress, Result, row_error

UPLOAD_SUFFIXES = {".xlsx", ".xlsm", ".csv"}


def clean_upload(upload):
    """An import file: .xlsx or .csv, not empty, within the document size limit."""
    suffix = Path(upload.name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise forms.ValidationError("请上传 .xlsx 或 .csv 文件（.xls、WPS 文件请先另存为 .xlsx）。")
    if not upload.size:
        raise forms.ValidationError("上传的文件是空的。")
    if upload.size > settings.EVIDENCE_MAX_DOCUMENT_BYTES:
        limit = settings.EVIDENCE_MAX_DOCUMENT_BYTES // (1024 * 1024)
        raise forms.ValidationError(f"文件超过 {limit} MB，请拆分后分批导入。")
    return upload


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


def count_rows(path: Path) -> int:
    try:
        return len(read_table(path, required=()))
    except ImportFailed as exc:
        raise JobFailed(exc.message) from exc


def import_failed(exc: ImportFailed, progress: Progress) -> JobFailed:
    if exc.errors:  # every row was checked: the bar shows the whole file done, in red
        progress.done = progress.total
    return JobFailed(exc.message, [row_error(error.row, error.message) for error in exc.errors])


def warnings_text(result) -> str:
    return "".join(f"\n提示：{warning}" for warning in result.warnings)


def require_perms(user, perms: tuple[str, ...], region, message: str) -> None:
    if not all(user.has_perm(perm, region) for perm in perms):
        raise JobFailed(message)


def import_in_job_transaction(job: Job, progress: Progress, run) -> Result:
    """Run an all-or-nothing importer on the job's file; the job's finish commits with the import (both
    or neither), and an ImportFailed becomes the job's list of failed rows."""
    with local_copy(job) as path:
        progress.start(count_rows(path), "读取文件")
        progress.stage(f"校验并导入 {progress.total} 行")
        try:
            with transaction.atomic():
                progress.lock()
                done = run(path)
                progress.done = progress.total
                progress.finish(done)
                return done
        except ImportFailed as exc:
            raise import_failed(exc, progress) from exc
