from django.contrib import admin
from django.urls import path

from governance import health

urlpatterns = [
    path("healthz", health.healthz_view, name="healthz"),
    path("admin/", admin.site.urls),
]
