"""Admin of the cross-cutting records: all view only (they are written by services), and the site's titles."""

from django.contrib import admin

from .admin_audit import ReadOnlyAdminMixin
from .audit_views import visible_entries
from .models import Attachment, AuditChainHead, AuditEntry, Notification

admin.site.site_header = "县域网格化治理系统 后台配置"
admin.site.site_title = "后台配置"
admin.site.index_title = "配置管理"


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
        return visible_entries(request.user, super().get_queryset(request))


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "writes", "last_hash"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Evidence files are served through the access-checked evidence view, so no file links here."""

    list_display = ["original_name", "kind", "owner_type", "owner_id", "size", "uploaded_by", "created_at"]
    list_filter = ["kind", "owner_type"]
    search_fields = ["original_name", "sha256", "uploaded_by__username"]
    list_select_related = ["owner_type", "uploaded_by"]
    date_hierarchy = "created_at"
    exclude = ["file", "thumbnail"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "recipient", "kind", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username", "dedupe_key"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
