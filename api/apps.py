from django.apps import AppConfig

from . import schema  # noqa: F401 — registers the token authentication with drf-spectacular


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "开放接口"
