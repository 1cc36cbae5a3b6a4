"""What the big patrol's list forms share (发现问题, 督查记录, 村级巡查台账, 村级上报, 待核实上报, 巡查目录):
a search over a few text fields, a month as a date range, and a `sort` field from the list's `Sorts`."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Q, QuerySet

from governance.listing import Sorts


def month_range(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first day of `month` and the first day of the month after it."""
    return month, (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def search(queryset: QuerySet, q: str, *fields: str) -> QuerySet:
    """Rows whose `fields` contain every word of `q` (up to five words), case-insensitive."""
    for word in (q or "").split()[:5]:
        condition = Q(pk__in=[])
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


class SortedFilterForm(forms.Form):
    """A list's filter form with its order (`sort`) last; `sort_key()` is "" (the default) while invalid."""

    SORTS: Sorts

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sort"] = self.SORTS.field()

    def sort_key(self) -> str:
        return self.cleaned_data.get("sort", "") if self.is_valid() else ""

    def order(self, queryset: QuerySet) -> QuerySet:
        return self.SORTS.apply(queryset, self.sort_key())


class CatalogSearchForm(forms.Form):
    """巡查目录 is short (a township's few dozen items): a search is all it needs, no order or export."""

    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "编号、事项、类别、牵头部门、乡镇"}))

    def apply(self, items: QuerySet) -> QuerySet:
        if not self.is_valid():
            return items
        return search(items, self.cleaned_data["q"], "code", "name", "category__name", "lead_department__name",
                      "township__name")
