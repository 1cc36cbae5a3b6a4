"""The 网格 area: events, my tasks, patrol logs, work diaries, cadence compliance."""

from django.urls import path

from governance.site import AreaApp, MenuLink

from . import event_views, flow_policy_views, household_views, mobile_views, patrol_views
from .event_rules import EVENT_VIEW_PERMS as EVENT_VIEWERS


class GridApp(AreaApp):
    title = "网格"
    icon = "grid_on"
    app_name = "grid"
    links = (
        MenuLink("我的待办", "assignment_ind", "my_tasks", ("grid.add_event", "grid.triage_event", "grid.handle_village_event",
                                                       "grid.dispatch_event", "grid.centre_dispatch_event", "grid.handle_dispatched_event",
                                                       "grid.verify_event")),
        MenuLink("手机工作台", "smartphone", "mobile", ("grid.add_event", "grid.add_workdiary")),
        MenuLink("上报事件", "add_a_photo", "event_report", ("grid.add_event",)),
        MenuLink("辖区事件", "list_alt", "events", EVENT_VIEWERS),
        MenuLink("一张图", "map", "map", ("grid.view_event",)),
        MenuLink("事件流程图", "account_tree", "event_chart", EVENT_VIEWERS),
        MenuLink("流程策略", "tune", "flow_policies", ("grid.add_flowpolicy",)),
        MenuLink("巡查记录", "directions_walk", "patrols", ("grid.add_patrollog", "grid.view_patrollog")),
        MenuLink("工作日志", "menu_book", "diaries", ("grid.add_workdiary", "grid.review_workdiary", "grid.view_workdiary")),
        MenuLink("户情台账", "home", "households", ("grid.view_household",)),
        MenuLink("巡查频次落实", "fact_check", "compliance", ("grid.view_patrollog",)),
        MenuLink("网格员考核", "grading", "staff_assessment", ("grid.view_patrollog",)),
    )

    index_path = path("", event_views.GridIndexView.as_view(), name="index")
    tasks_path = path("tasks/", event_views.MyTasksView.as_view(), name="my_tasks")
    events_path = path("events/", event_views.EventListView.as_view(), name="events")
    map_path = path("map/", event_views.RegionMapView.as_view(), name="map")
    export_path = path("events/export/", event_views.EventExportView.as_view(), name="event_export")
    report_path = path("events/new/", event_views.EventReportView.as_view(), name="event_report")
    chart_path = path("events/chart/", event_views.EventChartView.as_view(), name="event_chart")
    flow_policies_path = path("flow-policies/", flow_policy_views.FlowPolicyListView.as_view(), name="flow_policies")
    flow_policy_new_path = path("flow-policies/<int:region_pk>/new/", flow_policy_views.FlowPolicyCreateView.as_view(),
                                name="flow_policy_new")
    detail_path = path("events/<int:pk>/", event_views.EventDetailView.as_view(), name="event_detail")
    event_chart_path = path("events/<int:pk>/chart/", event_views.EventChartView.as_view(), name="event_process_chart")
    step_path = path("events/<int:pk>/<str:action>/", event_views.EventActionView.as_view(), name="event_action")
    patrols_path = path("patrols/", patrol_views.PatrolListView.as_view(), name="patrols")
    patrols_export_path = path("patrols/export/", patrol_views.PatrolExportView.as_view(), name="patrol_export")
    patrol_new_path = path("patrols/new/", patrol_views.PatrolCreateView.as_view(), name="patrol_new")
    patrol_detail_path = path("patrols/<int:pk>/", patrol_views.PatrolDetailView.as_view(), name="patrol_detail")
    diaries_path = path("diaries/", patrol_views.DiaryListView.as_view(), name="diaries")
    diaries_export_path = path("diaries/export/", patrol_views.DiaryExportView.as_view(), name="diary_export")
    diary_write_path = path("diaries/write/", patrol_views.DiaryWriteView.as_view(), name="diary_write")
    diary_detail_path = path("diaries/<int:pk>/", patrol_views.DiaryDetailView.as_view(), name="diary_detail")
    diary_review_path = path("diaries/<int:pk>/review/", patrol_views.DiaryReviewView.as_view(), name="diary_review")
    compliance_path = path("compliance/", patrol_views.ComplianceView.as_view(), name="compliance")
    compliance_export_path = path("compliance/export/", patrol_views.ComplianceExportView.as_view(),
                                  name="compliance_export")
    staff_assessment_path = path("assessment/", patrol_views.StaffAssessmentView.as_view(), name="staff_assessment")
    staff_assessment_export_path = path("assessment/export/", patrol_views.StaffAssessmentExportView.as_view(),
                                        name="staff_assessment_export")
    households_path = path("households/", household_views.HouseholdListView.as_view(), name="households")
    household_detail_path = path("households/<int:pk>/", household_views.HouseholdDetailView.as_view(),
                                 name="household_detail")
    visit_photo_path = path("visits/<int:pk>/photos/<int:attachment_pk>/", household_views.VisitPhotoView.as_view(),
                            name="visit_photo")
    mobile_path = path("m/", mobile_views.MobileView.as_view(), name="mobile")
    mobile_report_path = path("m/report/", mobile_views.MobileView.as_view(part="report"), name="mobile_report")
    mobile_diary_path = path("m/diary/", mobile_views.MobileView.as_view(part="diary"), name="mobile_diary")
