from django.contrib import admin

from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: jobs change only through the runner; results are downloaded by their owners."""

    list_display = ("id", "title", "kind", "owner", "status", "done", "total", "created_at", "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("title", "owner__username")
    exclude = ("input_file", "result_file", "run_token")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
