from django.apps import AppConfig

from . import schema  # noqa: F401 — registers the token authentication with drf-spectacular


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "开放接口"

    def ready(self):
        from grid import access_cache

        from .credentials import HOLDS_A_TOKEN, holds_a_token
        from .models import DeviceToken

        # The account menu asks on every page; a token made or revoked moves the access version.
        access_cache.register_fact(HOLDS_A_TOKEN, holds_a_token, models=[DeviceToken])
