"""Formula injection: text a user typed must never become a formula in Excel, WPS or LibreOffice.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell

from .input_rules import printable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value):
    value = printable(value)
    return "'" + value if looks_like_formula(value) else value


def csv_row(values: Iterable) -> list:
    return [csv_cell(value) for value in values]


def xlsx_cell(sheet, value):
    """A value for sheet.append(): text that looks like a formula becomes a quoted text cell."""
    value = printable(value)
    if not looks_like_formula(value):
        return value

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def xlsx_row(sheet, values: Iterable) -> list:
    return [xlsx_cell(sheet, value) for value in values]
