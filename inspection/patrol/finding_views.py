"""Pages of the big patrol's findings (发现问题), supervision checks (督查记录) and oversight (督查与考评进度).
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance.audit import entries_for
from governance.audit_labels import action_label
from governance.form_defaults import attach_errors
from governance.listing import xlsx_export
from governance.paging import UncountedPage
from grid.access import require_perm, scope
from grid.models import Region

from ..models import PatrolFinding, SupervisionCheck, SupervisionGroup
from . import findings, oversight, work_records
from .finding_forms import (
    CheckFilterForm,
    CheckForm,
    ConfirmMonthForm,
    FindingFilterForm,
    FindingForm,
    FraudForm,
    OversightForm,
    RegisterForm,
    WorkRecordForm,
)

PAGE_SIZE = 50



def _history(obj) -> list:
    entries = list(entries_for(obj))
    for entry in entries:
        entry.action_label = action_label(entry.action)
    return entries


def _previous_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


# ---------------------------------------------------------------- findings


def findings_for(user, params) -> tuple[FindingFilterForm, QuerySet[PatrolFinding]]:
    """The findings list as `params` (the query string) asks: its form, and the visible, filtered, ordered rows.
    The page and its export both use it, so the file holds exactly the rows of the list."""
    form = FindingFilterForm(params or None, user=user)
    rows = form.apply(findings.visible_findings(user)).select_related("township", "village", "item", "group")
    return form, form.order(rows)


def finding_status_label(finding: PatrolFinding) -> str:
    """As inspection/finding_status.html shows it."""
    if finding.is_fraud:
        return "弄虚作假"
    if finding.registered_at is None:
        return "待核实登记"
    return "属实" if finding.is_true else "不属实"


class FindingListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/finding_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "inspection.view_patrolfinding")
        form, rows = findings_for(user, self.request.GET)
        page = UncountedPage(rows, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="发现问题", form=form, page=page,
                                        may_record=user.has_perm("inspection.add_patrolfinding"), **kwargs)


class FindingExportView(LoginRequiredMixin, View):
    """The findings list as an .xlsx: the same visible rows, filters and order, all pages."""

    HEADERS = ["编号", "乡镇", "村（居）", "目录事项编号", "目录事项", "来源", "督查组", "发现日期", "地点", "问题描述",
               "核实情况", "核实说明", "扣分", "登记备案时间"]

    def get(self, request):
        user = request.user
        require_perm(user, "inspection.view_patrolfinding")
        _form, rows = findings_for(user, request.GET)
        lines = ([f.number, f.township.name, f.village.name, f.item.code, f.item.name, f.get_source_display(),
                  f.group.name if f.group else "", f.discovered_on.strftime("%Y-%m-%d"), f.location, f.description,
                  finding_status_label(f), f.verification_note, f.points,
                  _minute(f.registered_at)] for f in rows.iterator(chunk_size=2000))
        return xlsx_export(about=PatrolFinding, rows=lines, headers=self.HEADERS, sheet_title="发现问题", filename="巡查发现问题", by=user,
                           action="patrol_finding.export", query=request.GET.urlencode())


def _minute(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


class FindingCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/finding_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("inspection.add_patrolfinding"):
            raise PermissionDenied("您没有录入巡查发现问题的岗位。")
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form, status=200):
        return self.render_to_response(self.get_context_data(form=form, page_title="录入发现问题"), status=status)

    def get(self, request):
        return self._render(FindingForm(user=request.user))

    def post(self, request):
        form = FindingForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                finding = findings.record_finding(
                    by=request.user, village=data["village"], item=data["item"], source=data["source"],
                    discovered_on=data["discovered_on"], location=data["location"], description=data["description"],
                    group=data.get("group"), matched_report=data["matched_report"], number=data["number"],
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"已录入 {finding.number}，待牵头部门核实登记。")
                return redirect("patrol:finding_detail", pk=finding.pk)
        return self._render(form, status=422)


def _visible_finding(user, pk) -> PatrolFinding:
    finding = (
        findings.visible_findings(user)
        .select_related("village", "township", "item__lead_department", "group", "matched_report", "recorded_by",
                        "registered_by", "fraud_flagged_by")
        .filter(pk=pk).first()
    )
    if finding is None:
        raise Http404("发现问题不存在或无权查看。")
    return finding


class FindingDetailView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/finding_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        finding = kwargs.pop("finding", None) or _visible_finding(user, self.kwargs["pk"])
        may_register = finding.registered_at is None and findings.may_register(user, finding)
        register_refusal = ""
        if may_register and (circular := findings.published_circular_of_month(finding.township, finding.discovered_on)):
            register_refusal = findings.published_month_refusal(circular, finding.discovered_on, "核实登记")
            may_register = False
        may_flag = not finding.is_fraud and user.has_perm("inspection.flag_patrol_fraud", finding.village)
        if may_register:
            kwargs.setdefault("register_form", RegisterForm(
                finding=finding, candidates=findings.matching_report_candidates(finding)))
        kwargs.setdefault("fraud_form", FraudForm())
        return super().get_context_data(
            page_title=f"发现问题 {finding.number}", finding=finding, may_register=may_register, may_flag=may_flag,
            register_refusal=register_refusal, history=_history(finding), **kwargs,
        )


class FindingRegisterView(LoginRequiredMixin, View):
    def get(self, request, pk):
        return redirect("patrol:finding_detail", pk=pk)

    def post(self, request, pk):
        finding = _visible_finding(request.user, pk)
        if not findings.may_register(request.user, finding):
            raise PermissionDenied("只有该事项的牵头部门或镇综合办可以核实登记该问题。")
        form = RegisterForm(request.POST, finding=finding, candidates=findings.matching_report_candidates(finding))
        if form.is_valid():
            data = form.cleaned_data
            try:
                findings.verify_and_register_finding(finding, by=request.user, is_true=data["is_true"],
                                                     matched_report=data["matched_report"], note=data["note"],
                                                     no_earlier_report=data["no_earlier_report"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"{finding.number} 已核实登记备案。")
                return redirect("patrol:finding_detail", pk=pk)
        view = FindingDetailView(request=request, kwargs={"pk": pk})
        return view.render_to_response(view.get_context_data(finding=finding, register_form=form), status=422)


class FindingFraudView(LoginRequiredMixin, View):
    def get(self, request, pk):
        return redirect("patrol:finding_detail", pk=pk)

    def post(self, request, pk):
        finding = _visible_finding(request.user, pk)
        if not request.user.has_perm("inspection.flag_patrol_fraud", finding.village):
            raise PermissionDenied("只有纪检监察可以认定弄虚作假。")
        form = FraudForm(request.POST)
        if form.is_valid():
            try:
                findings.flag_finding_fraud(finding, by=request.user, note=form.cleaned_data["note"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"{finding.number} 已认定为弄虚作假，其扣分冲销。")
                return redirect("patrol:finding_detail", pk=pk)
        view = FindingDetailView(request=request, kwargs={"pk": pk})
        return view.render_to_response(view.get_context_data(finding=finding, fraud_form=form), status=422)


# ---------------------------------------------------------------- supervision checks


def checks_for(user, params) -> tuple[CheckFilterForm, QuerySet[SupervisionCheck]]:
    """The supervision checks list as `params` asks: its form and the scoped, filtered, ordered rows (page and export)."""
    form = CheckFilterForm(params or None, user=user)
    checks = scope(user, SupervisionCheck.objects.all(), "inspection.view_supervisioncheck")
    checks = checks.select_related("group__township", "village", "recorded_by").prefetch_related("checked_by")
    return form, form.order(form.apply(checks))


def _person(user) -> str:
    return user.get_full_name() or user.username


class CheckListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/check_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "inspection.view_supervisioncheck")
        form, checks = checks_for(user, self.request.GET)
        page = UncountedPage(checks, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="督查记录", form=form, page=page,
                                        may_record=user.has_perm("inspection.add_supervisioncheck"), **kwargs)


class CheckExportView(LoginRequiredMixin, View):
    """The supervision checks list as an .xlsx: the same scoped rows, filters and order, all pages."""

    HEADERS = ["督查日期", "乡镇", "督查组", "村（居）", "督查人员", "台账", "督查情况", "录入人", "录入时间"]

    def get(self, request):
        user = request.user
        require_perm(user, "inspection.view_supervisioncheck")
        _form, checks = checks_for(user, request.GET)
        lines = ([c.date.strftime("%Y-%m-%d"), c.group.township.name, c.group.name, c.village.name,
                  "、".join(_person(p) for p in c.checked_by.all()), "规范" if c.ledger_ok else "不规范", c.notes,
                  _person(c.recorded_by), _minute(c.created_at)] for c in checks.iterator(chunk_size=2000))
        return xlsx_export(about=SupervisionCheck, rows=lines, headers=self.HEADERS, sheet_title="督查记录", filename="巡查督查记录", by=user,
                           action="supervision_check.export", query=request.GET.urlencode())


class CheckCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/check_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("inspection.add_supervisioncheck"):
            raise PermissionDenied("只有督查组成员可以记录督查。")
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form, status=200):
        return self.render_to_response(self.get_context_data(form=form, page_title="记录督查"), status=status)

    def get(self, request):
        return self._render(CheckForm(user=request.user))

    def post(self, request):
        form = CheckForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                check = findings.record_check(
                    by=request.user, group=data["group"], village=data["village"], date=data["date"],
                    checked_by=data["checked_by"], ledger_ok=data["ledger_ok"], notes=data["notes"],
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"已记录 {check.date:%m月%d日} 对{check.village.name}的督查。")
                return redirect("patrol:checks")
        return self._render(form, status=422)


# ---------------------------------------------------------------- oversight


def oversight_townships(user) -> list[Region]:
    """Townships the user oversees (inspection.view_departmentconfirmation on or above the township); those
    that run the big patrol (have supervision groups) first, so that a county user's page opens on one."""
    townships = scope(user, Region.objects.filter(tier__key="township"), "inspection.view_departmentconfirmation")
    runs_patrol = Exists(SupervisionGroup.objects.filter(township=OuterRef("pk")))
    return list(townships.annotate(runs_patrol=runs_patrol).order_by("-runs_patrol", "path")[:200])


