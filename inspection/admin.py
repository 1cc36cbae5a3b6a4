"""Admin of the township big-patrol configuration: catalog categories and supervision groups."""

from django.contrib import admin
from django.db.models import Count

from governance.admin_audit import AuditedModelAdmin

from .models import PatrolCategory, SupervisionGroup


@admin.register(PatrolCategory)
class PatrolCategoryAdmin(AuditedModelAdmin):
    list_display = ["name", "township", "lead_department"]
    list_filter = [("township", admin.RelatedOnlyFieldListFilter), ("lead_department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "township__name", "lead_department__name"]
    list_select_related = ["township", "lead_department__region"]
    autocomplete_fields = ["township", "lead_department"]


@admin.register(SupervisionGroup)
class SupervisionGroupAdmin(AuditedModelAdmin):
    list_display = ["number", "name", "township", "village_count"]
    list_display_links = ["number", "name"]
    list_filter = [("township", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "township__name", "villages__name"]
    list_select_related = ["township"]
    autocomplete_fields = ["township", "villages"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_village_count=Count("villages", distinct=True))

    @admin.display(description="负责村数", ordering="_village_count")
    def village_count(self, group):
        return group._village_count
