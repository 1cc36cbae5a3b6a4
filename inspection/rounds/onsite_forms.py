"""Forms of the on-site pages (问题底稿, 谈话, 问题线索, 巡察文书, 回头看). They decode input and offer only
what the user may pick; the rules live in inspection.rounds.onsite and inspection.rounds.letters."""

from __future__ import annotations

from django import forms
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from grid.access import region_grants
from grid.models import Department, Region

from ..models import FocusCategory, InspectionLetter, InspectionRound, RoundTarget
from . import onsite

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TargetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, target):
        return f"{target.round.name} · {target.group.name} · {target.organisation.name}"


class LevelSelect(forms.Select):
    """A select whose options carry `data-level` (乡镇党委 "township", 村级党组织 "village", "both"), so that
    the page offers only the focus categories of the chosen target's level (static/governance/forms.js)."""

    def __init__(self, level_of, attrs=None):
        super().__init__(attrs)
        self.level_of = level_of

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-level"] = self.level_of(instance) or "none"
        return option


class FocusChoiceField(forms.ModelChoiceField):
    """Focus categories in taxonomy order: each 聚焦 with whom it applies to (a round may hold the same 聚焦
    once for 乡镇党委 and once for 村级党组织), its sub-headings indented under it."""

    def label_from_instance(self, focus):
        if focus.parent_id:
            return f"\u3000\u3000{focus.title}"
        if focus.applies_to == FocusCategory.AppliesTo.BOTH:
            return focus.title
        return f"{focus.title}（{focus.get_applies_to_display()}）"


def in_taxonomy_order(categories):
    """Each top-level category (by order) followed by its sub-headings (two levels: inspection.admin)."""
    return categories.order_by(
        "round_id", Coalesce("parent__order", "order"), Coalesce("parent_id", "id"), F("parent_id").asc(nulls_first=True),
        "order", "id")


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, region):
        return region.full_path or region.name


def member_targets(user):
    """Targets of the groups `user` belongs to (the group's own targets only)."""
    return RoundTarget.objects.filter(group__in=onsite.groups_of(user)).select_related(
        "round", "group", "organisation").order_by("round_id", "group__number", "organisation__path")


def _paths_condition(lookup: str, paths) -> Q:
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{f"{lookup}__startswith": path})
    return condition


