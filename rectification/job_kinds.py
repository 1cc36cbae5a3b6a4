"""Rectification's background jobs: a plan imported from a file, and a round's progress notices as one
ZIP (one notice per plan of the round that the user may see: the latest version where one was drafted,
else the plan's live text).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from grid.access import get_object_for_user, scope
from inspection.models import InspectionRound
from jobs.documents import Bundle, finish_bundle, one_document, render_all, unfinished_twin
from jobs.imports import import_in_job_transaction, require_perms, warnings_text
from jobs.models import Job
from jobs.runner import JobFailed, Progress, Result, register, start_job

from . import notices
from .imports import import_rectification
from .models import ProgressNotice, RectificationPlan

RECTIFICATION_IMPORT_PERM = "rectification.add_rectificationplan"

# Rectification's kinds of job (keys stored in jobs.Job.kind; labels registered below).
RECTIFICATION_IMPORT = "rectification_import"
NOTICE_BATCH = "notice_batch"
NOTICE_DOCUMENT = "notice_document"


def run_rectification_import(job: Job, progress: Progress) -> Result:
    user, organisation = job.owner, job.region
    if organisation is None:
        raise JobFailed("整改党组织已不存在，未导入任何数据。")
    require_perms(user, (RECTIFICATION_IMPORT_PERM,), organisation,
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
        return Result(summary="\n".join(lines) + warnings_text(outcome.result),
                      url=reverse("rectification:plan_detail", args=[outcome.plan.pk]))

    return import_in_job_transaction(job, progress, run)


NOTICE_VIEW_PERM = "rectification.view_rectificationplan"


def round_plans(user, round_id: int):
    return (scope(user, RectificationPlan.objects.filter(round_id=round_id), NOTICE_VIEW_PERM)
            .select_related("organisation", "round").order_by("organisation__path"))


def run_notice_batch(job: Job, progress: Progress) -> Result:
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
        failures = render_all(progress, documents(), render, bundle)
    except BaseException:
        bundle.discard()
        raise
    return finish_bundle(progress, bundle, failures, zip_name=f"{round.name}整改进展情况通报.zip", what="整改进展情况通报")


# ---------------------------------------------------------------- one notice (PDF or Word) with its progress

# Formats written as a job; the HTML preview is quick and stays a page.
JOB_FORMATS = ("pdf", "docx")


def notice_for(user, pk) -> ProgressNotice:
    """A version of a plan's notice, for a user who may see the plan (404 otherwise)."""
    notice = ProgressNotice.objects.select_related("plan").filter(pk=pk).first()
    if notice is None:
        raise Http404("通报不存在。")
    get_object_for_user(user, RectificationPlan.objects.all(), NOTICE_VIEW_PERM, pk=notice.plan_id)
    return notice


def may_see_notice(user, job: Job) -> bool:
    try:
        notice_for(user, job.params["notice"])
    except (Http404, PermissionDenied):
        return False
    return True


def run_notice_document(job: Job, progress: Progress) -> Result:
    user, fmt = job.owner, job.params["format"]

    def build() -> dict:
        try:
            notice = notice_for(user, job.params["notice"])
        except (Http404, PermissionDenied) as exc:
            raise JobFailed("通报不存在或您已无权查看。") from exc
        return notices.notice_data(notice)

    def render(data: dict, laid_out) -> bytes:
        return notices.render_pdf(data, laid_out=laid_out) if fmt == "pdf" else notices.render(data, fmt)

    return one_document(progress, build=build, render=render, filename=lambda data: notices.filename(data, fmt))


def start_notice_document(user, notice: ProgressNotice, fmt: str) -> Job:
    """The notice as a job (or the same one still running); the caller has checked that the user may see it."""
    params = {"notice": notice.pk, "format": fmt}
    twin = unfinished_twin(user, NOTICE_DOCUMENT, params)
    if twin is not None:
        return twin
    plan = notice.plan
    return start_job(kind=NOTICE_DOCUMENT, owner=user, region=plan.organisation, params=params,
                     title=f"生成{plan.organisation.name}整改进展情况通报第{notice.version}版（{fmt.upper()}）")


register(RECTIFICATION_IMPORT, run_rectification_import, label="导入整改方案")
register(NOTICE_BATCH, run_notice_batch, label="批量生成整改进展情况通报")
register(NOTICE_DOCUMENT, run_notice_document, label="生成整改进展情况通报", running_label="生成中",
         may_see=may_see_notice)
