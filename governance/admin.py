"""Admin of the cross-cutting records: all view only (they are written by services), and the site's titles."""

from django.contrib import admin

from .admin_audit import ReadOnlyAdminMixin
from .models import Attachment, AuditChainHead, Notification

admin.site.site_header = "县域网格化治理系统 后台配置"
admin.site.site_title = "后台配置"
admin.site.index_title = "配置管理"


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