class FindingForm(forms.Form):
    target = TargetChoiceField(label="巡察对象", queryset=RoundTarget.objects.none(),
                               widget=LevelSelect(onsite.target_level),
                               error_messages={"required": "请选择巡察对象。", "invalid_choice": "所选巡察对象不是本组的巡察对象。"})
    village = RegionChoiceField(label="涉及村（社区）", required=False, queryset=Region.objects.none(),
                                error_messages={"invalid_choice": "所选村（社区）不在本组巡察范围内。"},
                                help_text="乡镇党委的问题可注明涉及的村（社区）")
    focus = FocusChoiceField(label="问题类别（监督重点）", queryset=FocusCategory.objects.none(),
                             widget=LevelSelect(onsite.focus_level, attrs={"data-level-of": "id_target"}),
                             help_text="只列出适用于所选巡察对象（乡镇党委或村级党组织）的类别",
                                   error_messages={"required": "请选择问题类别。", "invalid_choice": "所选问题类别不属于本轮巡察。"})
    title = forms.CharField(label="问题", max_length=300)
    description = forms.CharField(label="具体表现", widget=forms.Textarea(attrs={"rows": 4}),
                                  help_text="写明事例、数据等支撑材料（问题底稿制度）")
    people_involved = forms.CharField(label="涉及人员", max_length=200, required=False)
    suggestion = forms.CharField(label="处理建议", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    for_secretary_meeting = forms.BooleanField(label="列入书记专题会点人点事点问题建议清单", required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        targets = member_targets(user).select_related("organisation__tier")
        self.fields["target"].queryset = targets
        round_ids = set(targets.values_list("round_id", flat=True))
        # Only the levels of the user's targets (乡镇党委, 村级党组织); the page narrows to the chosen target's.
        levels = {onsite.TARGET_LEVELS[key] for key in targets.values_list("organisation__tier__key", flat=True)
                  if key in onsite.TARGET_LEVELS} | {FocusCategory.AppliesTo.BOTH}
        self.fields["focus"].queryset = in_taxonomy_order(FocusCategory.objects.filter(
            round_id__in=round_ids, applies_to__in=levels).exclude(parent__applies_to__in=set(
                FocusCategory.AppliesTo) - levels).select_related("parent"))
        townships = set(targets.values_list("group__township__path", flat=True))
        self.fields["village"].queryset = Region.objects.filter(
            _paths_condition("path", townships), tier__key="village").order_by("path")

    def clean(self):
        data = super().clean()
        if data.get("target") and data.get("focus"):
            for error in onsite.focus_errors(data["target"], data["focus"]):
                self.add_error("focus", error)
        return data


class TalkForm(forms.Form):
    target = TargetChoiceField(label="巡察对象", queryset=RoundTarget.objects.none(),
                               error_messages={"required": "请选择巡察对象。", "invalid_choice": "所选巡察对象不是本组的巡察对象。"})
    held_on = forms.DateField(label="谈话日期", widget=DATE_WIDGET)
    interviewee = forms.CharField(label="谈话对象", max_length=100)
    position = forms.CharField(label="职务", max_length=100, required=False)
    summary = forms.CharField(label="谈话要点", widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = member_targets(user)


class ClueForm(forms.Form):
    target = TargetChoiceField(label="巡察对象", queryset=RoundTarget.objects.none(),
                               error_messages={"required": "请选择巡察对象。", "invalid_choice": "所选巡察对象不是本组的巡察对象。"})
    people_involved = forms.CharField(label="涉及人员", max_length=200)
    description = forms.CharField(label="线索内容", widget=forms.Textarea(attrs={"rows": 4}))
    source = forms.CharField(label="线索来源", max_length=100, required=False, help_text="如：来信、谈话、查阅资料")
    disposal = forms.CharField(label="处置建议", max_length=200, required=False, help_text="如：移交县纪委监委")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = member_targets(user)


def _issuer_paths(user) -> list[str]:
    return region_grants(user).paths("inspection.add_inspectionletter")


class LetterForm(forms.Form):
    round = forms.ModelChoiceField(label="巡察轮次", queryset=InspectionRound.objects.none(),
                                   error_messages={"required": "请选择巡察轮次。"})
    kind = forms.ChoiceField(label="文书类型", choices=InspectionLetter.Kind.choices)
    recipient = RegionChoiceField(label="收文党组织", required=False, queryset=Region.objects.none(),
                                  help_text="本轮巡察对象（乡镇党委或村级党组织）")
    recipient_department = forms.ModelChoiceField(label="收文部门", required=False, queryset=Department.objects.none(),
                                                  help_text="仅巡察建议书：县直有关部门")
    subject = forms.CharField(label="事由", max_length=200, required=False, help_text="留空按类型和收文单位生成")
    reply_due = forms.DateField(label="书面回复期限", required=False, widget=DATE_WIDGET,
                                help_text="巡察提醒函必填：被巡察党组织须在期限内书面报告整改落实情况")
    body = forms.CharField(label="正文", required=False, widget=forms.Textarea(attrs={"rows": 8}),
                           help_text="留空则根据巡察发现的问题自动生成")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        paths = _issuer_paths(user)
        if user.is_superuser:
            paths = [""]
        self.fields["round"].queryset = InspectionRound.objects.filter(_paths_condition("county__path", paths))
        self.fields["recipient"].queryset = Region.objects.filter(
            _paths_condition("path", paths), tier__key__in=("township", "village")).order_by("path")
        self.fields["recipient_department"].queryset = Department.objects.filter(
            _paths_condition("region__path", paths), region__tier__key="county").select_related("region")


class ReplyForm(forms.Form):
    replied_on = forms.DateField(label="回复日期", widget=DATE_WIDGET)
    summary = forms.CharField(label="回复情况", widget=forms.Textarea(attrs={"rows": 3}))


class LookBackScheduleForm(forms.Form):
    target = TargetChoiceField(label="巡察对象", queryset=RoundTarget.objects.none(),
                               error_messages={"required": "请选择巡察对象。"})
    scheduled_on = forms.DateField(label="计划日期", widget=DATE_WIDGET)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        paths = [""] if user.is_superuser else region_grants(user).paths("inspection.add_lookback")
        self.fields["target"].queryset = RoundTarget.objects.filter(
            _paths_condition("round__county__path", paths)).select_related("round", "group", "organisation")


class LookBackResultForm(forms.Form):
    done_on = forms.DateField(label="完成日期", widget=DATE_WIDGET)
    result = forms.CharField(label="回头看发现", widget=forms.Textarea(attrs={"rows": 4}))
