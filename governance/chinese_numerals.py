"""Whole numbers in Chinese numerals, as documents number their parts: 一, 十二, 一百零五, 九千九百九十九."""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"
UNITS = ("千", "百", "十", "")


def chinese_ordinal(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一, 100 → 一百, 105 → 一百零五, 110 → 一百一十,
    1001 → 一千零一, 9999 → 九千九百九十九. Defined for 1 to 9999 (ValueError otherwise)."""
    if not 1 <= number <= 9999:
        raise ValueError(f"chinese_ordinal: {number} is outside 1–9999")
    parts, zero_pending = [], False
    for digit, unit in zip(f"{number:04d}", UNITS, strict=True):
        value = int(digit)
        if value == 0:
            zero_pending = bool(parts)  # a zero between two spoken digits is read once: 一千零一
            continue
        if zero_pending:
            parts.append(DIGITS[0])
            zero_pending = False
        parts.append(DIGITS[value] + unit)
    text = "".join(parts)
    return text[1:] if 10 <= number < 20 else text  # 十二, not 一十二 (but 一百一十二)
