"""Pages of a group's "three reports, four lists" (三报告四清单), its timeline and the feedback.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance.paging import UncountedPage

from ..models import InspectionGroup
from . import feedback
from . import group_reports as round_reports
from .job_kinds import JOB_FORMATS, start_round_report_document
from .list_forms import RoundReportListForm

PAGE_SIZE = 50


def get_group_for_user(user, pk) -> InspectionGroup:
    """The group, if the user may see its reports; 404 otherwise (no hint that it exists)."""
    group = InspectionGroup.objects.select_related("round", "township__tier", "leader").filter(pk=pk).first()
    if group is None or not round_reports.may_view_reports(user, group):
        raise Http404("巡察组不存在或无权查看。")
    return group


def _may_manage(user, group) -> bool:
    return user.has_perm(feedback.MANAGE_PERM, group)


class TimelineForm(forms.Form):
    reported_on = forms.DateField(label="向领导小组汇报日期", required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    secretary_meeting_on = forms.DateField(label="书记专题会日期", required=False,
                                           widget=forms.DateInput(attrs={"type": "date"}))


class FeedbackForm(forms.Form):
    feedback_on = forms.DateField(label="反馈日期", widget=forms.DateInput(attrs={"type": "date"}))
    feedback_document = forms.CharField(label="反馈文件", max_length=100,
                                        help_text="如：县委第二巡察组关于巡察太平镇党委的反馈意见")


def _attach(form, exc: ValidationError) -> None:
    form.add_error(None, exc.messages)


class RoundReportListView(LoginRequiredMixin, TemplateView):
    """The groups whose reports the user may open, by round and by how far their timeline is. No export:
    the page leads to each group's documents, which have their own downloads."""

    template_name = "inspection/round_reports.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        groups = round_reports.visible_groups(user)
        if not any(user.has_perm(perm) for perm in round_reports.VIEW_PERMS) and not groups.exists():
            raise PermissionDenied("您没有查看巡察报告的岗位。")
        form = RoundReportListForm(self.request.GET or None, groups=groups)
        page = UncountedPage(form.apply(groups), self.request.GET.get("page"), PAGE_SIZE)
        today = timezone.localdate()
        rows = [{"group": g, "overdue": feedback.overdue_steps(g, today)} for g in page]
        return super().get_context_data(page_title="三报告四清单", form=form, page=page, rows=rows, group=None, **kwargs)


class RoundReportsView(LoginRequiredMixin, TemplateView):
    """One group: the seven documents with their downloads, and the timeline."""

    template_name = "inspection/round_reports.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        group = get_group_for_user(user, self.kwargs["pk"])
        documents = []
        with round_reports.shared_records():  # the documents read the group's findings once
            for kind, label in round_reports.KINDS.items():
                if not round_reports.may_view_document(user, group, kind):  # clues and talks: narrower rules
                    continue
                data = round_reports.build(group, kind, user=user)
                documents.append({"kind": kind, "label": label, "title": data["title"],
                                  "summary": round_reports.opening(data), "formats": round_reports.formats_of(kind)})
        today = timezone.localdate()
        return super().get_context_data(
            page_title=f"{group.name} · 三报告四清单", group=group, documents=documents,
            steps=feedback.timeline(group, today), overdue=feedback.overdue_steps(group, today),
            may_manage=_may_manage(user, group), **kwargs)


class RoundReportDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk: int, kind: str, fmt: str):
        group = get_group_for_user(request.user, pk)
        if kind not in round_reports.KINDS or fmt not in round_reports.formats_of(kind):
            raise Http404("没有这种文书或格式。")
        if fmt in JOB_FORMATS:  # laid out in the background; the job page shows its progress and the file
            if not round_reports.may_view_document(request.user, group, kind):
                raise PermissionDenied(f"您没有查看{round_reports.KINDS[kind]}的权限。")
            return redirect("jobs:detail", pk=start_round_report_document(request.user, group, kind).pk)
        content, data = round_reports.export(group, kind, fmt, by=request.user)  # 403 for clues or talks, if not allowed
        response = HttpResponse(content, content_type=round_reports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(round_reports.filename(data, fmt))}"
        return response


class TimelineView(LoginRequiredMixin, TemplateView):
    """The timeline with its deadlines and overdue flags; the office records dates and feeds back."""

    template_name = "inspection/timeline.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        group = kwargs.pop("group", None) or get_group_for_user(user, self.kwargs["pk"])
        today = timezone.localdate()
        may_manage = _may_manage(user, group)
        fed_back = feedback.is_fed_back(group)
        kwargs.setdefault("timeline_form", TimelineForm(initial={
            "reported_on": group.reported_on, "secretary_meeting_on": group.secretary_meeting_on})
            if may_manage else None)
        kwargs.setdefault("feedback_form", FeedbackForm(initial={"feedback_on": today})
                          if may_manage and not fed_back else None)
        return super().get_context_data(
            page_title=f"{group.name} · 时间节点", group=group, steps=feedback.timeline(group, today),
            overdue=feedback.overdue_steps(group, today), may_manage=may_manage, fed_back=fed_back,
            report_due=feedback.report_due(group), meeting_due=feedback.meeting_due(group),
            plans=group.round.rectification_plans.filter(
                organisation__path__startswith=group.township.path).order_by("organisation__path") if fed_back else [],
            **kwargs)

    def post(self, request, pk: int):
        user = request.user
        group = get_group_for_user(user, pk)
        if not _may_manage(user, group):
            raise PermissionDenied("只有县委巡察办可以登记巡察时间节点和反馈。")
        form = TimelineForm(request.POST)
        if form.is_valid():
            try:
                feedback.record_timeline(by=user, group=group, reported_on=form.cleaned_data["reported_on"],
                                         secretary_meeting_on=form.cleaned_data["secretary_meeting_on"])
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, "已登记时间节点。")
                return redirect(reverse("inspection:round_timeline", args=[group.pk]))
        return self.render_to_response(self.get_context_data(group=group, timeline_form=form), status=422)


class FeedbackView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        return redirect(reverse("inspection:round_timeline", args=[pk]))

    def post(self, request, pk: int):
        user = request.user
        group = get_group_for_user(user, pk)
        if not _may_manage(user, group):
            raise PermissionDenied("只有县委巡察办可以向被巡察党组织反馈。")
        form = FeedbackForm(request.POST)
        if form.is_valid():
            try:
                result = feedback.feed_back(by=user, group=group, feedback_on=form.cleaned_data["feedback_on"],
                                            feedback_document=form.cleaned_data["feedback_document"])
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, f"已向{group.township.name}反馈，移交整改事项 {result.items} 项"
                                          f"（整改方案 {len(result.plans)} 个）。")
                return redirect(reverse("inspection:round_timeline", args=[group.pk]))
        view = TimelineView(request=request, kwargs={"pk": pk})
        return view.render_to_response(view.get_context_data(group=group, feedback_form=form), status=422)
