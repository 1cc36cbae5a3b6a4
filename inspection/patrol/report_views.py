"""Pages of the village patrol ledger (附件3), village reports and the lead department's verification.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance.audit import entries_for
from governance.audit_labels import action_label
from governance.evidence import EvidenceRejected, attachment_response, attachments_of, disagreement_warnings
from governance.listing import xlsx_export
from governance.paging import UncountedPage
from grid.access import get_object_for_user, require_perm, scope
from grid.flow_policy import DEFAULT_POLICY, policy_for_user
from inspection.patrol.report_flow import patrol_report_flow_bpmn, patrol_report_flow_svg, township_reviews

from ..models import PatrolReport, VillagePatrol
from . import reports as report_services
from .ledger_export import patrol_prefetches
from .report_forms import (
    FollowUpForm,
    FraudForm,
    LedgerFilterForm,
    PatrolReportForm,
    ReportListForm,
    ReviewForm,
    VerifyForm,
    VerifyQueueForm,
    VillagePatrolForm,
)
from .report_registration import review_queue, verify_queue
from .scoring import with_tip_off

PAGE_SIZE = 50



def _error_messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    return [str(exc)]


# ---------------------------------------------------------------- the village patrol ledger


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _minute(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def patrols_for(user, params) -> tuple[LedgerFilterForm, QuerySet[VillagePatrol]]:
    """The ledger list as `params` (the query string) asks: its form and the scoped, filtered, ordered patrols.
    The page and its row export both use it, so the file holds exactly the rows of the list."""
    form = LedgerFilterForm(params or None, user=user)
    patrols = (
        scope(user, VillagePatrol.objects.all(), "inspection.view_villagepatrol")
        .select_related("village", "recorded_by").prefetch_related(*patrol_prefetches("patrollers", "items"))
    )
    return form, form.order(form.apply(patrols))


class LedgerListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/ledger_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "inspection.view_villagepatrol")
        form, patrols = patrols_for(user, self.request.GET)
        page = UncountedPage(patrols, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(
            page_title="村级巡查台账", form=form, page=page, may_record=user.has_perm("inspection.add_villagepatrol"),
            **kwargs,
        )


class LedgerListExportView(LoginRequiredMixin, View):
    """The ledger list's rows as an .xlsx (same rows, filters and order). The formal 附件3 per village stays
    patrol:ledger_export."""

    HEADERS = ["巡查日期", "村（居）", "巡查人员", "巡查事项", "巡查路线或地点", "巡查情况", "记录人", "记录时间"]

    def get(self, request):
        user = request.user
        require_perm(user, "inspection.view_villagepatrol")
        _form, patrols = patrols_for(user, request.GET)
        lines = ([p.date.strftime("%Y-%m-%d"), p.village.name, "、".join(_person(u) for u in p.patrollers.all()),
                  "、".join(f"{item.code} {item.name}" for item in p.items.all()), p.route, p.findings,
                  _person(p.recorded_by), _minute(p.created_at)] for p in patrols.iterator(chunk_size=2000))
        return xlsx_export(about=VillagePatrol, rows=lines, headers=self.HEADERS, sheet_title="村级巡查台账", filename="村级巡查台账清单",
                           by=user, action="village_patrol.export", query=request.GET.urlencode())


class LedgerCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/ledger_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("inspection.add_villagepatrol"):
            raise PermissionDenied("您不是村（居）巡查员，不能记录巡查台账。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=VillagePatrolForm(user=request.user), page_title="记录村级巡查"))

    def post(self, request):
        form = VillagePatrolForm(request.POST, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            data = form.cleaned_data
            try:
                report_services.record_village_patrol(
                    by=request.user, village=data["village"], date=data["date"], patrollers=data["patrollers"],
                    items=data["items"], route=data["route"], findings=data["findings"],
                )
            except ValidationError as exc:
                errors = _error_messages(exc)
            else:
                messages.success(request, "巡查已记入台账。")
                return redirect("patrol:ledger")
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="记录村级巡查"), status=422)


# ---------------------------------------------------------------- reports


def _report_queryset():
    return with_tip_off(PatrolReport.objects.select_related(
        "village", "township", "item__lead_department", "reporter", "verified_by", "duplicate_of", "patrol",
        "fraud_flagged_by",
    ))


def _report_for(user, pk) -> PatrolReport:
    return get_object_for_user(user, _report_queryset(), "inspection.view_patrolreport", pk=pk)


def reports_for(user, params) -> tuple[ReportListForm, QuerySet[PatrolReport]]:
    """The reports list as `params` asks: its form and the scoped, filtered, ordered reports (page and export)."""
    form = ReportListForm(params or None, user=user)
    reports = form.apply(scope(user, _report_queryset(), "inspection.view_patrolreport"))
    return form, form.order(reports)


class ReportListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/report_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "inspection.view_patrolreport")
        form, reports = reports_for(user, self.request.GET)
        page = UncountedPage(reports, self.request.GET.get("page"), PAGE_SIZE)
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            page_title="村级上报", form=form, page=page, may_report=user.has_perm("inspection.add_patrolreport"),
            page_query=query.urlencode(), **kwargs,
        )


class ReportExportView(LoginRequiredMixin, View):
    """The reports list as an .xlsx: the same scoped rows, filters and order, all pages."""

    HEADERS = ["编号", "乡镇", "村（居）", "目录事项编号", "目录事项", "牵头部门", "发生时间", "地点", "问题描述", "上报日期",
               "上报人", "核实结果", "核实日期", "核实情况", "登记备案号", "弄虚作假", "加分"]

    def get(self, request):
        user = request.user
        require_perm(user, "inspection.view_patrolreport")
        _form, reports = reports_for(user, request.GET)
        lines = ([r.number, r.township.name, r.village.name, r.item.code, r.item.name, r.item.lead_department.name,
                  _minute(r.occurred_at), r.location, r.description, r.reported_on.strftime("%Y-%m-%d"),
                  _person(r.reporter), r.get_verdict_display(), r.verified_on.strftime("%Y-%m-%d") if r.verified_on else "",
                  r.verification_note, r.registration_number, r.is_fraud, r.earned_points]
                 for r in reports.iterator(chunk_size=2000))
        return xlsx_export(about=PatrolReport, rows=lines, headers=self.HEADERS, sheet_title="村级上报", filename="村级上报", by=user,
                           action="patrol_report.export", query=request.GET.urlencode())


class VerifyQueueView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/report_queue.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "inspection.verify_patrolreport")
        form = VerifyQueueForm(self.request.GET or None)
        page = UncountedPage(form.order(verify_queue(user, _report_queryset())), self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(
            page_title="待核实上报", form=form, page=page, clear_url=reverse("patrol:verify_queue"),
            hint="本部门牵头的目录事项中，各村（居）上报、尚未核实的问题（默认最早的在前）。", **kwargs)


class ReviewQueueView(LoginRequiredMixin, TemplateView):
    """Reports waiting for the township office's review (where the flow policy asks for it)."""

    template_name = "inspection/report_queue.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "inspection.review_patrolreport")
        form = VerifyQueueForm(self.request.GET or None)
        page = UncountedPage(form.order(review_queue(user, _report_queryset())), self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(
            page_title="待审核上报", form=form, page=page, clear_url=reverse("patrol:review_queue"),
            hint="流程策略要求乡镇审核的村（居）上报，审核通过后转牵头部门核实（默认最早的在前）。", **kwargs)


class ReportCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/report_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("inspection.add_patrolreport"):
            raise PermissionDenied("您不是村（居）巡查员，不能上报。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=PatrolReportForm(user=request.user), page_title="村级上报"))

    def post(self, request):
        form = PatrolReportForm(request.POST, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = report_services.submit_report(
                    by=request.user, village=data["village"], item=data["item"], occurred_at=data["occurred_at"],
                    location=data["location"], description=data["description"], patrol=data["patrol"],
                    files=request.FILES.getlist("files"), idempotency_key=data["idempotency_key"],
                )
            except (ValidationError, EvidenceRejected) as exc:
                errors = _error_messages(exc)
            else:
                messages.success(request, f"已上报（{report.number}），等待{report.item.lead_department.name}核实。")
                return redirect("patrol:report_detail", pk=report.pk)
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="村级上报"), status=422)


class ReportDetailView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/report_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        report = kwargs.pop("report", None) or _report_for(user, self.kwargs["pk"])
        attachments = []
        for attachment in attachments_of(report).order_by("id"):
            warnings = disagreement_warnings(attachment, occurred_at=report.occurred_at) if attachment.kind == "image" else []
            attachments.append((attachment, warnings))
        step = report_services.current_step(report)
        lead = report_services.may_verify(user, report)
        reviewer = step == "township_review" and report_services.may_review(user, report)
        history = list(entries_for(report))
        for entry in history:
            entry.action_label = action_label(entry.action)
            # the note belongs to the verification; later entries carry it in their snapshot too
            entry.note = (entry.after or {}).get("verification_note") if entry.action.startswith(
                "patrol_report.verify") else ""
        may_follow_up = lead and report.verdict == PatrolReport.Verdict.TRUE and not report.follow_up and (
            step == "follow_up" or step is None)
        return super().get_context_data(
            page_title=f"上报 {report.number}", report=report, attachments=attachments, step=step,
            may_verify=lead and report.verdict == PatrolReport.Verdict.PENDING and step in ("verify", None),
            may_follow_up=may_follow_up, may_close=lead and step == "follow_up", may_review=reviewer,
            may_flag=report_services.may_flag_fraud(user, report) and not report.is_fraud,
            duplicate_candidates=report_services.duplicate_candidates(report)[:20],
            follow_up_choices=FollowUpForm.KIND_CHOICES, history=history, svg=patrol_report_flow_svg(report),
            patrollers=list(report.patrol.patrollers.all()) if report.patrol_id else [],
            **kwargs,
        )


class ReportActionView(LoginRequiredMixin, View):
    """POST a step (verify / follow_up / fraud); errors re-render the detail page with 422."""

    def get(self, request, pk, action):
        return redirect("patrol:report_detail", pk=pk)

    def post(self, request, pk, action):
        report = _report_for(request.user, pk)  # outside the user's regions: 404
        try:
            if action == "verify":
                form = VerifyForm(request.POST)
                if not form.is_valid():
                    raise report_services.ReportError([f"{error}" for errors in form.errors.values() for error in errors])
                data = form.cleaned_data
                duplicate_of = None
                if data.get("duplicate_of"):
                    # Only the same village's reports can be duplicated: another village's answers as missing.
                    duplicate_of = PatrolReport.objects.filter(pk=data["duplicate_of"], village_id=report.village_id).first()
                    if duplicate_of is None:
                        raise report_services.ReportError("找不到被重复的上报。")
                report_services.verify_report(
                    report, by=request.user, verdict=data.get("verdict") or "", note=data.get("note") or "",
                    duplicate_of=duplicate_of, registration_number=data.get("registration_number") or "",
                )
                done = "核实结果已登记。"
            elif action == "review":
                form = ReviewForm(request.POST)
                if not form.is_valid():
                    raise report_services.ReportError([f"{error}" for errors in form.errors.values() for error in errors])
                passed = form.cleaned_data["decision"] == "passed"
                report_services.review_report(report, by=request.user, passed=passed, note=form.cleaned_data.get("note") or "")
                done = f"审核通过，已转{report.item.lead_department.name}核实。" if passed else "审核不通过，已通知上报人。"
            elif action == "follow_up":
                form = FollowUpForm(request.POST)
                form.is_valid()
                kind, note = form.cleaned_data.get("kind") or "", form.cleaned_data.get("note") or ""
                if kind == "none":
                    report_services.close_without_follow_up(report, by=request.user, note=note)
                    done = "已确认无需后续处置。"
                else:
                    report_services.open_follow_up(report, by=request.user, kind=kind, note=note)
                    done = "后续处置已安排。"
            elif action == "fraud":
                form = FraudForm(request.POST)
                form.is_valid()
                report_services.flag_report_fraud(report, by=request.user, note=form.cleaned_data.get("note") or "")
                done = "已认定弄虚作假，该上报的加分已冲销。"
            else:
                raise Http404("未知的办理操作。")
        except ValidationError as exc:
            view = ReportDetailView(request=request, kwargs={"pk": pk})
            context = view.get_context_data(report=_report_for(request.user, pk), errors=_error_messages(exc),
                                            posted=request.POST, posted_action=action, pk=pk)
            return view.render_to_response(context, status=422)
        messages.success(request, done)
        return HttpResponseRedirect(reverse("patrol:report_detail", args=[pk]))


class ReportEvidenceView(LoginRequiredMixin, View):
    """A report's photo or document, to whoever may see the report (404 otherwise)."""

    def get(self, request, pk, attachment_pk):
        report = _report_for(request.user, pk)
        attachment = attachments_of(report).filter(pk=attachment_pk).first()
        if attachment is None:
            raise Http404("附件不存在或无权查看。")
        return attachment_response(attachment, thumbnail=request.GET.get("thumb") == "1")


class ReportChartView(LoginRequiredMixin, TemplateView):
    """The PatrolReportFlow chart; for one report, its steps so far coloured."""

    template_name = "inspection/report_chart.html"

    def get(self, request, pk=None):
        report = _report_for(request.user, pk) if pk else None
        if report is None:
            require_perm(request.user, "inspection.view_patrolreport")
        if request.GET.get("format") == "bpmn":
            response = HttpResponse(patrol_report_flow_bpmn(), content_type="application/xml")
            response["Content-Disposition"] = 'attachment; filename="PatrolReportFlow.bpmn"'
            return response
        svg = patrol_report_flow_svg(report)
        if request.GET.get("format") == "svg":
            return HttpResponse(svg, content_type="image/svg+xml")
        title = f"上报 {report.number} 流程图" if report else "大巡查上报流程图"
        # The review branch in force: the report's own version, or the one where the user works.
        review = township_reviews(report) if report else (policy_for_user(request.user) or DEFAULT_POLICY).patrol_township_review
        return self.render_to_response(self.get_context_data(page_title=title, report=report, svg=svg, review=review))
