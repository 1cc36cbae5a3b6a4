"""Admin of rectification (整改): plans with their items, audited.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count

from governance import audit
from governance.admin_audit import AuditedModelAdmin, CountyWidePermissionsMixin, admin_action, changed_only

from . import states
from .models import RectificationItem, RectificationPlan


class RectificationItemInline(CountyWidePermissionsMixin, admin.TabularInline):
    model = RectificationItem
    fields = ["number", "title", "description", "status", "finding"]
    readonly_fields = ["finding"]
    extra = 0
    formfield_overrides = {
        RectificationItem._meta.get_field("description").__class__: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})},
    }


class RectificationPlanForm(forms.ModelForm):
    class Meta:
        model = RectificationPlan
        fields = ["organisation", "round", "title"]

    def clean(self):
        data = super().clean()
        organisation, round_ = data.get("organisation"), data.get("round")
        if organisation and round_ and not round_.targets.filter(organisation=organisation).exists():
            self.add_error("organisation", f"“{organisation.name}”不是{round_.name}的巡察对象。")
        return data


@admin.register(RectificationPlan)
class RectificationPlanAdmin(AuditedModelAdmin):
    form = RectificationPlanForm
    inlines = [RectificationItemInline]
    list_display = ["title", "organisation", "round", "item_count", "done_count", "created_at"]
    list_filter = [("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "organisation__name", "organisation__full_path", "round__name"]
    list_select_related = ["organisation", "round"]
    autocomplete_fields = ["organisation", "round"]
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _item_count=Count("items", distinct=True),
            # 已整改 as every page counts it (rectification.states: 已整改到位 included).
            _done_count=Count("items", filter=states.q_figure("done", prefix="items__"), distinct=True),
        )

    @admin.display(description="整改事项", ordering="_item_count")
    def item_count(self, plan):
        return plan._item_count

    @admin.display(description="已整改", ordering="_done_count")
    def done_count(self, plan):
        return plan._done_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        """Save the inline items and audit each one: admin.rectificationitem.create/change/delete."""
        model = formset.model
        with transaction.atomic():
            pks = [item_form.instance.pk for item_form in formset.initial_forms if item_form.instance.pk]
            before = {obj.pk: audit.snapshot(obj) for obj in model._default_manager.filter(pk__in=pks)}
            for item_form in formset.deleted_forms:
                obj = item_form.instance
                if obj.pk in before:
                    audit.record(admin_action(model, "delete"), actor=request.user, obj=obj, before=before[obj.pk])
            super().save_formset(request, form, formset, change)
            for obj in formset.new_objects:
                audit.record(admin_action(model, "create"), actor=request.user, obj=obj, after=audit.snapshot(obj))
            for obj, _fields in formset.changed_objects:
                old, new = changed_only(before.get(obj.pk, {}), audit.snapshot(obj))
                if old or new:
                    audit.record(admin_action(model, "change"), actor=request.user, obj=obj, before=old, after=new)


class RectificationItemForm(forms.ModelForm):
    class Meta:
        model = RectificationItem
        fields = ["plan", "number", "title", "description", "status"]


@admin.register(RectificationItem)
class RectificationItemAdmin(AuditedModelAdmin):
    form = RectificationItemForm
    list_display = ["number", "title", "plan", "status", "finding"]
    list_display_links = ["number", "title"]
    list_editable = ["status"]
    list_filter = ["status", ("plan__round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "description", "plan__title", "plan__organisation__name"]
    list_select_related = ["plan", "finding"]
    autocomplete_fields = ["plan"]

    def get_readonly_fields(self, request, obj=None):
        # The plan is fixed once the item exists; the finding link is set by the feedback hand-over.
        return ["plan", "finding"] if obj is not None else ["finding"]


# ---------------------------------------------------------------- the plan's records and the progress entries


from .models import Accountability, MoneyRecovered, PetitionTransfer, PlanMeasure, PlanMeeting, ProgressEntry  # noqa: E402


@admin.register(PlanMeeting)
class PlanMeetingAdmin(AuditedModelAdmin):
    list_display = ["held_on", "kind", "topic", "plan"]
    list_select_related = ["plan"]
    search_fields = ["kind", "topic", "plan__title"]
    autocomplete_fields = ["plan"]


@admin.register(PlanMeasure)
class PlanMeasureAdmin(AuditedModelAdmin):
    list_display = ["name", "adopted_on", "plan"]
    list_select_related = ["plan"]
    search_fields = ["name", "plan__title"]
    autocomplete_fields = ["plan"]


@admin.register(MoneyRecovered)
class MoneyRecoveredAdmin(AuditedModelAdmin):
    list_display = ["amount", "source", "plan"]
    list_select_related = ["plan"]
    search_fields = ["source", "plan__title"]
    autocomplete_fields = ["plan"]


@admin.register(Accountability)
class AccountabilityAdmin(AuditedModelAdmin):
    list_display = ["person", "level", "measure", "decided_on", "plan"]
    list_filter = ["level", "measure"]
    list_select_related = ["plan"]
    search_fields = ["person", "plan__title"]
    autocomplete_fields = ["plan"]
    raw_id_fields = ["item"]


@admin.register(PetitionTransfer)
class PetitionTransferAdmin(AuditedModelAdmin):
    list_display = ["summary", "received_on", "closed_on", "plan"]
    list_select_related = ["plan"]
    search_fields = ["summary", "plan__title"]
    autocomplete_fields = ["plan"]


@admin.register(ProgressEntry)
class ProgressEntryAdmin(AuditedModelAdmin):
    """Progress entries are written by the services (with evidence and the flow); the admin only reads them."""

    list_display = ["reported_on", "kind", "item", "reported_by"]
    list_filter = ["kind"]
    list_select_related = ["item", "reported_by"]
    search_fields = ["text", "item__title"]
    readonly_fields = ["item", "reported_on", "text", "kind", "reported_by", "created_at"]

    def has_add_permission(self, request):
        return False


from governance.admin_audit import ReadOnlyAdminMixin  # noqa: E402

from .models import NoticeTemplate  # noqa: E402


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The versions of each county's notice template; they are written on the county office's template page."""

    list_display = ["county", "version", "created_by", "created_at"]
    list_select_related = ["county", "created_by"]
    list_filter = [("county", admin.RelatedOnlyFieldListFilter)]
