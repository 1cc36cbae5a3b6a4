"""Dates and numbers the way Chinese official pages write them.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone

from governance.chinese_dates import chinese_date

register = template.Library()

_EMPTY = "—"


def _local(value, zone: datetime.tzinfo | None = None):
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value, zone)
    return value


@register.filter
def minute(value, zone: datetime.tzinfo | None = None) -> str:
    """What `value|date:"Y-m-d H:i"` prints, for the lists that print it on every row, at a small part of
    the cost (the date filter looks its format up through the language's format modules on each call).

    Code writing many rows passes the current time zone, read once (`timezone.get_current_timezone()`):
    reading it is a context-local lookup that cost more than the formatting itself."""
    if isinstance(value, datetime.datetime):
        value = _local(value, zone)
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"
    return date_filter(value, "Y-m-d H:i")


@register.filter
def day(value, zone: datetime.tzinfo | None = None) -> str:
    """What `value|date:"Y-m-d"` prints ("" for no date), for the lists that print it on every row."""
    if isinstance(value, datetime.date):
        value = _local(value, zone)
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return date_filter(value, "Y-m-d")


@register.filter
def zh_date(value) -> str:
    value = _local(value)
    if not isinstance(value, datetime.date):
        return _EMPTY
    return chinese_date(value)


@register.filter
def zh_datetime(value) -> str:
    value = _local(value)
    if not isinstance(value, datetime.datetime):
        return zh_date(value)
    return f"{chinese_date(value)} {value:%H:%M}"


@register.filter
def zh_month(value) -> str:
    value = _local(value)
    if not isinstance(value, datetime.date):
        return _EMPTY
    return f"{value.year}年{value.month}月"


@register.filter
def zh_short(value) -> str:
    """A recent moment: 今天/昨天 HH:MM, this year's as M月D日 HH:MM, older ones with the year."""
    value = _local(value)
    if not isinstance(value, datetime.datetime):
        return zh_date(value)
    today = timezone.localdate()
    day = value.date()
    if day == today:
        return f"今天 {value:%H:%M}"
    if day == today - datetime.timedelta(days=1):
        return f"昨天 {value:%H:%M}"
    if day.year == today.year:
        return f"{day.month}月{day.day}日 {value:%H:%M}"
    return zh_datetime(value)


def _number(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _trim(number: Decimal, places: int) -> str:
    text = f"{number:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def zh_count(value) -> str:
    """12,345 → 1.23万; 123,456,789 → 1.23亿; below 10,000: 9,876 (thousands separators)."""
    if type(value) is int and -10_000 < value < 10_000:  # the usual count, without the Decimal round trip
        return f"{value:,}"
    number = _number(value)
    if number is None:
        return _EMPTY
    sign = "-" if number < 0 else ""
    number = abs(number)
    if number >= 100_000_000:
        return f"{sign}{_trim(number / 100_000_000, 2)}亿"
    if number >= 10_000:
        return f"{sign}{_trim(number / 10_000, 2)}万"
    return f"{sign}{_trim(number, 2)}"


@register.filter
def zh_score(value) -> str:
    """A score or points without needless decimals: 60.00 → 60, 2.50 → 2.5, -2.00 → -2; None → —."""
    number = _number(value)
    if number is None:
        return _EMPTY
    text = f"{number:.2f}"
    return text.rstrip("0").rstrip(".")


@register.filter
def zh_percent(value, places: int = 1) -> str:
    """A ratio (0.875) as a percentage (87.5%); None or an invalid value as —."""
    number = _number(value)
    if number is None:
        return _EMPTY
    return f"{_trim(number * 100, int(places))}%"


@register.filter
def zh_until(value) -> str:
    """Time left to a deadline (剩 5 小时, 剩 2 天) or past it (已超期 3 小时)."""
    if not isinstance(value, datetime.datetime):
        return _EMPTY
    seconds = (value - timezone.now()).total_seconds()
    late = seconds < 0
    seconds = abs(seconds)
    if seconds < 3600:
        amount = f"{max(1, int(seconds // 60))} 分钟"
    elif seconds < 48 * 3600:
        amount = f"{int(seconds // 3600)} 小时"
    else:
        amount = f"{int(seconds // 86400)} 天"
    return f"已超期 {amount}" if late else f"剩 {amount}"
