"""Batches of documents run as jobs, delivered as one ZIP file.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

import copy
import datetime
import logging
import tempfile
import zipfile
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from governance import audit
from grid.access import scope

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


def _render_all(progress: Progress, documents, render, bundle: Bundle) -> list[tuple[str, str]]:
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


def _finish_bundle(progress: Progress, bundle: Bundle, failures, *, zip_name: str, what: str) -> Result:
    if not bundle.written:
        bundle.discard()
        raise JobFailed(f"{what}全部生成失败，未生成压缩包。")
    bundle.close(failures)
    summary = f"已生成 {len(bundle.written)} 份{what}"
    if failures:
        summary += f"，{len(failures)} 份生成失败（见下方列表）"
    return Result(summary=summary + "。", path=bundle.path, filename=zip_name)


# ---------------------------------------------------------------- big-patrol circulars


def village_circular(data: dict, village: str) -> dict:
    """The township's circular cut to one village: its rank and score, its details; township totals kept."""
    part = copy.deepcopy(data)
    part["title"] = f"{data['title']}（{village}）"
    if data["kind"] == "month":
        part["ranking"] = [row for row in data["ranking"] if row["village"] == village]
        part["details"] = [row for row in data["details"] if row["village"] == village]
        part["unchecked_villages"] = [name for name in data["unchecked_villages"] if name == village]
    else:
        part["rows"] = [row for row in data["rows"] if row["village"] == village]
    return part


def circular_villages(data: dict) -> list[str]:
    rows = data["ranking"] if data["kind"] == "month" else data["rows"]
    names = [row["village"] for row in rows]
    return sorted(set(names), key=names.index)


def run_circular_batch(job: Job, progress: Progress) -> Result:
    from inspection import circulars
    from inspection.circular_views import _circular_data, _township_for

    user, params = job.owner, job.params
    try:
        township, full = _township_for(user, params["township"])
    except (Http404, PermissionDenied) as exc:
        raise JobFailed("乡镇不存在或您已无权查看其考评通报。") from exc
    if not full:
        raise JobFailed(f"您只能查看{township.name}已发布的通报，不能批量生成各村通报。")
    kind, fmt = params["kind"], params["format"]
    if kind == "month":
        period = datetime.date.fromisoformat(params["period"] + "-01")
    else:
        year, quarter = params["period"].split("Q")
        period = (int(year), int(quarter))
    data, _ = _circular_data(township, full, kind, period)
    villages = circular_villages(data)
    documents = [(circulars.filename(data, fmt), data)]
    documents += [(circulars.filename(village_circular(data, name), fmt), village_circular(data, name))
                  for name in villages]
    progress.start(len(documents), f"生成{len(documents)}份{fmt.upper()}")
    bundle = Bundle()
    try:
        failures = _render_all(progress, documents, lambda doc: circulars.render(doc, fmt), bundle)
    except BaseException:
        bundle.discard()
        raise
    audit.record("patrol_circular.export", actor=user, obj=township, object_repr=data["title"],
                 after={"kind": kind, "period": data["period"], "format": fmt, "batch": True,
                        "documents": len(bundle.written), "failed": [name for name, _ in failures]})
    return _finish_bundle(progress, bundle, failures, zip_name=f"{data['title']}（各村）.zip", what="考评通报")


# ---------------------------------------------------------------- rectification progress notices


NOTICE_VIEW_PERM = "rectification.view_rectificationplan"


def round_plans(user, round_id: int):
    from rectification.models import RectificationPlan

    return (scope(user, RectificationPlan.objects.filter(round_id=round_id), NOTICE_VIEW_PERM)
            .select_related("organisation", "round").order_by("organisation__path"))


def run_notice_batch(job: Job, progress: Progress) -> Result:
    from inspection.models import InspectionRound
    from rectification import notices

    user, params = job.owner, job.params
    fmt = params["format"]
    round = InspectionRound.objects.filter(pk=params["round"]).first()
    plans = list(round_plans(user, params["round"])) if round else []
    if not plans:
        raise JobFailed("该巡察轮次没有您可以查看的整改方案。")
    progress.start(len(plans), f"生成{len(plans)}份通报")

    def documents():
        for plan in plans:
            latest = plan.notices.order_by("-version").first()
            try:
                data = notices.notice_data(latest) if latest else notices.build_notice(plan)
                name = notices.filename(data, fmt)
            except Exception as exc:  # the data itself could not be gathered: list it as failed
                yield plan.organisation.name, exc
                continue
            yield f"{plan.organisation.name}_{name}", data

    def render(payload):
        if isinstance(payload, Exception):
            raise payload
        return notices.render(payload, fmt)

    bundle = Bundle()
    try:
        failures = _render_all(progress, documents(), render, bundle)
    except BaseException:
        bundle.discard()
        raise
    return _finish_bundle(progress, bundle, failures, zip_name=f"{round.name}整改进展情况通报.zip", what="整改进展情况通报")

