"""Site-wide pages: the home page (工作台) and the notification inbox."""


import datetime
from dataclasses import dataclass
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView
from viewflow.workflow import chart

from governance import visibility
from governance.charts import render_svg, svg_download
from governance.evidence import attachment_response
from governance.listing import FilterForm, word_search
from governance.models import Attachment
from governance.notifications import inbox_for, mark_read, unread_count
from grid import access_cache
from grid.flow_chart import user_flow_bpmn, user_flow_svg
from grid.models import Post
from inspection.patrol.report_flow import patrol_report_flow_bpmn, patrol_report_flow_svg
from inspection.rounds.mobile_inspection_flow import mobile_inspection_flow_bpmn, mobile_inspection_flow_svg
from rectification.rectification_flow import RectificationFlow, rectification_flow_svg

from .capabilities import capabilities_of
from .dashboards import dashboard_for, figure_for, last_visit
from .two_factor import may_enrol

WEEKDAYS = "一二三四五六日"


class HomeView(LoginRequiredMixin, TemplateView):
    """The home dashboard (工作台): my tasks, what changed since my last sign-in, my tier's figures."""
    template_name = "governance/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        since, first_visit = last_visit(self.request)
        dashboard = dashboard_for(user, since=since or timezone.now() - datetime.timedelta(days=7))  # else the last week
        figures = [(figure, mark_safe(render_svg(figure))) for figure in dashboard.figures]  # noqa: S308 — escaped in charts
        today = timezone.localdate()
        capabilities_html = access_cache.fragment(user, "home|capabilities", lambda: render_to_string(
            "governance/home_capabilities.html", {"capabilities": capabilities_of(user)}))
        posts_html = access_cache.fragment(user, "home|posts", lambda: render_to_string(
            "governance/home_posts.html", _posts_context(user)))
        return super().get_context_data(
            page_title="工作台",
            posts_html=mark_safe(posts_html),  # noqa: S308 — a template's own output
            capabilities_html=mark_safe(capabilities_html),  # noqa: S308 — a template's own output
            # None unread (the menu's badge counts them anyway): no list to read.
            recent_notifications=user.notifications.filter(read_at__isnull=True)[:5] if unread_count(user) else [],
            dashboard=dashboard, figures=figures, today=today, weekday=WEEKDAYS[today.weekday()],
            may_report=user.has_perm("grid.add_event"), first_visit=first_visit, since_known=since is not None,
            **kwargs,
        )


def _posts_context(user) -> dict:
    """The user's posts as the home page lists them (posts, roles, regions and departments: all watched by
    the access cache, so the rendered list is kept with the user's access snapshot)."""
    posts = list(Post.objects.filter(user=user).select_related("role", "region__tier", "department").order_by("-start_date"))
    return {"active_posts": [post for post in posts if post.is_active], "may_enrol_two_factor": may_enrol(user, posts),
            "past_posts": [post for post in posts if not post.is_active], "is_superuser": user.is_superuser}


class ChartDownloadView(LoginRequiredMixin, View):
    """A dashboard chart as an .svg file, recomputed for the requesting user (404 if not theirs)."""
    def get(self, request, key: str):
        figure = figure_for(request.user, key)
        if figure is None:
            raise Http404("图表不存在或无权查看。")
        now = timezone.localtime()
        return svg_download(figure, f"{figure.title}_{now:%Y%m%d}")


# ---------------------------------------------------------------- flow charts


@dataclass(frozen=True)
class FlowChart:
    key: str
    title: str
    perm: str
    summary: str
    list_url: str  # where the cases of this flow are listed (each case's page shows its position and history)

    def svg(self, user) -> str:
        return _FLOW_DRAWERS[self.key][0](user)

    def bpmn(self, user) -> str:
        return _FLOW_DRAWERS[self.key][1](user)


_FLOW_DRAWERS = {  # flow key → (svg, bpmn) functions of the viewing user (the event flow is their county's policy)
    "event": (user_flow_svg, user_flow_bpmn),
    "patrol-report": (lambda user: patrol_report_flow_svg(), lambda user: patrol_report_flow_bpmn()),
    "mobile-inspection": (lambda user: mobile_inspection_flow_svg(), lambda user: mobile_inspection_flow_bpmn()),
    "rectification": (lambda user: rectification_flow_svg(),
                      lambda user: chart.grid_to_bpmn(chart.calc_layout_data(RectificationFlow))),
}

