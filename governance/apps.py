from django.apps import AppConfig

from . import checks, form_defaults, input_rules  # noqa: F401  (checks registers the start-up checks)


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "系统核心"

    def ready(self):
        input_rules.install()  # every form and serializer field refuses control characters, odd dates
        form_defaults.install()  # every drop-down starts at 请选择
