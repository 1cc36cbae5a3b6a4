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
from .models import Event, FlowPolicy, FlowPolicyDeadline, Region

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


class DeadlineRowForm(forms.Form):
    """One tier and urgency of the new version: its deadline and what a timeout does (blank hours: the
    county's default time limits apply)."""

    tier = forms.CharField(widget=forms.HiddenInput)
    urgency = forms.CharField(widget=forms.HiddenInput)
    hours = forms.IntegerField(label="时限（小时）", required=False, min_value=1, max_value=24 * 365)
    working_hours = forms.BooleanField(label="按工作日计时", required=False)
    action = forms.ChoiceField(label="超期处理", choices=FlowPolicyDeadline.Action.choices,
                               initial=FlowPolicyDeadline.Action.SUPERVISE)

    def clean(self):
        data = super().clean()
        if data.get("tier") not in FlowPolicy.TIER_ORDER or data.get("urgency") not in Event.Urgency.values:
            raise ValidationError("时限设置的层级或紧急程度无效。")
        return data


DeadlineRows = forms.formset_factory(DeadlineRowForm, extra=0, max_num=len(FlowPolicy.TIER_ORDER) * 3,
                                     validate_max=True)
DEADLINE_PREFIX = "dl"


def deadline_rows(current: FlowPolicy | None, data=None):
    """A row for every tier and urgency, filled from the version in force."""
    existing = {(row.tier, row.urgency): row for row in (current.deadlines.all() if current else [])}
    initial = []
    for tier in FlowPolicy.TIER_ORDER:
        for urgency in Event.Urgency.values:
            row = existing.get((tier, urgency))
            initial.append({"tier": tier, "urgency": urgency, "hours": row.hours if row else None,
                            "working_hours": row.working_hours if row else False,
                            "action": row.action if row else FlowPolicyDeadline.Action.SUPERVISE})
    rows = DeadlineRows(data, initial=initial, prefix=DEADLINE_PREFIX)
    tier_names, urgency_names = FlowPolicy.TIER_NAMES, dict(Event.Urgency.choices)
    for form, values in zip(rows.forms, initial, strict=False):  # a forged post may send fewer rows
        form.tier_name, form.urgency_name = tier_names[values["tier"]], urgency_names[values["urgency"]]
    return rows


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
            form=FlowPolicyVersionForm(initial=initial), rows=deadline_rows(current)))

    def post(self, request, region_pk):
        region = self._region()
        current = policy_in_force(region)
        form = FlowPolicyVersionForm(request.POST)
        # Without the deadline table in the request (a form posted by a script), the rows in force are kept.
        posted_rows = f"{DEADLINE_PREFIX}-TOTAL_FORMS" in request.POST
        rows = deadline_rows(current, request.POST if posted_rows else None)
        errors = []
        if form.is_valid() and (not posted_rows or rows.is_valid()):
            deadlines = _posted_deadlines(rows, form) if posted_rows else _inherited_deadlines(current, form)
            fields = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
            try:
                policy = services.create_flow_policy(by=request.user, region=region, deadlines=deadlines, **fields)
            except ValidationError as exc:
                errors = list(exc.messages)
            else:
                messages.success(request, f"已保存{region.name}流程策略第{policy.version}版，自 {policy.effective_from} 起上报的事项按该版本办理。")
                return redirect("grid:flow_policies")
        if posted_rows and not rows.is_valid():
            errors += [f"{getattr(row, 'tier_name', '时限')}·{getattr(row, 'urgency_name', '')}：{message}" for row in rows.forms
                       for message in row.errors.get("hours", []) + row.errors.get("action", [])
                       + row.errors.get("__all__", [])] + list(rows.non_form_errors())
        return self.render_to_response(self.get_context_data(
            page_title=f"{region.name}流程策略：新版本", region=region, current=current,
            form=form, rows=rows, errors=errors), status=422)


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


def _posted_deadlines(rows, form) -> list[dict]:
    """The rows the office filled in, for the tiers in the new chain (a tier left out has no deadline);
    the service refuses an escalation at the top of the chain with its own message."""
    chain = {key for key in FlowPolicy.TIER_ORDER if form.cleaned_data.get(f"use_{key}")}
    return [{"tier": row.cleaned_data["tier"], "urgency": row.cleaned_data["urgency"], "hours": row.cleaned_data["hours"],
             "working_hours": row.cleaned_data["working_hours"], "action": row.cleaned_data["action"]}
            for row in rows.forms if row.cleaned_data.get("hours") and row.cleaned_data["tier"] in chain]
