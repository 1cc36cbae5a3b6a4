"""Pages of the big patrol's circulars (月度通报 / 季度考评) and the ledger exports (附件3, 附件4).
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
from urllib.parse import quote, urlencode

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

from governance import chinese_dates
from grid.access import require_perm, scope
from grid.models import Department, Region
from jobs.exports import export_threshold

from ..models import Circular, PatrolReport
from . import circulars, incentives, ledger_export
from .circular_access import VIEW_PERM, circular_data, circular_townships, period_first_day, township_for
from .job_kinds import (
    JOB_FORMATS,
    department_book_size,
    start_circular_document,
    start_department_book_export,
    start_village_ledger_export,
    village_ledger_size,
)
from .ledger_export import book_departments, ledger_villages
from .scoring import grade_rule_text

PUBLISH_PERM = "inspection.publish_circular"


# ---------------------------------------------------------------- the period


class PeriodForm(forms.Form):
    township = forms.TypedChoiceField(label="乡镇", coerce=int)
    kind = forms.ChoiceField(label="类型", choices=[("month", "月度通报"), ("quarter", "季度考评")], initial="month")
    month = forms.CharField(label="月份", required=False,
                            widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-03"}))
    # Chosen from a list of recent quarters (2026年第4季度), sent as 2026Q4; a link may name an older one.
    quarter = forms.CharField(label="季度", required=False, widget=forms.Select)

    def __init__(self, data=None, *, townships: dict[int, tuple[Region, bool]]):
        super().__init__(data)
        self.townships = townships
        self.fields["township"].choices = [(pk, township.name) for pk, (township, _) in townships.items()]
        choices = quarter_choices()
        asked = (data or {}).get("quarter") if hasattr(data, "get") else None
        parsed = chinese_dates.parse_quarter(asked or "")
        if parsed and f"{parsed[0]}Q{parsed[1]}" not in dict(choices):
            choices.append((f"{parsed[0]}Q{parsed[1]}", f"{parsed[0]}年第{parsed[1]}季度"))
        self.fields["quarter"].widget.choices = choices

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == "quarter":
            parsed = chinese_dates.parse_quarter(cleaned.get("quarter") or "")
            if parsed is None:
                self.add_error("quarter", circulars.QUARTER_ERROR)
            cleaned["period"] = parsed
        else:
            parsed = chinese_dates.parse_month(cleaned.get("month") or "")
            if parsed is None:
                self.add_error("month", circulars.MONTH_ERROR)
            cleaned["period"] = parsed
        return cleaned


QUARTERS_LISTED = 12


def quarter_choices(today: datetime.date | None = None) -> list[tuple[str, str]]:
    """The current quarter and the QUARTERS_LISTED - 1 before it, newest first: ("2026Q4", "2026年第4季度")."""
    return chinese_dates.quarter_choices(today or timezone.localdate(), QUARTERS_LISTED)


def _default_query(townships) -> dict:
    """Last month, at the township with the latest village report (a page that opens on figures), else
    the first township."""
    previous = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    quarter = (previous.month - 1) // 3 + 1
    latest = (PatrolReport.objects.filter(township_id__in=list(townships)).order_by("-reported_on", "-id")
              .values_list("township_id", flat=True).first()) if townships else None
    first = latest if latest is not None else next(iter(townships), None)
    return {"township": first, "kind": "month", "month": f"{previous:%Y-%m}", "quarter": f"{previous.year}Q{quarter}"}


def _query_string(township: Region, kind: str, period) -> str:
    if kind == "month":
        return urlencode({"township": township.pk, "kind": kind, "month": f"{period:%Y-%m}"})
    return urlencode({"township": township.pk, "kind": kind, "quarter": f"{period[0]}Q{period[1]}"})


class CircularView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/circular.html"

    def get(self, request, *args, **kwargs):
        return self.render_page(request.GET)

    def render_page(self, query, *, status=200, publish_error=""):
        user = self.request.user
        require_perm(user, VIEW_PERM)
        townships = circular_townships(user)
        bound = {**_default_query(townships), **{k: v for k, v in query.items() if v}}
        # Without a township there is nothing to ask for: the form stays unbound (no "required" errors).
        form = PeriodForm(bound if townships else None, townships=townships)
        context = {"page_title": "考评通报", "form": form, "publish_error": publish_error}
        if query.get("township") and str(query.get("township")).strip():
            township_for(user, query.get("township"))  # 404 for a township outside the user's reach
        if not townships:
            return self.render_to_response(self.get_context_data(**context), status=status)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(**context), status=422)
        township, full = townships[form.cleaned_data["township"]]
        kind, period = form.cleaned_data["kind"], form.cleaned_data["period"]
        data, circular = circular_data(township, full, kind, period)
        query_string = _query_string(township, kind, period)
        publisher = full and circular is None and user.has_perm(PUBLISH_PERM, township)
        not_ended = circulars.not_ended_reason(kind, period_first_day(kind, period)) if publisher else None
        context.update(
            township=township, full=full, kind=kind, data=data, circular=circular, query_string=query_string,
            chart=circulars.score_chart_svg(data) if data else "",
            may_publish=publisher and not not_ended, not_ended=not_ended,
            published=Circular.objects.filter(township=township).order_by("-period_start", "period")[:24],
            period_value=f"{period:%Y-%m}" if kind == "month" else f"{period[0]}Q{period[1]}",
        )
        if kind == "month" and data is not None:
            context["summary"] = circulars.month_summary(data)
        elif data is not None:
            context["summary"] = circulars.quarter_summary(data)
            context["grade_rule"] = grade_rule_text()
        return self.render_to_response(self.get_context_data(**context), status=status)


class CircularDownloadView(LoginRequiredMixin, View):
    def get(self, request, fmt: str):
        if fmt not in circulars.FORMATS:
            raise Http404("不支持的格式。")
        user = request.user
        township, full = township_for(user, request.GET.get("township"))
        form = PeriodForm(request.GET, townships={township.pk: (township, full)})
        if not form.is_valid():
            return HttpResponse("；".join(e for errors in form.errors.values() for e in errors),
                                status=422, content_type="text/plain; charset=utf-8")
        kind, period = form.cleaned_data["kind"], form.cleaned_data["period"]
        data, _ = circular_data(township, full, kind, period)
        if data is None:
            raise Http404("本期考评通报尚未发布。")
        if fmt in JOB_FORMATS:  # laid out in the background; the job page shows its progress and the file
            return redirect("jobs:detail", pk=start_circular_document(user, township, kind, period, fmt).pk)
        content = circulars.export_circular(data, fmt, by=user, township=township)
        response = HttpResponse(content, content_type=circulars.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(circulars.filename(data, fmt))}"
        return response


def _document_response(content: bytes, name: str, fmt: str) -> HttpResponse:
    response = HttpResponse(content, content_type=incentives.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


def _plain_error(message: str) -> HttpResponse:
    return HttpResponse(message, status=422, content_type="text/plain; charset=utf-8")


class IncentiveDownloadView(LoginRequiredMixin, View):
    """The quarter's incentive sheet (季度激励方案): grade and reward per village, as .docx or .xlsx."""

    def get(self, request, fmt: str):
        if fmt not in incentives.FORMATS:
            raise Http404("不支持的格式。")
        user = request.user
        township, full = township_for(user, request.GET.get("township"))
        period = chinese_dates.parse_quarter(request.GET.get("quarter") or "")
        if period is None:
            return _plain_error(circulars.QUARTER_ERROR)
        data = incentives.build_incentive_sheet(township, *period, full=full)
        if data is None:
            raise Http404("本季度考评尚未发布。")
        content = incentives.export(data, fmt, by=user, township=township)
        return _document_response(content, incentives.filename(data, fmt), fmt)


