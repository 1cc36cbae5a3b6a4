"""Pages of work on site: 问题底稿, 谈话记录, 问题线索, 回头看.

Views decode input and call inspection.onsite; every query goes through its visible_* functions.
Invalid input re-renders with status 422 and the input kept; a user who may not use a page gets 403;
a record outside what the user may see is 404 (so a clue's existence is not revealed).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from governance.evidence import EvidenceRejected, attachment_response, attachments_of
from governance.paging import UncountedPage
from governance.site import MenuLink
from governance.spreadsheet_safety import csv_row

from . import onsite
from .models import LookBack
from .onsite_forms import (
    ClueForm,
    FindingFilterForm,
    FindingForm,
    LookBackResultForm,
    LookBackScheduleForm,
    SearchForm,
    TalkForm,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class ClueMenuLink(MenuLink):
    """The 问题线索 link: only for users who may see some clue (office, discipline, a group leader)."""

    def allowed(self, user) -> bool:
        return onsite.may_see_clues(user)


def _errors(exc: Exception) -> list[str]:
    return list(exc.messages) if isinstance(exc, ValidationError) else [str(exc)]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _is_member(user) -> bool:
    return onsite.groups_of(user).exists()


def _query_string(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# ---------------------------------------------------------------- 问题底稿


def _findings_for(user):
    return onsite.visible_findings(user).select_related(
        "round", "group", "target__organisation", "village", "focus__parent", "recorded_by")


class FindingListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_finding_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        _require(user.has_perm("inspection.view_inspectionfinding") or _is_member(user), "您没有查看巡察问题底稿的权限。")
        findings = _findings_for(user)
        form = FindingFilterForm(self.request.GET or None, findings=findings)
        page = UncountedPage(form.apply(findings).order_by("-recorded_at", "-id"), self.request.GET.get("page"), PAGE_SIZE)
        member = _is_member(user)
        return super().get_context_data(page_title="问题底稿", form=form, page=page, may_record=member,
                                        may_see_clues=onsite.may_see_clues(user), page_query=_query_string(self.request),
                                        **kwargs)


class FindingCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_finding_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not _is_member(request.user):
            raise PermissionDenied("您不是巡察组成员，不能记录问题底稿。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=FindingForm(user=request.user), page_title="记录问题底稿"))

    def post(self, request):
        form = FindingForm(request.POST, request.FILES, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            data = form.cleaned_data
            try:
                finding = onsite.record_finding(
                    by=request.user, group=data["target"].group, target=data["target"], focus=data["focus"],
                    village=data["village"], title=data["title"], description=data["description"],
                    people_involved=data["people_involved"], suggestion=data["suggestion"],
                    for_secretary_meeting=data["for_secretary_meeting"], files=request.FILES.getlist("files"),
                )
            except (ValidationError, EvidenceRejected) as exc:
                errors = _errors(exc)
            else:
                messages.success(request, "问题底稿已记录。")
                return redirect("inspection:onsite_finding_detail", pk=finding.pk)
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="记录问题底稿"), status=422)


def _finding_for(user, pk):
    finding = _findings_for(user).filter(pk=pk).first()
    if finding is None:
        raise Http404("问题不存在或无权查看。")
    return finding


class FindingDetailView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_finding_detail.html"

    def get_context_data(self, **kwargs):
        finding = _finding_for(self.request.user, self.kwargs["pk"])
        return super().get_context_data(page_title=f"问题底稿：{finding.title}", finding=finding,
                                        attachments=list(attachments_of(finding).order_by("id")), **kwargs)


class FindingEvidenceView(LoginRequiredMixin, View):
    def get(self, request, pk, attachment_pk):
        finding = _finding_for(request.user, pk)
        attachment = attachments_of(finding).filter(pk=attachment_pk).first()
        if attachment is None:
            raise Http404("附件不存在或无权查看。")
        return attachment_response(attachment, thumbnail=request.GET.get("thumb") == "1")


# ---------------------------------------------------------------- 谈话记录


class TalkListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_talk_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        member = _is_member(user)
        _require(user.has_perm("inspection.view_talkrecord") or member, "您没有查看谈话记录的权限。")
        form = SearchForm(self.request.GET or None)
        talks = onsite.visible_talks(user).select_related("round", "group", "target__organisation", "recorded_by")
        if form.is_valid() and form.cleaned_data.get("q"):
            text = form.cleaned_data["q"].strip()
            talks = talks.filter(Q(interviewee__icontains=text) | Q(position__icontains=text) | Q(summary__icontains=text))
        page = UncountedPage(talks.order_by("-held_on", "-id"), self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="谈话记录", form=form, page=page, may_record=member,
                                        page_query=_query_string(self.request), **kwargs)


class TalkCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_talk_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not _is_member(request.user):
            raise PermissionDenied("您不是巡察组成员，不能记录谈话。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=TalkForm(user=request.user), page_title="记录谈话"))

    def post(self, request):
        form = TalkForm(request.POST, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            data = form.cleaned_data
            try:
                onsite.record_talk(by=request.user, group=data["target"].group, target=data["target"],
                                   held_on=data["held_on"], interviewee=data["interviewee"], position=data["position"],
                                   summary=data["summary"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, "谈话记录已保存。")
                return redirect("inspection:onsite_talks")
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="记录谈话"), status=422)


# ---------------------------------------------------------------- 问题线索


def _clues_for(user, request=None):
    clues = onsite.visible_clues(user).select_related("round", "group", "target__organisation", "recorded_by")
    form = SearchForm(request.GET or None) if request is not None else SearchForm()
    if form.is_valid() and form.cleaned_data.get("q"):
        text = form.cleaned_data["q"].strip()
        clues = clues.filter(Q(people_involved__icontains=text) | Q(description__icontains=text)
                             | Q(source__icontains=text) | Q(target__organisation__name__icontains=text))
    return clues.order_by("-recorded_at", "-id"), form


class ClueListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_clue_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        _require(onsite.may_see_clues(user), "问题线索仅限巡察组组长、县委巡察办和纪检监察机关查看。")
        clues, form = _clues_for(user, self.request)
        page = UncountedPage(clues, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="问题线索", form=form, page=page, may_record=_is_member(user),
                                        page_query=_query_string(self.request), **kwargs)


class ClueExportView(LoginRequiredMixin, View):
    """The clues the user may see (with the same search), as CSV for the clue report."""

    def get(self, request):
        _require(onsite.may_see_clues(request.user), "问题线索仅限巡察组组长、县委巡察办和纪检监察机关查看。")
        clues, _form = _clues_for(request.user, request)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["轮次", "巡察组", "巡察对象", "涉及人员", "线索内容", "线索来源", "处置建议", "记录时间"])
        for clue in clues:
            writer.writerow(csv_row([clue.round.name, clue.group.name, clue.target.organisation.name,
                                     clue.people_involved, clue.description, clue.source, clue.disposal,
                                     f"{clue.recorded_at:%Y-%m-%d %H:%M}"]))
        response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote('问题线索.csv')}"
        response["Cache-Control"] = "private, no-store"
        return response


class ClueCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_clue_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not _is_member(request.user):
            raise PermissionDenied("您不是巡察组成员，不能报送问题线索。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=ClueForm(user=request.user), page_title="报送问题线索"))

    def post(self, request):
        form = ClueForm(request.POST, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            data = form.cleaned_data
            try:
                clue = onsite.record_clue(by=request.user, group=data["target"].group, target=data["target"],
                                          people_involved=data["people_involved"], description=data["description"],
                                          source=data["source"], disposal=data["disposal"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                if onsite.visible_clues(request.user).filter(pk=clue.pk).exists():
                    messages.success(request, "问题线索已登记。")
                    return redirect("inspection:onsite_clue_detail", pk=clue.pk)
                messages.success(request, "问题线索已报送组长，报送后仅组长、县委巡察办和纪检监察机关可见。")
                return redirect("inspection:onsite_clue_new")
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="报送问题线索"), status=422)


class ClueDetailView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_clue_detail.html"

    def get_context_data(self, **kwargs):
        clue = onsite.visible_clues(self.request.user).select_related(
            "round", "group", "target__organisation", "recorded_by").filter(pk=self.kwargs["pk"]).first()
        if clue is None:
            raise Http404("问题线索不存在或无权查看。")
        return super().get_context_data(page_title="问题线索", clue=clue, **kwargs)


# ---------------------------------------------------------------- 回头看


class LookBackListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_lookback_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        _require(user.has_perm("inspection.view_lookback") or _is_member(user), "您没有查看回头看的权限。")
        look_backs = onsite.visible_look_backs(user).select_related("round", "target__organisation", "recorded_by")
        page = UncountedPage(look_backs.order_by("-scheduled_on", "-id"), self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="回头看", page=page,
                                        may_schedule=user.has_perm("inspection.add_lookback"), **kwargs)


class LookBackScheduleView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_lookback_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("inspection.add_lookback"):
            raise PermissionDenied("只有县委巡察办可以安排回头看。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=LookBackScheduleForm(user=request.user),
                                                             page_title="安排回头看"))

    def post(self, request):
        form = LookBackScheduleForm(request.POST, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            try:
                onsite.schedule_look_back(by=request.user, target=form.cleaned_data["target"],
                                          scheduled_on=form.cleaned_data["scheduled_on"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, "回头看已安排。")
                return redirect("inspection:onsite_lookbacks")
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="安排回头看"), status=422)


class LookBackResultView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_lookback_form.html"

    def _look_back(self) -> LookBack:
        look_back = onsite.visible_look_backs(self.request.user).select_related(
            "round__county", "target__organisation").filter(pk=self.kwargs["pk"]).first()
        if look_back is None:
            raise Http404("回头看不存在或无权查看。")
        if not self.request.user.has_perm("inspection.change_lookback", look_back.round.county):
            raise PermissionDenied("只有县委巡察办可以登记回头看情况。")
        return look_back

    def get(self, request, pk):
        look_back = self._look_back()
        form = LookBackResultForm(initial={"done_on": look_back.done_on, "result": look_back.result})
        return self.render_to_response(self.get_context_data(form=form, look_back=look_back, page_title="登记回头看情况"))

    def post(self, request, pk):
        look_back = self._look_back()
        form = LookBackResultForm(request.POST)
        errors: list[str] = []
        if form.is_valid():
            try:
                onsite.record_look_back_result(look_back, by=request.user, done_on=form.cleaned_data["done_on"],
                                               result=form.cleaned_data["result"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, "回头看情况已登记。")
                return redirect("inspection:onsite_lookbacks")
        return self.render_to_response(self.get_context_data(form=form, look_back=look_back, errors=errors,
                                                             page_title="登记回头看情况"), status=422)