class OversightView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/oversight.html"

    def get(self, request, *args, **kwargs):
        user = request.user
        require_perm(user, "inspection.view_departmentconfirmation")
        return self._render(OversightForm(request.GET or None, townships=oversight_townships(user)))

    def _render(self, form, confirm_form=None, status=200, work_form=None):
        user = self.request.user
        valid = form.is_valid() if form.is_bound else True
        if not valid:
            return self.render_to_response(self.get_context_data(page_title="督查与考评进度", form=form), status=422)
        data = form.cleaned_data if form.is_bound else {}
        township = data.get("township") or next(iter(form.townships.values()), None)
        today = timezone.localdate()
        month = data.get("month") or today.replace(day=1)
        assessed = _previous_month(today)
        context = {"page_title": "督查与考评进度", "form": form, "township": township, "month": month,
                   "assessed": assessed, "today": today}
        if township is not None:
            progress = oversight.unchecked_by_group(township, month)
            statuses = oversight.department_statuses(township, assessed, today)
            mine = {d.pk for d in findings.confirmable_departments(user)}
            context.update(
                progress=progress, unchecked_count=len({v.pk for p in progress for v in p.unchecked}),
                statuses=statuses, confirmation_deadline=oversight.confirmation_deadline(assessed),
                circular=oversight.month_circular(township, assessed),
                circular_deadline=oversight.circular_deadline(assessed),
                circular_days_late=oversight.circular_days_late(township, assessed, today),
                confirmable=[s for s in statuses if s.department.pk in mine and s.confirmed_at is None],
                confirm_form=confirm_form,
                work_checks=work_records.month_work(township, month),
                may_record_work=user.has_perm("inspection.add_patrolworkrecord", township),
                work_form=work_form or WorkRecordForm(initial={"township": township.pk, "date": today},
                                                      townships=[township]),
            )
        return self.render_to_response(self.get_context_data(**context), status=status)


