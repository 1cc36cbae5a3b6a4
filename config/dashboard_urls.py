"""URLs of the home dashboard's chart downloads and the flow-chart pages (dashboards)."""

from django.urls import path

from .views import ChartDownloadView, FlowChartFileView

urlpatterns = [
    path("dashboard/charts/<slug:key>.svg", ChartDownloadView.as_view(), name="dashboard_chart_svg"),
    path("flows/<slug:key>.<str:fmt>", FlowChartFileView.as_view(), name="flow_chart_file"),
]
