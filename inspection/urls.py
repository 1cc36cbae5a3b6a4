"""The 大巡查 (township big patrol) and 巡察 (county inspection) areas."""

from django.urls import path

from governance.site import AreaApp, MenuLink

from .patrol import catalog_views as views
from .patrol import circular_views, finding_views, job_views, report_views
from .rounds import group_report_views as round_report_views
from .rounds import letter_views, onsite_views, round_views


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
        MenuLink("待审核上报", "approval", "review_queue", ("inspection.review_patrolreport",)),
        MenuLink("上报流程图", "account_tree", "report_flow_chart", ("inspection.view_patrolreport",)),
        MenuLink("考评通报", "campaign", "circulars", ("inspection.view_circular",)),
        MenuLink("台账导出", "download", "ledger_exports", ("inspection.view_villagepatrol", "inspection.view_patrolreport")),
        job_views.CircularBatchMenuLink("批量生成各村通报", "folder_zip", "circular_batch", ("inspection.view_circular",)),
        MenuLink("导入大巡查数据", "upload_file", "patrol_import", ("inspection.add_catalogitem",)),
    )

    catalog_path = path("catalog/", views.PatrolCategoryListView.as_view(), name="catalog")
    groups_path = path("groups/", views.SupervisionGroupListView.as_view(), name="groups")
    findings_path = path("findings/", finding_views.FindingListView.as_view(), name="findings")
    finding_export_path = path("findings/export/", finding_views.FindingExportView.as_view(), name="finding_export")
    finding_new_path = path("findings/new/", finding_views.FindingCreateView.as_view(), name="finding_new")
    finding_detail_path = path("findings/<int:pk>/", finding_views.FindingDetailView.as_view(), name="finding_detail")
    finding_register_path = path("findings/<int:pk>/register/", finding_views.FindingRegisterView.as_view(), name="finding_register")
    finding_fraud_path = path("findings/<int:pk>/fraud/", finding_views.FindingFraudView.as_view(), name="finding_fraud")
    checks_path = path("checks/", finding_views.CheckListView.as_view(), name="checks")
    check_export_path = path("checks/export/", finding_views.CheckExportView.as_view(), name="check_export")
    check_new_path = path("checks/new/", finding_views.CheckCreateView.as_view(), name="check_new")
    oversight_path = path("oversight/", finding_views.OversightView.as_view(), name="oversight")
    oversight_confirm_path = path("oversight/confirm/", finding_views.ConfirmMonthView.as_view(), name="oversight_confirm")
    oversight_work_path = path("oversight/work/", finding_views.WorkRecordCreateView.as_view(), name="oversight_work")
    ledger_path = path("ledger/", report_views.LedgerListView.as_view(), name="ledger")
    ledger_list_export_path = path("ledger/export/", report_views.LedgerListExportView.as_view(), name="ledger_list_export")
    ledger_new_path = path("ledger/new/", report_views.LedgerCreateView.as_view(), name="ledger_new")
    reports_path = path("reports/", report_views.ReportListView.as_view(), name="reports")
    report_export_path = path("reports/export/", report_views.ReportExportView.as_view(), name="report_export")
    report_new_path = path("reports/new/", report_views.ReportCreateView.as_view(), name="report_new")
    report_flow_chart_path = path("reports/chart/", report_views.ReportChartView.as_view(), name="report_flow_chart")
    verify_queue_path = path("reports/pending/", report_views.VerifyQueueView.as_view(), name="verify_queue")
    review_queue_path = path("reports/review/", report_views.ReviewQueueView.as_view(), name="review_queue")
    report_detail_path = path("reports/<int:pk>/", report_views.ReportDetailView.as_view(), name="report_detail")
    report_chart_path = path("reports/<int:pk>/chart/", report_views.ReportChartView.as_view(), name="report_chart")
    report_evidence_path = path("reports/<int:pk>/evidence/<int:attachment_pk>/", report_views.ReportEvidenceView.as_view(),
                                name="report_evidence")
    report_action_path = path("reports/<int:pk>/<str:action>/", report_views.ReportActionView.as_view(), name="report_action")
    circulars_path = path("circulars/", circular_views.CircularView.as_view(), name="circulars")
    circular_publish_path = path("circulars/publish/", circular_views.CircularPublishView.as_view(), name="circular_publish")
    circular_download_path = path("circulars/download/<str:fmt>/", circular_views.CircularDownloadView.as_view(),
                                  name="circular_download")
    circular_batch_path = path("circulars/batch/", job_views.CircularBatchView.as_view(), name="circular_batch")
    incentive_download_path = path("circulars/incentives/<str:fmt>/", circular_views.IncentiveDownloadView.as_view(),
                                   name="incentive_download")
    year_summary_download_path = path("circulars/year/<str:fmt>/", circular_views.YearSummaryDownloadView.as_view(),
                                      name="year_summary_download")
    patrol_import_path = path("imports/", job_views.PatrolImportView.as_view(), name="patrol_import")
    ledger_exports_path = path("exports/", circular_views.LedgerExportsView.as_view(), name="ledger_exports")
    ledger_export_path = path("exports/village-ledger/", circular_views.VillageLedgerExportView.as_view(), name="ledger_export")
    book_export_path = path("exports/department-book/", circular_views.DepartmentBookExportView.as_view(), name="book_export")


