from django.contrib import admin
from django.urls import include, path
from viewflow.contrib.auth import AuthViewset

from governance import health
from governance.site import SitePageMixin

from .site import build_site
from .views import evidence_file

site = build_site()
SitePageMixin.site = site  # pages outside the Site's URLs borrow its frame

urlpatterns = [
    path("healthz", health.healthz_view, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", AuthViewset(with_profile_view=False).urls),
    path("evidence/<int:pk>/", evidence_file, name="evidence"),
    path("evidence/<int:pk>/thumb/", evidence_file, {"thumbnail": True}, name="evidence_thumb"),
    path("public/notices/", include("rectification.public_urls")),
    # ---- open API (issue 9) ----
    path("", include("api.urls")),
    # ---- security (issue 11) ----
    path("", include("config.two_factor")),
    # ---- people's view (issue 8) ----
    path("", include("config.dashboard_urls")),
    path("jobs/", include("jobs.urls")),
    path("", site.urls),
]
