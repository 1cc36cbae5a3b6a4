"""Contradictions in a progress notice, caught before it is published.

`contradictions(plan, data)` is the one place that decides what contradicts the items: the draft's
pages show its findings (each beside the text it is in) and `refuse_contradictions` raises the same
list at 审定 (approval), so that a notice never says one thing and the items another:

- an item whose 下一步措施 names a date after its deadline, without a new deadline (新的整改时限);
- a placeholder contact (0000-0000000, 1111111, xxxx, ****, 待定 …);
- counts that disagree with the items: the notice's counts against rectification.states; figures typed
  in the notice's texts 一 and 五 (and in the plan's own 整改工作组织情况, 下一步工作打算 where the notice
  does not print them) such as "已整改5个", or a claim that every problem is rectified while some are not;
  in 一 the meetings, rules and problems it counts and the plan's document number;
- an item's 整改情况 (二, and 四 for an unfinished item) that starts with another status word or
  reports done what is not (or not done what is); an unfinished item without its reason and next steps.
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
# Every problem said to be rectified already ("已全部整改完成", "均已整改到位"); a promise ("确保全部完成") is not.
_ALL_DONE = re.compile(r"已全部(?:整改|完成|销号)|均已(?:整改|完成|销号)|全部(?:问题)?(?:均|都)?已(?:整改|完成|销号)")
# An item's text that reports it done, or not done.
_DONE_WORDS = re.compile(r"已全部整改|已全部完成|已整改完毕|已整改到位|已完成整改|均已整改|均已完成")
_UNDONE_WORDS = re.compile(r"正在整改|尚未整改|未完成|推进中")
_COUNT_KEYS = {"problems": "total", "done": "done", "in_progress": "in_progress", "ongoing": "ongoing",
               "pending": "pending"}

# The key of a contradiction that is in no one text of the notice (an item's record, the contact, counts).
PLAN = ""
PART_LABELS = {"organisation": "一、组织落实整改情况", "next_plan": "五、下一步计划"}


def part_label(key: str) -> str:
    """Where a contradiction is, as the refusal names it: 一、…, 二、第3项问题的整改情况, 四、…."""
    if key in PART_LABELS:
        return PART_LABELS[key]
    kind, _, number = key.partition(":")
    return {"result": f"二、第{number}项问题的整改情况", "progress": f"四、第{number}项问题的整改情况",
            "reason": f"四、第{number}项问题的未完成整改原因及下一步措施"}.get(kind, key)


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


def _typed_figures(text: str, figures: states.Figures) -> list[str]:
    """Figures typed in a running text (一, 五) that the items contradict."""
    found = []
    for pattern, key, word in _TYPED:
        for match in pattern.finditer(text or ""):
            if int(match.group(1)) != getattr(figures, key):
                found.append(f"写有“{match.group(0)}”，与整改事项不一致（{word}实为 {getattr(figures, key)} 个）。")
    if figures.unfinished:
        for match in _ALL_DONE.finditer(text or ""):
            found.append(f"写有“{match.group(0)}”，但尚有 {figures.unfinished} 个问题未完成整改"
                         f"（正在整改中 {figures.in_progress} 个，未整改 {figures.pending} 个）。")
    return found


def _item_status(text: str, status: str, label: str) -> list[str]:
    """An item's 整改情况 against its status (the status word printed is always the item's)."""
    found = []
    for word in states.STATUS_WORDS:
        if text.startswith(word):
            if word != label:
                found.append(f"文字以“{word}”开头，事项状态为“{label}”（印出时以事项状态为准）。")
            break
    if status in states.UNFINISHED_STATUSES and _DONE_WORDS.search(text):
        found.append(f"文字称已完成整改，事项状态为“{label}”。")
    elif status in states.DONE_STATUSES and _UNDONE_WORDS.search(text):
        found.append(f"文字称尚未完成，事项状态为“{label}”。")
    return found


def _text_contradictions(data: dict, figures: states.Figures) -> dict[str, list[str]]:
    """The contradictions inside the notice's texts, by the key of the text (see notices.edit_fields)."""
    issues: dict[str, list[str]] = {}

    def flag(key, messages):
        if messages:
            issues.setdefault(key, []).extend(messages)

    for sec in data.get("sections") or []:
        for group in sec["groups"]:
            for item in group["items"]:
                flag(f"result:{item['number']}", _item_status(item.get("result", ""), item["status"], item["status_label"]))
    for item in data.get("unfinished") or []:
        flag(f"progress:{item['number']}", _item_status(item.get("progress", ""), item["status"], item["status_label"]))
        if "reason" in item and not item["reason"]:
            flag(f"reason:{item['number']}", ["未完成整改的事项须写明原因及下一步措施。"])

    texts = data.get("texts") or {}
    counts = data.get("counts") or {}
    organisation = texts.get("organisation", "")
    for pattern, key, what in ((r"召开[^。；]*?会议(\d+)次", "meetings", "登记的整改会议"),
                               (r"制度(\d+)项", "rules", "登记的建章立制"),
                               (r"(\d+)个问题", "problems", "巡察反馈问题")):
        if key not in counts:
            continue
        for match in re.finditer(pattern, organisation):
            if int(match.group(1)) != counts[key]:
                flag("organisation", [f"文中“{match.group(0)}”与{what}数（{counts[key]}）不一致。"])
    if data.get("document_number") and data["document_number"] not in organisation:
        flag("organisation", [f"未提及整改方案文号“{data['document_number']}”。"])
    for key in ("organisation", "next_plan"):
        flag(key, _typed_figures(texts.get(key, ""), figures))
    return issues


