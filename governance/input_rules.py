"""What the system accepts as typed input, and how stored text is made safe for a file format.

One rule for every text a user sends (web forms, the API, Open311, the .xlsx/.csv imports):

- no control characters (C0 0x00–0x1F, DEL, C1 0x80–0x9F); tab, carriage return and line feed
  only in long text (a text area, or a field without a short length limit);
- no Unicode bidirectional overrides or isolates (U+202A–U+202E, U+2066–U+2069): they make a text
  read differently from what is stored ("Trojan source");
- a text that is not empty has at least one visible character (not only spaces, zero-width or
  format characters);
- long text is capped at `LONG_TEXT_MAX` characters, a one-line text without its own limit at
  `LINE_TEXT_MAX`.

Integers fit their column: a form field made from a model field (model forms, the admin) takes the
column's range on PostgreSQL (`integer_range`; SQLite would store any 64-bit number and hide the
overflow until production), and any other integer form or serializer field without a bound of its
own is held to PostgreSQL's integer (`INTEGER_MIN`–`INTEGER_MAX`), so a huge number gets a Chinese
message instead of an overflow (500). A field with a domain bound (轮次 1–99) sets it itself.

Dates have plausible bounds: nothing before `EARLIEST_DATE`, nothing more than `LATEST_YEARS_AHEAD`
years ahead (deadlines included); a time something happened is not in the future beyond
`FUTURE_TOLERANCE` (`happened_problem`, asked by the services that record such a time).

`install()` (called once from the core app's ready()) makes every Django form field and every DRF
serializer field apply these rules after its own cleaning, so no form or serializer can forget them;
a field may set `input_rules = False` to opt out (none does today). The importers call `row_problems`.

Writers of files use `printable()`: existing databases may already hold such characters, and
openpyxl, python-docx and XML refuse them.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone
from rest_framework import fields
from rest_framework.exceptions import ValidationError as APIValidationError

LONG_TEXT_MAX = 5_000
LINE_TEXT_MAX = 200
# A field limited to more characters than this is long text (tab and line breaks allowed).
LINE_LENGTH_LIMIT = 200

EARLIEST_DATE = datetime.date(2000, 1, 1)
LATEST_YEARS_AHEAD = 10
# Clocks of phones and of the server differ by a few minutes.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)

# PostgreSQL's integer column; a field without a narrower bound of its own is held to it.
INTEGER_MIN, INTEGER_MAX = -2_147_483_648, 2_147_483_647

LINE_BREAKS = "\t\r\n"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROLS = "".join(chr(code) for code in (*range(0x00, 0x20), *range(0x7F, 0xA0)))
# Code points that are no characters at all, as a regex class body: UTF-16 surrogates (a lone one can
# arrive through JSON), U+FDD0–U+FDEF, and U+FFFE and U+FFFF of every plane. XML (xlsx, docx) cannot
# hold some of them, PostgreSQL's UTF-8 none of the surrogates.
_NON_CHARACTERS = (f"{chr(0xD800)}-{chr(0xDFFF)}{chr(0xFDD0)}-{chr(0xFDEF)}"
                   + "".join(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(17)))
_CONTROLS_IN_LINE = re.compile(f"[{re.escape(_CONTROLS + BIDI_CONTROLS)}{_NON_CHARACTERS}]")
_CONTROLS_IN_LONG_TEXT = re.compile(
    f"[{re.escape(''.join(ch for ch in _CONTROLS if ch not in LINE_BREAKS) + BIDI_CONTROLS)}{_NON_CHARACTERS}]")
# Categories of characters that show nothing: separators, controls, format characters (zero-width
# space, joiners, BOM, bidi marks), unassigned and private-use code points.
_INVISIBLE_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf", "Cn", "Co", "Cs"}
# Letters that are blank on screen: Hangul fillers, the braille blank, the Khmer vowel inherents.
_BLANK_LETTERS = set("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def has_visible_character(text: str) -> bool:
    return any(unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_LETTERS for ch in text)


def text_problem(text: str, *, long_text: bool, max_length: int | None = None) -> str | None:
    """Why `text` cannot be accepted (a Chinese sentence), or None."""
    if not isinstance(text, str) or text == "":
        return None
    pattern = _CONTROLS_IN_LONG_TEXT if long_text else _CONTROLS_IN_LINE
    found = pattern.search(text)
    if found:
        ch = found.group()
        if ch in BIDI_CONTROLS:
            return f"不能包含文字方向控制字符（{_describe(ch)}），请删除后重新输入。"
        if ch in LINE_BREAKS:
            return "此处只能填写一行文字，不能包含换行或制表符。"
        if ch not in _CONTROLS:
            return f"不能包含无效字符（{_describe(ch)}），请删除后重新输入（常见于从其他软件复制的文字）。"
        return f"不能包含控制字符（{_describe(ch)}），请删除后重新输入（常见于从其他软件复制的文字）。"
    if not has_visible_character(text):
        return "不能只填写空格或不可见字符。"
    limit = max_length if max_length is not None else (LONG_TEXT_MAX if long_text else LINE_TEXT_MAX)
    if len(text) > limit:
        return f"不能超过 {limit} 个字（现有 {len(text)} 个）。"
    return None


def check_text(text: str, *, long_text: bool, max_length: int | None = None) -> None:
    problem = text_problem(text, long_text=long_text, max_length=max_length)
    if problem:
        raise ValidationError(problem, code="text_input")


def date_problem(value: datetime.date | datetime.datetime, *, what: str = "日期") -> str | None:
    """Why a date (or a date and time, in local wall time) is implausible, or None."""
    day = value.date() if isinstance(value, datetime.datetime) else value
    if day < EARLIEST_DATE:
        return f"{what}不能早于 {EARLIEST_DATE:%Y年%m月%d日}。"
    latest = latest_date()
    if day > latest:
        return f"{what}不能晚于 {latest:%Y年%m月%d日}（{LATEST_YEARS_AHEAD} 年之内）。"
    return None


def latest_date() -> datetime.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + LATEST_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + LATEST_YEARS_AHEAD, day=28)


def integer_range(model_field) -> tuple[int | None, int | None]:
    """The values a model integer field's column holds on PostgreSQL (whatever database runs now)."""
    return BaseDatabaseOperations.integer_field_ranges.get(model_field.get_internal_type(), (None, None))


