from django.contrib import admin
from django.urls import include, path

from governance import health
from governance.accounts import AccountViewset
from governance.site import SitePageMixin

from .site import build_site
from .views import SessionPingView, evidence_file

site = build_site()
SitePageMixin.site = site  # pages outside the Site's URLs borrow its frame

# Errors outside the views: the API's addresses answer in its JSON error shape (api.errors).
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"

urlpatterns = [
    path("healthz", health.healthz_view, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/ping/", SessionPingView.as_view(), name="session_ping"),
    path("accounts/", AccountViewset().urls),
    path("evidence/<int:pk>/", evidence_file, name="evidence"),
    path("evidence/<int:pk>/thumb/", evidence_file, {"thumbnail": True}, name="evidence_thumb"),
    path("public/notices/", include("rectification.public_urls")),
    # ---- open API ----
    path("", include("api.urls")),
    # ---- security ----
    path("", include("config.two_factor")),
    # ---- people's view ----
    path("", include("config.dashboard_urls")),
    path("jobs/", include("jobs.urls")),
    path("", site.urls),
]
