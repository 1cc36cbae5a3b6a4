"""Admin of the township big patrol and the county inspection rounds: configuration is edited here,
audited; records are view only (they change only through services and flows).
Design notes: docs/architecture/inspection.md."""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone

from governance.admin_audit import AuditedModelAdmin, ReadOnlyAdminMixin
from grid.models import Region

from .models import (
    AssessmentExemption,
    CatalogItem,
    Circular,
    DepartmentConfirmation,
    FocusCategory,
    IncentiveRate,
    InspectionFinding,
    InspectionGroup,
    InspectionLetter,
    InspectionRound,
    LookBack,
    MobileProposal,
    PatrolCategory,
    PatrolFinding,
    PatrolReport,
    ProblemClue,
    RoundTarget,
    SourceMultiplier,
    SupervisionCheck,
    SupervisionGroup,
    TalkRecord,
    VillagePatrol,
    letter_overdue_q,
)
from .patrol.scoring import VETO_SOURCES, month_start
from .rounds.letters import _recipient_errors
from .rounds.onsite import visible_clues


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


# The plan's rules as the township's data: who is assessed, the finders' multipliers and the quarterly
# rewards. A multiplier or reward takes effect from a date no earlier than the current month, and a row
# already in force cannot be edited: a changed plan does not rewrite months already scored.


class AssessmentExemptionForm(forms.ModelForm):
    class Meta:
        model = AssessmentExemption
        fields = ["region", "reason"]

    def clean_region(self):
        region = self.cleaned_data["region"]
        if region.tier.key != "village":
            raise forms.ValidationError("只能设置村级区域（如工业园区）不参加考评。")
        return region


@admin.register(AssessmentExemption)
class AssessmentExemptionAdmin(AuditedModelAdmin):
    form = AssessmentExemptionForm
    list_display = ["region", "reason", "created_at"]
    search_fields = ["region__name", "region__full_path"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]


class _FromThisMonthForm(forms.ModelForm):
    def clean_township(self):
        township = self.cleaned_data["township"]
        if township.tier.key != "township":
            raise forms.ValidationError("请选择乡镇。")
        return township

    def clean_effective_from(self):
        day = self.cleaned_data["effective_from"]
        if day < month_start(timezone.localdate()):
            raise forms.ValidationError("生效日期不能早于本月1日：已经考评的月份不因方案修改而改变。")
        return day


class SourceMultiplierForm(_FromThisMonthForm):
    class Meta:
        model = SourceMultiplier
        fields = ["township", "source", "multiplier", "effective_from", "note"]

    def clean_source(self):
        source = self.cleaned_data["source"]
        if source in VETO_SOURCES:
            raise forms.ValidationError("中央、国家有关部门发现的问题实行一票否决，不设扣分倍数。")
        return source

    def clean_multiplier(self):
        multiplier = self.cleaned_data["multiplier"]
        if not 1 <= multiplier <= 10:
            raise forms.ValidationError("扣分倍数应为 1 至 10。")
        return multiplier


class _InForceReadOnly:
    """A row already in force is kept as it was: add a new row with a later date instead."""

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.effective_from <= timezone.localdate():
            return [field.name for field in self.model._meta.fields if field.name != "id"]
        return super().get_readonly_fields(request, obj)


