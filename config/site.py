"""The viewflow Site: one Application per area (网格, 大巡查, 巡察, 整改, 系统管理)."""

from __future__ import annotations

from django.urls import path
from viewflow.urls import Site

from grid.urls import GridApp
from inspection.urls import InspectionApp, PatrolApp
from rectification.urls import RectificationApp

from .system import SystemApp
from .views import FlowChartsView, HomeView, InboxView


class GovernanceSite(Site):
    title = "基层治理工作平台"
    icon = "account_balance"
    menu_template_name = "governance/site_menu.html"
    primary_color = "#b71c1c"
    secondary_color = "#f9a825"

    @property
    def index_path(self):
        return path("", HomeView.as_view(), name="index")

    # Site-wide pages inside the site's frame (menu, colours); their names stay global ("inbox", …).
    @property
    def inbox_path(self):
        return path("inbox/", InboxView.as_view(), name="inbox")

    @property
    def flows_path(self):
        return path("flows/", FlowChartsView.as_view(), name="flow_charts")

    def has_view_permission(self, user, obj=None):
        return True


def build_site() -> GovernanceSite:
    return GovernanceSite(viewsets=[GridApp(), PatrolApp(), InspectionApp(), RectificationApp(), SystemApp()])
