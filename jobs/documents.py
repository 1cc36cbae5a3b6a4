"""Documents run as jobs: one long document (a PDF or Word file) with its progress, and batches of
documents delivered as one ZIP file. Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

import datetime
import logging
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from django.utils import timezone

from .models import Job
from .runner import JobFailed, Progress, Result

logger = logging.getLogger(__name__)


class Bundle:
    """A ZIP file being written in a temporary file; names are kept unique."""

    def __init__(self):
        handle = tempfile.NamedTemporaryFile(prefix="job-", suffix=".zip", delete=False)
        handle.close()
        self.path = Path(handle.name)
        self.zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED)
        self.names: set[str] = set()
        self.written: list[str] = []

    def unique(self, name: str) -> str:
        stem, dot, suffix = name.rpartition(".")
        candidate, number = name, 2
        while candidate in self.names:
            candidate = f"{stem}（{number}）{dot}{suffix}"
            number += 1
        self.names.add(candidate)
        return candidate

    def add(self, name: str, content: bytes) -> None:
        name = self.unique(name.replace("/", "／"))
        self.zip.writestr(name, content)
        self.written.append(name)

    def close(self, failures: list[tuple[str, str]]) -> None:
        lines = [f"生成时间：{timezone.localtime():%Y-%m-%d %H:%M}", f"已生成 {len(self.written)} 份："]
        lines += [f"  {name}" for name in self.written]
        if failures:
            lines.append(f"生成失败 {len(failures)} 份：")
            lines += [f"  {name}：{message}" for name, message in failures]
        self.zip.writestr(self.unique("生成情况.txt"), "\n".join(lines) + "\n")
        self.zip.close()

    def discard(self) -> None:
        self.zip.close()
        self.path.unlink(missing_ok=True)


def render_all(progress: Progress, documents, render, bundle: Bundle) -> list[tuple[str, str]]:
    """Render each (name, payload) with render(payload) → bytes; a failure is listed and skipped."""
    failures = []
    for name, payload in documents:
        try:
            bundle.add(name, render(payload))
        except Exception as exc:  # one bad document must not stop the others
            logger.exception("document %s failed", name)
            message = f"生成失败：{exc}" if str(exc) else f"生成失败（{type(exc).__name__}）"
            failures.append((name, message))
            progress.fail_item(name, message)
        progress.step()
    return failures


def finish_bundle(progress: Progress, bundle: Bundle, failures, *, zip_name: str, what: str) -> Result:
    if not bundle.written:
        bundle.discard()
        raise JobFailed(f"{what}全部生成失败，未生成压缩包。")
    bundle.close(failures)
    summary = f"已生成 {len(bundle.written)} 份{what}"
    if failures:
        summary += f"，{len(failures)} 份生成失败（见下方列表）"
    return Result(summary=summary + "。", path=bundle.path, filename=zip_name)


# ---------------------------------------------------------------- one document

DOCUMENT_STEPS = 3  # gather the data, lay out the pages, write the file
TWIN_MINUTES = 10


def one_document(progress: Progress, *, build: Callable[[], dict],
                 render: Callable[[dict, Callable[[int], None]], bytes], filename: Callable[[dict], str]) -> Result:
    """A single document as a job's result: build() gathers its data as the owner may see it (raising
    JobFailed with a Chinese reason otherwise), render(data, laid_out) writes the file and calls
    laid_out(pages) once the pages are laid out (PDF only)."""
    progress.start(DOCUMENT_STEPS, "整理数据")
    data = build()
    progress.step()
    progress.stage("排版")

    def laid_out(pages: int) -> None:
        progress.step()
        progress.stage(f"写入文件（共 {pages} 页）")

    content = render(data, laid_out)
    name = filename(data)
    return Result(summary=f"已生成《{name}》。", content=content, filename=name)


def unfinished_twin(owner, kind: str, params: dict) -> Job | None:
    """The owner's same document still queued or being written (a second click opens its progress
    instead of writing it twice); one started over TWIN_MINUTES ago is not waited for."""
    since = timezone.now() - datetime.timedelta(minutes=TWIN_MINUTES)
    return (Job.objects.filter(owner=owner, kind=kind, params=params, created_at__gte=since)
            .exclude(status__in=Job.FINISHED).order_by("-id").first())
