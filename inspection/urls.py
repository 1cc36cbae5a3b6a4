"""The 大巡查 (township big patrol) and 巡察 (county inspection) areas."""

from django.urls import path

from governance.placeholder import ComingPageView
from governance.site import AreaApp, MenuLink

from . import views


class PatrolApp(AreaApp):
    title = "大巡查"
    icon = "travel_explore"
    app_name = "patrol"
    links = (
        MenuLink("巡查目录", "checklist", "catalog", ("inspection.view_patrolcategory",)),
        MenuLink("巡查督查组", "groups", "groups", ("inspection.view_supervisiongroup",)),
    )

    catalog_path = path("catalog/", views.PatrolCategoryListView.as_view(), name="catalog")
    groups_path = path("groups/", views.SupervisionGroupListView.as_view(), name="groups")


class InspectionApp(AreaApp):
    title = "巡察"
    icon = "policy"
    app_name = "inspection"
    links = (
        MenuLink("巡察轮次", "event_note", "rounds", ("grid.view_post",)),
    )

    rounds_path = path("rounds/", ComingPageView.as_view(
        page_title="巡察轮次",
        summary="县委巡察轮次（巡察对象、巡察组、进驻与撤离、机动巡察、“三报告四清单”）在此办理。",
    ), name="rounds")
