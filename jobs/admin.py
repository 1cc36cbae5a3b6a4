from django.contrib import admin

from . import kinds
from .models import Job


class KindFilter(admin.SimpleListFilter):
    """The kinds the apps registered, by their Chinese labels."""

    title = "类型"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind.key, kind.label) for kind in kinds.registered()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: jobs change only through the runner; results are downloaded by their owners."""

    list_display = ("id", "title", "kind_label", "owner", "status", "done", "total", "created_at", "finished_at")
    list_filter = (KindFilter, "status")
    search_fields = ("title", "owner__username")
    exclude = ("input_file", "result_file", "run_token")

    @admin.display(description="类型")
    def kind_label(self, job: Job) -> str:
        return job.get_kind_display()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
