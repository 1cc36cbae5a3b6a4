"""/api/v1/ (REST), /api/schema/ (OpenAPI), /api/docs/, /api/tokens/ and /open311/v2/ (GeoReport v2)."""

from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView

from . import open311, token_views, views


class RecordIdConverter:
    """A record id: digits, at most 18 (what a 64-bit key holds); anything else is 404, never an overflow."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(RecordIdConverter, "api_id")

v1 = [
    path("me/", views.MeView.as_view(), name="me"),
    path("categories/", views.CategoryListView.as_view(), name="categories"),
    path("regions/", views.RegionListView.as_view(), name="regions"),
    path("regions/<api_id:pk>/", views.RegionDetailView.as_view(), name="region_detail"),
    path("events/", views.EventListView.as_view(), name="events"),
    path("events/<api_id:pk>/", views.EventDetailView.as_view(), name="event_detail"),
    path("events/<api_id:pk>/handle/", views.EventHandleView.as_view(), name="event_handle"),
    path("events/<api_id:pk>/department/", views.EventDepartmentView.as_view(), name="event_department"),
    path("events/<api_id:pk>/verify/", views.EventVerifyView.as_view(), name="event_verify"),
    path("events/<api_id:pk>/rate/", views.EventRateView.as_view(), name="event_rate"),
    path("events/<api_id:pk>/attachments/<api_id:attachment_pk>/", views.EventAttachmentView.as_view(),
         name="event_attachment"),
    path("tasks/", views.MyTasksView.as_view(), name="tasks"),
    path("patrol/reports/", views.PatrolReportListView.as_view(), name="patrol_reports"),
    path("patrol/reports/<api_id:pk>/", views.PatrolReportDetailView.as_view(), name="patrol_report_detail"),
    path("patrol/reports/<api_id:pk>/attachments/<api_id:attachment_pk>/", views.PatrolReportAttachmentView.as_view(),
         name="patrol_report_attachment"),
    path("patrol/scores/", views.PatrolScoresView.as_view(), name="patrol_scores"),
    path("rectification/plans/", views.PlanListView.as_view(), name="plans"),
    path("rectification/plans/<api_id:pk>/", views.PlanDetailView.as_view(), name="plan_detail"),
    path("rectification/items/", views.ItemListView.as_view(), name="items"),
    path("rectification/items/<api_id:pk>/", views.ItemDetailView.as_view(), name="item_detail"),
    path("rectification/items/<api_id:pk>/progress/", views.ItemProgressView.as_view(), name="item_progress"),
    path("rectification/items/<api_id:pk>/claim/", views.ItemClaimView.as_view(), name="item_claim"),
    path("rectification/items/<api_id:pk>/attachments/<api_id:attachment_pk>/", views.ItemAttachmentView.as_view(),
         name="item_attachment"),
    path("notices/", views.NoticeListView.as_view(), name="notices"),
    path("notices/<api_id:pk>/", views.NoticeDetailView.as_view(), name="notice_detail"),
]

open311_patterns = [
    re_path(r"^discovery\.(?P<fmt>json|xml)$", open311.DiscoveryView.as_view(), name="discovery"),
    re_path(r"^services\.(?P<fmt>json|xml)$", open311.ServiceListView.as_view(), name="services"),
    re_path(r"^services/(?P<code>[\w.-]{1,32})\.(?P<fmt>json|xml)$", open311.ServiceDefinitionView.as_view(),
            name="service_definition"),
    re_path(r"^requests\.(?P<fmt>json|xml)$", open311.RequestListView.as_view(), name="requests"),
    re_path(r"^requests/(?P<request_id>[^/.]{1,40})\.(?P<fmt>json|xml)$", open311.RequestDetailView.as_view(),
            name="request_detail"),
]

urlpatterns = [
    path("api/v1/", include((v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", token_views.ApiDocsView.as_view(), name="api_docs"),
    path("api/tokens/", token_views.TokenListView.as_view(), name="api_tokens"),
    # The page after a password change (governance.accounts leaves this address to it).
    path("accounts/password_change/done/", token_views.PasswordChangedView.as_view(), name="password_change_done"),
    path("api/tokens/<api_id:pk>/revoke/", token_views.TokenRevokeView.as_view(), name="api_token_revoke"),
    path("open311/v2/", include((open311_patterns, "open311"))),
]
