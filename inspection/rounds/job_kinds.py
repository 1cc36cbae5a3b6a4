"""The inspection round's background jobs: a group's report or list as a PDF, laid out with its progress
(the Word and Excel files take tens of milliseconds and stay direct downloads)."""

from __future__ import annotations

from jobs.documents import one_document, unfinished_twin
from jobs.models import Job
from jobs.runner import JobFailed, Progress, Result, register, start_job

from ..models import InspectionGroup
from . import group_reports as round_reports

ROUND_REPORT_DOCUMENT = "round_report_document"
JOB_FORMATS = ("pdf",)


def _group(user, params: dict) -> InspectionGroup | None:
    """The group while the user may still see this document of it (clues and talks: their narrower rules)."""
    group = InspectionGroup.objects.select_related("round", "township__tier", "leader").filter(pk=params["group"]).first()
    if group is None or not round_reports.may_view_document(user, group, params["kind"]):
        return None
    return group


def may_see_round_report(user, job: Job) -> bool:
    return _group(user, job.params) is not None


def run_round_report_document(job: Job, progress: Progress) -> Result:
    user, params = job.owner, job.params
    written = {}

    def build() -> dict:
        group = _group(user, params)
        if group is None:
            raise JobFailed("巡察组不存在或您已无权查看该报告。")
        return {"group": group}

    def render(found: dict, laid_out) -> bytes:
        content, written["data"] = round_reports.export(found["group"], params["kind"], "pdf", by=user,
                                                        laid_out=laid_out)
        return content

    return one_document(progress, build=build, render=render,
                        filename=lambda _: round_reports.filename(written["data"], "pdf"))


def start_round_report_document(user, group: InspectionGroup, kind: str) -> Job:
    """The document as a job (or the same one still running); the caller has checked that the user may see it."""
    params = {"group": group.pk, "kind": kind, "format": "pdf"}
    twin = unfinished_twin(user, ROUND_REPORT_DOCUMENT, params)
    if twin is not None:
        return twin
    return start_job(kind=ROUND_REPORT_DOCUMENT, owner=user, region=group.township, params=params,
                     title=f"生成{group.name}{round_reports.KINDS[kind]}（PDF）")


register(ROUND_REPORT_DOCUMENT, run_round_report_document, label="生成巡察报告", running_label="生成中",
         may_see=may_see_round_report)