def contradictions(plan, data: dict | None = None, *, today: datetime.date | None = None) -> dict[str, list[str]]:
    """Every contradiction of the plan's notice, by where it is: the key of a text of the notice
    (organisation, result:N, progress:N, reason:N, next_plan — as notices.edit_fields names them), or
    PLAN for the plan's records, contact and counts. `data`: a built or frozen notice (None: the plan's
    records and texts only)."""
    items = list(plan.items.order_by("number"))
    figures = states.figures_of(items, today)
    issues: dict[str, list[str]] = {}
    on_plan = []
    for item in items:
        if item.closed_at is not None or item.new_deadline is not None or item.deadline is None:
            continue
        late = [day for day in dates_in(item.next_steps) if day > item.deadline]
        if late:
            on_plan.append(f"第{item.number}项的下一步措施写明{chinese_date(max(late))}，晚于整改时限{chinese_date(item.deadline)}，"
                           "但未填写新的整改时限。")
    if is_placeholder_contact(plan.contact):
        on_plan.append(f"意见反馈联系方式“{plan.contact.strip()}”是占位内容，请填写真实联系方式。")
    counts = (data or {}).get("counts") or {}
    for key, figure in _COUNT_KEYS.items():
        actual = getattr(figures, figure)
        if key in counts and counts[key] != actual:
            on_plan.append(f"通报中的计数与整改事项不一致：{states.LABELS.get(figure, '问题总数')}"
                           f"通报为 {counts[key]} 个，整改事项实为 {actual} 个。")
    # The plan's own texts, where the notice does not print them (a rewritten 一 or 五 replaces them).
    printed = (data or {}).get("texts") or {}
    for label, key, text in (("整改工作组织情况", "organisation", plan.organisation_text),
                             ("下一步工作打算", "next_plan", plan.next_plan)):
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if lines and not all(line in printed.get(key, "") for line in lines):
            on_plan.extend(f"整改方案的{label}中{message}" for message in _typed_figures(text, figures))
    if on_plan:
        issues[PLAN] = on_plan
    if data is not None:
        for key, messages in _text_contradictions(data, figures).items():
            issues.setdefault(key, []).extend(messages)
    return issues


def notice_warnings(plan, data: dict | None = None, *, today: datetime.date | None = None) -> list[str]:
    """The contradictions as one list of sentences, each naming the part of the notice it is in."""
    return [message if key == PLAN else f"{part_label(key)}：{message}"
            for key, messages in contradictions(plan, data, today=today).items() for message in messages]


def refuse_contradictions(plan, data: dict | None = None, *, today: datetime.date | None = None) -> None:
    """At 审定: the same list, as a refusal."""
    warnings = notice_warnings(plan, data, today=today)
    if warnings:
        # One message: the page joins a ValidationError's messages with "；" (never after the colon).
        raise ValidationError("通报存在矛盾，不能审定：" + "".join(warnings))
