"""Filters, search and order of the county inspection (巡察) lists: rounds, working papers, talks, clues,
look-backs, letters and the groups of 三报告四清单.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from governance.chinese_dates import start_of_day
from governance.listing import SortedForm, Sorts, word_search

from ..models import (
    FocusCategory,
    InspectionGroup,
    InspectionLetter,
    InspectionRound,
    RoundTarget,
    letter_overdue_q,
)
from . import feedback
from .onsite_forms import FocusChoiceField, in_taxonomy_order

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RoundChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(label="轮次", required=False, queryset=InspectionRound.objects.none(), empty_label="全部轮次",
                         **kwargs)


class GroupChoiceField(forms.ModelChoiceField):
    """A group is named with its round: every round has a 第一巡察组."""

    def __init__(self, **kwargs):
        super().__init__(label="巡察组", required=False, queryset=InspectionGroup.objects.none(),
                         empty_label="全部巡察组", **kwargs)

    def label_from_instance(self, group):
        return f"{group.round.name} · {group.name}"


class TargetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, target):
        return f"{target.round.name} · {target.group.name} · {target.organisation.name}"


def _rounds_of(rows: QuerySet) -> QuerySet:
    return InspectionRound.objects.filter(pk__in=rows.values("round_id")).order_by("-arrival_date", "-id")


def _groups_of(rows: QuerySet) -> QuerySet:
    return (InspectionGroup.objects.filter(pk__in=rows.values("group_id")).select_related("round")
            .order_by("-round__arrival_date", "round_id", "number"))


class ListForm(SortedForm):
    """A list's filter form with its order (`sort`) last. Subclasses declare SORTS and SEARCH (the text
    fields `q` looks in) and filter in `filter()`; `apply()` adds the search and the order."""

    SEARCH: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.SEARCH:
            self.fields["q"] = forms.CharField(label="搜索", required=False, max_length=100)
            self.fields["sort"] = self.fields.pop("sort")  # the order stays last

    def filter(self, rows: QuerySet, data: dict) -> QuerySet:
        return rows

    def apply(self, rows: QuerySet) -> QuerySet:
        data = self.valid_values()
        rows = self.filter(rows, data)
        rows = self.search(rows, data.get("q"))
        return self.SORTS.apply(rows, data.get("sort"))

    def search(self, rows: QuerySet, text: str | None) -> QuerySet:
        return word_search(rows, text, *self.SEARCH)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "结束日期不能早于开始日期。")
        return data


def _date_range(rows: QuerySet, data: dict, field: str, *, moment: bool = False) -> QuerySet:
    """Rows whose `field` falls within 开始日期–结束日期 (both days included)."""
    start, end = data.get("date_from"), data.get("date_to")
    if moment:
        if start:
            rows = rows.filter(**{f"{field}__gte": start_of_day(start)})
        if end:
            rows = rows.filter(**{f"{field}__lt": start_of_day(end + datetime.timedelta(days=1))})
        return rows
    if start:
        rows = rows.filter(**{f"{field}__gte": start})
    if end:
        rows = rows.filter(**{f"{field}__lte": end})
    return rows


def _date_fields(label: str) -> tuple[forms.DateField, forms.DateField]:
    return (forms.DateField(label=f"{label}自", required=False, widget=DATE_WIDGET),
            forms.DateField(label="至", required=False, widget=DATE_WIDGET))


# ---------------------------------------------------------------- 巡察轮次


ROUND_SORTS = Sorts(
    ("进驻日期由近及远", ("-arrival_date", "-id")),
    oldest=("进驻日期由远及近", ("arrival_date", "id")),
    withdrawal=("撤回日期由近及远", ("-withdrawal_date", "-id")),
)


class RoundListForm(ListForm):
    SORTS = ROUND_SORTS
    term = forms.ChoiceField(label="届次", required=False)

    def __init__(self, *args, rounds: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        terms = sorted(set(rounds.order_by().values_list("term", flat=True)), reverse=True)
        self.fields["term"].choices = [("", "全部届次")] + [(term, term) for term in terms]

    def filter(self, rows, data):
        if data.get("term"):
            rows = rows.filter(term=data["term"])
        return rows


# ---------------------------------------------------------------- 问题底稿


FINDING_SORTS = Sorts(
    ("最新记录在前", ("-recorded_at", "-id")),
    oldest=("最早记录在前", ("recorded_at", "id")),
    target=("按巡察组、巡察对象", ("-round__arrival_date", "round_id", "group__number", "target__organisation__path",
                              "-recorded_at", "-id")),
)


class FindingListForm(ListForm):
    """The internal fields (涉及人员, 书记专题会) are searched and filtered only among the findings the user
    reads in full (`in_full`, inspection.rounds.onsite.findings_in_full): the inspected organisation cannot
    find out who is involved by searching a name."""

    SORTS = FINDING_SORTS
    SEARCH = ("title", "description", "target__organisation__name", "village__name")
    SEARCH_IN_FULL = ("people_involved",)
    round = RoundChoiceField()
    group = GroupChoiceField()
    target = TargetChoiceField(label="巡察对象", required=False, queryset=RoundTarget.objects.none(),
                               empty_label="全部巡察对象")
    focus = FocusChoiceField(label="问题类别", required=False, queryset=FocusCategory.objects.none(),
                                   empty_label="全部类别")
    fed_back = forms.ChoiceField(label="反馈", required=False,
                                 choices=[("", "全部"), ("no", "未反馈"), ("yes", "已反馈")])
    for_secretary_meeting = forms.BooleanField(label="只看列入书记专题会建议清单的", required=False)
    date_from, date_to = _date_fields("记录日期")

    def __init__(self, *args, findings: QuerySet, in_full: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_full = in_full.values("pk")
        if not in_full.exists():
            del self.fields["for_secretary_meeting"]
        self.fields["round"].queryset = _rounds_of(findings)
        self.fields["group"].queryset = _groups_of(findings)
        self.fields["target"].queryset = RoundTarget.objects.filter(pk__in=findings.values("target_id")).select_related(
            "round", "group", "organisation").order_by("-round__arrival_date", "group__number", "organisation__path")
        self.fields["focus"].queryset = in_taxonomy_order(FocusCategory.objects.filter(
            Q(pk__in=findings.values("focus_id")) | Q(children__in=findings.values("focus_id"))).distinct())

    def filter(self, rows, data):
        for name in ("round", "group", "target"):
            if data.get(name):
                rows = rows.filter(**{name: data[name]})
        if data.get("focus"):  # a heading includes its sub-headings
            rows = rows.filter(Q(focus=data["focus"]) | Q(focus__parent=data["focus"]))
        if data.get("fed_back"):
            rows = rows.filter(fed_back_at__isnull=data["fed_back"] == "no")
        if data.get("for_secretary_meeting"):
            rows = rows.filter(for_secretary_meeting=True, pk__in=self.in_full)
        return _date_range(rows, data, "recorded_at", moment=True)

    def search(self, rows: QuerySet, text: str | None) -> QuerySet:
        return word_search(rows, text, *self.SEARCH,
                           limited={name: Q(pk__in=self.in_full) for name in self.SEARCH_IN_FULL})


# ---------------------------------------------------------------- 谈话记录


TALK_SORTS = Sorts(
    ("谈话日期由近及远", ("-held_on", "-id")),
    oldest=("谈话日期由远及近", ("held_on", "id")),
    target=("按巡察对象", ("target__organisation__path", "-held_on", "-id")),
)


class TalkListForm(ListForm):
    SORTS = TALK_SORTS
    SEARCH = ("interviewee", "position", "summary", "target__organisation__name")
    round = RoundChoiceField()
    group = GroupChoiceField()
    date_from, date_to = _date_fields("谈话日期")

    def __init__(self, *args, talks: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = _rounds_of(talks)
        self.fields["group"].queryset = _groups_of(talks)

    def filter(self, rows, data):
        for name in ("round", "group"):
            if data.get(name):
                rows = rows.filter(**{name: data[name]})
        return _date_range(rows, data, "held_on")


# ---------------------------------------------------------------- 问题线索


CLUE_SORTS = Sorts(
    ("最新报送在前", ("-recorded_at", "-id")),
    oldest=("最早报送在前", ("recorded_at", "id")),
    target=("按巡察组、巡察对象", ("-round__arrival_date", "round_id", "group__number", "target__organisation__path",
                              "-recorded_at", "-id")),
)


class ClueListForm(ListForm):
    """Built from the clues the user may see (inspection.rounds.onsite.visible_clues) and from nothing else."""

    SORTS = CLUE_SORTS
    SEARCH = ("people_involved", "description", "source", "disposal", "target__organisation__name")
    round = RoundChoiceField()
    group = GroupChoiceField()
    date_from, date_to = _date_fields("报送日期")

    def __init__(self, *args, clues: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = _rounds_of(clues)
        self.fields["group"].queryset = _groups_of(clues)

    def filter(self, rows, data):
        for name in ("round", "group"):
            if data.get(name):
                rows = rows.filter(**{name: data[name]})
        return _date_range(rows, data, "recorded_at", moment=True)


# ---------------------------------------------------------------- 回头看


LOOK_BACK_SORTS = Sorts(
    ("计划日期由近及远", ("-scheduled_on", "-id")),
    upcoming=("计划日期由远及近", ("scheduled_on", "id")),
    target=("按巡察对象", ("target__organisation__path", "-scheduled_on", "-id")),
)


class LookBackListForm(ListForm):
    SORTS = LOOK_BACK_SORTS
    SEARCH = ("target__organisation__name", "result")
    round = RoundChoiceField()
    status = forms.ChoiceField(label="开展情况", required=False, choices=[
        ("", "全部"), ("pending", "待开展"), ("late", "已过计划日期未开展"), ("done", "已完成")])
    date_from, date_to = _date_fields("计划日期")

    def __init__(self, *args, look_backs: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = _rounds_of(look_backs)

    def filter(self, rows, data):
        if data.get("round"):
            rows = rows.filter(round=data["round"])
        status = data.get("status")
        if status == "pending":
            rows = rows.filter(done_on__isnull=True)
        elif status == "late":
            rows = rows.filter(done_on__isnull=True, scheduled_on__lt=timezone.localdate())
        elif status == "done":
            rows = rows.filter(done_on__isnull=False)
        return _date_range(rows, data, "scheduled_on")


# ---------------------------------------------------------------- 巡察文书


LETTER_SORTS = Sorts(
    ("发文日期由近及远", ("-issued_on", "-id")),
    oldest=("发文日期由远及近", ("issued_on", "id")),
    # the letters without a deadline last, on SQLite as on PostgreSQL
    due=("回复期限最近的在前", (F("reply_due").asc(nulls_last=True), "issued_on", "id")),
    number=("按文号", ("number", "id")),
)


class LetterListForm(ListForm):
    SORTS = LETTER_SORTS
    SEARCH = ("number", "subject", "recipient__name", "recipient_department__name")
    kind = forms.ChoiceField(label="类型", required=False, choices=[("", "全部类型"), *InspectionLetter.Kind.choices])
    round = RoundChoiceField()
    reply = forms.ChoiceField(label="回复", required=False, choices=[
        ("", "全部"), ("waiting", "待回复"), ("overdue", "逾期未回复"), ("replied", "已回复")])
    date_from, date_to = _date_fields("发文日期")

    def __init__(self, *args, letters: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = _rounds_of(letters)
        self.fields["q"].widget.attrs["placeholder"] = "文号、事由、收文单位"

    def filter(self, rows, data):
        for name in ("kind", "round"):
            if data.get(name):
                rows = rows.filter(**{name: data[name]})
        reply = data.get("reply")  # the three states the list tags: 待回复, 逾期未回复, 已回复
        if reply == "waiting":
            rows = rows.filter(reply_due__isnull=False, replied_on__isnull=True).exclude(letter_overdue_q())
        elif reply == "overdue":
            rows = rows.filter(letter_overdue_q())
        elif reply == "replied":
            rows = rows.filter(replied_on__isnull=False)
        return _date_range(rows, data, "issued_on")


# ---------------------------------------------------------------- 三报告四清单 (groups)


ROUND_REPORT_SORTS = Sorts(
    ("轮次由近及远", ("-round__arrival_date", "round_id", "number")),
    withdrawal=("撤回日期由远及近", ("round__withdrawal_date", "round_id", "number")),
    township=("按巡察乡镇", ("township__path", "-round__arrival_date", "round_id")),
)


def overdue_condition(today: datetime.date) -> Q:
    """Groups with a step past its deadline, as feedback.timeline counts them: the report not made
    by withdrawal + REPORT_DAYS, or the meeting not held by report + MEETING_DAYS (when the report is
    not made either, the report is already overdue)."""
    return (Q(reported_on__isnull=True, round__withdrawal_date__lt=today - datetime.timedelta(days=feedback.REPORT_DAYS))
            | Q(secretary_meeting_on__isnull=True, reported_on__isnull=False,
                reported_on__lt=today - datetime.timedelta(days=feedback.MEETING_DAYS)))


class RoundReportListForm(ListForm):
    SORTS = ROUND_REPORT_SORTS
    round = RoundChoiceField()
    status = forms.ChoiceField(label="时间节点", required=False, choices=[
        ("", "全部"), ("overdue", "有逾期环节"), ("waiting", "未反馈"), ("fed_back", "已反馈")])

    def __init__(self, *args, groups: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = InspectionRound.objects.filter(
            pk__in=groups.values("round_id")).order_by("-arrival_date", "-id")

    def filter(self, rows, data):
        if data.get("round"):
            rows = rows.filter(round=data["round"])
        status = data.get("status")
        if status == "overdue":
            rows = rows.filter(overdue_condition(timezone.localdate()))
        elif status == "waiting":
            rows = rows.filter(feedback_on__isnull=True)
        elif status == "fed_back":
            rows = rows.filter(feedback_on__isnull=False)
        return rows
