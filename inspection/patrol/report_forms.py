"""Forms of the village patrol ledger and report pages. They decode input; the rules live in inspection.patrol.reports."""

from __future__ import annotations

import datetime
import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from governance.listing import SortedForm, Sorts, word_search
from governance.templatetags.zh_format import zh_score
from grid.models import Post, paths_from_root

from ..models import PatrolReport, VillagePatrol
from .list_forms import VillageFilterForm, catalog_items_for, villages_for

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def patrol_cadres(villages) -> dict[int, list]:
    """The active village patrol cadres (inspection.add_villagepatrol) of each village, by village pk: two queries."""
    villages = list(villages)
    paths = {path for village in villages for path in paths_from_root(village.path)}
    posts = Post.objects.active().granting("inspection.add_villagepatrol").filter(
        region__path__in=paths, user__is_active=True).values_list("region__path", "user_id")
    user_ids_by_path: dict[str, set[int]] = {}
    for path, user_id in posts:
        user_ids_by_path.setdefault(path, set()).add(user_id)
    users = get_user_model().objects.in_bulk({pk for ids in user_ids_by_path.values() for pk in ids})
    result = {}
    for village in villages:
        ids = {pk for path in paths_from_root(village.path) for pk in user_ids_by_path.get(path, ())}
        result[village.pk] = sorted((users[pk] for pk in ids if pk in users), key=lambda user: user.username)
    return result


def _user_label(user) -> str:
    return user.get_full_name() or user.username


