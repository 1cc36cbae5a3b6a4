"""Forms of the county inspection round pages; they only decode input, inspection.rounds.round_services decides."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from grid.access import scope
from grid.models import Post, Region

from ..models import RoundTarget
from . import round_services

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _person_label(user) -> str:
    return f"{user.get_full_name() or user.username}（{user.username}）"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _person_label(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return _person_label(obj)


class RoundForm(forms.Form):
    county = forms.ModelChoiceField(label="县", queryset=Region.objects.none(), empty_label=None)
    term = forms.CharField(label="届次", max_length=20, help_text="如：十五届")
    number = forms.IntegerField(label="轮次", min_value=1, max_value=round_services.MAX_ROUND_NUMBER)
    name = forms.CharField(label="名称", max_length=100, help_text="如：十五届县委第二轮巡察")
    arrival_date = forms.DateField(label="进驻日期", widget=DATE)
    withdrawal_date = forms.DateField(label="撤回日期", widget=DATE)
    rectification_months = forms.IntegerField(
        label="集中整改期（月）", min_value=1, max_value=24, initial=1, required=False,
        help_text="反馈后集中整改的月数；反馈移交的整改事项，整改时限默认为反馈日期后这么多个月，可逐项修改")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        counties = scope(user, Region.objects.filter(tier__key="county"), "inspection.manage_inspectionround")
        self.fields["county"].queryset = counties.order_by("path")


def group_people(county: Region):
    """Users with an active inspection-group post in the county (the office appoints posts elsewhere)."""
    user_ids = Post.objects.active().filter(role__key=round_services.ROLE_INSPECTION_GROUP,
                                            region__path__startswith=county.path).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("username")


class GroupForm(forms.Form):
    number = forms.IntegerField(label="组号", min_value=1, max_value=round_services.MAX_GROUP_NUMBER)
    name = forms.CharField(label="名称", max_length=50, help_text="如：第一巡察组")
    township = forms.ModelChoiceField(label="巡察乡镇", queryset=Region.objects.none())
    leader = PersonChoiceField(label="组长", queryset=get_user_model().objects.none(), required=False,
                               help_text="须有覆盖该乡镇的在岗“巡察组”岗位")
    deputies = PeopleChoiceField(label="副组长", queryset=get_user_model().objects.none(), required=False,
                                 widget=forms.CheckboxSelectMultiple)
    members = PeopleChoiceField(label="组员", queryset=get_user_model().objects.none(), required=False,
                                widget=forms.CheckboxSelectMultiple)
    inspect_all_villages = forms.BooleanField(label="巡察全部村（社区）", required=False)
    fixed_villages = forms.IntegerField(label="固定巡察村数", min_value=0, max_value=round_services.MAX_VILLAGES,
                                        initial=6)
    mobile_villages = forms.IntegerField(label="机动巡察村数上限", min_value=0, max_value=round_services.MAX_VILLAGES,
                                         initial=6)
    mobile_days = forms.IntegerField(label="进驻后确定机动村的天数", min_value=0,
                                     max_value=round_services.MAX_MOBILE_DAYS, initial=7)

    def __init__(self, *args, round=None, **kwargs):
        super().__init__(*args, **kwargs)
        county = round.county
        taken = round.groups.values("township_id")
        self.fields["township"].queryset = (Region.objects.get_children(county).filter(tier__key="township")
                                            .exclude(pk__in=taken).order_by("path"))
        people = group_people(county)
        for name in ("leader", "deputies", "members"):
            self.fields[name].queryset = people
        if not self.is_bound:
            self.initial.setdefault("number", (round.groups.count() or 0) + 1)


class TargetsForm(forms.Form):
    """One choice per village of the township: not a target, or a target of a class."""

    NOT_CHOSEN = "-"

    def __init__(self, *args, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group
        current = {target.organisation_id: target for target in group.targets.all()}
        first = ("", "未分类") if group.inspect_all_villages else (self.NOT_CHOSEN, "不列入")
        choices = [first, *RoundTarget.VillageClass.choices]
        if not group.inspect_all_villages:
            choices.insert(1, ("", "列入（未分类）"))
        self.villages = list(round_services.villages_of(group.township))
        self.mobile = set()
        for village in self.villages:
            target = current.get(village.pk)
            if target is not None and target.is_mobile:
                self.mobile.add(village.pk)
                continue
            initial = target.village_class if target is not None else (
                "" if group.inspect_all_villages else self.NOT_CHOSEN)
            self.fields[f"village_{village.pk}"] = forms.ChoiceField(
                label=village.name, choices=choices, initial=initial, required=False)

    def chosen(self) -> tuple[list[Region], dict[int, str]]:
        villages, classes = [], {}
        for village in self.villages:
            if village.pk in self.mobile:
                continue
            value = self.cleaned_data.get(f"village_{village.pk}", self.NOT_CHOSEN)
            if value == self.NOT_CHOSEN and not self.group.inspect_all_villages:
                continue
            villages.append(village)
            classes[village.pk] = "" if value == self.NOT_CHOSEN else value
        return villages, classes


class ProposalForm(forms.Form):
    village = forms.ModelChoiceField(label="机动巡察村（社区）", queryset=Region.objects.none())
    reason = forms.CharField(label="理由", widget=forms.Textarea(attrs={"rows": 4}),
                             help_text="根据进驻后了解的情况，说明需要开展机动巡察的原因")

    def __init__(self, *args, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        targets = group.round.targets.values("organisation_id")
        self.fields["village"].queryset = round_services.villages_of(group.township).exclude(pk__in=targets)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="审批结果", choices=[("approve", "同意"), ("reject", "不同意")],
                                 widget=forms.RadioSelect)
    note = forms.CharField(label="审批意见", widget=forms.Textarea(attrs={"rows": 3}), required=False,
                           help_text="不同意时须填写")
