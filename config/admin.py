"""Admin of the audit trail: it reads grid's scope and each record's own rule, so it lives in the composition."""

from django.contrib import admin

from governance.admin_audit import ReadOnlyAdminMixin
from governance.models import AuditEntry
from grid.access import visible_audit_entries


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only audit trail: never editable or deletable, not even by a superuser."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_id", "object_repr", "region_path"]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "actor_name", "object_repr", "object_id", "request_id", "=region_path"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    show_full_result_count = False  # counting the whole trail on every page is slow on big tables

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def get_queryset(self, request):
        # The same entries as the 审计日志 page: a record's own rule holds here too (clues: not a
        # superuser as such).
        return visible_audit_entries(request.user, super().get_queryset(request))