class VillagePatrolForm(forms.Form):
    village = forms.TypedChoiceField(label="村（居）", coerce=int)
    date = forms.DateField(label="巡查日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    patrollers = forms.TypedMultipleChoiceField(
        label="巡查人员", coerce=int, widget=forms.CheckboxSelectMultiple, help_text="不少于 2 名本村（居）巡查员",
    )
    items = forms.TypedMultipleChoiceField(label="巡查事项", coerce=int, required=False, widget=forms.CheckboxSelectMultiple)
    route = forms.CharField(label="巡查路线或地点", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    findings = forms.CharField(label="巡查情况", widget=forms.Textarea(attrs={"rows": 3, "placeholder": "未发现问题时填写“未发现问题”"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.villages = {village.pk: village for village in villages_for(user, "inspection.add_villagepatrol")}
        self.cadres = patrol_cadres(self.villages.values())
        self.catalog = {item.pk: item for item in catalog_items_for(self.villages.values())}
        several = len(self.villages) > 1
        self.fields["village"].choices = [(pk, village.full_path) for pk, village in self.villages.items()]
        people = {}
        for village_pk, users in self.cadres.items():
            for person in users:
                label = f"{_user_label(person)}（{self.villages[village_pk].name}）" if several else _user_label(person)
                people.setdefault(person.pk, label)
        self.fields["patrollers"].choices = list(people.items())
        self.fields["items"].choices = [(pk, f"{item.code} {item.name}") for pk, item in self.catalog.items()]
        if not self.is_bound:
            self.initial.setdefault("date", timezone.localdate())
            self.initial.setdefault("patrollers", [user.pk])
            if len(self.villages) == 1:
                self.initial.setdefault("village", next(iter(self.villages)))

    def clean_village(self):
        village = self.villages.get(self.cleaned_data["village"])
        if village is None:
            raise forms.ValidationError("请选择您负责的村（居）。")
        return village

    def clean_patrollers(self):
        users = get_user_model().objects.in_bulk(self.cleaned_data["patrollers"])
        return [users[pk] for pk in self.cleaned_data["patrollers"] if pk in users]

    def clean_items(self):
        return [self.catalog[pk] for pk in self.cleaned_data["items"] if pk in self.catalog]


class PatrolReportForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    village = forms.TypedChoiceField(label="村（居）", coerce=int)
    item = forms.TypedChoiceField(label="目录事项", coerce=int)
    occurred_at = forms.DateTimeField(
        label="发生时间", input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    location = forms.CharField(label="地点", max_length=200)
    description = forms.CharField(label="问题描述", widget=forms.Textarea(attrs={"rows": 4, "placeholder": "什么问题、现场情况"}))
    patrol = forms.TypedChoiceField(label="对应巡查台账记录", coerce=int, required=False, empty_value=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.villages = {village.pk: village for village in villages_for(user, "inspection.add_patrolreport")}
        self.catalog = {item.pk: item for item in catalog_items_for(self.villages.values())}
        self.patrols = {
            patrol.pk: patrol for patrol in VillagePatrol.objects.filter(
                village_id__in=list(self.villages), date__gte=timezone.localdate() - datetime.timedelta(days=60),
            ).select_related("village").order_by("-date", "-id")[:50]
        }
        self.fields["village"].choices = [(pk, village.full_path) for pk, village in self.villages.items()]
        self.fields["item"].choices = [("", "请选择目录事项")] + [
            (pk, f"{item.code} {item.name}（{item.lead_department.name}，{zh_score(item.points)} 分）") for pk, item in self.catalog.items()
        ]
        self.fields["patrol"].choices = [("", "不关联")] + [
            (pk, f"{patrol.date:%Y-%m-%d} {patrol.village.name}巡查") for pk, patrol in self.patrols.items()
        ]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))
            if len(self.villages) == 1:
                self.initial.setdefault("village", next(iter(self.villages)))

    def clean_village(self):
        village = self.villages.get(self.cleaned_data["village"])
        if village is None:
            raise forms.ValidationError("请选择您负责的村（居）。")
        return village

    def clean_item(self):
        item = self.catalog.get(self.cleaned_data["item"])
        if item is None:
            raise forms.ValidationError("请选择本镇巡查目录中启用的事项。")
        return item

    def clean_patrol(self):
        pk = self.cleaned_data["patrol"]
        if pk is None:
            return None
        patrol = self.patrols.get(pk)
        if patrol is None:
            raise forms.ValidationError("请选择本村（居）近期的巡查台账记录。")
        return patrol


class ReportFilterForm(VillageFilterForm):
    """The filters of 村级上报, shared by the page, its export and the API."""

    VILLAGE_PERM = "inspection.view_patrolreport"

    village = forms.TypedChoiceField(label="村（居）", required=False, coerce=int, empty_value=None)
    item = forms.TypedChoiceField(label="目录事项", required=False, coerce=int, empty_value=None)
    verdict = forms.ChoiceField(label="核实结果", required=False, choices=[("", "全部")] + list(PatrolReport.Verdict.choices))
    month = forms.CharField(label="上报月份", required=False, widget=forms.DateInput(attrs={"type": "month"}))
    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "编号、事项、地点、问题描述"}))

    def apply(self, queryset):
        data = self.valid_values()
        queryset = self.filter_village_and_month(queryset, "reported_on")
        if data.get("item"):
            queryset = queryset.filter(item_id=data["item"])
        if data.get("verdict"):
            queryset = queryset.filter(verdict=data["verdict"])
        return word_search(queryset, data.get("q", ""), "number", "location", "description", "item__name")


REPORT_SORTS = Sorts(
    ("上报日期由近及远", ("-reported_on", "-id")),
    oldest=("上报日期由远及近", ("reported_on", "id")),
    occurred=("发生时间由近及远", ("-occurred_at", "-id")),
    village=("按村（居）", ("village__path", "-reported_on", "-id")),
)


class ReportListForm(SortedForm, ReportFilterForm):
    """The 村级上报 page's filters with its choice of order."""

    SORTS = REPORT_SORTS


VERIFY_QUEUE_SORTS = Sorts(
    ("最早上报在前", ("reported_on", "id")),
    newest=("最新上报在前", ("-reported_on", "-id")),
    occurred=("发生时间由远及近", ("occurred_at", "id")),
    village=("按村（居）", ("village__path", "reported_on", "id")),
)


class VerifyQueueForm(SortedForm):
    """待核实上报 offers only a choice of order: the queue is the department's own work."""

    SORTS = VERIFY_QUEUE_SORTS


LEDGER_SORTS = Sorts(
    ("巡查日期由近及远", ("-date", "-id")),
    oldest=("巡查日期由远及近", ("date", "id")),
    village=("按村（居）", ("village__path", "-date", "-id")),
)


class LedgerFilterForm(SortedForm, VillageFilterForm):
    """The filters of 村级巡查台账: village, month, an item patrolled, and a search of route and findings."""

    SORTS = LEDGER_SORTS
    VILLAGE_PERM = "inspection.view_villagepatrol"

    village = forms.TypedChoiceField(label="村（居）", required=False, coerce=int, empty_value=None)
    month = forms.CharField(label="巡查月份", required=False, widget=forms.TextInput(attrs={"type": "month"}))
    item = forms.TypedChoiceField(label="巡查事项", required=False, coerce=int, empty_value=None)
    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "路线或地点、巡查情况"}))

    def apply(self, queryset):
        data = self.valid_values()
        queryset = self.filter_village_and_month(queryset, "date")
        if data.get("item"):
            # Through a subquery, so that a patrol is listed once however its items are joined.
            queryset = queryset.filter(pk__in=VillagePatrol.items.through.objects.filter(
                catalogitem_id=data["item"]).values("villagepatrol_id"))
        return word_search(queryset, data.get("q"), "route", "findings")


class VerifyForm(forms.Form):
    verdict = forms.CharField(required=False)  # inspection.patrol.reports checks it and says why in Chinese
    note = forms.CharField(required=False)
    duplicate_of = forms.IntegerField(required=False)
    registration_number = forms.CharField(required=False, max_length=32)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("passed", "审核通过"), ("rejected", "审核不通过")],
                                 error_messages={"required": "请选择审核结果。", "invalid_choice": "请选择审核结果。"})
    note = forms.CharField(required=False)


class FollowUpForm(forms.Form):
    KIND_CHOICES = [
        ("", "请选择"), (PatrolReport.FollowUp.ENFORCEMENT, "执法处置"), (PatrolReport.FollowUp.RECTIFICATION, "责令整改"),
        ("none", "无需后续处置"),
    ]
    kind = forms.CharField(required=False)
    note = forms.CharField(required=False)


class FraudForm(forms.Form):
    note = forms.CharField(required=False)