def integer_problem(value: int, *, min_value: int | None = None, max_value: int | None = None) -> str | None:
    """Why an integer cannot be stored (outside the given bounds, or PostgreSQL's integer without them)."""
    low = INTEGER_MIN if min_value is None else min_value
    high = INTEGER_MAX if max_value is None else max_value
    if value > high:
        return f"不能大于 {high}。"
    if value < low:
        return f"不能小于 {low}。"
    return None


def check_integer(field, value) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        problem = integer_problem(value, min_value=field.min_value, max_value=field.max_value)
        if problem:
            raise ValidationError(problem, code="integer_range")


def check_date(value) -> None:
    if isinstance(value, datetime.date):
        problem = date_problem(value)
        if problem:
            raise ValidationError(problem, code="date_range")


def happened_problem(value: datetime.datetime | datetime.date, *, what: str = "发生时间") -> str | None:
    """Why a time something happened is implausible (before EARLIEST_DATE, or later than now beyond
    FUTURE_TOLERANCE), or None."""
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        local = value.astimezone(timezone.get_current_timezone()) if value.year > 1 else value
        if local.date() < EARLIEST_DATE:
            return f"{what}不能早于 {EARLIEST_DATE:%Y年%m月%d日}。"
        late = value > timezone.now() + FUTURE_TOLERANCE
    else:
        if value < EARLIEST_DATE:
            return f"{what}不能早于 {EARLIEST_DATE:%Y年%m月%d日}。"
        late = value > timezone.localdate()
    return f"{what}不能晚于当前时间。" if late else None


def row_problems(cells: dict[str, str]) -> list[str]:
    """The problems of one imported row, one per bad cell ("“标题”列：…"). A cell may hold line breaks
    (Alt+Enter in Excel); its length is left to the importer's own limits."""
    problems = []
    for header, text in cells.items():
        problem = text_problem(text, long_text=True, max_length=10**9)
        if problem:
            problems.append(f"“{header}”列{problem}")
    return problems


