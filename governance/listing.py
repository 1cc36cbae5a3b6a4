"""What every list page offers besides its filters: a choice of order, and an .xlsx of what it shows.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import datetime
import html
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from django import forms
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import BaseExpression
from django.forms.utils import flatatt
from django.http import HttpResponse
from django.utils import timezone
from django.utils.safestring import mark_safe
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from governance import audit
from governance.spreadsheet_safety import xlsx_row

EXPORT_LIMIT = 50_000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# A field name ("-created_at") or an ordering expression (F("reply_due").asc(nulls_last=True)), or a
# function returning one when the list is ordered (an order that depends on the clock).
OrderBy = str | BaseExpression | Callable[[], BaseExpression]


@dataclass(frozen=True)
class Sort:
    label: str
    ordering: tuple[OrderBy, ...]


class Sorts:
    """The orders a user may choose for one list; the first one given is the default (key "")."""

    def __init__(self, default: tuple[str, Sequence[OrderBy]], **others: tuple[str, Sequence[OrderBy]]):
        self.choices: dict[str, Sort] = {"": Sort(default[0], tuple(default[1]))}
        for key, (label, ordering) in others.items():
            self.choices[key] = Sort(label, tuple(ordering))

    def field(self, label: str = "排序") -> forms.ChoiceField:
        return forms.ChoiceField(label=label, required=False,
                                 choices=[(key, sort.label) for key, sort in self.choices.items()])

    def ordering(self, key: str | None) -> tuple[OrderBy, ...]:
        """The chosen order; a part given as a function (an order that depends on the clock) is called now."""
        return tuple(part() if callable(part) else part for part in self.choices.get(key or "", self.choices[""]).ordering)

    def apply(self, queryset: QuerySet, key: str | None) -> QuerySet:
        return queryset.order_by(*self.ordering(key))

    def keys(self) -> list[str]:
        return [key for key in self.choices if key]


def _html(value) -> str:
    """conditional_escape without Django's lazy-argument wrapper (called once per option)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


class ListSelect(forms.Select):
    """A <select> written out in Python, with the same markup as Django's template.

    A county's filter lists offer hundreds of plans and organisations; Django draws every option
    through a template of its own, which cost more than half of the rectification item list's time.
    The options are read straight from the choices, as Django's `optgroups` reads them (the first
    matching value is selected, None is ""), without building a context per option."""

    def render(self, name, value, attrs=None, renderer=None):
        values = set(self.format_value(value))
        select_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            select_attrs["multiple"] = True
        parts = [f'<select name="{_html(name)}"{flatatt(select_attrs)}>']
        has_selected = False
        for option_value, option_label in self.choices:
            group = isinstance(option_label, (list, tuple))
            if group:
                parts.append(f'<optgroup label="{_html("" if option_value is None else option_value)}">')
            for subvalue, sublabel in option_label if group else ((option_value, option_label),):
                text = "" if subvalue is None else str(subvalue)
                selected = (not has_selected or self.allow_multiple_selected) and text in values
                has_selected |= selected
                parts.append(f'<option value="{html.escape(text)}"{" selected" if selected else ""}>'
                             f"{_html(sublabel)}</option>")
            if group:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 — every piece escaped above


class FilterForm(forms.Form):
    """A list's filter form. The fields holding good values apply even when another holds a bad one:
    that one's error shows beside it and it is ignored (the list and its export stay the same).

    A query string naming none of its fields (the first visit, or only `?page=2`) leaves it unbound:
    it shows its initial values and no errors, as a form the user has not submitted yet.

    Its plain selects are drawn by ListSelect (the same markup, written out in Python)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                field.widget = ListSelect(attrs=field.widget.attrs, choices=field.widget.choices)

    @property
    def is_bound(self) -> bool:
        if not self._given_data:
            return False
        names = {self.add_prefix(name) for name in self.fields}
        # A field drawn as several inputs sends name_0, name_1….
        return any(key in names or key.rpartition("_")[0] in names for key in (*self.data, *self.files))

    @is_bound.setter
    def is_bound(self, value: bool) -> None:  # set by forms.Form.__init__
        self._given_data = value

    def valid_values(self) -> dict:
        """The values that validated ({} while the form is unbound)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data


class SortedForm(FilterForm):
    """A list's filter form with its choice of order (`sort`, last): subclasses set SORTS.
    `sort_key()` is "" (the default order) while the form is unbound or the order is not one offered."""

    SORTS: Sorts

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sort"] = self.SORTS.field()

    def sort_key(self) -> str:
        return self.valid_values().get("sort") or ""

    def order(self, queryset: QuerySet) -> QuerySet:
        return self.SORTS.apply(queryset, self.sort_key())


SEARCH_WORDS = 5


def word_search(queryset: QuerySet, text: str | None, *fields: str, limited: dict[str, Q] | None = None) -> QuerySet:
    """A list's search box: rows in which every word of `text` (up to five, split on spaces) appears
    in one of `fields`, case-insensitive; or in a field of `limited` on the rows its condition admits
    (a field only some readers may see)."""
    for word in (text or "").split()[:SEARCH_WORDS]:
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__icontains": word})
        for name, where in (limited or {}).items():
            condition |= Q(**{f"{name}__icontains": word}) & where
        queryset = queryset.filter(condition)
    return queryset


def cell_value(value):
    """A Python value as a spreadsheet cell: local naive datetimes, floats for decimals, "是" for True."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if value is True:
        return "是"
    if value is False:
        return ""
    return value


def xlsx_export(*, rows: Iterable[Sequence], headers: Sequence[str], sheet_title: str, filename: str, by,
                action: str, about: type[Model] | None, query: str = "", limit: int = EXPORT_LIMIT,
                progress: Callable[[], None] | None = None) -> HttpResponse:
    """An .xlsx download of `rows` (already scoped and ordered by the caller), audited as `action`.

    `about` is the kind of record the list shows (None for rows of no record, e.g. figures): the audit
    entry, with its row count and filters, is filed under that kind and read by its own rule, as the
    records themselves are (governance.visibility).

    `filename` is the stem (Chinese is fine); the time of the export is appended. A list longer than
    `limit` is cut there and the response says so in the `X-Export-Truncated` header and a last row."""
    content, count, truncated = xlsx_bytes(rows=rows, headers=headers, sheet_title=sheet_title, limit=limit,
                                           progress=progress)
    audit.record(action, actor=by, after={"rows": count, "truncated": truncated, "query": query[:500]},
                 region_path=audit.actor_region_path(by), about=about)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    name = f"{filename}_{timezone.localtime():%Y%m%d_%H%M}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "private, no-store"
    if truncated:
        response["X-Export-Truncated"] = str(limit)
    return response


def xlsx_bytes(*, rows: Iterable[Sequence], headers: Sequence[str], sheet_title: str, limit: int = EXPORT_LIMIT,
               progress: Callable[[], None] | None = None) -> tuple[bytes, int, bool]:
    """The workbook itself: (content, rows written, truncated)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    count, truncated = 0, False
    for row in rows:
        if count == limit:
            truncated = True
            break
        count += 1
        if progress is not None:
            progress()
        sheet.append(xlsx_row(sheet, [cell_value(value) for value in row]))
    if truncated:
        sheet.append([f"（仅导出前 {limit} 行，请缩小筛选范围后分批导出）"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count, truncated
