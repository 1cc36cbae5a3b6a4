from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "系统核心"

    def ready(self):
        from . import checks  # noqa: F401  (registers the start-up checks)
