"""Public pages of the published progress notices (no login): /public/notices/…"""

from django.urls import path

from . import public_views

app_name = "public_notices"

urlpatterns = [
    path("", public_views.notice_list, name="list"),
    path("<int:pk>/", public_views.notice_page, name="detail"),
    path("<int:pk>/pdf/", public_views.notice_pdf, name="pdf"),
]
