"""Admin of the township big patrol: its configuration (catalog, categories, supervision groups) is
edited here, audited; its records (ledgers, reports, findings, checks, confirmations, circulars) are
view only, because they change only through the services and flows."""

from django import forms
from django.contrib import admin
from django.db.models import Count

from governance.admin_audit import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import (
    CatalogItem,
    Circular,
    DepartmentConfirmation,
    PatrolCategory,
    PatrolFinding,
    PatrolReport,
    SupervisionCheck,
    SupervisionGroup,
    VillagePatrol,
)


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
    autocomplete_fields = ["township", "villages", "members"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_village_count=Count("villages", distinct=True))

    @admin.display(description="负责村数", ordering="_village_count")
    def village_count(self, group):
        return group._village_count


# Catalog items are configuration (the office keeps the 巡查目录); the records below change only
# through the services and flows (report, verify and register, check, confirm, circulate): view only.


class CatalogItemForm(forms.ModelForm):
    class Meta:
        model = CatalogItem
        fields = ["township", "code", "name", "category", "lead_department", "points", "evidence_required", "is_active"]

    def clean(self):
        data = super().clean()
        township, category, department = data.get("township"), data.get("category"), data.get("lead_department")
        if township and category and category.township_id != township.pk:
            self.add_error("category", f"类别“{category.name}”不属于{township.name}。")
        if township and department and department.region_id != township.pk:
            self.add_error("lead_department", f"“{department}”不是{township.name}的部门。")
        return data


@admin.register(CatalogItem)
class CatalogItemAdmin(AuditedModelAdmin):
    form = CatalogItemForm
    list_display = ["code", "name", "category", "lead_department", "points", "is_active", "township"]
    list_display_links = ["code", "name"]
    list_filter = ["is_active", ("township", admin.RelatedOnlyFieldListFilter),
                   ("lead_department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name", "category__name", "lead_department__name", "township__name"]
    list_select_related = ["township", "category", "lead_department__region"]
    autocomplete_fields = ["township", "category", "lead_department"]


@admin.register(VillagePatrol)
class VillagePatrolAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["date", "village", "recorded_by", "created_at"]
    search_fields = ["village__full_path", "route", "findings", "recorded_by__username"]
    list_select_related = ["village", "recorded_by"]
    date_hierarchy = "date"


@admin.register(PatrolReport)
class PatrolReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "village", "item", "reported_on", "verdict", "verified_on", "points", "is_fraud"]
    list_display_links = ["number"]
    list_filter = ["verdict", "is_fraud", "follow_up", ("township", admin.RelatedOnlyFieldListFilter),
                   ("item__lead_department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "village__full_path", "item__code", "item__name", "location", "description"]
    list_select_related = ["village", "item"]
    date_hierarchy = "reported_on"
    show_full_result_count = False


@admin.register(PatrolFinding)
class PatrolFindingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "village", "item", "source", "discovered_on", "is_true", "matched_report", "points",
                    "registered_at", "is_fraud"]
    list_display_links = ["number"]
    list_filter = ["source", "is_true", "is_fraud", ("registered_at", admin.EmptyFieldListFilter),
                   ("township", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "village__full_path", "item__code", "item__name", "location", "description"]
    list_select_related = ["village", "item", "matched_report"]
    date_hierarchy = "discovered_on"
    show_full_result_count = False


@admin.register(SupervisionCheck)
class SupervisionCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["date", "group", "village", "ledger_ok", "recorded_by"]
    list_filter = ["ledger_ok", ("group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["group__name", "village__full_path", "notes"]
    list_select_related = ["group", "village", "recorded_by"]
    date_hierarchy = "date"


@admin.register(DepartmentConfirmation)
class DepartmentConfirmationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["month", "department", "township", "confirmed_at", "confirmed_by"]
    list_filter = [("township", admin.RelatedOnlyFieldListFilter), ("department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["department__name", "township__name", "note"]
    list_select_related = ["department__region", "township", "confirmed_by"]
    date_hierarchy = "month"


@admin.register(Circular)
class CircularAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["period_start", "period", "township", "published_at", "published_by"]
    list_filter = ["period", ("township", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["township__name"]
    list_select_related = ["township", "published_by"]
    date_hierarchy = "period_start"