FLOW_CHARTS = (
    FlowChart("event", "网格事件流程", "grid.view_event",
              "网格员上报 → 网格长研判（就地处置、合并、驳回或上报村）→ 村级处置或上报乡镇 → 乡镇处置或吹哨派单 → "
              "部门办理或退回 → 上报人（或网格长）核实，满意结案、不满意退回 → 评价。每个环节有办理时限，超期督办。",
              "grid:events"),
    FlowChart("patrol-report", "大巡查村级上报流程", "inspection.view_patrolreport",
              "村（居）巡查员上报目录问题（附照片）→ 牵头部门核实（属实加分并登记备案、不属实、重复）→ "
              "属实的转执法或整改，或说明无需后续处置后结束。",
              "patrol:reports"),
    FlowChart("mobile-inspection", "机动巡察流程", "inspection.view_mobileproposal",
              "巡察组进驻 7 日内提出机动巡察村 → 巡察工作领导小组审批（同意则列入本轮巡察对象，不同意说明理由）。",
              "inspection:rounds"),
    FlowChart("rectification", "巡察整改流程", "rectification.view_rectificationitem",
              "明确责任领导、责任单位、措施和时限 → 定期报送整改进展 → 申请销号（附佐证）→ 县委巡察办验收，"
              "通过则销号，不通过退回继续整改；逾期发提醒函、督办函。",
              "rectification:items"),
)


def _flow(key: str, user) -> FlowChart:
    flow = next((flow for flow in FLOW_CHARTS if flow.key == key), None)
    if flow is None:
        raise Http404("流程不存在。")
    if not user.has_perm(flow.perm):
        raise PermissionDenied("您没有查看该流程的岗位。")
    return flow


class FlowChartsView(LoginRequiredMixin, TemplateView):
    """The chart of every flow the user takes part in, with SVG, PNG and BPMN downloads."""
    template_name = "governance/flows.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        flows = [(flow, mark_safe(flow.svg(user)), reverse(flow.list_url))  # noqa: S308 — viewflow's own SVG
                 for flow in FLOW_CHARTS if user.has_perm(flow.perm)]
        if not flows:
            raise PermissionDenied("您的岗位不参与任何业务流程。")
        return super().get_context_data(page_title="业务流程图", flows=flows, **kwargs)


class FlowChartFileView(LoginRequiredMixin, View):
    """One flow's chart as an .svg or .bpmn download."""
    def get(self, request, key: str, fmt: str):
        flow = _flow(key, request.user)
        if fmt == "svg":
            response = HttpResponse('<?xml version="1.0" encoding="UTF-8"?>\n' + flow.svg(request.user),
                                    content_type="image/svg+xml; charset=utf-8")
        elif fmt == "bpmn":
            response = HttpResponse(flow.bpmn(request.user), content_type="application/xml; charset=utf-8")
        else:
            raise Http404("不支持的格式。")
        name = flow.title
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'{name}.{fmt}')}"
        return response


class InboxFilterForm(FilterForm):
    """One's own messages: unread only, and a search. Newest first, no export."""
    unread = forms.BooleanField(label="只看未读", required=False)
    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "标题或内容", "type": "search"}))

    def filter(self, notifications):
        data = self.valid_values()
        if data.get("unread"):
            notifications = notifications.filter(read_at__isnull=True)
        return word_search(notifications, data.get("q"), "title", "body")


class InboxView(LoginRequiredMixin, TemplateView):
    template_name = "governance/inbox.html"

    def get_context_data(self, **kwargs):
        form = InboxFilterForm(self.request.GET or None)
        notifications = form.filter(inbox_for(self.request.user))
        page = Paginator(notifications, 30).get_page(self.request.GET.get("page"))
        return super().get_context_data(page_title="消息", form=form, page=page, **kwargs)

    def post(self, request, *args, **kwargs):
        ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()] or None
        count = mark_read(request.user, ids=ids)
        messages.success(request, f"已将 {count} 条消息标记为已读。")
        return redirect("inbox")


def evidence_file(request, pk: int, thumbnail: bool = False):
    """Serve an attachment (or its thumbnail) to a user who may see the record it belongs to, by that
    record's own rule (governance.visibility), as its own evidence route does; 404 otherwise."""
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    attachment = Attachment.objects.select_related("owner_type").filter(pk=pk).first()
    if attachment is None:
        raise Http404("附件不存在。")
    model = attachment.owner_type.model_class()
    owner = model._default_manager.filter(pk=attachment.owner_id).first() if model else None
    if owner is None or not _may_see_owner(request.user, owner, attachment.owner_type):
        raise Http404("附件不存在或无权查看。")
    return attachment_response(attachment, thumbnail=thumbnail)


def _may_see_owner(user, owner, owner_type) -> bool:
    """The owner's registered rule decides; a kind without one falls back to its view permission."""
    allowed = visibility.may_see(user, owner)
    if allowed is not None:
        return allowed
    return user.has_perm(f"{owner_type.app_label}.view_{owner_type.model}", owner)


class SessionPingView(LoginRequiredMixin, View):
    """204 for a signed-in user (a phone page may call it to keep its session), the sign-in page
    otherwise. It does nothing else: the load test uses it as the ceiling of what one signed-in
    request through every middleware costs."""

    def get(self, request):
        return HttpResponse(status=204)
