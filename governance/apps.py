from django.apps import AppConfig

from . import checks, form_defaults, input_rules  # noqa: F401  (checks registers the start-up checks)


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "系统核心"

    def ready(self):
        input_rules.install()  # every form and serializer field refuses control characters, odd dates
        form_defaults.install()  # every drop-down starts at 请选择
        # Deferred: models are importable only once the app registry is ready
        from . import visibility
        from .models import AuditEntry

        # An export of the audit log is filed under the log (its row count and filters: how many entries
        # of a kind its actor reads): no reader but its actor, whatever the records it listed.
        visibility.register_records(AuditEntry, lambda user: AuditEntry.objects.none())
