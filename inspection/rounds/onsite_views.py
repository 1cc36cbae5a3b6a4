"""Pages of work on site: 问题底稿, 谈话记录, 问题线索, 回头看.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance.evidence import EvidenceRejected, attachment_response, attachments_of
from governance.listing import xlsx_export
from governance.paging import UncountedPage
from governance.site import MenuLink

from ..models import InspectionFinding, LookBack, ProblemClue, TalkRecord
from . import onsite
from .list_forms import ClueListForm, FindingListForm, LookBackListForm, TalkListForm
from .onsite_forms import ClueForm, FindingForm, LookBackResultForm, LookBackScheduleForm, TalkForm

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


def _moment(value) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""


def _day(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


# ---------------------------------------------------------------- 问题底稿


def _findings_for(user):
    """visible_findings, each marked `in_full` where the user may read its internal fields (not the
    inspected organisation: onsite.findings_in_full)."""
    in_full = onsite.findings_in_full(user).filter(pk=OuterRef("pk"))
    return onsite.visible_findings(user).annotate(in_full=Exists(in_full)).select_related(
        "round", "group", "target__organisation", "village", "focus__parent", "recorded_by")


def findings_for(user, params) -> tuple[FindingListForm, QuerySet[InspectionFinding]]:
    """The working papers the list and its export show: visible_findings, filtered, searched, ordered."""
    _require(user.has_perm("inspection.view_inspectionfinding") or _is_member(user), "您没有查看巡察问题底稿的权限。")
    form = FindingListForm(params or None, findings=onsite.visible_findings(user),
                           in_full=onsite.findings_in_full(user))
    return form, form.apply(_findings_for(user))


def feedback_day(finding: InspectionFinding):
    """The feedback date the office recorded for the group (反馈日期), not the moment it clicked 反馈."""
    if finding.fed_back_at is None:
        return None
    return finding.group.feedback_on or timezone.localtime(finding.fed_back_at).date()


class FindingListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_finding_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        form, findings = findings_for(user, self.request.GET)
        page = UncountedPage(findings, self.request.GET.get("page"), PAGE_SIZE)
        member = _is_member(user)
        return super().get_context_data(page_title="问题底稿", form=form, page=page, may_record=member,
                                        may_see_clues=onsite.may_see_clues(user), page_query=_query_string(self.request),
                                        **kwargs)


class FindingExportView(LoginRequiredMixin, View):
    """The working papers of the list (same filters, order, all pages) as .xlsx. The internal columns only
    for those who read some finding in full, and filled only on the rows they read in full."""

    HEADERS = ["轮次", "巡察组", "巡察对象", "涉及村（社区）", "问题类别", "问题", "具体表现", "涉及人员", "处理建议",
               "书记专题会建议", "记录人", "记录时间", "反馈日期"]
    INTERNAL = ("涉及人员", "处理建议", "书记专题会建议", "记录人")

    def get(self, request):
        _form, findings = findings_for(request.user, request.GET)
        with_internal = onsite.findings_in_full(request.user).exists()

        def line(f):
            internal = ([f.people_involved, f.suggestion, f.for_secretary_meeting, _name(f.recorded_by)] if f.in_full
                        else ["", "", "", ""])
            return [f.round.name, f.group.name, f.target.organisation.name, f.village.name if f.village_id else "",
                    f"{f.focus.parent.title} / {f.focus.title}" if f.focus.parent_id else f.focus.title,
                    f.title, f.description, *(internal if with_internal else []),
                    _moment(f.recorded_at), _day(feedback_day(f))]

        headers = [h for h in self.HEADERS if with_internal or h not in self.INTERNAL]
        return xlsx_export(about=InspectionFinding, rows=(line(f) for f in findings), headers=headers, sheet_title="问题底稿",
                           filename="巡察问题底稿", by=request.user, action="inspection.finding.export",
                           query=request.GET.urlencode())


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
                                        feedback_on=feedback_day(finding),
                                        attachments=list(attachments_of(finding).order_by("id")), **kwargs)


class FindingEvidenceView(LoginRequiredMixin, View):
    def get(self, request, pk, attachment_pk):
        finding = _finding_for(request.user, pk)
        attachment = attachments_of(finding).filter(pk=attachment_pk).first()
        if attachment is None:
            raise Http404("附件不存在或无权查看。")
        return attachment_response(attachment, thumbnail=request.GET.get("thumb") == "1")


# ---------------------------------------------------------------- 谈话记录


def talks_for(user, params) -> tuple[TalkListForm, QuerySet[TalkRecord]]:
    """The talk records the list and its export show: visible_talks, filtered, searched, ordered."""
    _require(user.has_perm("inspection.view_talkrecord") or _is_member(user), "您没有查看谈话记录的权限。")
    talks = onsite.visible_talks(user)
    form = TalkListForm(params or None, talks=talks)
    return form, form.apply(talks.select_related("round", "group", "target__organisation", "recorded_by"))


class TalkListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_talk_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        form, talks = talks_for(user, self.request.GET)
        page = UncountedPage(talks, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="谈话记录", form=form, page=page, may_record=_is_member(user),
                                        page_query=_query_string(self.request), **kwargs)


class TalkExportView(LoginRequiredMixin, View):
    """The talk records of the list (same filters, order, all pages) as .xlsx."""

    HEADERS = ["轮次", "巡察组", "巡察对象", "谈话日期", "谈话对象", "职务", "谈话要点", "记录人"]

    def get(self, request):
        _form, talks = talks_for(request.user, request.GET)
        lines = ([t.round.name, t.group.name, t.target.organisation.name, _day(t.held_on), t.interviewee, t.position,
                  t.summary, _name(t.recorded_by)] for t in talks)
        return xlsx_export(about=TalkRecord, rows=lines, headers=self.HEADERS, sheet_title="谈话记录", filename="巡察谈话记录",
                           by=request.user, action="inspection.talk.export", query=request.GET.urlencode())


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


CLUE_REFUSAL = "问题线索仅限巡察组组长、县委巡察办和纪检监察机关查看。"


def clues_for(user, params) -> tuple[ClueListForm, QuerySet[ProblemClue]]:
    """The clues the list and its export show: only visible_clues (the filter choices too), filtered,
    searched, ordered. 403 for anyone who may see no clue at all."""
    _require(onsite.may_see_clues(user), CLUE_REFUSAL)
    clues = onsite.visible_clues(user)
    form = ClueListForm(params or None, clues=clues)
    return form, form.apply(clues.select_related("round", "group", "target__organisation", "recorded_by"))


class ClueListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_clue_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        form, clues = clues_for(user, self.request.GET)
        page = UncountedPage(clues, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="问题线索", form=form, page=page, may_record=_is_member(user),
                                        page_query=_query_string(self.request), **kwargs)


class ClueExportView(LoginRequiredMixin, View):
    """The clues of the list (same restriction, filters, order, all pages) as .xlsx for the clue report;
    every export is audited with its query string."""

    HEADERS = ["轮次", "巡察组", "巡察对象", "涉及人员", "线索内容", "线索来源", "处置建议", "报送人", "记录时间"]

    def get(self, request):
        _form, clues = clues_for(request.user, request.GET)
        lines = ([c.round.name, c.group.name, c.target.organisation.name, c.people_involved, c.description, c.source,
                  c.disposal, _name(c.recorded_by), _moment(c.recorded_at)] for c in clues)
        return xlsx_export(about=ProblemClue, rows=lines, headers=self.HEADERS, sheet_title="问题线索", filename="问题线索",
                           by=request.user, action="inspection.clue.export", query=request.GET.urlencode())


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


def look_backs_for(user, params) -> tuple[LookBackListForm, QuerySet[LookBack]]:
    """The look-backs the list and its export show: visible_look_backs, filtered, searched, ordered."""
    _require(user.has_perm("inspection.view_lookback") or _is_member(user), "您没有查看回头看的权限。")
    look_backs = onsite.visible_look_backs(user)
    form = LookBackListForm(params or None, look_backs=look_backs)
    return form, form.apply(look_backs.select_related("round", "target__organisation", "recorded_by"))


class LookBackListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/onsite_lookback_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        form, look_backs = look_backs_for(user, self.request.GET)
        page = UncountedPage(look_backs, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="回头看", form=form, page=page,
                                        may_schedule=user.has_perm("inspection.add_lookback"), **kwargs)


class LookBackExportView(LoginRequiredMixin, View):
    """The look-backs of the list (same filters, order, all pages) as .xlsx."""

    HEADERS = ["巡察对象", "轮次", "计划日期", "完成日期", "回头看发现", "安排人"]

    def get(self, request):
        _form, look_backs = look_backs_for(request.user, request.GET)
        lines = ([b.target.organisation.name, b.round.name, _day(b.scheduled_on), _day(b.done_on) or "待开展", b.result,
                  _name(b.recorded_by)] for b in look_backs)
        return xlsx_export(about=LookBack, rows=lines, headers=self.HEADERS, sheet_title="回头看", filename="巡察回头看",
                           by=request.user, action="inspection.look_back.export", query=request.GET.urlencode())


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
