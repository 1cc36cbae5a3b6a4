"""Pages that start the big patrol's long jobs (jobs/): imports from a file and the batch of circulars.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.views.generic import TemplateView

from governance.site import MenuLink
from grid.access import region_grants, scope
from grid.models import Region
from jobs.imports import clean_upload
from jobs.kinds import label_of
from jobs.runner import start_job

from . import circulars
from .circular_views import PeriodForm, _default_query, circular_townships
from .job_kinds import (
    CIRCULAR_BATCH,
    PATROL_CATALOG_IMPORT,
    PATROL_FINDINGS_IMPORT,
    PATROL_IMPORT_PERMS,
    PATROL_REPORTS_IMPORT,
)

IMPORT_KINDS = [
    (PATROL_FINDINGS_IMPORT, "巡查发现问题（编号、村(居)、目录编号、发现日期、来源、是否属实、对应上报编号）"),
    (PATROL_REPORTS_IMPORT, "村（居）历史上报（编号、村(居)、目录编号、发生时间、地点、问题描述、上报日期、核实结果、核实日期）"),
    (PATROL_CATALOG_IMPORT, "巡查目录（编号、事项、类别、牵头部门、分值、佐证要求）"),
]


def import_townships(user):
    townships = scope(user, Region.objects.filter(tier__key="township"), PATROL_IMPORT_PERMS[0]).order_by("path")
    return [t for t in townships if all(user.has_perm(perm, t) for perm in PATROL_IMPORT_PERMS)]


class CircularBatchMenuLink(MenuLink):
    """Shown to users who may see some township's live circular (not to village cadres, who only
    read their township's published circulars)."""

    def allowed(self, user) -> bool:
        if not super().allowed(user):
            return False
        if user.is_superuser:
            return True
        prefixes = region_grants(user).paths("inspection.view_circular")
        return Region.objects.filter(path__in=prefixes, tier__key__in=["county", "township"]).exists()


class PatrolImportForm(forms.Form):
    kind = forms.ChoiceField(label="导入内容", choices=IMPORT_KINDS, widget=forms.RadioSelect)
    township = forms.TypedChoiceField(label="乡镇", coerce=int)
    file = forms.FileField(label="文件", help_text="第 1 行为列名；Excel 文件（.xlsx，读第一个工作表）或 CSV 文件（Excel、WPS 另存的均可）")

    def __init__(self, *args, townships, **kwargs):
        super().__init__(*args, **kwargs)
        self.townships = {t.pk: t for t in townships}
        self.fields["township"].choices = [(t.pk, t.name) for t in townships]
        self.fields["kind"].initial = PATROL_FINDINGS_IMPORT

    def clean_file(self):
        return clean_upload(self.cleaned_data["file"])


class PatrolImportView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/patrol_import.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not all(request.user.has_perm(p) for p in PATROL_IMPORT_PERMS):
            raise PermissionDenied("只有镇综合办可以导入大巡查数据。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        form = PatrolImportForm(townships=import_townships(request.user))
        return self.render_to_response(self.get_context_data(form=form, page_title="导入大巡查数据"))

    def post(self, request):
        form = PatrolImportForm(request.POST, request.FILES, townships=import_townships(request.user))
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form, page_title="导入大巡查数据"), status=422)
        kind, township = form.cleaned_data["kind"], form.townships[form.cleaned_data["township"]]
        job = start_job(kind=kind, owner=request.user, region=township, upload=form.cleaned_data["file"],
                        title=f"{township.name}：{label_of(kind)}", params={"township": township.pk})
        return redirect("jobs:detail", pk=job.pk)


class CircularBatchForm(PeriodForm):
    format = forms.ChoiceField(label="格式", choices=[("pdf", "PDF"), ("docx", "Word（DOCX）"), ("xlsx", "Excel（XLSX）")],
                               initial="pdf")


class CircularBatchView(LoginRequiredMixin, TemplateView):
    """GET: the form (filled from the circular page's query); POST: start the job."""

    template_name = "inspection/circular_batch.html"

    def townships(self):
        user = self.request.user
        if not user.has_perm("inspection.view_circular"):
            raise PermissionDenied("您没有查看考评通报的岗位。")
        return {pk: found for pk, found in circular_townships(user).items() if found[1]}

    def get(self, request):
        townships = self.townships()
        initial = {**_default_query(townships), "format": "pdf",
                   **{k: v for k, v in request.GET.items() if v}}
        form = CircularBatchForm(townships=townships)  # filled in, not judged, on GET
        for name, value in initial.items():
            if name in form.fields:
                form.fields[name].initial = value
        return self.render_to_response(self.get_context_data(form=form, page_title="批量生成各村通报"))

    def post(self, request):
        townships = self.townships()
        form = CircularBatchForm(request.POST, townships=townships)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form, page_title="批量生成各村通报"),
                                           status=422)
        township, _ = townships[form.cleaned_data["township"]]
        kind, period, fmt = form.cleaned_data["kind"], form.cleaned_data["period"], form.cleaned_data["format"]
        if kind == "month":
            period_text, title = f"{period:%Y-%m}", circulars.month_title(township, period)
        else:
            period_text, title = f"{period[0]}Q{period[1]}", circulars.quarter_title(township, *period)
        job = start_job(kind=CIRCULAR_BATCH, owner=request.user, region=township,
                        title=f"批量生成{title}（各村，{fmt.upper()}）",
                        params={"township": township.pk, "kind": kind, "period": period_text, "format": fmt})
        return redirect("jobs:detail", pk=job.pk)
