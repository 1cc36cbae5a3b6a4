"""Committee pages of the progress notice: versions of a plan's notice, preview, draft → approve → publish.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView

from grid.access import get_object_for_user
from grid.models import Region

from . import checks, notices
from .forms import NoticeTemplateForm
from .job_kinds import JOB_FORMATS, notice_for, start_notice_document
from .models import (
    TEMPLATE_PLACEHOLDERS,
    NoticeTemplate,
    ProgressNotice,
    RectificationPlan,
    with_chinese_placeholders,
)

VIEW_PERM = "rectification.view_rectificationplan"


def _plan_for(user, pk) -> RectificationPlan:
    return get_object_for_user(user, RectificationPlan.objects.select_related("organisation__tier"), VIEW_PERM, pk=pk)


def _notice_for(user, pk) -> ProgressNotice:
    return notice_for(user, pk)


class PlanNoticesView(LoginRequiredMixin, TemplateView):
    """The versions of one plan's notice, with the actions the user may take."""

    template_name = "rectification/notice_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        plan = _plan_for(user, kwargs["pk"])
        versions = list(plan.notices.select_related("approved_by", "created_by", "template").order_by("-version"))
        open_version = next((n for n in versions if n.state != ProgressNotice.State.PUBLISHED), None)
        # The open version's text with its edits, as 审定 checks it (the approved text once approved);
        # without one, what a new draft would print. The counts come from the items either way.
        live = notices.build_notice(plan, notice=open_version)
        current = notices.notice_data(open_version) if open_version and open_version.content else live
        return super().get_context_data(
            page_title="整改进展情况通报", plan=plan, versions=versions, open_version=open_version,
            counts=live["counts"], missing=notices.missing_results(live),
            warnings=checks.notice_warnings(plan, current),
            may_draft=open_version is None and user.has_perm(notices.DRAFT_PERM, plan),
            may_approve=user.has_perm(notices.APPROVE_PERM, plan), **kwargs,
        )


class NoticePreviewView(LoginRequiredMixin, View):
    """A version as HTML: the frozen text once approved, the live text of the plan for a draft."""

    def get(self, request, pk):
        notice = _notice_for(request.user, pk)
        if notice.state == ProgressNotice.State.PUBLISHED and notice.html:
            return HttpResponse(notice.html, content_type="text/html; charset=utf-8")
        return HttpResponse(notices.render_html(notices.notice_data(notice)), content_type="text/html; charset=utf-8")


class NoticeDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk, fmt):
        if fmt not in notices.FORMATS:
            raise Http404("不支持的格式。")
        notice = _notice_for(request.user, pk)
        if fmt in JOB_FORMATS:  # laid out in the background; the job page shows its progress and the file
            return redirect("jobs:detail", pk=start_notice_document(request.user, notice, fmt).pk)
        data = notices.notice_data(notice)
        content = notices.render(data, fmt)
        response = HttpResponse(content, content_type=notices.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(notices.filename(data, fmt))}"
        return response


class NoticeActionView(LoginRequiredMixin, View):
    """POST draft (on a plan), approve or publish (on a version)."""

    def get(self, request, pk, action):
        raise Http404

    def post(self, request, pk, action):
        user = request.user
        try:
            if action == "draft":
                plan = _plan_for(user, pk)
                notice = notices.create_draft(plan, by=user)
                messages.success(request, f"已起草第{notice.version}版通报。")
            elif action in ("approve", "publish"):
                notice = _notice_for(user, pk)
                plan = notice.plan
                if action == "approve":
                    notices.approve(notice, by=user)
                    messages.success(request, f"第{notice.version}版通报已审定。")
                else:
                    notices.publish(notice, by=user)
                    messages.success(request, f"第{notice.version}版通报已公开。")
            else:
                raise Http404("未知操作。")
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect("rectification:plan_notices", pk=plan.pk)


class NoticeEditView(LoginRequiredMixin, View):
    """A draft's texts section by section (一 narrative, each problem's 整改情况, 四's texts, 五), each beside
    its drafted text and with the places where it disagrees with the items and counts."""

    template_name = "rectification/notice_edit.html"

    def _page(self, request, notice, data, *, posted=None, errors=None, status=200):
        issues = checks.contradictions(notice.plan, data)
        fields = notices.edit_fields(data, issues)
        for field in fields:  # a refused save shows what was typed, beside why it was refused
            if posted and field["key"] in posted:
                field["text"] = posted[field["key"]]
            field["errors"] = (errors or {}).get(field["key"], [])
        return render(request, self.template_name, {
            "page_title": "修改通报文字", "notice": notice, "plan": notice.plan, "fields": fields,
            "plan_issues": issues.get(checks.PLAN, []), "unprinted": notices.unprinted_edits(data),
            "may_edit": notice.state == ProgressNotice.State.DRAFT and request.user.has_perm(notices.DRAFT_PERM, notice.plan),
        }, status=status)

    def get(self, request, pk):
        notice = _notice_for(request.user, pk)
        return self._page(request, notice, notices.notice_data(notice))

    def post(self, request, pk):
        notice = _notice_for(request.user, pk)
        keys = [field["key"] for field in notices.edit_fields(notices.notice_data(notice))]
        changes = {key: request.POST[key] for key in keys if key in request.POST}
        try:
            notice = notices.edit_sections(notice, changes, by=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(message.rstrip("。") for message in exc.messages) + "。")
            return self._page(request, notice, notices.notice_data(notice), posted=changes,
                              errors=getattr(exc, "message_dict", None), status=400)
        messages.success(request, f"第{notice.version}版通报的文字已保存。")
        return redirect("rectification:notice_edit", pk=notice.pk)


def _counties_for(user) -> list[Region]:
    return [county for county in Region.objects.filter(tier__key="county").order_by("path")
            if user.has_perm(notices.TEMPLATE_PERM, county)]


class NoticeTemplateView(LoginRequiredMixin, View):
    """The county office's template of the notice: the current version as a form; saving writes the next one."""

    template_name = "rectification/notice_template.html"

    def _county(self, request, county_pk):
        counties = _counties_for(request.user)
        if not counties:
            raise PermissionDenied("只有县委巡察办可以修改本县的通报模板。")
        county = next((c for c in counties if c.pk == county_pk), None) if county_pk else counties[0]
        if county is None:
            raise Http404("没有这个县的通报模板。")
        return county, counties

    def _page(self, request, county, counties, form, status=200):
        current = notices.current_template(county)
        versions = county.notice_templates.select_related("created_by").order_by("-version")[:20]
        return render(request, self.template_name, {
            "page_title": "通报模板", "county": county, "counties": counties, "form": form, "current": current,
            "versions": versions, "placeholders": TEMPLATE_PLACEHOLDERS,
        }, status=status)

    def get(self, request, county_pk=None):
        county, counties = self._county(request, county_pk)
        form = NoticeTemplateForm(instance=notices.current_template(county))
        for field in ("title", "opening"):  # a version saved with the first, English placeholder names
            form.initial[field] = with_chinese_placeholders(form.initial.get(field) or "")
        return self._page(request, county, counties, form)

    def post(self, request, county_pk=None):
        county, counties = self._county(request, county_pk)
        form = NoticeTemplateForm(request.POST, instance=NoticeTemplate(county=county))
        if form.is_valid():
            try:
                template = notices.save_template(county, form.template_values(), by=request.user)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                messages.success(request, f"{county.name}通报模板已保存为第{template.version}版；此后起草的通报使用新版本。")
                return redirect("rectification:notice_template_county", county_pk=county.pk)
        return self._page(request, county, counties, form, status=400)
