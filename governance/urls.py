from django.contrib import admin
from django.urls import include, path

from governance import health
from governance.accounts import AccountViewset
from governance.site import build_site
from governance.views import evidence_file

site = build_site()

urlpatterns = [
    path("healthz", health.healthz_view, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", AccountViewset().urls),
    path("evidence/<int:pk>/", evidence_file, name="evidence"),
    path("evidence/<int:pk>/thumb/", evidence_file, {"thumbnail": True}, name="evidence_thumb"),
    path("public/notices/", include("rectification.public_urls")),
    # ---- open API (issue 9) ----
    path("", include("api.urls")),
    # ---- security (issue 11) ----
    path("", include("governance.two_factor")),
    # ---- people's view (issue 8) ----
    path("", include("governance.dashboard_urls")),
    path("jobs/", include("jobs.urls")),
    path("", site.urls),
]
