"""One reading of days, months, quarters and deadlines for every file, form, option and query."""

import datetime

import pytest

from governance.chinese_dates import (
    chinese_date,
    parse_date,
    parse_datetime,
    parse_deadline,
    parse_month,
    parse_quarter,
)

D = datetime.date


@pytest.mark.parametrize("text, expected", [
    ("2026-01-05", D(2026, 1, 5)), ("2026/1/5", D(2026, 1, 5)), ("2026.1.5", D(2026, 1, 5)),
    ("2026年1月5日", D(2026, 1, 5)), (" 2026 年 1 月 5 日 ", D(2026, 1, 5)), ("2026-01-05 00:00:00", D(2026, 1, 5)),
    ("２０２６－０１－０５", D(2026, 1, 5)), ("２０２６／１／５", D(2026, 1, 5)), ("２０２６年１月５日", D(2026, 1, 5)),
    ("2026-01-05 09:30", None), ("2026-02-30", None), ("2026-01", None), ("昨天", None), ("", None), (None, None),
])
def test_a_day_is_read_the_same_whether_its_digits_are_half_or_full_width(text, expected):
    assert parse_date(text) == expected


def test_a_moment_says_whether_a_time_of_day_was_given():
    assert parse_datetime("2026-01-03 09:30") == (datetime.datetime(2026, 1, 3, 9, 30), True)
    assert parse_datetime("２０２６年１月３日　９时３０分") == (datetime.datetime(2026, 1, 3, 9, 30), True)
    assert parse_datetime("2026-01-03") == (datetime.datetime(2026, 1, 3), False)
    assert parse_datetime("2026-01-03 25:00") is None


@pytest.mark.parametrize("text, expected", [
    ("2026-03", D(2026, 3, 1)), ("2026-3", D(2026, 3, 1)), ("2026/03", D(2026, 3, 1)), ("2026年3月", D(2026, 3, 1)),
    ("２０２６－０３", D(2026, 3, 1)), ("２０２６年３月", D(2026, 3, 1)),
    ("2026-13", None), ("2026-00", None), ("0000-01", None), ("2026-03-01", None), ("三月", None), ("", None),
])
def test_a_month_is_read_the_same_whether_its_digits_are_half_or_full_width(text, expected):
    assert parse_month(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("2026Q1", (2026, 1)), ("2026q4", (2026, 4)), ("2026 Q2", (2026, 2)), ("２０２６Ｑ３", (2026, 3)),
    ("2026年第一季度", (2026, 1)), ("２０２６年第４季度", (2026, 4)),
    ("2026Q5", None), ("2026Q0", None), ("Q1", None), ("0000Q1", None), ("", None),
])
def test_a_quarter_is_read_the_same_whether_its_digits_are_half_or_full_width(text, expected):
    assert parse_quarter(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("2024-12-31", D(2024, 12, 31)), ("2024年12月31日之前", D(2024, 12, 31)), ("2024年12月", D(2024, 12, 31)),
    ("2024年2月底前", D(2024, 2, 29)), ("2024年底前", D(2024, 12, 31)), ("２０２５／３／３１", D(2025, 3, 31)),
    ("２０２５年３月前", D(2025, 3, 31)), ("长期坚持", None), ("2024-02-30", None),
])
def test_a_deadline_is_the_end_of_the_period_it_names(text, expected):
    assert parse_deadline(text) == expected


def test_documents_print_a_day_with_arabic_numerals_and_no_padding():
    assert chinese_date(D(2025, 3, 8)) == "2025年3月8日"
    assert chinese_date(D(2026, 12, 31)) == "2026年12月31日"
    assert chinese_date(None) == ""
