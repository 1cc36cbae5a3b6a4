"""Pages that start rectification's long jobs (jobs/): importing a plan from a file, and all progress
notices of a round as one ZIP.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views.generic import TemplateView

from grid.access import scope
from grid.models import Region
from inspection.models import InspectionRound
from jobs.imports import clean_upload
from jobs.runner import start_job

from .job_kinds import NOTICE_BATCH, RECTIFICATION_IMPORT, RECTIFICATION_IMPORT_PERM
from .models import RectificationPlan

VIEW_PERM = "rectification.view_rectificationplan"


def _organisation_label(region: Region) -> str:
    return region.full_path.split("/", 1)[-1] if "/" in region.full_path else region.full_path


class RectificationImportForm(forms.Form):
    organisation = forms.ModelChoiceField(label="整改党组织", queryset=Region.objects.none(),
                                          help_text="乡镇或村（社区）")
    round = forms.CharField(label="巡察轮次", max_length=100,
                            help_text="如 十五届县委第二轮巡察；本县没有该轮次时新建（须填写进驻与撤回日期）")
    group = forms.CharField(label="巡察组", max_length=100, required=False, help_text="如 县委第一巡察组；可空")
    arrival = forms.DateField(label="进驻日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    withdrawal = forms.DateField(label="撤回日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    feedback_date = forms.DateField(label="反馈日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(label="文件", help_text="列：序号、类别、子类、问题、整改情况、状态、责任领导、责任单位、整改时限、"
                                                  "未完成原因、下一步措施（可选：销号日期）；.xlsx 或 .csv")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        regions = scope(user, Region.objects.filter(tier__key__in=["township", "village"]), RECTIFICATION_IMPORT_PERM)
        self.fields["organisation"].queryset = regions.order_by("path")
        self.fields["organisation"].label_from_instance = _organisation_label

    def clean_file(self):
        return clean_upload(self.cleaned_data["file"])

    def clean(self):
        cleaned = super().clean()
        arrival, withdrawal = cleaned.get("arrival"), cleaned.get("withdrawal")
        if bool(arrival) != bool(withdrawal):
            raise ValidationError("进驻日期与撤回日期须同时填写（或都不填，沿用已有轮次的日期）。")
        if arrival and withdrawal and withdrawal < arrival:
            raise ValidationError("撤回日期不能早于进驻日期。")
        return cleaned


class RectificationImportView(LoginRequiredMixin, TemplateView):
    template_name = "rectification/import.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm(RECTIFICATION_IMPORT_PERM):
            raise PermissionDenied("只有县委巡察办可以导入整改方案。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        form = RectificationImportForm(user=request.user)
        return self.render_to_response(self.get_context_data(form=form, page_title="导入整改方案"))

    def post(self, request):
        form = RectificationImportForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form, page_title="导入整改方案"), status=422)
        data = form.cleaned_data
        organisation = data["organisation"]
        params = {
            "round": data["round"].strip(), "group": data["group"].strip(),
            "inspected": f"{data['arrival']}:{data['withdrawal']}" if data["arrival"] else "",
            "feedback_date": data["feedback_date"].isoformat() if data["feedback_date"] else "",
        }
        job = start_job(kind=RECTIFICATION_IMPORT, owner=request.user, region=organisation,
                        upload=data["file"], params=params,
                        title=f"导入{organisation.name}整改方案（{params['round']}）")
        return redirect("jobs:detail", pk=job.pk)


def notice_rounds(user):
    plans = scope(user, RectificationPlan.objects.filter(round__isnull=False), VIEW_PERM)
    return InspectionRound.objects.filter(pk__in=plans.values("round_id")).order_by("-arrival_date", "-pk")


class NoticeBatchForm(forms.Form):
    round = forms.ModelChoiceField(label="巡察轮次", queryset=InspectionRound.objects.none())
    format = forms.ChoiceField(label="格式", choices=[("pdf", "PDF"), ("docx", "Word（DOCX）")], initial="pdf")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = notice_rounds(user)
        rounds = list(self.fields["round"].queryset[:2])
        if not self.is_bound and len(rounds) == 1:  # a township committee inspected once: that round
            self.initial.setdefault("round", rounds[0].pk)


class NoticeBatchView(LoginRequiredMixin, TemplateView):
    template_name = "rectification/notice_batch.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm(VIEW_PERM):
            raise PermissionDenied("您没有查看整改方案的岗位。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        form = NoticeBatchForm(user=request.user, initial={"round": request.GET.get("round")})
        return self.render_to_response(self.get_context_data(form=form, page_title="批量生成整改通报"))

    def post(self, request):
        form = NoticeBatchForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form, page_title="批量生成整改通报"), status=422)
        round, fmt = form.cleaned_data["round"], form.cleaned_data["format"]
        job = start_job(kind=NOTICE_BATCH, owner=request.user, region=round.county,
                        title=f"批量生成{round.name}整改进展情况通报（{fmt.upper()}）",
                        params={"round": round.pk, "format": fmt})
        return redirect("jobs:detail", pk=job.pk)
