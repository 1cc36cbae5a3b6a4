"""Formula injection: text a user typed must never become a formula in Excel, WPS or LibreOffice.

Spreadsheet programs treat a cell that starts with = + - @ (and tab or carriage return, and their
full-width forms) as a formula. Every export passes its rows through one of the two writers here:

- `xlsx_row(sheet, values)`: such text becomes an explicit text cell with the "quote prefix" style
  (what Excel itself stores when one types '=...): shown exactly as typed, never evaluated, not even
  after the cell is edited. openpyxl would otherwise store any text starting with "=" as a formula.
- `csv_row(values)`: CSV has no cell types, so such text gets a leading apostrophe (OWASP's advice).

Numbers, dates and booleans are written as they are. Text also loses the control characters a
spreadsheet cannot hold (`governance.input_rules.printable`): openpyxl raises IllegalCharacterError
on them, and older rows may hold them.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def xlsx_row(sheet, values: Iterable) -> list:
    return [xlsx_cell(sheet, value) for value in values]
