"""Pages of county inspection rounds (巡察): rounds, groups and targets, mobile inspection, coverage.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from governance.audit import entries_for
from governance.audit_labels import action_label
from governance.listing import xlsx_export
from governance.site import MenuLink
from grid.access import require_perm, scope
from grid.models import Region
from inspection.rounds.mobile_inspection_flow import mobile_inspection_flow_bpmn, mobile_inspection_flow_svg

from ..models import InspectionGroup, InspectionRound, MobileProposal
from . import round_services
from .feedback import is_fed_back, rectification_deadline
from .list_forms import RoundListForm
from .onsite import visible_findings
from .round_forms import DecisionForm, GroupForm, ProposalForm, RoundForm, TargetsForm


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def round_for(user, pk) -> InspectionRound:
    round = round_services.rounds_visible(user).select_related("county").filter(pk=pk).first()
    if round is None:
        raise Http404("巡察轮次不存在或无权查看。")
    return round


def group_for(user, pk) -> InspectionGroup:
    group = round_services.groups_visible(user).select_related("round__county", "township", "leader").filter(pk=pk).first()
    if group is None:
        raise Http404("巡察组不存在或无权查看。")
    return group


def proposal_for(user, pk) -> MobileProposal:
    proposal = (round_services.proposals_visible(user)
                .select_related("group__round__county", "group__township", "village", "proposed_by", "decided_by")
                .filter(pk=pk).first())
    if proposal is None:
        raise Http404("机动巡察提议不存在或无权查看。")
    return proposal


def _people(group: InspectionGroup) -> dict:
    return {"deputies": list(group.deputies.all()), "members": list(group.members.all())}


# ---------------------------------------------------------------- rounds


def rounds_for(user, params) -> tuple[RoundListForm, QuerySet[InspectionRound]]:
    """The rounds the list and its export show: rounds_visible, filtered and ordered as asked, with the
    number of groups and targets of each (one query for the whole list). 403 for a user without the page."""
    visible = round_services.rounds_visible(user)
    if not user.has_perm("inspection.view_inspectionround") and not visible.exists():
        raise PermissionDenied("您没有查看巡察轮次的权限。")
    form = RoundListForm(params or None, rounds=visible)
    rounds = visible.select_related("county").annotate(
        group_count=Count("groups", distinct=True), target_count=Count("targets", distinct=True))
    return form, form.apply(rounds)


class RoundListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/round_list.html"

    def get(self, request, *args, **kwargs):
        if round_services.reads_rounds_as_township_only(request.user):
            return redirect("inspection:township_rounds")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        form, rounds = rounds_for(user, self.request.GET)
        return super().get_context_data(
            page_title="巡察轮次", form=form, rounds=list(rounds),
            may_create=user.has_perm("inspection.manage_inspectionround"), **kwargs)


class RoundsMenuLink(MenuLink):
    """巡察轮次 of the office, leading group and groups; a township committee gets its own page instead."""

    def allowed(self, user) -> bool:
        return super().allowed(user) and not round_services.reads_rounds_as_township_only(user)


class TownshipRoundsMenuLink(MenuLink):
    """巡察轮次 of an inspected township: the rounds in which its committee is a target."""

    def allowed(self, user) -> bool:
        return user.is_authenticated and round_services.reads_rounds_as_township_only(user)


class TownshipRoundListView(LoginRequiredMixin, TemplateView):
    """The rounds in which the user's township is a target, with its group and feedback."""

    template_name = "inspection/township_round_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        if not user.has_perm(round_services.ROUND_VIEW_PERM):
            raise PermissionDenied("您没有查看巡察轮次的权限。")
        targets = list(round_services.township_targets_visible(user)
                       .select_related("round", "group", "organisation").order_by("-round__arrival_date", "organisation__path"))
        for target in targets:
            target.fed_back = is_fed_back(target.group)
            target.deadline = (rectification_deadline(target.round, target.group.feedback_on)
                               if target.group.feedback_on else None)
        return super().get_context_data(page_title="巡察轮次", targets=targets, **kwargs)


