"""The 系统管理 area: region tree, departments, posts, audit trail, the Django admin."""

from django.urls import path
from django.views.generic import RedirectView

from governance.site import AreaApp, MenuLink
from grid import org_views

from . import audit_views


class SystemApp(AreaApp):
    title = "系统管理"
    icon = "settings"
    app_name = "system"
    links = (
        MenuLink("区域与网格", "account_tree", "regions", ("grid.view_region",)),
        MenuLink("岗位与人员", "badge", "posts", ("grid.view_post",)),
        MenuLink("审计日志", "history", "audit", ("governance.view_auditentry",)),
        MenuLink("后台配置", "tune", "admin", ("grid.change_role",)),
    )

    regions_path = path("regions/", org_views.RegionTreeView.as_view(), name="regions")
    region_path = path("regions/<int:pk>/", org_views.RegionDetailView.as_view(), name="region_detail")
    posts_path = path("posts/", org_views.PostListView.as_view(), name="posts")
    post_export_path = path("posts/export/", org_views.PostExportView.as_view(), name="post_export")
    audit_path = path("audit/", audit_views.AuditListView.as_view(), name="audit")
    audit_export_path = path("audit/export/", audit_views.AuditExportView.as_view(), name="audit_export")
    admin_path = path("admin/", RedirectView.as_view(url="/admin/"), name="admin")