class InspectionApp(AreaApp):
    title = "巡察"
    icon = "policy"
    app_name = "inspection"
    links = (
        round_views.RoundsMenuLink("巡察轮次", "event_note", "rounds", ("inspection.view_inspectionround",)),
        round_views.TownshipRoundsMenuLink("巡察轮次", "event_note", "township_rounds"),
        MenuLink("机动巡察流程图", "account_tree", "proposal_flow_chart", ("inspection.view_mobileproposal",)),
        MenuLink("巡察覆盖情况", "donut_large", "coverage", ("inspection.manage_inspectionround",
                                                            "inspection.decide_mobileproposal")),
        MenuLink("问题底稿", "description", "onsite_findings", ("inspection.view_inspectionfinding", "inspection.add_inspectionfinding")),
        MenuLink("谈话记录", "record_voice_over", "onsite_talks", ("inspection.view_talkrecord", "inspection.add_talkrecord")),
        onsite_views.ClueMenuLink("问题线索", "lock", "onsite_clues"),
        MenuLink("巡察文书", "mail", "letters", ("inspection.view_inspectionletter",)),
        MenuLink("回头看", "replay", "onsite_lookbacks", ("inspection.view_lookback",)),
        MenuLink("三报告四清单", "summarize", "round_report_list", ("inspection.view_inspectiongroup", "inspection.view_problemclue")),
    )

    rounds_path = path("rounds/", round_views.RoundListView.as_view(), name="rounds")
    township_rounds_path = path("township/rounds/", round_views.TownshipRoundListView.as_view(), name="township_rounds")
    township_round_path = path("township/rounds/<int:pk>/", round_views.TownshipRoundDetailView.as_view(),
                               name="township_round_detail")
    round_new_path = path("rounds/new/", round_views.RoundCreateView.as_view(), name="round_new")
    round_export_path = path("rounds/export/", round_views.RoundExportView.as_view(), name="round_export")
    round_detail_path = path("rounds/<int:pk>/", round_views.RoundDetailView.as_view(), name="round_detail")
    round_group_new_path = path("rounds/<int:pk>/groups/new/", round_views.GroupCreateView.as_view(), name="round_group_new")
    round_group_path = path("groups/<int:pk>/", round_views.GroupDetailView.as_view(), name="round_group")
    proposal_new_path = path("groups/<int:pk>/propose/", round_views.ProposalCreateView.as_view(), name="proposal_new")
    proposal_flow_chart_path = path("proposals/chart/", round_views.ProposalChartView.as_view(), name="proposal_flow_chart")
    proposal_detail_path = path("proposals/<int:pk>/", round_views.ProposalDetailView.as_view(), name="proposal_detail")
    proposal_chart_path = path("proposals/<int:pk>/chart/", round_views.ProposalChartView.as_view(), name="proposal_chart")
    coverage_path = path("coverage/", round_views.CoverageView.as_view(), name="coverage")
    onsite_findings_path = path("onsite/findings/", onsite_views.FindingListView.as_view(), name="onsite_findings")
    onsite_finding_new_path = path("onsite/findings/new/", onsite_views.FindingCreateView.as_view(), name="onsite_finding_new")
    onsite_finding_export_path = path("onsite/findings/export/", onsite_views.FindingExportView.as_view(),
                                      name="onsite_finding_export")
    onsite_finding_detail_path = path("onsite/findings/<int:pk>/", onsite_views.FindingDetailView.as_view(),
                                      name="onsite_finding_detail")
    onsite_finding_evidence_path = path("onsite/findings/<int:pk>/evidence/<int:attachment_pk>/",
                                        onsite_views.FindingEvidenceView.as_view(), name="onsite_finding_evidence")
    onsite_talks_path = path("onsite/talks/", onsite_views.TalkListView.as_view(), name="onsite_talks")
    onsite_talk_new_path = path("onsite/talks/new/", onsite_views.TalkCreateView.as_view(), name="onsite_talk_new")
    onsite_talk_export_path = path("onsite/talks/export/", onsite_views.TalkExportView.as_view(), name="onsite_talk_export")
    onsite_clues_path = path("onsite/clues/", onsite_views.ClueListView.as_view(), name="onsite_clues")
    onsite_clue_export_path = path("onsite/clues/export/", onsite_views.ClueExportView.as_view(), name="onsite_clue_export")
    onsite_clue_new_path = path("onsite/clues/new/", onsite_views.ClueCreateView.as_view(), name="onsite_clue_new")
    onsite_clue_detail_path = path("onsite/clues/<int:pk>/", onsite_views.ClueDetailView.as_view(), name="onsite_clue_detail")
    onsite_lookbacks_path = path("onsite/look-backs/", onsite_views.LookBackListView.as_view(), name="onsite_lookbacks")
    onsite_lookback_new_path = path("onsite/look-backs/new/", onsite_views.LookBackScheduleView.as_view(),
                                    name="onsite_lookback_new")
    onsite_lookback_export_path = path("onsite/look-backs/export/", onsite_views.LookBackExportView.as_view(),
                                       name="onsite_lookback_export")
    onsite_lookback_result_path = path("onsite/look-backs/<int:pk>/result/", onsite_views.LookBackResultView.as_view(),
                                       name="onsite_lookback_result")
    letters_path = path("letters/", letter_views.LetterListView.as_view(), name="letters")
    letter_new_path = path("letters/new/", letter_views.LetterCreateView.as_view(), name="letter_new")
    letter_export_path = path("letters/export/", letter_views.LetterExportView.as_view(), name="letter_export")
    letter_detail_path = path("letters/<int:pk>/", letter_views.LetterDetailView.as_view(), name="letter_detail")
    letter_reply_path = path("letters/<int:pk>/reply/", letter_views.LetterReplyView.as_view(), name="letter_reply")
    letter_download_path = path("letters/<int:pk>/download.<str:fmt>", letter_views.LetterDownloadView.as_view(),
                                name="letter_download")
    round_report_list_path = path("reports/", round_report_views.RoundReportListView.as_view(), name="round_report_list")
    round_reports_path = path("groups/<int:pk>/reports/", round_report_views.RoundReportsView.as_view(), name="round_reports")
    round_report_download_path = path("groups/<int:pk>/reports/<str:kind>.<str:fmt>",
                                      round_report_views.RoundReportDownloadView.as_view(), name="round_report_download")
    round_timeline_path = path("groups/<int:pk>/timeline/", round_report_views.TimelineView.as_view(), name="round_timeline")
    round_feedback_path = path("groups/<int:pk>/feedback/", round_report_views.FeedbackView.as_view(), name="round_feedback")
