"""Committee pages of the progress notice: versions of a plan's notice, preview, draft → approve → publish.

A plan outside the user's reach is 404 (grid.access.get_object_for_user); the actions check their own
permissions in rectification.notices (403 otherwise) and report refusals (items lacking a status or
a 整改情况) in Chinese on the page.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from grid.access import get_object_for_user

from . import checks, notices
from .models import ProgressNotice, RectificationPlan

VIEW_PERM = "rectification.view_rectificationplan"


def _plan_for(user, pk) -> RectificationPlan:
    return get_object_for_user(user, RectificationPlan.objects.select_related("organisation__tier"), VIEW_PERM, pk=pk)


def _notice_for(user, pk) -> ProgressNotice:
    notice = ProgressNotice.objects.select_related("plan").filter(pk=pk).first()
    if notice is None:
        raise Http404("通报不存在。")
    _plan_for(user, notice.plan_id)
    return notice


class PlanNoticesView(LoginRequiredMixin, TemplateView):
    """The versions of one plan's notice, with the actions the user may take."""

    template_name = "rectification/notice_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        plan = _plan_for(user, kwargs["pk"])
        versions = list(plan.notices.select_related("approved_by", "created_by").order_by("-version"))
        open_version = next((n for n in versions if n.state != ProgressNotice.State.PUBLISHED), None)
        data = notices.build_notice(plan)
        return super().get_context_data(
            page_title="整改进展情况通报", plan=plan, versions=versions, open_version=open_version,
            counts=data["counts"], missing=notices.missing_results(data),
            warnings=checks.notice_warnings(plan, open_version.content if open_version and open_version.content else data),
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
