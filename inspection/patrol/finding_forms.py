"""Forms of the finding, supervision-check and oversight pages. They decode input; the rules live in
inspection.patrol.findings."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils import timezone

from governance.listing import SortedForm, Sorts, word_search
from grid.access import scope
from grid.models import Region, parent_path

from ..models import CatalogItem, PatrolFinding, PatrolReport, PatrolWorkRecord, SupervisionGroup
from . import findings
from .list_forms import VillageFilterForm, parse_month, villages_for

DATE_WIDGET = {"type": "date"}
Source = PatrolFinding.Source


def _under(paths, lookup: str = "path") -> Q:
    condition = Q(pk__in=[])
    for prefix in paths:
        condition |= Q(**{f"{lookup}__startswith": prefix})
    return condition


FINDING_SORTS = Sorts(
    ("发现日期由近及远", ("-discovered_on", "-id")),
    oldest=("发现日期由远及近", ("discovered_on", "id")),
    village=("按村（居）", ("village__path", "-discovered_on", "-id")),
    number=("按编号", ("number", "id")),
)


class FindingFilterForm(SortedForm, VillageFilterForm):
    STATUS = [("", "全部"), ("pending", "待核实登记"), ("true", "属实"), ("false", "不属实"), ("fraud", "弄虚作假")]
    SORTS = FINDING_SORTS
    VILLAGE_PERM = "inspection.view_patrolfinding"

    village = forms.TypedChoiceField(label="村（居）", required=False, coerce=int, empty_value=None)
    item = forms.TypedChoiceField(label="目录事项", required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(label="来源", required=False, choices=[("", "全部")] + list(Source.choices))
    month = forms.CharField(label="发现月份", required=False, widget=forms.TextInput(attrs={"type": "month"}))
    status = forms.ChoiceField(label="核实情况", required=False, choices=STATUS)
    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "编号、事项、地点、问题描述"}))

    def apply(self, queryset):
        data = self.valid_values()
        queryset = self.filter_village_and_month(queryset, "discovered_on")
        if data.get("item"):
            queryset = queryset.filter(item_id=data["item"])
        if data.get("source"):
            queryset = queryset.filter(source=data["source"])
        queryset = word_search(queryset, data.get("q"), "number", "location", "description", "item__name")
        status = data.get("status")
        if status == "pending":
            queryset = queryset.filter(Q(registered_at__isnull=True) | Q(is_true__isnull=True))
        elif status == "true":
            queryset = queryset.filter(is_true=True, is_fraud=False)
        elif status == "false":
            queryset = queryset.filter(is_true=False)
        elif status == "fraud":
            queryset = queryset.filter(is_fraud=True)
        return queryset


class FindingForm(forms.Form):
    village = forms.TypedChoiceField(label="村（居）", coerce=int)
    item = forms.TypedChoiceField(label="目录事项", coerce=int)
    source = forms.ChoiceField(label="来源")
    group = forms.TypedChoiceField(label="督查组", coerce=int, required=False, empty_value=None,
                                   help_text="仅镇督查组发现时填写；村（居）只由一个组负责时可留空")
    discovered_on = forms.DateField(label="发现日期", widget=forms.DateInput(attrs=DATE_WIDGET))
    location = forms.CharField(label="地点", max_length=200, required=False)
    description = forms.CharField(label="问题描述", widget=forms.Textarea(attrs={"rows": 4}))
    matched_report = forms.CharField(label="对应上报编号", max_length=32, required=False,
                                     help_text="村（居）此前已上报同一问题时填写其上报编号")
    number = forms.CharField(label="编号", max_length=32, required=False, help_text="留空自动编号")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.villages = {v.pk: v for v in villages_for(user, "inspection.add_patrolfinding")[:500]}
        self.fields["village"].choices = [("", "请选择")] + [(pk, v.full_path) for pk, v in self.villages.items()]
        township_paths = {parent_path(v.path) for v in self.villages.values()}
        items = CatalogItem.objects.filter(is_active=True, township__path__in=township_paths).order_by("township_id", "code")
        self.items = {item.pk: item for item in items[:1000]}
        self.fields["item"].choices = [("", "请选择")] + [(pk, str(item)) for pk, item in self.items.items()]
        sources: set[str] = set()
        for township in Region.objects.filter(path__in=township_paths)[:20]:
            sources |= set(findings.capacities(user, township).sources())
        self.fields["source"].choices = [("", "请选择")] + [
            (value, label) for value, label in Source.choices if not sources or value in sources
        ]
        self.groups = {g.pk: g for g in findings.groups_for(user)}
        self.fields["group"].choices = [("", "自动")] + [(pk, f"{g.township.name}{g.name}") for pk, g in self.groups.items()]
        if not self.groups:
            del self.fields["group"]
        if not self.is_bound:
            self.initial.setdefault("discovered_on", timezone.localdate())
            if len(sources) == 1:
                self.initial.setdefault("source", next(iter(sources)))

    def clean_village(self):
        village = self.villages.get(self.cleaned_data["village"])
        if village is None:
            raise forms.ValidationError("请选择您可以录入的村（居）。")
        return village

    def clean_item(self):
        item = self.items.get(self.cleaned_data["item"])
        if item is None:
            raise forms.ValidationError("请选择巡查目录中的事项。")
        return item

    def clean_group(self):
        pk = self.cleaned_data.get("group")
        if pk is None:
            return None
        group = self.groups.get(pk)
        if group is None:
            raise forms.ValidationError("请选择您所在的督查组。")
        return group

    def clean(self):
        data = super().clean()
        number = (data.get("matched_report") or "").strip()
        village = data.get("village")
        data["matched_report"] = None
        if number and village is not None:
            report = PatrolReport.objects.filter(township__path=parent_path(village.path),
                                                 number=number).first()
            if report is None:
                self.add_error("matched_report", f"本乡镇没有编号为 {number} 的村级上报。")
            data["matched_report"] = report
        return data


NO_EARLIER_REPORT = "none"


class RegisterForm(forms.Form):
    is_true = forms.TypedChoiceField(label="核实结果", coerce=lambda v: v == "true",
                                     choices=[("", "请选择"), ("true", "属实"), ("false", "不属实")])
    earlier_report = forms.ChoiceField(
        label="村（居）此前是否已上报", required=False, widget=forms.RadioSelect,
        help_text="列出该村（居）在发现日期之前上报的同一事项、同类事项（当天上报的不算）；请核对后确认",
    )
    matched_report = forms.CharField(label="其他对应上报编号", max_length=32, required=False,
                                     help_text="上面没有列出时填写；是否免于扣分由考评规则判定")
    note = forms.CharField(label="核实情况", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, finding: PatrolFinding, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.finding = finding
        self.candidates = {str(candidate.report.pk): candidate.report for candidate in candidates}
        self.fields["earlier_report"].choices = [
            *((str(candidate.report.pk), candidate.label) for candidate in candidates),
            (NO_EARLIER_REPORT, "村（居）此前没有上报"),
        ]
        same_item = next((c for c in candidates if c.same_item), None)
        current = finding.matched_report_id
        self.fields["earlier_report"].initial = (
            str(current) if current and str(current) in self.candidates
            else str(same_item.report.pk) if same_item is not None and current is None
            else NO_EARLIER_REPORT if current is None else "")

    def clean_matched_report(self):
        number = (self.cleaned_data.get("matched_report") or "").strip()
        if not number:
            return None
        report = PatrolReport.objects.filter(township_id=self.finding.township_id, number=number).first()
        if report is None:
            raise forms.ValidationError(f"本乡镇没有编号为 {number} 的村级上报。")
        return report

    def clean(self):
        cleaned = super().clean()
        choice = cleaned.get("earlier_report") or ""
        cleaned["no_earlier_report"] = False
        if choice in self.candidates:
            if cleaned.get("matched_report") and cleaned["matched_report"] != self.candidates[choice]:
                self.add_error("matched_report", "已在上面选择了对应上报，不要再填写其他编号。")
            cleaned["matched_report"] = self.candidates[choice]
        elif choice == NO_EARLIER_REPORT and not cleaned.get("matched_report"):
            cleaned["no_earlier_report"] = True
        return cleaned


class FraudForm(forms.Form):
    note = forms.CharField(label="认定情况", widget=forms.Textarea(attrs={"rows": 3}))


class CheckForm(forms.Form):
    group = forms.TypedChoiceField(label="督查组", coerce=int)
    village = forms.TypedChoiceField(label="村（居）", coerce=int)
    date = forms.DateField(label="督查日期", widget=forms.DateInput(attrs=DATE_WIDGET))
    checked_by = forms.TypedMultipleChoiceField(label="督查人员", coerce=int, widget=forms.CheckboxSelectMultiple)
    # A yes/no of its own, not a lone checkbox under the people ticked above (it read as one of them).
    ledger_ok = forms.TypedChoiceField(label="村级巡查台账", choices=[("ok", "规范"), ("bad", "不规范")], initial="ok",
                                       coerce=lambda value: value == "ok", widget=forms.RadioSelect)
    notes = forms.CharField(label="督查情况", required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        groups = list(findings.groups_for(user).prefetch_related("villages"))
        self.groups = {g.pk: g for g in groups}
        self.fields["group"].choices = [("", "请选择")] + [(g.pk, f"{g.township.name}{g.name}") for g in groups]
        self.villages = {v.pk: v for g in groups for v in g.villages.all()}
        self.fields["village"].choices = [("", "请选择")] + sorted(
            ((v.pk, v.name) for v in self.villages.values()), key=lambda choice: choice[1])
        members = {}
        for group in groups[:20]:
            for member in findings.members_of(group):
                members[member.pk] = member
        self.members = members
        self.fields["checked_by"].choices = [(pk, m.get_full_name() or m.username) for pk, m in members.items()]
        if not self.is_bound:
            self.initial.setdefault("date", timezone.localdate())
            self.initial.setdefault("checked_by", [user.pk] if user.pk in members else [])
            if len(groups) == 1:
                self.initial.setdefault("group", groups[0].pk)

    def clean_group(self) -> SupervisionGroup:
        group = self.groups.get(self.cleaned_data["group"])
        if group is None:
            raise forms.ValidationError("请选择您所在的督查组。")
        return group

    def clean_village(self) -> Region:
        village = self.villages.get(self.cleaned_data["village"])
        if village is None:
            raise forms.ValidationError("请选择督查组负责的村（居）。")
        return village

    def clean_checked_by(self):
        return [self.members[pk] for pk in self.cleaned_data["checked_by"] if pk in self.members]


CHECK_SORTS = Sorts(
    ("督查日期由近及远", ("-date", "-id")),
    oldest=("督查日期由远及近", ("date", "id")),
    village=("按村（居）", ("village__path", "-date", "-id")),
    group=("按督查组", ("group__township__path", "group__number", "-date", "-id")),
)


class CheckFilterForm(SortedForm, VillageFilterForm):
    """The filters of 督查记录: group, village, month, whether the village ledger was in order, and a search."""

    LEDGER = [("", "全部"), ("ok", "规范"), ("bad", "不规范")]
    SORTS = CHECK_SORTS
    VILLAGE_PERM = "inspection.view_supervisioncheck"

    group = forms.TypedChoiceField(label="督查组", required=False, coerce=int, empty_value=None)
    village = forms.TypedChoiceField(label="村（居）", required=False, coerce=int, empty_value=None)
    month = forms.CharField(label="督查月份", required=False, widget=forms.TextInput(attrs={"type": "month"}))
    ledger = forms.ChoiceField(label="台账", required=False, choices=LEDGER)
    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "督查情况"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        groups = scope(user, SupervisionGroup.objects.all(), self.VILLAGE_PERM).select_related("township")
        self.fields["group"].choices = [("", "全部")] + [
            (g.pk, f"{g.township.name}{g.name}") for g in groups.order_by("township__path", "number")[:200]]

    def apply(self, queryset):
        data = self.valid_values()
        queryset = self.filter_village_and_month(queryset, "date")
        if data.get("group"):
            queryset = queryset.filter(group_id=data["group"])
        if data.get("ledger"):
            queryset = queryset.filter(ledger_ok=data["ledger"] == "ok")
        return word_search(queryset, data.get("q"), "notes")


class OversightForm(forms.Form):
    township = forms.TypedChoiceField(label="乡镇", coerce=int, required=False, empty_value=None)
    month = forms.CharField(label="督查月份", required=False, widget=forms.TextInput(attrs={"type": "month"}))

    def __init__(self, *args, townships, **kwargs):
        super().__init__(*args, **kwargs)
        self.townships = {t.pk: t for t in townships}
        self.fields["township"].choices = [(pk, t.name) for pk, t in self.townships.items()]
        self.fields["month"].widget.attrs["max"] = timezone.localdate().strftime("%Y-%m")
        self.fields["month"].initial = timezone.localdate().strftime("%Y-%m")  # the month the page shows

    def clean_township(self):
        pk = self.cleaned_data.get("township")
        if pk is None:
            return next(iter(self.townships.values()), None)
        township = self.townships.get(pk)
        if township is None:
            raise forms.ValidationError("请选择您辖区内的乡镇。")
        return township

    def clean_month(self):
        value = self.cleaned_data.get("month")
        today = timezone.localdate()
        if not value:
            return today.replace(day=1)
        month = parse_month(value)
        if month > today.replace(day=1):
            raise forms.ValidationError("不能查看未来月份。")
        return month


class ConfirmMonthForm(forms.Form):
    department = forms.TypedChoiceField(label="部门", coerce=int)
    month = forms.CharField(label="月份", widget=forms.HiddenInput)
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.departments = {d.pk: d for d in findings.confirmable_departments(user)}
        self.fields["department"].choices = [(pk, d.name) for pk, d in self.departments.items()]

    def clean_department(self):
        department = self.departments.get(self.cleaned_data["department"])
        if department is None:
            raise forms.ValidationError("请选择您所在的部门。")
        return department

    def clean_month(self):
        return parse_month(self.cleaned_data.get("month"))


class WorkRecordForm(forms.Form):
    township = forms.TypedChoiceField(label="乡镇", coerce=int, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label="类型", choices=[("", "请选择"), *PatrolWorkRecord.Kind.choices])
    date = forms.DateField(label="日期", widget=forms.DateInput(attrs=DATE_WIDGET))
    title = forms.CharField(label="标题或议题", max_length=200)
    note = forms.CharField(label="情况", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, townships, **kwargs):
        super().__init__(*args, **kwargs)
        self.townships = {t.pk: t for t in townships}
        self.fields["township"].choices = [(pk, t.name) for pk, t in self.townships.items()]

    def clean_township(self):
        return self.townships[self.cleaned_data["township"]]
