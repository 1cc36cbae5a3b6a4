"""Admin of the region tree and its configuration: tiers, departments, roles, posts, categories, routing.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.http import HttpResponseBadRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import TreeNodeChoiceField

from governance import audit
from governance.admin_audit import (
    AuditedModelAdmin,
    CountyWidePermissionsMixin,
    ReadOnlyAdminMixin,
    admin_action,
    has_county_wide_perm,
)

from . import households, services
from .flow_policy import deadline_problems, next_version, policy_problems
from .models import (
    CadenceRule,
    CategoryAttribute,
    CategoryRouting,
    Department,
    DiaryReviewRule,
    Event,
    EventCategory,
    FlowPolicy,
    FlowPolicyDeadline,
    GroupRobot,
    Household,
    HouseholdVisit,
    PatrolLog,
    Post,
    Region,
    Role,
    StaffAssessmentRule,
    Tier,
    VisitCadenceRule,
    WorkDiary,
    overdue_q,
)


@admin.register(Tier)
class TierAdmin(AuditedModelAdmin):
    list_display = ["depth", "key", "name", "households_min", "households_max"]
    list_display_links = ["key", "name"]
    search_fields = ["key", "name"]
    ordering = ["depth"]

    def has_delete_permission(self, request, obj=None):
        # A tier in use is protected by the database; an unused one may go.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.regions.exists())


# Regions ----------------------------------------------------------------------------------------


def _check_sibling_name(parent: Region | None, name: str, exclude_pk=None) -> None:
    siblings = Region.objects.get_children(parent) if parent else Region.objects.get_root_nodes()
    if siblings.filter(name=name).exclude(pk=exclude_pk).exists():
        raise ValidationError({"name": f"同一上级区域下已有名为“{name}”的区域。"})


class RegionAddForm(forms.ModelForm):
    """A new region under a chosen parent; saved by `services.create_region`."""

    parent = TreeNodeChoiceField(
        label="上级区域", queryset=Region.objects.order_by("path"), required=False, empty_label="（顶级区域）"
    )

    class Meta:
        model = Region
        fields = ["parent", "name", "tier", "code", "households"]

    def clean(self):
        data = super().clean()
        name, tier, parent = (data.get("name") or "").strip(), data.get("tier"), data.get("parent")
        if name and tier:
            try:
                services._check_tier(parent, tier)  # the one tier rule, shared with imports and commands
            except ValidationError as error:
                self.add_error("tier", error)
            try:
                _check_sibling_name(parent, name)
            except ValidationError as error:
                self.add_error(None, error)
        return data


class RegionChangeForm(forms.ModelForm):
    """Name, code and households only: tier and place are structural (see RegionAdmin)."""

    class Meta:
        model = Region
        fields = ["name", "code", "households"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if name != self.instance.name:
            _check_sibling_name(Region.objects.get_parent(self.instance), name, exclude_pk=self.instance.pk)
        return name


@admin.register(Region)
class RegionAdmin(CountyWidePermissionsMixin, TreeAdmin):
    """The region tree, read-mostly.

    Adding goes through `services.create_region` (tier order, path of names), changing the name, code
    or households through `services.update_region` (a new name refreshes the subtree's full paths).
    Moving a node or changing its tier would change which posts, departments, routes and open events
    sit under which township, so it is refused here until a service checks all of that; regions are
    never deleted (events and posts keep pointing at them).
    """

    list_display = ["name", "tier", "code", "households", "household_norm", "full_path"]
    list_filter = ["tier"]
    search_fields = ["name", "full_path", "code"]
    list_select_related = ["tier"]

    @admin.display(description="户数规范")
    def household_norm(self, region):
        return region.household_warning or "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = RegionChangeForm if obj is not None else RegionAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["parent", "name", "tier", "code", "households"]
        return ["full_path", "tier", "name", "code", "households"]

    def get_readonly_fields(self, request, obj=None):
        return ["full_path", "tier"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            region = services.create_region(
                parent=data.get("parent"), name=data["name"], tier=data["tier"], code=data.get("code"),
                households=data.get("households"), by=request.user,
            )
            # The admin goes on with `obj` (redirect, log entry): make it the created node.
            for field in Region._meta.concrete_fields:
                setattr(obj, field.attname, getattr(region, field.attname))
            obj._state.adding = False
            return
        changes = {field: data.get(field) for field in ("name", "code", "households") if field in form.changed_data}
        if changes:
            # The service audits the change and carries a new name into the subtree's paths of names.
            services.update_region(Region.objects.get(pk=obj.pk), by=request.user, **changes)
        obj.refresh_from_db()

    def move_node(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        messages.error(request, "区域不能在后台拖动调整位置：调整隶属关系会影响岗位、部门和在办事件，请联系系统管理员。")
        return HttpResponseBadRequest("区域不能移动")


# Departments, roles and posts ----------------------------------------------------------------


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ["name", "region", "is_grid_centre"]
    list_filter = [("region__tier", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "region__name", "region__full_path"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]


@admin.register(GroupRobot)
class GroupRobotAdmin(AuditedModelAdmin):
    """企业微信/政务微信 group robots per township or department (the key in the address is a secret: the
    list shows the address without it)."""

    list_display = ["name", "region", "department", "enabled", "shown_address"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["enabled"]
    search_fields = ["name", "region__name", "department__name"]
    list_select_related = ["region", "department"]
    autocomplete_fields = ["region", "department"]

    @admin.display(description="机器人地址")
    def shown_address(self, obj):
        return obj.webhook_url.split("?", 1)[0]

    def audit_snapshot(self, obj):
        data = super().audit_snapshot(obj)
        data["webhook_url"] = str(data.get("webhook_url", "")).split("?", 1)[0]
        return data


@admin.register(Role)
class RoleAdmin(AuditedModelAdmin):
    """A role's permissions apply to every post of it at once (grants are computed per request)."""

    list_display = ["key", "name", "permission_count", "post_count"]
    search_fields = ["key", "name", "description"]
    filter_horizontal = ["permissions"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _permission_count=Count("permissions", distinct=True), _post_count=Count("posts", distinct=True)
        )

    @admin.display(description="权限数", ordering="_permission_count")
    def permission_count(self, role):
        return role._permission_count

    @admin.display(description="岗位数", ordering="_post_count")
    def post_count(self, role):
        return role._post_count

    def get_readonly_fields(self, request, obj=None):
        # Commands, flows and tests find roles by key: it never changes.
        return ["key"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "permissions":
            kwargs["queryset"] = Permission.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ActivePostFilter(admin.SimpleListFilter):
    title = "任职状态"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "在任"), ("no", "已离任")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.active()
        if self.value() == "no":
            return queryset.exclude(pk__in=Post.objects.active().values("pk"))
        return queryset


@admin.action(description="结束所选岗位（今日起不再任职）")
def end_selected_posts(modeladmin, request, queryset):
    ended, refused = 0, []
    for post in queryset.filter(end_date__isnull=True).select_related("user", "role", "region", "department__region"):
        try:
            services.end_post(post, by=request.user)
        except PermissionDenied as exc:  # the appointing rule (services.post_refusal)
            refused.append(f"{post}：{exc}")
            continue
        ended += 1
    modeladmin.message_user(request, f"已结束 {ended} 个岗位。", messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, f"未结束 {reason}", messages.ERROR)


@admin.register(Post)
class PostAdmin(CountyWidePermissionsMixin, admin.ModelAdmin):
    """Posts are created by `services.create_post` and ended by `services.end_post` (both audited),
    never deleted: they are the history of who was responsible where. Only the note is edited in place."""

    list_display = ["user", "role", "region", "department", "start_date", "end_date"]
    list_filter = [ActivePostFilter, "role", ("region__tier", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__first_name", "region__full_path", "department__name", "note"]
    list_select_related = ["user", "role", "region", "department__region"]
    autocomplete_fields = ["user", "region", "department"]
    date_hierarchy = "start_date"
    actions = [end_selected_posts]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["end_date"]
        fixed = ["user", "role", "region", "department", "start_date"]
        return fixed if obj.end_date is None else [*fixed, "end_date"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            post = services.create_post(
                user=data["user"], role=data["role"], region=data["region"], department=data.get("department"),
                start_date=data.get("start_date"), note=data.get("note", ""), by=request.user,
            )
            obj.pk, obj.start_date = post.pk, post.start_date
            obj._state.adding = False
            return
        with transaction.atomic():
            stored = Post.objects.select_related("user").get(pk=obj.pk)
            if "note" in form.changed_data and stored.note != obj.note:
                Post.objects.filter(pk=obj.pk).update(note=obj.note)
                audit.record(
                    admin_action(Post, "change"), actor=request.user, obj=obj,
                    before={"note": stored.note}, after={"note": obj.note},
                )
            if "end_date" in form.changed_data and data.get("end_date") and stored.end_date is None:
                services.end_post(stored, by=request.user, on=data["end_date"])


# Events and categories -------------------------------------------------------------------------


class EventCategoryForm(forms.ModelForm):
    class Meta:
        model = EventCategory
        fields = ["parent", "code", "name", "sort_order", "is_active", "is_public"]

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent and self.instance.pk and self.instance.children.exists():
            raise ValidationError("该类别下已有小类，不能再设上级类别（事件类别只有两级）。")
        if parent and parent.pk == self.instance.pk:
            raise ValidationError("上级类别不能是自己。")
        return parent


class CategoryAttributeInline(admin.TabularInline):
    model = CategoryAttribute
    extra = 0
    fields = ["sort_order", "code", "name", "datatype", "required", "description", "choices"]


@admin.register(EventCategory)
class EventCategoryAdmin(AuditedModelAdmin):
    form = EventCategoryForm
    list_display = ["code", "name", "parent", "sort_order", "is_active", "is_public"]
    list_display_links = ["code", "name"]
    list_filter = ["is_active", "is_public", ("parent", admin.RelatedOnlyFieldListFilter)]
    inlines = [CategoryAttributeInline]

    def audit_snapshot(self, obj):
        # The extra fields are edited inline: their changes are part of the category's audit entry.
        data = super().audit_snapshot(obj)
        data["attributes"] = [audit.snapshot(attribute, ["code", "name", "datatype", "required", "description",
                                                         "choices", "sort_order"])
                              for attribute in obj.attributes.order_by("sort_order", "id")] if obj.pk else []
        return data
    search_fields = ["code", "name", "parent__name"]
    list_select_related = ["parent"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = EventCategory.objects.filter(parent__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CategoryRoutingForm(forms.ModelForm):
    class Meta:
        model = CategoryRouting
        fields = ["township", "category", "department"]

    def clean(self):
        data = super().clean()
        township, department = data.get("township"), data.get("department")
        if township and department and not (
            department.region.path.startswith(township.path) or township.path.startswith(department.region.path)
        ):
            self.add_error("department", "牵头部门必须属于该乡镇、其下级区域或其上级区域。")
        return data


@admin.register(CategoryRouting)
class CategoryRoutingAdmin(AuditedModelAdmin):
    form = CategoryRoutingForm
    list_display = ["township", "category", "department"]
    list_filter = [("township", admin.RelatedOnlyFieldListFilter), ("department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["township__name", "category__name", "category__code", "department__name"]
    list_select_related = ["township", "category__parent", "department__region"]
    autocomplete_fields = ["township", "category", "department"]


class OverdueFilter(admin.SimpleListFilter):
    """超期 as every page computes it (grid.models.overdue_q), not a stored flag."""

    title = "已超期"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("1", "是"), ("0", "否")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(overdue_q())
        if self.value() == "0":
            return queryset.exclude(overdue_q())
        return queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events move only through EventFlow and grid.events: view only."""

    list_display = ["id", "title", "status", "urgency", "category", "region", "reporter", "overdue", "created_at"]
    list_display_links = ["id", "title"]
    list_filter = ["status", "urgency", "source", OverdueFilter, ("category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=id", "title", "description", "address", "region__full_path", "reporter__username"]
    list_select_related = ["category__parent", "region", "reporter"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(boolean=True, description="已超期")
    def overdue(self, event: Event) -> bool:
        return event.is_overdue


@admin.register(PatrolLog)
class PatrolLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["date", "member", "region", "kind", "started_at", "ended_at", "households_visited"]
    list_filter = ["kind"]
    search_fields = ["member__username", "region__full_path", "route", "findings"]
    list_select_related = ["member", "region"]
    date_hierarchy = "date"


@admin.register(WorkDiary)
class WorkDiaryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["date", "author", "region", "reviewed_by", "reviewed_at"]
    list_filter = [("reviewed_at", admin.EmptyFieldListFilter)]
    search_fields = ["author__username", "region__full_path", "content"]
    list_select_related = ["author", "region", "reviewed_by"]
    date_hierarchy = "date"


@admin.register(CadenceRule)
class CadenceRuleAdmin(AuditedModelAdmin):
    list_display = ["name", "patrol_kind", "period", "times", "grace_days", "window_days", "is_active"]
    list_filter = ["is_active", "period", "patrol_kind"]
    search_fields = ["name"]


@admin.register(VisitCadenceRule)
class VisitCadenceRuleAdmin(AuditedModelAdmin):
    list_display = ["name", "role", "period", "target", "times", "window_days", "grace_days", "is_active"]
    list_filter = ["is_active", "period", "target", "role"]
    search_fields = ["name"]


@admin.register(DiaryReviewRule)
class DiaryReviewRuleAdmin(AuditedModelAdmin):
    list_display = ["region", "reviewer_role"]
    search_fields = ["region__name", "region__full_path"]
    list_select_related = ["region", "reviewer_role"]
    autocomplete_fields = ["region"]


class HouseholdAdminForm(forms.ModelForm):
    """The register's own rules (households.household_errors), so that the admin cannot store what the
    grid leader's page refuses (e.g. a registration date after today, which forbids every visit)."""

    class Meta:
        model = Household
        fields = ["region", "head_name", "address", "is_hardship", "is_key", "registered_on", "left_on", "note"]

    def clean(self):
        cleaned = super().clean()
        stored = self.instance.registered_on if self.instance.pk else None
        errors = households.household_errors(
            head_name=(cleaned.get("head_name") or "").strip(), address=(cleaned.get("address") or "").strip(),
            registered_on=cleaned.get("registered_on"), left_on=cleaned.get("left_on"),
            new_registration=cleaned.get("registered_on") != stored)
        for field, messages_of_field in errors.items():
            for message in messages_of_field:
                if field in self.fields and field not in self.errors:
                    self.add_error(field, message)
        return cleaned


@admin.register(Household)
class HouseholdAdmin(AuditedModelAdmin):
    form = HouseholdAdminForm
    list_display = ["head_name", "address", "region", "is_hardship", "is_key", "registered_on", "left_on"]
    list_filter = ["is_hardship", "is_key"]
    search_fields = ["head_name", "address", "region__full_path"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]


@admin.register(HouseholdVisit)
class HouseholdVisitAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["date", "household", "visitor"]
    search_fields = ["household__head_name", "household__address", "visitor__username"]
    list_select_related = ["household", "visitor"]
    date_hierarchy = "date"


@admin.register(StaffAssessmentRule)
class StaffAssessmentRuleAdmin(AuditedModelAdmin):
    list_display = ["region", "cadence_weight", "events_found_weight", "events_closed_weight", "diary_weight",
                    "verification_weight", "excellent_from", "qualified_from", "basic_from"]
    search_fields = ["region__name", "region__full_path"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]


# Flow policies (the county office's configuration of the grid event flow) -------------------------


class FlowPolicyForm(forms.ModelForm):
    class Meta:
        model = FlowPolicy
        fields = [
            "region", "effective_from", "use_grid", "use_village", "use_township", "use_county",
            "dispatch_at_grid", "dispatch_at_village", "dispatch_at_township", "dispatch_at_county",
            "verifier", "returns_before_escalation", "department_may_send_back", "send_back_limit",
            "patrol_township_review", "rectification_office_verifies", "note",
        ]

    def _post_clean(self):
        super()._post_clean()  # the instance now holds the submitted values
        if not self.errors:
            for problem in policy_problems(self.instance):
                self.add_error(None, problem)


class FlowPolicyDeadlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = [form.instance for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE") and (form.instance.pk or form.has_changed())]
        problems = deadline_problems(self.instance, rows)
        if problems:
            raise ValidationError(problems)


class FlowPolicyDeadlineInline(admin.TabularInline):
    model = FlowPolicyDeadline
    formset = FlowPolicyDeadlineFormSet
    extra = 1

    def has_add_permission(self, request, obj=None):
        return _policy_editable(obj) and has_county_wide_perm(request.user, "grid.change_flowpolicy")

    def has_change_permission(self, request, obj=None):
        return _policy_editable(obj) and has_county_wide_perm(request.user, "grid.change_flowpolicy")

    def has_delete_permission(self, request, obj=None):
        return _policy_editable(obj) and has_county_wide_perm(request.user, "grid.change_flowpolicy")

    def has_view_permission(self, request, obj=None):
        return has_county_wide_perm(request.user, "grid.view_flowpolicy") or has_county_wide_perm(
            request.user, "grid.change_flowpolicy")


def _policy_editable(policy) -> bool:
    """A version not yet in force may still be corrected; one in force is history."""
    return policy is None or policy.pk is None or not policy.is_in_force()


@admin.register(FlowPolicy)
class FlowPolicyAdmin(AuditedModelAdmin):
    """Versions of a county's (or township's) grid event flow. A version in force is read-only: cases
    reported under it finish under it; a change is a new version from a later date."""

    form = FlowPolicyForm
    inlines = [FlowPolicyDeadlineInline]
    list_display = ["region", "version", "effective_from", "chain_display", "verifier", "in_force"]
    list_filter = [("region", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]
    readonly_fields = ["version"]
    fieldsets = [
        (None, {"fields": ["region", "version", "effective_from", "note"]}),
        ("处置链（可跳过任意层级）", {"fields": ["use_grid", "use_village", "use_township", "use_county"]}),
        ("派单", {"fields": ["dispatch_at_grid", "dispatch_at_village", "dispatch_at_township", "dispatch_at_county"]}),
        ("核实与退回", {"fields": ["verifier", "returns_before_escalation", "department_may_send_back", "send_back_limit"]}),
        ("大巡查上报与整改销号", {"fields": ["patrol_township_review", "rectification_office_verifies"]}),
    ]

    @admin.display(description="处置链")
    def chain_display(self, policy):
        return " → ".join(FlowPolicy.TIER_NAMES[key] for key in policy.chain) or "（空）"

    @admin.display(description="已生效", boolean=True)
    def in_force(self, policy):
        return policy.is_in_force()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _policy_editable(obj)

    def has_delete_permission(self, request, obj=None):
        return (super().has_delete_permission(request, obj) and obj is not None and _policy_editable(obj)
                and not obj.events.exists())

    def audit_snapshot(self, obj):
        snapshot = super().audit_snapshot(obj)
        if obj.pk:
            snapshot["deadlines"] = [
                f"{row.tier}/{row.urgency}/{row.hours}{'w' if row.working_hours else 'h'}/{row.action}"
                for row in obj.deadlines.order_by("tier", "urgency")
            ]
        return snapshot

    def save_model(self, request, obj, form, change):
        if not change:
            obj.version = next_version(obj.region)
        super().save_model(request, obj, form, change)
