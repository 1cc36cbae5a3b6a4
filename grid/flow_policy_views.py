"""The county office's pages of its flow policy (no admin rights needed): the versions of the county
and its townships, and a form that saves a new version from a date. Scoped by the region grants of
grid.add_flowpolicy / grid.view_flowpolicy: another county's office sees nothing of these.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.generic import TemplateView

from . import services
from .access import get_object_for_user, require_perm, scope
from .flow_policy import policy_in_force
from .models import FlowPolicy, FlowPolicyDeadline, Region

VIEW, ADD = "grid.view_flowpolicy", "grid.add_flowpolicy"
POLICY_FIELDS = [
    "effective_from", "use_grid", "use_village", "use_township", "use_county",
    "dispatch_at_grid", "dispatch_at_village", "dispatch_at_township", "dispatch_at_county",
    "verifier", "returns_before_escalation", "department_may_send_back", "send_back_limit",
    "patrol_township_review", "rectification_office_verifies", "note",
]


class FlowPolicyVersionForm(forms.ModelForm):
    class Meta:
        model = FlowPolicy
        fields = POLICY_FIELDS
        widgets = {"effective_from": forms.DateInput(attrs={"type": "date"})}


def _regions(user):
    """The county and townships whose policy `user` may see (the regions a policy may be set on)."""
    return scope(user, Region.objects.filter(tier__key__in=("county", "township")), VIEW).select_related("tier")


class FlowPolicyListView(LoginRequiredMixin, TemplateView):
    template_name = "grid/flow_policies.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, VIEW)
        policies = scope(user, FlowPolicy.objects.select_related("region"), VIEW).order_by(
            "region__path", "-effective_from", "-version")
        regions = [(region, policy_in_force(region), user.has_perm(ADD, region))
                   for region in _regions(user).order_by("path")]
        return super().get_context_data(page_title="流程策略", policies=policies, regions=regions, **kwargs)


class FlowPolicyCreateView(LoginRequiredMixin, TemplateView):
    """A new version for one region, starting from the version in force there."""

    template_name = "grid/flow_policy_form.html"

    def _region(self):
        region = get_object_for_user(self.request.user, Region.objects.filter(tier__key__in=("county", "township")),
                                     VIEW, pk=self.kwargs["region_pk"])  # outside the user's regions: 404
        require_perm(self.request.user, ADD, region)
        return region

    def get(self, request, region_pk):
        region = self._region()
        current = policy_in_force(region)
        initial = {name: getattr(current, name) for name in POLICY_FIELDS if name != "effective_from"} if current else {}
        return self.render_to_response(self.get_context_data(
            page_title=f"{region.name}流程策略：新版本", region=region, current=current,
            form=FlowPolicyVersionForm(initial=initial)))

    def post(self, request, region_pk):
        region = self._region()
        form = FlowPolicyVersionForm(request.POST)
        errors = []
        if form.is_valid():
            deadlines = _inherited_deadlines(policy_in_force(region), form)
            fields = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
            try:
                policy = services.create_flow_policy(by=request.user, region=region, deadlines=deadlines, **fields)
            except ValidationError as exc:
                errors = list(exc.messages)
            else:
                messages.success(request, f"已保存{region.name}流程策略第{policy.version}版，自 {policy.effective_from} 起上报的事项按该版本办理。")
                return redirect("grid:flow_policies")
        return self.render_to_response(self.get_context_data(
            page_title=f"{region.name}流程策略：新版本", region=region, current=policy_in_force(region),
            form=form, errors=errors), status=422)


def _inherited_deadlines(current: FlowPolicy | None, form) -> list[dict]:
    """The deadline rows of the version in force, for the tiers still in the chain; at the new top of
    the chain a timeout can only supervise (nothing above to escalate to)."""
    chain = [key for key in FlowPolicy.TIER_ORDER if form.cleaned_data.get(f"use_{key}")]
    rows = []
    for row in (current.deadlines.all() if current else []):
        if row.tier not in chain:
            continue
        action = FlowPolicyDeadline.Action.SUPERVISE if row.tier == chain[-1] else row.action
        rows.append({"tier": row.tier, "urgency": row.urgency, "hours": row.hours,
                     "working_hours": row.working_hours, "action": action})
    return rows
