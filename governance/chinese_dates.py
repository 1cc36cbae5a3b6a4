"""Days, months, quarters and deadlines as people write them (full-width digits and punctuation read as
ASCII), and a day as documents print it. Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import calendar
import datetime
import re
import unicodedata

from django.utils import timezone

from .input_rules import EARLIEST_DATE, latest_date

_DATE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")
_TIME = re.compile(r"([0-9]{1,2})\s*[:时]\s*([0-9]{1,2})\s*(?:[:分]\s*([0-9]{1,2})(?:\.[0-9]+)?\s*秒?)?\s*分?")
_MONTH = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*月?")
_YEAR = re.compile(r"([0-9]{4})\s*年")
_QUARTER = re.compile(r"([0-9]{4})\s*(?:[Qq]\s*([1-4])|年\s*第?\s*([1-4一二三四])\s*季度?)")
_QUARTER_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4}
# "2024年12月前", "2024年12月底前", "2024年12月31日之前", "2024年底" …: a deadline at the end of that period.
_BEFORE = re.compile(r"(?:底|末)?(?:之前|以前|前|为止|止)?$")


def start_of_day(day: datetime.date) -> datetime.datetime:
    """The first moment of `day` in the site's time zone (aware): the bound of a "from / before this day"
    filter on a datetime column."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def chinese_date(day: datetime.date | None) -> str:
    """2025-03-08 → 2025年3月8日 (Arabic numerals, as GB/T 9704 dates a document); "" for no day."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def normalise(text: str | None) -> str:
    """Full-width forms as ASCII (NFKC), surrounding space removed."""
    return unicodedata.normalize("NFKC", text or "").strip()


def parse_datetime(text: str | None) -> tuple[datetime.datetime, bool] | None:
    """A naive datetime and whether a time of day was given: `2026-01-05`, `2026/1/5 9:30`,
    `2026年1月5日 9时30分`; None when the text is neither."""
    text = normalise(text)
    match = _DATE.match(text)
    if not match:
        return None
    try:
        day = datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    rest = text[match.end():].lstrip(" T")
    if not rest:
        return datetime.datetime.combine(day, datetime.time(0)), False
    time_match = _TIME.fullmatch(rest)
    if not time_match:
        return None
    hour, minute, second = (int(part) if part else 0 for part in time_match.groups())
    try:
        moment = datetime.datetime.combine(day, datetime.time(hour, minute, second))
    except ValueError:
        return None
    return moment, moment.time() != datetime.time(0)


def parse_date(text: str | None) -> datetime.date | None:
    """One day: `2026-01-05`, `2026/1/5`, `2026.1.5`, `2026年1月5日`; a time of 00:00 (a spreadsheet's
    date cell) is allowed, any other time is not."""
    moment = parse_datetime(text)
    if moment is None or moment[1]:
        return None
    return moment[0].date()


def parse_month(text: str | None) -> datetime.date | None:
    """The first day of a month written `2026-03`, `2026/3`, `2026.3` or `2026年3月`."""
    match = _MONTH.fullmatch(normalise(text))
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not plausible_year(year) or not 1 <= month <= 12:
        return None
    return datetime.date(year, month, 1)


def parse_quarter(text: str | None) -> tuple[int, int] | None:
    """(year, quarter) of `2026Q1`, `2026q1` or `2026年第一季度`."""
    match = _QUARTER.fullmatch(normalise(text))
    if not match or not plausible_year(int(match[1])):
        return None
    number = match[2] or match[3]
    return int(match[1]), _QUARTER_WORDS.get(number) or int(number)


def quarter_choices(today: datetime.date, count: int = 12) -> list[tuple[str, str]]:
    """The quarter of `today` and the `count` - 1 before it, newest first: ("2026Q4", "2026年第4季度")."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    choices = []
    for _ in range(count):
        choices.append((f"{year}Q{quarter}", f"{year}年第{quarter}季度"))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return choices


def plausible_year(year: int) -> bool:
    """A month or quarter this system can hold: from the earliest plausible date to ten years ahead."""
    return EARLIEST_DATE.year <= year <= latest_date().year


def parse_deadline(text: str | None) -> datetime.date | None:
    """A deadline: a day is that day; `2024年12月`, `2024-12`, `2024年12月前`, `2024年12月底前` the last day of
    that month; `2024年底`, `2024年底前` the last day of the year."""
    text = re.sub(r"\s+", "", normalise(text))
    end = _BEFORE.search(text)
    core = text[: end.start()] if end else text
    if not core:
        return None
    if (day := parse_date(core)) is not None:
        return day
    if (month := parse_month(core)) is not None:
        return month.replace(day=calendar.monthrange(month.year, month.month)[1])
    if match := _YEAR.fullmatch(core):
        return datetime.date(int(match[1]), 12, 31) if int(match[1]) else None
    return None
