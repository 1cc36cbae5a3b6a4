"""What the big patrol's forms share (发现问题, 督查记录, 村级巡查台账, 村级上报, 待核实上报, 巡查目录):
the villages and catalog items a user may choose, a month as a date range, and the lists' village,
item and month filters (their order comes from governance.listing.SortedForm)."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Q, QuerySet

from governance import chinese_dates
from governance.listing import FilterForm, word_search
from grid.access import region_grants
from grid.models import Region, parent_path

from ..models import CatalogItem

ALL = ("", "全部")
MAX_CHOICES = 500


def villages_for(user, perm: str):
    """The villages under the user's grants of `perm` (a village cadre: their own village; superusers: all)."""
    villages = Region.objects.filter(tier__key="village").select_related("tier").order_by("path")
    if user.is_superuser:
        return villages
    condition = Q(pk__in=[])
    for prefix in region_grants(user).paths(perm):
        condition |= Q(path__startswith=prefix)
    return villages.filter(condition)


def catalog_items_for(villages, *, active_only: bool = True):
    """The catalog items of the townships of `villages` (for a list's filter also the retired ones)."""
    townships = {parent_path(village.path) for village in villages}
    items = CatalogItem.objects.filter(township__path__in=townships)
    if active_only:
        items = items.filter(is_active=True)
    return items.select_related("township", "lead_department").order_by("township__path", "code")


def parse_month(value: str) -> datetime.date:
    """`2026-03` → 2026-03-01, or a Chinese form error."""
    month = chinese_dates.parse_month(value)
    if month is None:
        raise forms.ValidationError("月份格式应为 年-月，如 2026-03。")
    if month.year < 2000:
        raise forms.ValidationError("月份无效。")
    return month


def month_range(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first day of `month` and the first day of the month after it."""
    return month, (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


class VillageFilterForm(FilterForm):
    """Filters of a list of village records: `village` (and `item`, when the form declares it) offered
    from the villages the user may see with `VILLAGE_PERM`; `month` read as a month."""

    VILLAGE_PERM: str

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        villages = list(villages_for(user, self.VILLAGE_PERM)[:MAX_CHOICES])
        self.fields["village"].choices = [ALL] + [(village.pk, village.name) for village in villages]
        if "item" in self.fields:
            self.fields["item"].choices = [ALL] + [
                (item.pk, f"{item.code} {item.name}") for item in catalog_items_for(villages, active_only=False)[:MAX_CHOICES]]

    def clean_month(self):
        value = (self.cleaned_data.get("month") or "").strip()
        return parse_month(value) if value else None

    def filter_village_and_month(self, queryset: QuerySet, date_field: str) -> QuerySet:
        """The village and month filters; `date_field` is the date the month applies to."""
        data = self.valid_values()
        if data.get("village"):
            queryset = queryset.filter(village_id=data["village"])
        if data.get("month"):
            start, end = month_range(data["month"])
            queryset = queryset.filter(**{f"{date_field}__gte": start, f"{date_field}__lt": end})
        return queryset


class CatalogSearchForm(FilterForm):
    """巡查目录 is short (a township's few dozen items): a search is all it needs, no order or export."""

    q = forms.CharField(label="搜索", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "编号、事项、类别、牵头部门、乡镇"}))

    def apply(self, items: QuerySet) -> QuerySet:
        return word_search(items, self.valid_values().get("q"), "code", "name", "category__name", "lead_department__name",
                      "township__name")