class TownshipRoundDetailView(LoginRequiredMixin, TemplateView):
    """One round as its inspected township sees it: the round, its group at the township, the township's
    own target row and, once fed back, the feedback, the 集中整改期 deadline, the findings handed over and
    the township's rectification plans. Never another township's rows, talks, clues or unreleased findings."""

    template_name = "inspection/township_round_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        targets = list(round_services.township_targets_visible(user).filter(round_id=self.kwargs["pk"])
                       .select_related("round__county", "group__leader", "organisation").order_by("organisation__path"))
        if not targets:
            raise Http404("巡察轮次不存在或无权查看。")
        round = targets[0].round
        sections = []
        for target in targets:
            group, township = target.group, target.organisation
            fed_back = is_fed_back(group)
            findings = (visible_findings(user).filter(round=round, group=group, fed_back_at__isnull=False)
                        .select_related("target__organisation", "village", "focus").order_by("id")
                        if fed_back else [])
            plans = (scope(user, round.rectification_plans.filter(organisation__path__startswith=township.path),
                           "rectification.view_rectificationplan").select_related("organisation").order_by("organisation__path")
                     if fed_back else [])
            sections.append({
                "target": target, "group": group, "township": township, "deputies": list(group.deputies.all()),
                "fed_back": fed_back, "findings": list(findings), "plans": list(plans),
                "deadline": rectification_deadline(round, group.feedback_on) if group.feedback_on else None,
            })
        return super().get_context_data(page_title=round.name, round=round, sections=sections, **kwargs)


class RoundExportView(LoginRequiredMixin, View):
    """The rounds of the list (same filters and order) as an .xlsx ledger of rounds."""

    HEADERS = ["名称", "县", "届次", "轮次", "进驻日期", "撤回日期", "巡察组数", "巡察对象数"]

    def get(self, request):
        _form, rounds = rounds_for(request.user, request.GET)
        lines = ([r.name, r.county.name, r.term, f"第{r.number}轮", f"{r.arrival_date:%Y-%m-%d}",
                  f"{r.withdrawal_date:%Y-%m-%d}", r.group_count, r.target_count] for r in rounds)
        return xlsx_export(about=InspectionRound, rows=lines, headers=self.HEADERS, sheet_title="巡察轮次", filename="巡察轮次",
                           by=request.user, action="inspection.round.export", query=request.GET.urlencode())


class RoundCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/round_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("inspection.manage_inspectionround"):
            raise PermissionDenied("只有县委巡察办可以组织巡察轮次。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=RoundForm(user=request.user), page_title="新建巡察轮次"))

    def post(self, request):
        form = RoundForm(request.POST, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            try:
                round = round_services.create_round(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, f"已新建{round.name}。")
                return redirect("inspection:round_detail", pk=round.pk)
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="新建巡察轮次"),
                                       status=422)


class RoundDetailView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/round_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        round = round_for(user, self.kwargs["pk"])
        groups = list(round.groups.select_related("township", "leader").prefetch_related("deputies", "members")
                      .order_by("number"))
        targets = list(round.targets.select_related("organisation", "group").order_by("group__number", "organisation__path"))
        counts = {row["group"].pk: row for row in round_services.class_counts(round)}
        pending = (MobileProposal.objects.filter(group__round=round, decision=MobileProposal.Decision.PENDING)
                   .select_related("group", "village", "proposed_by").order_by("proposed_on", "id"))
        rows = []
        for group in groups:
            group_targets = [target for target in targets if target.group_id == group.pk]
            rows.append({
                "group": group, "deputies": list(group.deputies.all()), "members": list(group.members.all()),
                "committee": next((t for t in group_targets if t.organisation_id == group.township_id), None),
                "villages": [t for t in group_targets if t.organisation_id != group.township_id],
                "counts": counts.get(group.pk), "deadline": round_services.mobile_deadline(group),
                "used": round_services.mobile_used(group),
            })
        totals = {key: sum(row["counts"][key] for row in rows if row["counts"]) for key in
                  ("key", "advanced", "ordinary", "unclassed", "mobile", "total")}
        return super().get_context_data(
            page_title=round.name, round=round, rows=rows, pending=list(pending), totals=totals,
            may_manage=round_services.may_manage(user, round),
            may_add_group=round_services.may_add_group(user, round),
            may_decide=user.has_perm("inspection.decide_mobileproposal", round.county), **kwargs)


class GroupCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/round_group_form.html"

    def _round(self, request, pk):
        round = round_for(request.user, pk)
        if not round_services.may_manage(request.user, round):
            raise PermissionDenied("只有县委巡察办可以组建巡察组。")
        if round_services.withdrawn(round):
            raise PermissionDenied(round_services.withdrawn_message(round))
        return round

    def get(self, request, pk):
        round = self._round(request, pk)
        return self.render_to_response(self.get_context_data(round=round, form=GroupForm(round=round),
                                                             page_title=f"{round.name}：组建巡察组"))

    def post(self, request, pk):
        round = self._round(request, pk)
        form = GroupForm(request.POST, round=round)
        errors: list[str] = []
        if form.is_valid():
            try:
                group = round_services.add_group(by=request.user, round=round, **form.cleaned_data)
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, f"已组建{group.name}，{group.township.name}党委已列为巡察对象。")
                return redirect("inspection:round_group", pk=group.pk)
        return self.render_to_response(self.get_context_data(
            round=round, form=form, errors=errors, page_title=f"{round.name}：组建巡察组"), status=422)


class GroupDetailView(LoginRequiredMixin, TemplateView):
    """A group: its people, targets with class and mode, proposals; the office chooses the villages."""

    template_name = "inspection/round_group.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        group = kwargs.pop("group", None) or group_for(user, self.kwargs["pk"])
        may_manage = round_services.may_manage(user, group.round)
        targets = list(group.targets.select_related("organisation").order_by("organisation__path"))
        deadline = round_services.mobile_deadline(group)
        return super().get_context_data(
            page_title=f"{group.round.name}{group.name}", group=group, round=group.round, **_people(group),
            committee=next((t for t in targets if t.organisation_id == group.township_id), None),
            villages=[t for t in targets if t.organisation_id != group.township_id],
            proposals=list(group.proposals.select_related("village", "proposed_by").order_by("-proposed_on", "-id")),
            deadline=deadline, used=round_services.mobile_used(group),
            may_manage=may_manage, form=kwargs.pop("form", None) or (TargetsForm(group=group) if may_manage else None),
            may_propose=round_services.may_propose(user, group), **kwargs)

    def post(self, request, pk):
        group = group_for(request.user, pk)
        if not round_services.may_manage(request.user, group.round):
            raise PermissionDenied("只有县委巡察办可以确定巡察对象。")
        form = TargetsForm(request.POST, group=group)
        errors: list[str] = []
        if form.is_valid():
            villages, classes = form.chosen()
            try:
                round_services.set_targets(by=request.user, group=group, villages=villages, classes=classes)
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, f"{group.name}的巡察对象已保存。")
                return redirect("inspection:round_group", pk=group.pk)
        return self.render_to_response(self.get_context_data(group=group, form=form, errors=errors), status=422)


# ---------------------------------------------------------------- mobile inspection


class ProposalCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/proposal_form.html"

    def _group(self, request, pk):
        group = group_for(request.user, pk)
        if not round_services.may_propose(request.user, group):
            raise PermissionDenied(f"只有{group.name}的组长、副组长可以提出机动巡察。")
        return group

    def _context(self, group, form, **kwargs):
        return self.get_context_data(group=group, form=form, deadline=round_services.mobile_deadline(group),
                                     used=round_services.mobile_used(group), page_title=f"{group.name}：提出机动巡察",
                                     **kwargs)

    def get(self, request, pk):
        group = self._group(request, pk)
        return self.render_to_response(self._context(group, ProposalForm(group=group)))

    def post(self, request, pk):
        group = self._group(request, pk)
        form = ProposalForm(request.POST, group=group)
        errors: list[str] = []
        if form.is_valid():
            try:
                proposal = round_services.propose_mobile(by=request.user, group=group, village=form.cleaned_data["village"],
                                                         reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, f"已提出机动巡察{proposal.village.name}，等待领导小组审批。")
                return redirect("inspection:proposal_detail", pk=proposal.pk)
        return self.render_to_response(self._context(group, form, errors=errors), status=422)


