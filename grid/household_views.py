"""Pages of the household register (户情台账) and door-to-door visits (入户走访). Thin: decode, call
grid.households, render. Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance.evidence import EvidenceRejected, attachment_response, attachments_of
from governance.form_defaults import attach_errors
from governance.paging import UncountedPage

from . import households
from .household_forms import HouseholdChangeForm, HouseholdFilterForm, HouseholdForm, VisitForm

PAGE_SIZE = 50



def _require_register(user) -> None:
    if not households.may_see_households(user):
        raise PermissionDenied("您没有查看住户台账的岗位。")


def my_visit_duties(user) -> list:
    """The user's own visit rules since last month's first day: each with its periods (the overdue ones
    and the one running now), from the same computation as the oversight page."""
    if not user.has_perm("grid.add_householdvisit"):
        return []
    today = timezone.localdate()
    since = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    report = households.visit_compliance(scope=user, start=since, end=today)
    return [tally for row in report.rows if row.user_id == user.pk for tally in row.tallies]


class HouseholdListView(LoginRequiredMixin, TemplateView):
    template_name = "grid/household_list.html"

    def _render(self, add_form, status=200):
        user = self.request.user
        _require_register(user)
        filters = HouseholdFilterForm(self.request.GET or None)
        rows = filters.apply(households.visible_households(user)).select_related("region").annotate(
            last_visit=Max("visits__date")).order_by("region__path", "address", "head_name")
        page = UncountedPage(rows, self.request.GET.get("page"), PAGE_SIZE)
        return self.render_to_response(self.get_context_data(
            page_title="户情台账", filters=filters, page=page, add_form=add_form, duties=my_visit_duties(user),
            may_add=bool(add_form.regions)), status=status)

    def get(self, request):
        return self._render(HouseholdForm(user=request.user))

    def post(self, request):
        _require_register(request.user)
        form = HouseholdForm(request.POST, user=request.user)
        if not form.regions:
            raise PermissionDenied("您没有网格长岗位，不能登记住户。")
        if form.is_valid():
            data = form.cleaned_data
            try:
                household = households.add_household(
                    by=request.user, region=data["region"], head_name=data["head_name"], address=data["address"],
                    is_hardship=data["is_hardship"], is_key=data["is_key"], registered_on=data["registered_on"],
                    note=data["note"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"已登记住户 {household.head_name}（{household.address}）。")
                return redirect("grid:households")
        return self._render(form, status=422)


def _household_for(user, pk):
    household = households.visible_households(user).select_related("region").filter(pk=pk).first()
    if household is None:
        raise Http404("住户不存在或无权查看。")
    return household


class HouseholdDetailView(LoginRequiredMixin, TemplateView):
    template_name = "grid/household_detail.html"

    def _render(self, household, *, change_form=None, visit_form=None, status=200):
        user = self.request.user
        may_change = user.has_perm("grid.change_household", household)
        may_visit = user.has_perm("grid.add_householdvisit", household)
        visits = list(households.visible_visits(user).filter(household=household).select_related("visitor")[:100])
        for visit in visits:
            visit.photos = list(attachments_of(visit))
        return self.render_to_response(self.get_context_data(
            page_title=f"住户 {household.head_name}", household=household, visits=visits,
            may_change=may_change, may_visit=may_visit,
            change_form=change_form or HouseholdChangeForm(initial={
                "is_hardship": household.is_hardship, "is_key": household.is_key, "left_on": household.left_on,
                "note": household.note}),
            visit_form=visit_form or VisitForm()), status=status)

    def get(self, request, pk):
        return self._render(_household_for(request.user, pk))

    def post(self, request, pk):
        household = _household_for(request.user, pk)
        action = request.POST.get("action")
        if action == "change":
            form = HouseholdChangeForm(request.POST)
            if form.is_valid():
                try:
                    households.update_household(household, by=request.user, **form.cleaned_data)
                except ValidationError as exc:
                    attach_errors(form, exc)
                else:
                    messages.success(request, "已更新住户信息。")
                    return redirect("grid:household_detail", pk=pk)
            return self._render(household, change_form=form, status=422)
        if action == "visit":
            form = VisitForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    households.record_visit(by=request.user, household=household, date=data["date"],
                                            note=data["note"], photos=data["photos"])
                except EvidenceRejected as exc:
                    form.add_error("photos", exc.messages)
                except ValidationError as exc:
                    attach_errors(form, exc)
                else:
                    messages.success(request, f"已记录 {data['date']:%m月%d日} 对 {household.head_name} 的走访。")
                    return redirect("grid:household_detail", pk=pk)
            return self._render(household, visit_form=form, status=422)
        raise Http404("未知的操作。")


class VisitPhotoView(LoginRequiredMixin, View):
    """A visit's photo, to whoever may see the visit (404 otherwise)."""

    def get(self, request, pk, attachment_pk):
        visit = households.visible_visits(request.user).filter(pk=pk).first()
        attachment = attachments_of(visit).filter(pk=attachment_pk).first() if visit else None
        if attachment is None:
            raise Http404("照片不存在或无权查看。")
        return attachment_response(attachment, thumbnail=request.GET.get("thumb") == "1")