class YearSummaryDownloadView(LoginRequiredMixin, View):
    """The year-end 绩效考核 summary: the four quarters of each village, as .docx or .xlsx."""

    def get(self, request, fmt: str):
        if fmt not in incentives.FORMATS:
            raise Http404("不支持的格式。")
        user = request.user
        township, full = township_for(user, request.GET.get("township"))
        text = (request.GET.get("year") or "").strip()
        if not text.isdigit() or not chinese_dates.plausible_year(int(text)):
            return _plain_error("年份格式应为四位数字，如 2026。")
        data = incentives.build_year_summary(township, int(text), full=full)
        content = incentives.export(data, fmt, by=user, township=township)
        return _document_response(content, incentives.filename(data, fmt), fmt)


class CircularPublishView(LoginRequiredMixin, View):
    def get(self, request):
        return redirect("patrol:circulars")

    def post(self, request):
        user = request.user
        township, full = township_for(user, request.POST.get("township"))
        if not full or not user.has_perm(PUBLISH_PERM, township):
            raise PermissionDenied("只有镇综合办可以发布考评通报。")
        form = PeriodForm(request.POST, townships={township.pk: (township, full)})
        if not form.is_valid():
            return CircularView(request=request, kwargs={}).render_page(request.POST, status=422)
        kind, period = form.cleaned_data["kind"], form.cleaned_data["period"]
        data = (circulars.build_month_circular(township, period) if kind == "month"
                else circulars.build_quarter_circular(township, *period))
        try:
            circulars.publish_circular(township, data, by=user)
        except ValidationError as exc:  # the period is still running (422), or already published (409)
            status = 422 if isinstance(exc, circulars.PeriodNotEnded) else 409
            view = CircularView(request=request, kwargs={})
            return view.render_page(request.POST, status=status, publish_error="；".join(exc.messages))
        messages.success(request, f"已发布《{data['title']}》。")
        return redirect(reverse("patrol:circulars") + "?" + _query_string(township, kind, period))


