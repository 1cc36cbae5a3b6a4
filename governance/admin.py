"""Admin of the cross-cutting records: all view only (they are written by services), and the site's titles."""

from django.contrib import admin

from .admin_audit import AuditedModelAdmin, ReadOnlyAdminMixin
from .models import Attachment, AuditChainHead, ChannelMessage, MobileNumber, Notification, mask_phone

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


@admin.register(MobileNumber)
class MobileNumberAdmin(AuditedModelAdmin):
    """Mobile numbers for 待办/督办 by SMS; the audit trail keeps them masked."""

    list_display = ["user", "masked_number", "receives_sms"]
    list_filter = ["receives_sms"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]

    @admin.display(description="手机号")
    def masked_number(self, obj):
        return mask_phone(obj.number)

    def audit_snapshot(self, obj):
        data = super().audit_snapshot(obj)
        data["number"] = mask_phone(data.get("number", ""))
        return data


@admin.register(ChannelMessage)
class ChannelMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What went to the group robots and the SMS gateway, and what still waits (phones masked)."""

    list_display = ["created_at", "channel", "shown_target", "short_text", "attempts", "sent_at", "last_error"]
    list_filter = ["channel", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["dedupe_key", "text"]
    date_hierarchy = "created_at"
    fields = ["channel", "shown_target", "text", "dedupe_key", "created_at", "attempts", "next_attempt_at", "sent_at",
              "last_error"]
    readonly_fields = fields

    @admin.display(description="发送到")
    def shown_target(self, obj):
        return obj.shown_target

    @admin.display(description="内容")
    def short_text(self, obj):
        return obj.text[:40]
