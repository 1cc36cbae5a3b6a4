"""Admin of the configurable parts of the flows (SLA rules, holiday calendar) and view-only flow rows.
Design notes: docs/architecture/workflows.md."""

from django.contrib import admin
from viewflow.workflow.admin import ProcessAdmin, TaskAdmin
from viewflow.workflow.models import Process, Task

from governance.admin_audit import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import Holiday, SLARule, TaskDeadline


@admin.register(SLARule)
class SLARuleAdmin(AuditedModelAdmin):
    list_display = ["tier", "urgency", "category", "hours", "clock", "auto_escalate"]
    list_filter = ["tier", "urgency", "clock", "auto_escalate"]
    search_fields = ["tier__name", "category__name", "category__code"]
    list_select_related = ["tier", "category__parent"]
    autocomplete_fields = ["category"]


@admin.register(Holiday)
class HolidayAdmin(AuditedModelAdmin):
    list_display = ["date", "name", "is_working_day", "source"]
    list_filter = ["is_working_day", "source"]
    search_fields = ["name"]
    date_hierarchy = "date"
    readonly_fields = ["source"]

    def save_model(self, request, obj, form, change):
        # A date entered or changed by hand overrides the package's: fill_holidays leaves it alone.
        obj.source = Holiday.Source.MANUAL
        super().save_model(request, obj, form, change)


@admin.register(TaskDeadline)
class TaskDeadlineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["task_id", "due_at", "is_open", "supervised_at", "escalated_at"]
    list_filter = ["is_open", ("supervised_at", admin.EmptyFieldListFilter), ("escalated_at", admin.EmptyFieldListFilter)]
    search_fields = ["=task__id"]
    date_hierarchy = "due_at"
    raw_id_fields = ["task"]


for model in (Process, Task):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(Process)
class ReadOnlyProcessAdmin(ReadOnlyAdminMixin, ProcessAdmin):
    pass


@admin.register(Task)
class ReadOnlyTaskAdmin(ReadOnlyAdminMixin, TaskAdmin):
    list_select_related = ["process", "owner"]