class ConfirmMonthView(LoginRequiredMixin, View):
    def get(self, request):
        return redirect("patrol:oversight")

    def post(self, request):
        user = request.user
        if not user.has_perm("inspection.confirm_month"):
            raise PermissionDenied("只有部门人员可以确认本部门的月度考评。")
        form = ConfirmMonthForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                confirmation = findings.confirm_month(by=user, department=data["department"], month=data["month"],
                                                      note=data["note"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"{confirmation.department.name}已确认{confirmation.month:%Y年%m月}的考评。")
                return redirect(reverse("patrol:oversight"))
        view = OversightView(request=request, kwargs={})
        oversight_form = OversightForm(None, townships=oversight_townships(user))
        return view._render(oversight_form, confirm_form=form, status=422)


class WorkRecordCreateView(LoginRequiredMixin, View):
    """The office registers a monthly work meeting or a 简讯 from the oversight page."""

    def get(self, request):
        return redirect("patrol:oversight")

    def post(self, request):
        user = request.user
        require_perm(user, "inspection.add_patrolworkrecord")
        townships = oversight_townships(user)
        form = WorkRecordForm(request.POST, townships=townships)
        if form.is_valid():
            data = form.cleaned_data
            try:
                record = work_records.record_work(by=user, township=data["township"], kind=data["kind"],
                                                         date=data["date"], title=data["title"], note=data["note"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"已登记{record.get_kind_display()}：{record.title}。")
                return redirect(reverse("patrol:oversight") + f"?township={record.township_id}&month={record.date:%Y-%m}")
        view = OversightView(request=request, kwargs={})
        chosen = form.cleaned_data.get("township") if hasattr(form, "cleaned_data") else None
        query = {"township": chosen.pk} if chosen else None
        return view._render(OversightForm(query, townships=townships), status=422, work_form=form)