# ---------------------------------------------------------------- ledger exports (附件3, 附件4)


class LedgerExportForm(forms.Form):
    start = forms.DateField(label="起始日期", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="截止日期", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise ValidationError("起始日期不能晚于截止日期。")
        return cleaned


class VillageLedgerForm(LedgerExportForm):
    village = forms.ModelChoiceField(label="村（居）", queryset=Region.objects.none())
    field_order = ["village", "start", "end"]

    def __init__(self, data=None, *, user, initial=None):
        super().__init__(data, initial=initial)
        self.fields["village"].queryset = ledger_villages(user)
        _preselect_only_choice(self, "village")


class DepartmentBookForm(LedgerExportForm):
    department = forms.ModelChoiceField(label="牵头部门", queryset=Department.objects.none())
    field_order = ["department", "start", "end"]

    def __init__(self, data=None, *, user, initial=None):
        super().__init__(data, initial=initial)
        self.fields["department"].queryset = book_departments(user)
        self.fields["department"].label_from_instance = lambda d: f"{d.region.name} {d.name}"
        _preselect_only_choice(self, "department")


def _preselect_only_choice(form: forms.Form, name: str) -> None:
    """A village cadre has one village, a department one book: propose it instead of 请选择."""
    if not form.is_bound and name not in form.initial:
        only = list(form.fields[name].queryset[:2])
        if len(only) == 1:
            form.initial[name] = only[0].pk


def _initial_range():
    today = timezone.localdate()
    return {"start": today.replace(month=1, day=1).isoformat(), "end": today.isoformat()}


class LedgerExportsView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/circular_ledgers.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        if not (user.has_perm("inspection.view_villagepatrol") or user.has_perm("inspection.view_patrolreport")):
            raise PermissionDenied("您没有查看巡查台账的岗位。")
        # Shown for the first time: unbound (the dates proposed, nothing chosen yet, no errors).
        kwargs.setdefault("village_form", VillageLedgerForm(initial=_initial_range(), user=user)
                          if user.has_perm("inspection.view_villagepatrol") else None)
        kwargs.setdefault("department_form", DepartmentBookForm(initial=_initial_range(), user=user)
                          if user.has_perm("inspection.view_patrolreport") else None)
        return super().get_context_data(page_title="台账导出", **kwargs)


def _xlsx_response(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=circulars.CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


class VillageLedgerExportView(LoginRequiredMixin, View):
    def get(self, request):
        user = request.user
        require_perm(user, "inspection.view_villagepatrol")
        village = scope(user, Region.objects.filter(tier__key="village"), "inspection.view_villagepatrol").filter(
            pk=request.GET.get("village") if str(request.GET.get("village", "")).isdigit() else None).first()
        if village is None:
            raise Http404("村（居）不存在或无权查看。")
        form = VillageLedgerForm(request.GET, user=user)
        if not form.is_valid():
            view = LedgerExportsView(request=request, kwargs={})
            return view.render_to_response(view.get_context_data(village_form=form), status=422)
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        if village_ledger_size(user, village, start, end) > export_threshold():  # large: run as a job
            return redirect("jobs:detail", pk=start_village_ledger_export(user, village, start, end).pk)
        content = ledger_export.export_village_ledger(village, start, end, by=user)
        return _xlsx_response(content, f"{village.name}巡查工作台账（{start:%Y%m%d}-{end:%Y%m%d}）.xlsx")


class DepartmentBookExportView(LoginRequiredMixin, View):
    def get(self, request):
        user = request.user
        require_perm(user, "inspection.view_patrolreport")
        raw = str(request.GET.get("department", ""))
        department = book_departments(user).filter(pk=raw if raw.isdigit() else None).first()
        if department is None:
            raise Http404("部门不存在或无权查看。")
        form = DepartmentBookForm(request.GET, user=user)
        if not form.is_valid():
            view = LedgerExportsView(request=request, kwargs={})
            return view.render_to_response(view.get_context_data(department_form=form), status=422)
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        if department_book_size(user, department, start, end) > export_threshold():  # large: a job
            return redirect("jobs:detail", pk=start_department_book_export(user, department, start, end).pk)
        content = ledger_export.export_department_book(department, start, end, by=user)
        return _xlsx_response(content, f"{department.name}登记备案台账（{start:%Y%m%d}-{end:%Y%m%d}）.xlsx")
