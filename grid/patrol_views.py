"""Pages of patrol logs, work diaries and cadence compliance, and their .xlsx exports.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance import chinese_dates
from governance.audit import entries_for
from governance.audit_labels import action_label
from governance.form_defaults import attach_errors
from governance.listing import xlsx_export
from governance.paging import UncountedPage

from . import households, patrols, staff_assessment
from .list_forms import DIARY_SHOW, ComplianceFilterForm, DiaryFilterForm, PatrolListForm
from .models import CadenceRule, Event, PatrolLog, WorkDiary
from .patrol_forms import DiaryForm, PatrolForm, ReviewForm

PAGE_SIZE = 50



def _history(obj) -> list:
    entries = list(entries_for(obj))
    for entry in entries:
        entry.action_label = action_label(entry.action)
    return entries


# ---------------------------------------------------------------- patrol logs


def _require_patrols(user) -> None:
    if not (user.is_superuser or patrols.may_see_patrols(user)):
        raise PermissionDenied("您没有查看巡查记录的岗位。")


def patrols_for(user, params) -> tuple[PatrolListForm, QuerySet[PatrolLog]]:
    """The patrol logs the list and its export show: those the user may see, filtered and ordered by `params`."""
    form = PatrolListForm(params or None, user=user)
    return form, form.apply(patrols.visible_patrols(user)).select_related("member", "region")


class PatrolListView(LoginRequiredMixin, TemplateView):
    template_name = "grid/patrol_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        _require_patrols(user)
        form, logs = patrols_for(user, self.request.GET)
        page = UncountedPage(logs, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(
            page_title="巡查记录", form=form, page=page, may_record=user.has_perm("grid.add_patrollog"),
            oversees="member" in form.fields, **kwargs,
        )


PATROL_HEADERS = ["日期", "开始时间", "结束时间", "巡查类型", "网格员", "巡查网格", "走访户数", "路线或走访点位",
                  "发现情况", "关联事件", "记录时间"]


class PatrolExportView(LoginRequiredMixin, View):
    """The patrol list as an .xlsx file: the same rows, filters and order, all pages."""

    def get(self, request):
        _require_patrols(request.user)
        _form, logs = patrols_for(request.user, request.GET)
        logs = logs.prefetch_related(Prefetch("events", queryset=Event.objects.only("id").order_by("id")))
        rows = (
            [log.date, log.started_at.strftime("%H:%M"), log.ended_at.strftime("%H:%M"), log.get_kind_display(),
             _person(log.member), log.region.full_path, log.households_visited, log.route, log.findings,
             " ".join(f"#{event.pk}" for event in log.events.all()), log.created_at]
            for log in logs.iterator(chunk_size=2000)
        )
        return xlsx_export(about=PatrolLog, rows=rows, headers=PATROL_HEADERS, sheet_title="巡查记录", filename="巡查记录",
                           by=request.user, action="grid.patrol.export", query=request.GET.urlencode())


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


class PatrolCreateView(LoginRequiredMixin, TemplateView):
    template_name = "grid/patrol_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("grid.add_patrollog"):
            raise PermissionDenied("您没有网格员岗位，不能记录巡查。")
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form, status=200):
        return self.render_to_response(self.get_context_data(
            form=form, page_title="记录巡查", event_regions=form.event_regions(), region_paths=form.region_paths(),
        ), status=status)

    def get(self, request):
        return self._render(PatrolForm(user=request.user))

    def post(self, request):
        form = PatrolForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                log = patrols.record_patrol(
                    by=request.user, region=data["region"], kind=data["kind"], date=data["date"],
                    started_at=data["started_at"], ended_at=data["ended_at"], route=data["route"],
                    households_visited=data["households_visited"], findings=data["findings"], events=data["events"],
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"已记录 {log.date:%m月%d日} 的{log.get_kind_display()}。")
                return redirect("grid:patrol_detail", pk=log.pk)
        return self._render(form, status=422)


class PatrolDetailView(LoginRequiredMixin, TemplateView):
    template_name = "grid/patrol_detail.html"

    def get_context_data(self, **kwargs):
        log = (
            patrols.visible_patrols(self.request.user).select_related("member", "region")
            .filter(pk=self.kwargs["pk"]).first()
        )
        if log is None:
            raise Http404("巡查记录不存在或无权查看。")
        return super().get_context_data(
            page_title=f"巡查记录 {log.date:%Y-%m-%d}", log=log,
            events=log.events.select_related("category").order_by("id"), history=_history(log), **kwargs,
        )


# ---------------------------------------------------------------- work diaries


def _require_diaries(user) -> None:
    if not (user.is_superuser or patrols.may_see_diaries(user)):
        raise PermissionDenied("您没有查看工作日志的岗位。")


def diaries_for(user, params) -> tuple[DiaryFilterForm, QuerySet[WorkDiary]]:
    """The diaries the list and its export show: those the user may see, filtered and ordered by `params`
    (pending review first by default)."""
    form = DiaryFilterForm(params or None, user=user)
    return form, form.apply(patrols.visible_diaries(user)).select_related("author", "region", "reviewed_by")


class DiaryListView(LoginRequiredMixin, TemplateView):
    template_name = "grid/diary_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        _require_diaries(user)
        form, diaries = diaries_for(user, self.request.GET)
        show = form.valid_values().get("show", "")
        page = UncountedPage(diaries, self.request.GET.get("page"), PAGE_SIZE)
        may_write = user.has_perm("grid.add_workdiary")
        today = timezone.localdate()
        return super().get_context_data(
            page_title="工作日志", form=form, page=page, show=show, show_choices=DIARY_SHOW.items(), may_write=may_write,
            may_review_any=patrols.may_review_somewhere(user),
            today_diary=WorkDiary.objects.filter(author=user, date=today).first() if may_write else None,
            today=today, **kwargs,
        )


DIARY_HEADERS = ["日期", "网格员", "网格", "工作内容", "审核状态", "审核人", "审核时间", "审核意见", "记录时间"]


class DiaryExportView(LoginRequiredMixin, View):
    """The diary list as an .xlsx file (for the assessment): the same rows, filters and order, all pages."""

    def get(self, request):
        _require_diaries(request.user)
        _form, diaries = diaries_for(request.user, request.GET)
        rows = (
            [diary.date, _person(diary.author), diary.region.full_path, diary.content,
             "已审核" if diary.reviewed_at else "待审核", _person(diary.reviewed_by), diary.reviewed_at,
             diary.review_comment, diary.created_at]
            for diary in diaries.iterator(chunk_size=2000)
        )
        return xlsx_export(about=WorkDiary, rows=rows, headers=DIARY_HEADERS, sheet_title="工作日志", filename="工作日志",
                           by=request.user, action="grid.diary.export", query=request.GET.urlencode())


class DiaryWriteView(LoginRequiredMixin, TemplateView):
    """Write (or, the same day again, update) a diary: today's unless another recent date is chosen."""

    template_name = "grid/diary_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("grid.add_workdiary"):
            raise PermissionDenied("您没有网格员岗位，不能填写工作日志。")
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form, existing=None, status=200):
        return self.render_to_response(self.get_context_data(form=form, existing=existing, page_title="填写工作日志"), status=status)

    def get(self, request):
        form = DiaryForm(user=request.user)
        day = form.initial["date"]
        if request.GET.get("date"):
            try:
                day = form.fields["date"].clean(request.GET["date"])
            except ValidationError:
                pass
        existing = WorkDiary.objects.filter(author=request.user, date=day).select_related("reviewed_by").first()
        form = DiaryForm(user=request.user, initial={
            "date": day, **({"region": existing.region_id, "content": existing.content} if existing else {}),
        })
        return self._render(form, existing)

    def post(self, request):
        form = DiaryForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                diary, created = patrols.write_diary(by=request.user, region=data["region"], date=data["date"], content=data["content"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                verb = "已保存" if created else "已更新"
                messages.success(request, f"{verb} {diary.date:%m月%d日} 的工作日志。")
                return redirect("grid:diaries")
        return self._render(form, status=422)


def _visible_diary(user, pk) -> WorkDiary:
    diary = patrols.visible_diaries(user).select_related("author", "region", "reviewed_by").filter(pk=pk).first()
    if diary is None:
        raise Http404("工作日志不存在或无权查看。")
    return diary


class DiaryDetailView(LoginRequiredMixin, TemplateView):
    template_name = "grid/diary_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        diary = kwargs.pop("diary", None) or _visible_diary(user, self.kwargs["pk"])
        kwargs.setdefault("review_form", ReviewForm())
        return super().get_context_data(
            page_title=f"工作日志 {diary.date:%Y-%m-%d}", diary=diary, may_review=patrols.may_review(user, diary),
            may_edit=diary.author_id == user.pk and diary.reviewed_at is None, history=_history(diary), **kwargs,
        )


class DiaryReviewView(LoginRequiredMixin, TemplateView):
    template_name = "grid/diary_detail.html"

    def get(self, request, pk):
        return redirect("grid:diary_detail", pk=pk)

    def post(self, request, pk):
        if not request.user.has_perm("grid.review_workdiary"):
            raise PermissionDenied("您没有审核工作日志的岗位。")
        diary = _visible_diary(request.user, pk)
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                patrols.review_diary(diary, by=request.user, comment=form.cleaned_data["comment"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"已审核 {diary.author.get_full_name() or diary.author.username} {diary.date:%m月%d日} 的工作日志。")
                return redirect(f"{_url('grid:diaries')}?show=review")
        view = DiaryDetailView(request=request, kwargs={"pk": pk})
        return view.render_to_response(view.get_context_data(diary=diary, review_form=form), status=422)


def _url(name: str) -> str:
    return reverse(name)


# ---------------------------------------------------------------- cadence compliance


def compliance_for(user, params) -> tuple[ComplianceFilterForm, patrols.ComplianceReport | None, list]:
    """The compliance table the page and its export show: (form, report, rows); no report for an invalid month."""
    if not (user.is_superuser or user.has_perm("grid.view_patrollog")):
        raise PermissionDenied("您没有查看巡查记录的岗位。")
    this_month = timezone.localdate().strftime("%Y-%m")
    if params and not params.get("month"):  # other filters without a month: this month, shown in the field
        params = params.copy()
        params["month"] = this_month
    form = ComplianceFilterForm(params or None)
    if form.is_bound and not form.is_valid():
        return form, None, []
    month = form.cleaned_data["month"] if form.is_bound else timezone.localdate().replace(day=1)
    report = patrols.cadence_compliance(regions_or_user_scope=user, month=month)
    if not form.is_bound:
        form = ComplianceFilterForm(initial={"month": this_month})
    return form, report, form.rows(report)


class ComplianceView(LoginRequiredMixin, TemplateView):
    template_name = "grid/compliance.html"

    def get(self, request, *args, **kwargs):
        form, report, rows = compliance_for(request.user, request.GET)
        if report is None:
            context = self.get_context_data(page_title="巡查频次落实", form=form, report=None)
            return self.render_to_response(context, status=422)
        visits = visit_table(request.user, report.month)
        return self.render_to_response(self.get_context_data(
            page_title="巡查频次落实", form=form, report=report, rows=rows, month=report.month, visits=visits,
            window_notes=[f"{rule.name}须在周期开始后 {rule.window_days} 天内完成"
                          + (f"（另宽限 {rule.grace_days} 天）" if rule.grace_days else "")
                          for rule in report.rules if rule.window_days],
            sweep_grace="、".join(sorted({str(rule.grace_days) for rule in report.rules
                                          if rule.period == CadenceRule.Period.SEMIMONTHLY})) or patrols.SWEEP_GRACE_DAYS,
            short_count=sum(1 for row in report.rows if row.short),
        ))


def visit_table(user, month) -> dict | None:
    """The household visit compliance of the month for the users the viewer oversees (and their own):
    the report and, per row, one cell per rule (None where the rule is not the row's role's)."""
    if not (user.is_superuser or user.has_perm("grid.view_householdvisit")):
        return None
    report = households.visit_compliance(scope=user, start=month, end=patrols.month_end(month))
    cells = []
    for row in report.rows:
        by_rule = {tally.rule.pk: tally for tally in row.tallies}
        cells.append((row, [by_rule.get(rule.pk) for rule in report.rules]))
    return {"report": report, "rows": cells}


class ComplianceExportView(LoginRequiredMixin, View):
    """The compliance table as an .xlsx file: per member and rule, done, due and missed; the same rows."""

    def get(self, request):
        form, report, rows = compliance_for(request.user, request.GET)
        if report is None:  # an invalid month: the page says why
            return ComplianceView.as_view()(request)
        headers = ["网格员", "网格"]
        for rule in report.rules:
            headers += [f"{rule.name} 完成", f"{rule.name} 应完成", f"{rule.name} 缺"]
        headers.append("有未完成项")
        table = []
        for row in rows:
            cells = [row.name, "；".join(row.regions)]
            for tally in row.tallies:
                cells += [tally.done, tally.due, tally.missed]
            table.append(cells + [row.short])
        return xlsx_export(about=None, rows=table, headers=headers, sheet_title=f"巡查频次落实{report.month:%Y-%m}",
                           filename=f"巡查频次落实_{report.month:%Y年%m月}", by=request.user,
                           action="grid.compliance.export", query=request.GET.urlencode())


# ---------------------------------------------------------------- grid staff assessment (网格员考核)


def _current_quarter() -> str:
    today = timezone.localdate()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def assessment_for(user, params) -> tuple[str, staff_assessment.StaffAssessment | None, str]:
    """(the period as asked, the assessment or None, the error) for `period` = YYYYQn or YYYY."""
    if not (user.is_superuser or user.has_perm("grid.view_patrollog")):
        raise PermissionDenied("您没有查看网格员考核的岗位。")
    text = (params.get("period") or "").strip().upper() or _current_quarter()
    parsed = chinese_dates.parse_quarter(text) if "Q" in text else (
        (int(text), None) if text.isdigit() and chinese_dates.plausible_year(int(text)) else None)
    if parsed is None or datetime.date(parsed[0], 1, 1) > timezone.localdate():
        return text, None, "请从列表中选择考核期（季度或年度），且不晚于今年。"
    return text, staff_assessment.assess_staff(scope=user, year=parsed[0], quarter=parsed[1]), ""


def assessment_periods(asked: str) -> list[tuple[str, str]]:
    """The periods offered in the drop-down: the last eight quarters, then this year and the two before;
    a period asked for by a link but not listed comes first, so the page still says what it shows."""
    today = timezone.localdate()
    periods = chinese_dates.quarter_choices(today, 8) + [(str(year), f"{year}年全年") for year in
                                                         range(today.year, today.year - 3, -1)]
    if asked not in dict(periods):
        parsed = chinese_dates.parse_quarter(asked) if "Q" in asked else None
        label = f"{parsed[0]}年第{parsed[1]}季度" if parsed else (f"{asked}年全年" if asked.isdigit() else asked)
        periods.insert(0, (asked, label))
    return periods


class StaffAssessmentView(LoginRequiredMixin, TemplateView):
    template_name = "grid/staff_assessment.html"

    def get(self, request, *args, **kwargs):
        period, result, error = assessment_for(request.user, request.GET)
        rules = {row.rule.pk: row.rule for row in result.rows} if result else {}
        context = self.get_context_data(
            page_title="网格员考核", period=period, periods=assessment_periods(period), result=result, error=error,
            components=staff_assessment.COMPONENTS,
            rule_texts=[(rule.region.name if rule.pk else "默认", staff_assessment.grade_rule_text(rule))
                        for rule in rules.values()],
        )
        return self.render_to_response(context, status=422 if error else 200)


class StaffAssessmentExportView(LoginRequiredMixin, View):
    """The assessment table as an .xlsx: the same members, figures, points, score and grade."""

    def get(self, request):
        period, result, error = assessment_for(request.user, request.GET)
        if result is None:
            return StaffAssessmentView.as_view()(request)
        headers = ["网格员", "网格", "巡查完成", "巡查应完成", "发现上报事件", "办结事件", "核实一次通过", "工作日志",
                   "经审核日志", "应记日志天数", *(f"{label}得分" for _, label, _, _ in staff_assessment.COMPONENTS),
                   "总分", "等次"]
        rows = [[row.name, "；".join(row.regions), row.cadence_done, row.cadence_due, row.events_found,
                 row.events_closed, row.events_first_time, row.diaries, row.diaries_reviewed, row.diary_days_due,
                 *(float(points) for points in row.points.values()), float(row.score), row.grade]
                for row in result.rows]
        return xlsx_export(about=None, rows=rows, headers=headers, sheet_title=f"网格员考核{period}",
                           filename=f"网格员考核_{result.label}", by=request.user, action="grid.staff_assessment.export",
                           query=request.GET.urlencode())
