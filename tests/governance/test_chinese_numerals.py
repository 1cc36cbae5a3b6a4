"""Parts of documents are numbered in Chinese numerals, correctly past ten, a hundred and a thousand."""

import pytest

from governance.chinese_numerals import chinese_ordinal


@pytest.mark.parametrize("number, text", [
    (1, "一"), (9, "九"), (10, "十"), (11, "十一"), (12, "十二"), (19, "十九"), (20, "二十"), (21, "二十一"),
    (99, "九十九"), (100, "一百"), (101, "一百零一"), (105, "一百零五"), (110, "一百一十"), (112, "一百一十二"),
    (120, "一百二十"), (999, "九百九十九"), (1000, "一千"), (1001, "一千零一"), (1010, "一千零一十"),
    (1100, "一千一百"), (2020, "二千零二十"), (3005, "三千零五"), (9999, "九千九百九十九"),
])
def test_a_number_reads_as_chinese_numerals(number, text):
    assert chinese_ordinal(number) == text


@pytest.mark.parametrize("number", [0, -1, 10000])
def test_a_number_outside_one_to_9999_is_refused(number):
    with pytest.raises(ValueError):
        chinese_ordinal(number)


def test_every_number_from_one_to_9999_has_its_own_reading():
    readings = {chinese_ordinal(number) for number in range(1, 10000)}
    assert len(readings) == 9999
