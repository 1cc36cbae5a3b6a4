"""The owner's pages of a job: my jobs, one job's progress (HTML and JSON) and its result file.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from governance.listing import FilterForm, Sorts
from governance.site import SitePageMixin

from . import kinds
from .models import Job, owned_jobs

JSON_ERRORS = 200


def job_for(user, pk) -> Job:
    """The user's own job, while its result is still theirs to see (a document's own rule, asked again)."""
    job = owned_jobs(user).filter(pk=pk).select_related("region").first()
    if job is None or not kinds.may_see(job.kind, user, job):
        raise Http404("任务不存在或不是您发起的。")
    return job


def job_state(job: Job) -> dict:
    """What the progress page shows, as JSON (also the data of the polling endpoint)."""
    return {
        "id": job.pk,
        "title": job.title,
        "status": job.status,
        "status_label": job.status_label,
        "finished": job.is_finished,
        "stage": job.stage,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "summary": job.summary,
        "errors": job.errors[:JSON_ERRORS],  # the finished page lists them all
        "error_count": len(job.errors),
        "result_url": reverse("jobs:result", args=[job.pk]) if job.result_file else "",
        "result_name": job.result_name,
        "record_url": job.result_url,
    }


JOB_SORTS = Sorts(("最新发起在前", ("-id",)), oldest=("最早发起在前", ("id",)))


class JobFilterForm(FilterForm):
    """My jobs: by status, in either order. A person's own few jobs need no search and no export."""

    STATUS_CHOICES = [("", "全部"), ("open", "未结束"), *Job.Status.choices]

    status = forms.ChoiceField(label="状态", required=False, choices=STATUS_CHOICES)
    sort = JOB_SORTS.field()

    def filter(self, jobs):
        data = self.valid_values()
        if data.get("status") == "open":
            jobs = jobs.exclude(status__in=Job.FINISHED)
        elif data.get("status"):
            jobs = jobs.filter(status=data["status"])
        return JOB_SORTS.apply(jobs, data.get("sort"))


class JobListView(LoginRequiredMixin, SitePageMixin, TemplateView):
    template_name = "jobs/job_list.html"

    def get_context_data(self, **kwargs):
        form = JobFilterForm(self.request.GET or None)
        jobs = form.filter(owned_jobs(self.request.user))
        page = Paginator(jobs, 30).get_page(self.request.GET.get("page"))
        return super().get_context_data(page_title="后台任务", form=form, page=page, **kwargs)


class JobDetailView(LoginRequiredMixin, SitePageMixin, TemplateView):
    template_name = "jobs/job_detail.html"

    def get_context_data(self, **kwargs):
        job = job_for(self.request.user, kwargs["pk"])
        return super().get_context_data(page_title=job.title, job=job, state=job_state(job), **kwargs)


class JobStatusView(LoginRequiredMixin, View):
    def get(self, request, pk):
        response = JsonResponse(job_state(job_for(request.user, pk)), json_dumps_params={"ensure_ascii": False})
        response["Cache-Control"] = "no-store"
        return response


class JobResultView(LoginRequiredMixin, View):
    def get(self, request, pk):
        job = job_for(request.user, pk)
        if not job.result_file:
            raise Http404("该任务没有结果文件。")
        try:
            handle = job.result_file.open("rb")
        except FileNotFoundError:
            raise Http404("结果文件已不存在。") from None
        response = FileResponse(handle, content_type=_content_type(job.result_name))
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(job.result_name)}"
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


def _content_type(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    return {
        "zip": "application/zip",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }.get(suffix, "application/octet-stream")
