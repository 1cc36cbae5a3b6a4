from django.contrib import admin

from .models import DeviceToken, Open311Client, Open311Request

# rest_framework.authtoken is installed, but devices authenticate with DeviceToken (hashed, one per device,
# revocable on /api/tokens/); a DRF Token made in the admin would not work, so its page is not offered.
try:
    from rest_framework.authtoken.models import TokenProxy

    admin.site.unregister(TokenProxy)
except (ImportError, admin.sites.NotRegistered):
    pass


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    """Read-only: users create and revoke their own tokens on /api/tokens/."""

    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    """Read-only: keys are created and revoked with `manage.py open311_client`."""

    list_display = ["name", "jurisdiction", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["name", "jurisdiction", "reporter", "prefix", "created_at", "revoked_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Open311Request)
class Open311RequestAdmin(admin.ModelAdmin):
    list_display = ["event", "client", "created_at"]
    readonly_fields = ["event", "client", "device_id", "account_id", "contact", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
