"""Contradictions in a progress notice, caught before it is published.

`notice_warnings(plan, data)` lists them in Chinese for the draft's page; `refuse_contradictions`
raises them at 审定 (approval), so that a notice never says one thing and the items another:

- an item whose 下一步措施 names a date after its deadline, without a new deadline (新的整改时限);
- a placeholder contact (0000-0000000, 1111111, xxxx, ****, 待定 …);
- counts that disagree with the items: the notice's counts against rectification.states, and
  figures typed in the plan's own texts (整改工作组织情况, 下一步工作打算) such as "已整改5个".
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError

from governance.chinese_dates import chinese_date, parse_deadline

from . import states

_DATE_IN_TEXT = re.compile(r"\d{4}\s*(?:年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?(?:底|末)?|年底|[-/.]\d{1,2}(?:[-/.]\d{1,2})?)")
_PLACEHOLDER_WORDS = ("待定", "待补", "暂无", "无", "xxx", "***", "×××", "○○○", "〇〇〇")
# Figures typed in free text, and the state each one states.
_TYPED = [
    (re.compile(r"反馈(?:的)?(\d+)\s*(?:个|项|条)(?:问题)?"), "total", "巡察反馈问题"),
    (re.compile(r"已整改(?:完成)?(\d+)\s*(?:个|项|条)"), "done", "已整改"),
    (re.compile(r"正在整改(?:中)?(\d+)\s*(?:个|项|条)"), "in_progress", "正在整改中"),
    (re.compile(r"长期坚持(\d+)\s*(?:个|项|条)"), "ongoing", "长期坚持"),
    (re.compile(r"(?:尚)?未整改(\d+)\s*(?:个|项|条)"), "pending", "未整改"),
    (re.compile(r"已销号(\d+)\s*(?:个|项|条)"), "closed", "已销号"),
]
_COUNT_KEYS = {"problems": "total", "done": "done", "in_progress": "in_progress", "ongoing": "ongoing",
               "pending": "pending"}


def dates_in(text: str) -> list[datetime.date]:
    """The dates a sentence names ("2025年6月底前", "2025-06-30", "2025年12月"): the end of the period named."""
    found = []
    for match in _DATE_IN_TEXT.finditer(text or ""):
        day = parse_deadline(match.group(0))
        if day is not None:
            found.append(day)
    return found


def is_placeholder_contact(contact: str) -> bool:
    """A number whose digits are all one digit (0000-0000000, 1111111), or a placeholder word (待定, xxx …)."""
    text = (contact or "").strip()
    if not text:
        return False
    lowered = text.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS if len(word) > 1) or lowered in _PLACEHOLDER_WORDS:
        return True
    for number in re.findall(r"\d[\d\- ]{5,}\d", text):
        digits = re.sub(r"\D", "", number)
        if len(set(digits)) == 1:
            return True
    return False


def notice_warnings(plan, data: dict | None = None, *, today: datetime.date | None = None) -> list[str]:
    """The contradictions of the plan's notice (`data`: a built or frozen notice; None: counts not compared)."""
    items = list(plan.items.order_by("number"))
    warnings = []
    for item in items:
        if item.closed_at is not None or item.new_deadline is not None or item.deadline is None:
            continue
        late = [day for day in dates_in(item.next_steps) if day > item.deadline]
        if late:
            warnings.append(f"第{item.number}项的下一步措施写明{chinese_date(max(late))}，晚于整改时限{chinese_date(item.deadline)}，"
                            "但未填写新的整改时限。")
    if is_placeholder_contact(plan.contact):
        warnings.append(f"意见反馈联系方式“{plan.contact.strip()}”是占位内容，请填写真实联系方式。")
    figures = states.figures_of(items, today)
    if data is not None:
        counts = data.get("counts") or {}
        for key, figure in _COUNT_KEYS.items():
            actual = getattr(figures, figure)
            if key in counts and counts[key] != actual:
                warnings.append(f"通报中的计数与整改事项不一致：{states.LABELS.get(figure, '问题总数')}"
                                f"通报为 {counts[key]} 个，整改事项实为 {actual} 个。")
    for label, text in (("整改工作组织情况", plan.organisation_text), ("下一步工作打算", plan.next_plan)):
        for pattern, key, word in _TYPED:
            for match in pattern.finditer(text or ""):
                if int(match.group(1)) != getattr(figures, key):
                    warnings.append(f"{label}中写有“{match.group(0)}”，与整改事项不一致（{word}实为 "
                                    f"{getattr(figures, key)} 个）。")
    return warnings


def refuse_contradictions(plan, data: dict | None = None, *, today: datetime.date | None = None) -> None:
    """At 审定: the same warnings, as a refusal."""
    warnings = notice_warnings(plan, data, today=today)
    if warnings:
        # One message: the page joins a ValidationError's messages with "；" (never after the colon).
        raise ValidationError("通报存在矛盾，不能审定：" + "".join(warnings))