class ProposalDetailView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/proposal_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        proposal = kwargs.pop("proposal", None) or proposal_for(user, self.kwargs["pk"])
        history = list(entries_for(proposal))
        for entry in history:
            entry.action_label = action_label(entry.action)
        pending = proposal.decision == MobileProposal.Decision.PENDING
        return super().get_context_data(
            page_title=f"机动巡察：{proposal.village.name}", proposal=proposal, group=proposal.group,
            deadline=round_services.mobile_deadline(proposal.group), history=history,
            may_decide=pending and round_services.may_decide(user, proposal),
            form=kwargs.pop("form", None) or DecisionForm(), svg=mobile_inspection_flow_svg(proposal), **kwargs)

    def post(self, request, pk):
        proposal = proposal_for(request.user, pk)
        if not round_services.may_decide(request.user, proposal):
            raise PermissionDenied("只有巡察工作领导小组可以审批机动巡察。")
        form = DecisionForm(request.POST)
        errors: list[str] = []
        if form.is_valid():
            approve = form.cleaned_data["decision"] == "approve"
            try:
                round_services.decide_proposal(proposal, by=request.user, approve=approve, note=form.cleaned_data["note"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, f"已{'同意' if approve else '不同意'}机动巡察{proposal.village.name}。")
                return redirect("inspection:proposal_detail", pk=proposal.pk)
        else:
            errors = ["请选择审批结果。"]
        proposal.refresh_from_db()
        return self.render_to_response(self.get_context_data(proposal=proposal, form=form, errors=errors), status=422)


class ProposalChartView(LoginRequiredMixin, TemplateView):
    """The MobileInspectionFlow chart; for one proposal, its steps so far coloured."""

    template_name = "inspection/proposal_chart.html"

    def get(self, request, pk=None):
        proposal = proposal_for(request.user, pk) if pk else None
        if proposal is None:
            require_perm(request.user, "inspection.view_mobileproposal")
        if request.GET.get("format") == "bpmn":
            response = HttpResponse(mobile_inspection_flow_bpmn(), content_type="application/xml")
            response["Content-Disposition"] = 'attachment; filename="MobileInspectionFlow.bpmn"'
            return response
        svg = mobile_inspection_flow_svg(proposal)
        if request.GET.get("format") == "svg":
            return HttpResponse(svg, content_type="image/svg+xml")
        title = f"机动巡察{proposal.village.name}流程图" if proposal else "机动巡察审批流程图"
        return self.render_to_response(self.get_context_data(page_title=title, proposal=proposal, svg=svg))


# ---------------------------------------------------------------- coverage (全覆盖)


class CoverageView(LoginRequiredMixin, TemplateView):
    """Per term: which township committees and villages of the county have been inspected, by round."""

    template_name = "inspection/coverage.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "inspection.view_roundtarget")
        # Coverage of a whole county is for those who oversee it (office, leading group).
        counties = list(scope(user, Region.objects.filter(tier__key="county"), "inspection.view_inspectionround")
                        .order_by("path"))
        if not counties:
            raise PermissionDenied("巡察覆盖情况仅供县委巡察办和巡察工作领导小组查看。")
        county = next((c for c in counties if str(c.pk) == self.request.GET.get("county")), counties[0])
        rounds = round_services.rounds_visible(user).filter(county=county)
        terms = round_services.terms(rounds)
        term = self.request.GET.get("term") or (terms[0] if terms else "")
        if term and term not in terms:
            raise Http404("没有该届次的巡察轮次。")
        data = round_services.coverage(county, term, rounds) if term else None
        return super().get_context_data(
            page_title="巡察覆盖情况", counties=counties, county=county, terms=terms, term=term, data=data,
            svg=round_services.coverage_svg(data) if data else "", **kwargs)

