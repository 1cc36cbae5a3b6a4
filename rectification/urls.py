"""The 整改 area: rectification items, progress, notices."""

from django.urls import path

from governance.placeholder import ComingPageView
from governance.site import AreaApp, MenuLink


class RectificationApp(AreaApp):
    title = "整改"
    icon = "build_circle"
    app_name = "rectification"
    links = (
        MenuLink("整改事项", "task_alt", "items", ("grid.view_post",)),
    )

    items_path = path("items/", ComingPageView.as_view(
        page_title="整改事项",
        summary="巡察反馈问题的整改事项、进展、佐证、核验销号与整改进展情况通报在此办理。",
    ), name="items")
