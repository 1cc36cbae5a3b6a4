"""The 大巡查 (township big patrol) and 巡察 (county inspection) areas."""

from django.urls import path

from governance.placeholder import ComingPageView
from governance.site import AreaApp, MenuLink

from . import circular_views, finding_views, report_views, views


class PatrolApp(AreaApp):
    title = "大巡查"
    icon = "travel_explore"
    app_name = "patrol"
    links = (
        MenuLink("巡查目录", "checklist", "catalog", ("inspection.view_patrolcategory",)),
        MenuLink("巡查督查组", "groups", "groups", ("inspection.view_supervisiongroup",)),
        MenuLink("发现问题", "report_problem", "findings", ("inspection.view_patrolfinding",)),
        MenuLink("督查记录", "fact_check", "checks", ("inspection.view_supervisioncheck",)),
        MenuLink("督查与考评进度", "pending_actions", "oversight", ("inspection.view_departmentconfirmation",)),
        MenuLink("村级巡查台账", "directions_walk", "ledger", ("inspection.add_villagepatrol", "inspection.view_villagepatrol")),
        MenuLink("村级上报", "add_a_photo", "reports", ("inspection.add_patrolreport", "inspection.view_patrolreport")),
        MenuLink("待核实上报", "rule", "verify_queue", ("inspection.verify_patrolreport",)),
        MenuLink("上报流程图", "account_tree", "report_flow_chart", ("inspection.view_patrolreport",)),
        MenuLink("考评通报", "campaign", "circulars", ("inspection.view_circular",)),
        MenuLink("台账导出", "download", "ledger_exports", ("inspection.view_villagepatrol", "inspection.view_patrolreport")),
    )

    catalog_path = path("catalog/", views.PatrolCategoryListView.as_view(), name="catalog")
    groups_path = path("groups/", views.SupervisionGroupListView.as_view(), name="groups")
    findings_path = path("findings/", finding_views.FindingListView.as_view(), name="findings")
    finding_new_path = path("findings/new/", finding_views.FindingCreateView.as_view(), name="finding_new")
    finding_detail_path = path("findings/<int:pk>/", finding_views.FindingDetailView.as_view(), name="finding_detail")
    finding_register_path = path("findings/<int:pk>/register/", finding_views.FindingRegisterView.as_view(), name="finding_register")
    finding_fraud_path = path("findings/<int:pk>/fraud/", finding_views.FindingFraudView.as_view(), name="finding_fraud")
    checks_path = path("checks/", finding_views.CheckListView.as_view(), name="checks")
    check_new_path = path("checks/new/", finding_views.CheckCreateView.as_view(), name="check_new")
    oversight_path = path("oversight/", finding_views.OversightView.as_view(), name="oversight")
    oversight_confirm_path = path("oversight/confirm/", finding_views.ConfirmMonthView.as_view(), name="oversight_confirm")
    ledger_path = path("ledger/", report_views.LedgerListView.as_view(), name="ledger")
    ledger_new_path = path("ledger/new/", report_views.LedgerCreateView.as_view(), name="ledger_new")
    reports_path = path("reports/", report_views.ReportListView.as_view(), name="reports")
    report_new_path = path("reports/new/", report_views.ReportCreateView.as_view(), name="report_new")
    report_flow_chart_path = path("reports/chart/", report_views.ReportChartView.as_view(), name="report_flow_chart")
    verify_queue_path = path("reports/pending/", report_views.VerifyQueueView.as_view(), name="verify_queue")
    report_detail_path = path("reports/<int:pk>/", report_views.ReportDetailView.as_view(), name="report_detail")
    report_chart_path = path("reports/<int:pk>/chart/", report_views.ReportChartView.as_view(), name="report_chart")
    report_evidence_path = path("reports/<int:pk>/evidence/<int:attachment_pk>/", report_views.ReportEvidenceView.as_view(),
                                name="report_evidence")
    report_action_path = path("reports/<int:pk>/<str:action>/", report_views.ReportActionView.as_view(), name="report_action")
    circulars_path = path("circulars/", circular_views.CircularView.as_view(), name="circulars")
    circular_publish_path = path("circulars/publish/", circular_views.CircularPublishView.as_view(), name="circular_publish")
    circular_download_path = path("circulars/download/<str:fmt>/", circular_views.CircularDownloadView.as_view(),
                                  name="circular_download")
    ledger_exports_path = path("exports/", circular_views.LedgerExportsView.as_view(), name="ledger_exports")
    ledger_export_path = path("exports/village-ledger/", circular_views.VillageLedgerExportView.as_view(), name="ledger_export")
    book_export_path = path("exports/department-book/", circular_views.DepartmentBookExportView.as_view(), name="book_export")


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
