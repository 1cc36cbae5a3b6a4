"""The 整改 area: rectification plans, items, progress and the dashboard."""

from django.urls import path

from governance.site import AreaApp, MenuLink

from . import job_views, notice_views, views


class RectificationApp(AreaApp):
    title = "整改"
    icon = "build_circle"
    app_name = "rectification"
    links = (
        MenuLink("整改看板", "dashboard", "dashboard", ("rectification.view_rectificationplan",), exact=True),
        MenuLink("整改方案", "assignment", "plans", ("rectification.view_rectificationplan",),
                 pages=("plan_notices", "notice_preview", "notice_edit")),
        MenuLink("整改事项", "task_alt", "items", ("rectification.view_rectificationitem",)),
        MenuLink("批量生成通报", "folder_zip", "notice_batch", ("rectification.view_rectificationplan",)),
        MenuLink("通报模板", "article", "notice_template", ("rectification.add_noticetemplate",)),
        MenuLink("导入整改方案", "upload_file", "plan_import", ("rectification.add_rectificationplan",)),
    )

    dashboard_path = path("", views.DashboardView.as_view(), name="dashboard")
    plans_path = path("plans/", views.PlanListView.as_view(), name="plans")
    plan_export_path = path("plans/export/", views.PlanExportView.as_view(), name="plan_export")
    plan_import_path = path("plans/import/", job_views.RectificationImportView.as_view(), name="plan_import")
    notice_batch_path = path("notices/batch/", job_views.NoticeBatchView.as_view(), name="notice_batch")
    plan_detail_path = path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="plan_detail")
    plan_action_path = path("plans/<int:pk>/<str:action>/", views.PlanActionView.as_view(), name="plan_action")
    items_path = path("items/", views.ItemListView.as_view(), name="items")
    item_export_path = path("items/export/", views.ItemExportView.as_view(), name="item_export")
    item_detail_path = path("items/<int:pk>/", views.ItemDetailView.as_view(), name="item_detail")
    item_evidence_path = path("items/<int:pk>/evidence/<int:attachment_pk>/", views.EvidenceView.as_view(),
                              name="item_evidence")
    item_action_path = path("items/<int:pk>/<str:action>/", views.ItemActionView.as_view(), name="item_action")

    # The progress notice pages (rectification/notice_views.py).
    plan_notices_path = path("notices/plan/<int:pk>/", notice_views.PlanNoticesView.as_view(), name="plan_notices")
    notice_preview_path = path("notices/<int:pk>/preview/", notice_views.NoticePreviewView.as_view(), name="notice_preview")
    notice_download_path = path("notices/<int:pk>/download/<str:fmt>/", notice_views.NoticeDownloadView.as_view(),
                                name="notice_download")
    notice_edit_path = path("notices/<int:pk>/edit/", notice_views.NoticeEditView.as_view(), name="notice_edit")
    notice_template_path = path("notices/template/", notice_views.NoticeTemplateView.as_view(), name="notice_template")
    notice_template_county_path = path("notices/template/<int:county_pk>/", notice_views.NoticeTemplateView.as_view(),
                                       name="notice_template_county")
    notice_action_path = path("notices/<int:pk>/act/<str:action>/", notice_views.NoticeActionView.as_view(),
                              name="notice_action")