@admin.register(SourceMultiplier)
class SourceMultiplierAdmin(_InForceReadOnly, AuditedModelAdmin):
    form = SourceMultiplierForm
    list_display = ["township", "source", "multiplier", "effective_from", "note"]
    list_filter = ["source", ("township", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["township"]
    autocomplete_fields = ["township"]


class IncentiveRateForm(_FromThisMonthForm):
    class Meta:
        model = IncentiveRate
        fields = ["township", "grade", "amount", "effective_from"]

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount < 0:
            raise forms.ValidationError("奖励金额不能为负数。")
        return amount


@admin.register(IncentiveRate)
class IncentiveRateAdmin(_InForceReadOnly, AuditedModelAdmin):
    form = IncentiveRateForm
    list_display = ["township", "grade", "amount", "effective_from"]
    list_filter = ["grade", ("township", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["township"]
    autocomplete_fields = ["township"]


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


# ------------------------------------------------------------------ county inspection rounds (巡察)
# Rounds, groups, targets, the focus taxonomy, letters and look-backs are configuration kept by the
# inspection office (巡察办): editable, audited. Mobile proposals, findings and talks change through
# the services and flows: view only. Problem clues: view only, and only as `visible_clues` allows.


def _tier(region) -> str:
    return region.tier.key if isinstance(region, Region) else ""


def _is_under(region: Region, ancestor: Region) -> bool:
    return region.path.startswith(ancestor.path)


class InspectionRoundForm(forms.ModelForm):
    class Meta:
        model = InspectionRound
        fields = ["county", "term", "number", "name", "arrival_date", "withdrawal_date", "rectification_months"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rectification_months"].required = False  # left empty: the default one month

    def clean_rectification_months(self):
        months = self.cleaned_data.get("rectification_months")
        return 1 if months is None else months

    def clean(self):
        data = super().clean()
        county, arrival, withdrawal = data.get("county"), data.get("arrival_date"), data.get("withdrawal_date")
        if county and _tier(county) != "county":
            self.add_error("county", f"“{county.name}”不是县级区域。")
        if arrival and withdrawal and withdrawal <= arrival:
            self.add_error("withdrawal_date", "撤回日期须晚于进驻日期。")
        return data


@admin.register(InspectionRound)
class InspectionRoundAdmin(AuditedModelAdmin):
    form = InspectionRoundForm
    list_display = ["name", "term", "number", "county", "arrival_date", "withdrawal_date", "group_count", "created_by"]
    list_display_links = ["name"]
    list_filter = ["term", ("county", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "term", "county__name"]
    list_select_related = ["county", "created_by"]
    autocomplete_fields = ["county"]
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "arrival_date"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_group_count=Count("groups", distinct=True))

    @admin.display(description="巡察组数", ordering="_group_count")
    def group_count(self, round_):
        return round_._group_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class InspectionGroupForm(forms.ModelForm):
    class Meta:
        model = InspectionGroup
        fields = [
            "round", "number", "name", "township", "leader", "deputies", "members", "inspect_all_villages",
            "fixed_villages", "mobile_villages", "mobile_days", "reported_on", "secretary_meeting_on", "feedback_on",
            "feedback_document",
        ]

    def clean(self):
        data = super().clean()
        round_, township, leader = data.get("round"), data.get("township"), data.get("leader")
        deputies, members = set(data.get("deputies") or []), set(data.get("members") or [])
        if round_ and township and (_tier(township) != "township" or not _is_under(township, round_.county)):
            self.add_error("township", f"巡察乡镇须为{round_.county.name}的乡镇。")
        if leader is not None and (leader in deputies or leader in members):
            self.add_error("leader", "组长不能同时为副组长或组员。")
        if deputies & members:
            self.add_error("members", "副组长不能同时为组员。")
        if round_ and data.get("reported_on") and data["reported_on"] < round_.withdrawal_date:
            self.add_error("reported_on", "向领导小组汇报须在撤回之后。")
        return data


@admin.register(InspectionGroup)
class InspectionGroupAdmin(AuditedModelAdmin):
    form = InspectionGroupForm
    list_display = ["name", "number", "round", "township", "leader", "inspect_all_villages", "fixed_villages",
                    "mobile_villages", "feedback_on"]
    list_display_links = ["name"]
    list_filter = ["inspect_all_villages", ("round", admin.RelatedOnlyFieldListFilter),
                   ("township", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "round__name", "township__name", "leader__username", "leader__first_name"]
    list_select_related = ["round", "township", "leader"]
    autocomplete_fields = ["round", "township", "leader", "deputies", "members"]
    fieldsets = [
        (None, {"fields": ["round", "number", "name", "township"]}),
        ("人员", {"fields": ["leader", "deputies", "members"]}),
        ("巡察村", {"fields": ["inspect_all_villages", "fixed_villages", "mobile_villages", "mobile_days"]}),
        ("撤回后", {"fields": ["reported_on", "secretary_meeting_on", "feedback_on", "feedback_document"]}),
    ]


class RoundTargetForm(forms.ModelForm):
    class Meta:
        model = RoundTarget
        fields = ["round", "group", "organisation", "village_class", "is_mobile"]

    def clean(self):
        data = super().clean()
        round_, group, organisation = data.get("round"), data.get("group"), data.get("organisation")
        if round_ and group and group.round_id != round_.pk:
            self.add_error("group", f"{group.name}不是{round_.name}的巡察组。")
        elif group and organisation:
            township = group.township
            if organisation.pk != township.pk and not (_tier(organisation) == "village" and _is_under(organisation, township)):
                self.add_error("organisation", f"被巡察党组织须为{township.name}或其所辖村（社区）。")
            elif organisation.pk == township.pk and data.get("village_class"):
                self.add_error("village_class", "乡镇党委不分村类别。")
        return data


@admin.register(RoundTarget)
class RoundTargetAdmin(AuditedModelAdmin):
    form = RoundTargetForm
    list_display = ["organisation", "group", "village_class", "mode", "is_mobile", "added_at"]
    list_filter = ["village_class", "is_mobile", ("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["organisation__name", "organisation__full_path", "group__name", "round__name"]
    list_select_related = ["organisation", "group__round", "round"]
    autocomplete_fields = ["round", "group", "organisation"]
    readonly_fields = ["added_at"]

    @admin.display(description="巡察方式")
    def mode(self, target):
        return target.mode or "—"


class FocusCategoryForm(forms.ModelForm):
    """Two levels: a sub-heading's parent is a top-level category of the same round."""

    class Meta:
        model = FocusCategory
        fields = ["round", "parent", "title", "applies_to", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "parent" in self.fields:
            parents = FocusCategory.objects.filter(parent__isnull=True).select_related("round")
            if self.instance.pk:
                parents = parents.filter(round_id=self.instance.round_id).exclude(pk=self.instance.pk)
            field = self.fields["parent"]
            field.queryset = parents.order_by("round_id", "order", "id")
            field.label_from_instance = lambda category: f"{category.round.name}：{category.title}"

    def clean(self):
        data = super().clean()
        round_, parent = data.get("round"), data.get("parent")
        if parent is not None:
            if self.instance.pk and parent.pk == self.instance.pk:
                self.add_error("parent", "上级不能是自己。")
            elif parent.parent_id is not None:
                self.add_error("parent", "上级须为一级重点（巡察监督重点只有两级）。")
            elif round_ and parent.round_id != round_.pk:
                self.add_error("parent", f"上级“{parent.title}”不属于{round_.name}。")
            elif self.instance.pk and self.instance.children.exists():
                self.add_error("parent", "该重点下已有子项，不能再设上级。")
        return data


@admin.register(FocusCategory)
class FocusCategoryAdmin(AuditedModelAdmin):
    form = FocusCategoryForm
    list_display = ["title", "parent", "round", "applies_to", "order"]
    list_filter = ["applies_to", ("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "parent__title", "round__name"]
    list_select_related = ["round", "parent"]
    autocomplete_fields = ["round"]


class InspectionLetterForm(forms.ModelForm):
    class Meta:
        model = InspectionLetter
        fields = ["round", "kind", "number", "recipient", "recipient_department", "subject", "body", "issued_on",
                  "reply_due", "replied_on", "reply_summary"]

    def clean(self):
        data = super().clean()
        round_, kind = data.get("round"), data.get("kind")
        recipient, department = data.get("recipient"), data.get("recipient_department")
        if round_ and kind:
            for error in _recipient_errors(round_, kind, recipient, department):
                self.add_error("recipient_department" if kind == InspectionLetter.Kind.RECOMMENDATION else "recipient", error)
        issued = data.get("issued_on")
        for name, label in (("reply_due", "书面回复期限"), ("replied_on", "回复日期")):
            if issued and data.get(name) and data[name] < issued:
                self.add_error(name, f"{label}不能早于发文日期。")
        return data


class LetterOverdueFilter(admin.SimpleListFilter):
    """逾期未回复 as the pages compute it (inspection.models.letter_overdue_q), not the job's stored flag."""

    title = "逾期未回复"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("1", "是"), ("0", "否")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(letter_overdue_q())
        if self.value() == "0":
            return queryset.exclude(letter_overdue_q())
        return queryset


@admin.register(InspectionLetter)
class InspectionLetterAdmin(AuditedModelAdmin):
    form = InspectionLetterForm
    list_display = ["number", "kind", "subject", "recipient", "recipient_department", "issued_on", "reply_due",
                    "replied_on", "reply_overdue"]
    list_display_links = ["number", "subject"]
    list_filter = ["kind", LetterOverdueFilter, ("replied_on", admin.EmptyFieldListFilter),
                   ("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "subject", "body", "recipient__name", "recipient_department__name", "round__name"]
    list_select_related = ["round", "recipient", "recipient_department__region", "issued_by"]
    autocomplete_fields = ["round", "recipient", "recipient_department"]
    readonly_fields = ["issued_by"]
    date_hierarchy = "issued_on"

    @admin.display(boolean=True, description="逾期未回复")
    def reply_overdue(self, letter: InspectionLetter) -> bool:
        return letter.reply_overdue

    def save_model(self, request, obj, form, change):
        if not change:
            obj.issued_by = request.user
        if obj.replied_on:
            obj.is_overdue = False  # as `letters.record_reply`: an answered letter is no longer overdue
        super().save_model(request, obj, form, change)


class LookBackForm(forms.ModelForm):
    class Meta:
        model = LookBack
        fields = ["round", "target", "scheduled_on", "done_on", "result"]

    def clean(self):
        data = super().clean()
        round_, target = data.get("round"), data.get("target")
        if round_ and target and target.round_id != round_.pk:
            self.add_error("target", f"“{target.organisation.name}”不是{round_.name}的巡察对象。")
        if data.get("done_on") and not (data.get("result") or "").strip():
            self.add_error("result", "请填写回头看发现。")
        return data


@admin.register(LookBack)
class LookBackAdmin(AuditedModelAdmin):
    form = LookBackForm
    list_display = ["target", "round", "scheduled_on", "done_on", "recorded_by"]
    list_filter = [("done_on", admin.EmptyFieldListFilter), ("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["target__organisation__name", "target__organisation__full_path", "round__name", "result"]
    list_select_related = ["round", "target__organisation", "target__round", "recorded_by"]
    autocomplete_fields = ["round", "target"]
    readonly_fields = ["recorded_by"]
    date_hierarchy = "scheduled_on"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(MobileProposal)
class MobileProposalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["village", "group", "proposed_on", "proposed_by", "decision", "decided_by", "decided_at"]
    list_filter = ["decision", ("group__round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["village__name", "village__full_path", "group__name", "reason", "decision_note"]
    list_select_related = ["village", "group__round", "proposed_by", "decided_by"]
    date_hierarchy = "proposed_on"


@admin.register(InspectionFinding)
class InspectionFindingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "target", "village", "focus", "group", "for_secretary_meeting", "recorded_at", "fed_back_at"]
    list_filter = ["for_secretary_meeting", ("fed_back_at", admin.EmptyFieldListFilter),
                   ("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "description", "people_involved", "target__organisation__name", "village__name",
                     "focus__title"]
    list_select_related = ["target__organisation", "target__round", "village", "focus", "group__round"]
    date_hierarchy = "recorded_at"
    show_full_result_count = False


@admin.register(TalkRecord)
class TalkRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["held_on", "interviewee", "position", "target", "group", "recorded_by"]
    list_filter = [("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["interviewee", "position", "summary", "target__organisation__name", "group__name"]
    list_select_related = ["target__organisation", "target__round", "group__round", "recorded_by"]
    date_hierarchy = "held_on"


@admin.register(ProblemClue)
class ProblemClueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """View only, and restricted: the changelist, search, filters, pages and history read only the clues
    `inspection.rounds.onsite.visible_clues` gives the user (the office, discipline, the clue's group leader —
    a superuser as such sees none). The admin's county-wide view permission opens the (possibly empty)
    list; a single clue needs both."""

    list_display = ["people_involved", "target", "group", "source", "disposal", "recorded_by", "recorded_at"]
    list_filter = [("round", admin.RelatedOnlyFieldListFilter)]  # related-only: built from get_queryset
    search_fields = ["people_involved", "description", "source", "disposal", "target__organisation__name"]
    list_select_related = ["target__organisation", "target__round", "group__round", "recorded_by"]
    date_hierarchy = "recorded_at"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset.filter(pk__in=visible_clues(request.user).values("pk"))

    def has_view_permission(self, request, obj=None):
        if not super().has_view_permission(request, obj):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()