# ---------------------------------------------------------------- writers

_UNPRINTABLE = re.compile(f"[{re.escape(''.join(ch for ch in _CONTROLS if ch not in LINE_BREAKS))}{_NON_CHARACTERS}]")


def printable(value):
    """`value` with the control characters and non-characters that XML 1.0 (xlsx, docx, Open311 XML) and
    PDF text cannot hold replaced by U+FFFD; bidi controls are dropped. Tab and line breaks stay. Non-text is returned as is."""
    if not isinstance(value, str):
        return value
    value = _UNPRINTABLE.sub("\ufffd", value)
    if any(ch in value for ch in BIDI_CONTROLS):
        value = value.translate({ord(ch): None for ch in BIDI_CONTROLS})
    return value


def printable_tree(data):
    """`data` (dicts, lists and tuples of text, as a document's data) with every text made `printable`."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {key: printable_tree(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(printable_tree(value) for value in data)
    return data


# ---------------------------------------------------------------- where the rules apply


def _is_long_form_text(field) -> bool:
    max_length = getattr(field, "max_length", None)
    return isinstance(field.widget, forms.Textarea) or max_length is None or max_length > LINE_LENGTH_LIMIT


def check_form_value(field, value) -> None:
    """The rules for one cleaned value of a Django form field."""
    if getattr(field, "input_rules", True) is False:
        return
    if isinstance(field, forms.CharField) and not isinstance(field, forms.JSONField) and isinstance(value, str):
        check_text(value, long_text=_is_long_form_text(field), max_length=field.max_length)
    elif isinstance(field, forms.DateField | forms.DateTimeField):
        check_date(value)
    elif isinstance(field, forms.IntegerField) and not isinstance(field, forms.FloatField | forms.DecimalField):
        check_integer(field, value)


def check_serializer_value(field, value) -> None:
    """The rules for one validated value of a DRF serializer field."""
    if getattr(field, "input_rules", True) is False:
        return
    if isinstance(field, fields.CharField) and isinstance(value, str):
        long_text = (field.style.get("base_template") == "textarea.html" or field.max_length is None
                     or field.max_length > LINE_LENGTH_LIMIT)
        check_text(value, long_text=long_text, max_length=field.max_length)
    elif isinstance(field, fields.DateField | fields.DateTimeField):
        check_date(value)
    elif isinstance(field, fields.IntegerField):
        check_integer(field, value)


def refuse_null_character(field, value) -> None:
    """A NUL character in text, with the message every other control character gets (Django's and
    DRF's own check comes first otherwise, and its Chinese reads as if the text were empty)."""
    if (getattr(field, "input_rules", True) is not False and isinstance(value, str) and "\x00" in value
            and isinstance(field, forms.CharField | fields.CharField)):
        raise ValidationError(text_problem("\x00", long_text=True), code="text_input")


_installed = False


def install() -> None:
    """Make every Django form field and DRF serializer field apply the rules (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True

    form_clean = forms.Field.clean

    def clean(self, value):
        refuse_null_character(self, value)
        value = form_clean(self, value)
        check_form_value(self, value)
        return value

    forms.Field.clean = clean

    model_integer_formfield = models.IntegerField.formfield

    def formfield(self, **kwargs):
        low, high = integer_range(self)
        asked_low, asked_high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is not None:
            kwargs["min_value"] = low if asked_low is None else max(low, asked_low)
        if high is not None:
            kwargs["max_value"] = high if asked_high is None else min(high, asked_high)
        return model_integer_formfield(self, **kwargs)

    models.IntegerField.formfield = formfield

    serializer_run_validation = fields.Field.run_validation

    def run_validation(self, data=fields.empty):
        try:
            refuse_null_character(self, data)
        except ValidationError as exc:
            raise APIValidationError(exc.messages) from None
        value = serializer_run_validation(self, data)
        try:
            check_serializer_value(self, value)
        except ValidationError as exc:
            raise APIValidationError(exc.messages) from None
        return value

    fields.Field.run_validation = run_validation
