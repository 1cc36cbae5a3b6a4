"""Filters and orders of the rectification lists: 整改方案, 整改事项 and the public notice list.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

from django import forms
from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from governance.listing import FilterForm, Sorts, word_search
from grid.models import Region, parent_path

from . import states
from .models import RectificationItem, RectificationPlan

Status = RectificationItem.Status

PLAN_SORTS = Sorts(
    ("按整改党组织", ("organisation__path", "-created_at")),
    overdue=("逾期事项多的在前", ("-overdue_count", "organisation__path", "-created_at")),
    feedback=("反馈日期由近及远", (F("feedback_on").desc(nulls_last=True), "organisation__path", "-id")),
    newest=("最新建立在前", ("-created_at", "-id")),
)

ITEM_SORTS = Sorts(
    ("按整改党组织和序号", ("plan__organisation__path", "plan_id", "number")),
    deadline=("整改时限最近的在前", (F("effective_deadline").asc(nulls_last=True), "plan__organisation__path",
                                "plan_id", "number")),
    progress=("进度落后的在前", ("progress_rank", "plan__organisation__path", "plan_id", "number")),
    newest=("最新录入在前", ("-id",)),
)

# How far an item has come, for "进度落后的在前": not started first, verified and closed last.
PROGRESS_RANK = {Status.PENDING: 0, Status.IN_PROGRESS: 1, Status.DONE: 2, Status.ONGOING: 3, Status.FULLY_DONE: 4}


def with_sort_columns(items: QuerySet[RectificationItem]) -> QuerySet[RectificationItem]:
    """The computed columns the item orders use: the deadline in force and the progress rank."""
    return items.annotate(
        effective_deadline=states.effective_deadline_expression(),
        progress_rank=Case(*(When(status=status, then=Value(rank)) for status, rank in PROGRESS_RANK.items()),
                           default=Value(len(PROGRESS_RANK)), output_field=IntegerField()),
    )


def organisation_label(region: Region) -> str:
    """太平镇 / 太平镇/楼星村: the full path without the county, so that villages of two townships differ."""
    return _short(region.full_path)


def _short(full_path: str) -> str:
    return full_path.split("/", 1)[-1] if "/" in full_path else full_path


def organisation_choices(rows) -> list[tuple[str, str]]:
    """The organisations of the listed plans and the township of each village, by region path.

    A township includes its villages (the filter is a path prefix); `rows` are (path, full path, tier key)
    of the plans' organisations, read with the list's own scoped query, so that nothing outside it shows."""
    found: dict[str, str] = {}
    for path, full_path, tier in rows:
        found[path] = _short(full_path)
        if tier == "village" and "/" in full_path:
            found.setdefault(parent_path(path), _short(full_path.rsplit("/", 1)[0]))
    return [("", "全部")] + sorted(found.items())


class PlanFilterForm(FilterForm):
    round = forms.TypedChoiceField(label="巡察轮次", required=False, coerce=int, empty_value=None)
    organisation = forms.ChoiceField(label="整改党组织", required=False, help_text="选乡镇时含其下各村")
    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "方案名称、党组织、文号", "type": "search"}))
    sort = PLAN_SORTS.field()

    def __init__(self, data=None, *, plans: QuerySet[RectificationPlan], **kwargs):
        """`plans`: the user's scoped plans; the choices are read from them in one query."""
        super().__init__(data, **kwargs)
        rows = list(plans.order_by().values_list("round_id", "round__name", "round__arrival_date", "organisation__path",
                                                 "organisation__full_path", "organisation__tier__key").distinct())
        rounds = {r[0]: (r[2], r[1]) for r in rows if r[0]}  # newest round first, as everywhere
        order = sorted(rounds, key=lambda pk: (rounds[pk][0], pk), reverse=True)
        self.fields["round"].choices = [("", "全部")] + [(pk, rounds[pk][1]) for pk in order]
        self.fields["organisation"].choices = organisation_choices({r[3:] for r in rows})

    def filter(self, plans: QuerySet[RectificationPlan]) -> QuerySet[RectificationPlan]:
        data = self.valid_values()
        if data.get("round"):
            plans = plans.filter(round_id=data["round"])
        if data.get("organisation"):
            plans = plans.filter(organisation__path__startswith=data["organisation"])
        if data.get("q", "").strip():
            plans = word_search(plans, data["q"], "title", "organisation__name", "document_number", "round__name")
        return PLAN_SORTS.apply(plans, data.get("sort"))


class ItemFilterForm(FilterForm):
    # The reported statuses, then the derived states of rectification.states (待验收, 已销号, 无整改时限 …).
    STATUS_CHOICES = [("", "全部"), ("open", "未销号"),
                      *((key, label) for key, label in states.LABELS.items() if key != "overdue")]

    plan = forms.TypedChoiceField(label="整改方案", required=False, coerce=int, empty_value=None)
    organisation = forms.ChoiceField(label="整改党组织", required=False, help_text="选乡镇时含其下各村")
    status = forms.ChoiceField(label="状态", required=False, choices=STATUS_CHOICES)
    overdue = forms.BooleanField(label="只看逾期", required=False)
    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "问题、类别、责任领导、责任单位", "type": "search"}))
    sort = ITEM_SORTS.field()

    def __init__(self, data=None, *, items: QuerySet[RectificationItem], **kwargs):
        """`items`: the user's scoped items; the plans (and organisations) that have some are the choices,
        read in one query, a semi-join on the items rather than a sort of all of them (the page's query
        count stays flat: tests/performance)."""
        super().__init__(data, **kwargs)
        rows = list(RectificationPlan.objects.filter(pk__in=items.values("plan_id"))
                    .order_by("organisation__path", "pk")
                    .values_list("organisation__path", "pk", "title", "organisation__full_path", "organisation__tier__key")
                    [:2000])
        self.fields["plan"].choices = [("", "全部")] + [(r[1], r[2]) for r in rows]
        self.fields["organisation"].choices = organisation_choices({(r[0], r[3], r[4]) for r in rows})

    def filter(self, items: QuerySet[RectificationItem]) -> QuerySet[RectificationItem]:
        data = self.valid_values()
        if data.get("plan"):
            items = items.filter(plan_id=data["plan"])
        if data.get("organisation"):
            items = items.filter(plan__organisation__path__startswith=data["organisation"])
        status = data.get("status")
        if status == "open":
            items = items.filter(states.q_open())
        elif status:  # 已整改 includes 已整改到位, as everywhere (rectification.states)
            items = items.filter(states.q_figure(status))
        if data.get("overdue"):
            items = items.filter(states.q_overdue())
        if data.get("q", "").strip():
            items = word_search(items, data["q"], "title", "description", "category", "subcategory",
                                "responsible_leader", "responsible_unit")
        return ITEM_SORTS.apply(with_sort_columns(items), data.get("sort"))


PUBLIC_SORTS = Sorts(
    ("最新公开在前", ("-published_at", "-version")),
    oldest=("最早公开在前", ("published_at", "version")),
)


class PublicNoticeFilterForm(FilterForm):
    """The public list: a search and the order by date, nothing else (it only ever shows published versions)."""

    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "标题或党组织名称", "type": "search"}))
    sort = PUBLIC_SORTS.field()

    def search(self, notices):
        text = self.valid_values().get("q", "").strip()
        return word_search(notices, text, "title", "plan__organisation__name")

    def sort_key(self) -> str:
        return self.valid_values().get("sort") or ""
