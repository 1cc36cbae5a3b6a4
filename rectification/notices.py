"""The rectification progress notice (整改进展情况通报): data, renderers and publication.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

import datetime
import io
import re
from collections import Counter, OrderedDict
from decimal import Decimal
from html.parser import HTMLParser

from celery import shared_task
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from governance import audit
from governance.chinese_dates import chinese_date
from governance.chinese_numerals import chinese_ordinal
from governance.docx_fonts import add_run
from governance.input_rules import LONG_TEXT_MAX, printable_tree, text_problem
from governance.pdf import html_to_pdf
from grid.models import Region, paths_from_root

from . import checks, states
from .models import (
    Accountability,
    NoticeTemplate,
    NumberingStyle,
    ProgressNotice,
    RectificationItem,
    RectificationPlan,
    with_chinese_placeholders,
)

Status = RectificationItem.Status
DONE_STATUSES = states.DONE_STATUSES
UNFINISHED_STATUSES = states.UNFINISHED_STATUSES
STATUS_LABELS = dict(Status.choices)

FORMATS = ("pdf", "html", "docx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
DRAFT_PERM = "rectification.add_progressnotice"
APPROVE_PERM = "rectification.approve_notice"


# ---------------------------------------------------------------- small text helpers


def _sentence(text: str) -> str:
    """Strip and end with a full stop (unless it already ends with a punctuation mark)."""
    text = (text or "").strip()
    if text and text[-1] not in "。！？；…”）)":
        text += "。"
    return text


def _money(amount: Decimal) -> str:
    """23000 → "23000", 1234.5 → "1234.50": whole yuan as notices print them, else to the fen."""
    amount = Decimal(amount).quantize(Decimal("0.01"))
    text = f"{amount:.2f}"
    return text[:-3] if text.endswith(".00") else text


def _has_branch(organisation) -> bool:
    """A village (or below) has a party branch (支部); a township or county a committee (党委)."""
    return getattr(getattr(organisation, "tier", None), "key", "") in ("village", "grid", "microgrid")


def committee_name(organisation) -> str:
    """中共太平镇委员会 for a township, 中共楼星村支部委员会 for a village."""
    if _has_branch(organisation):
        return f"中共{organisation.name}支部委员会"
    return f"中共{organisation.name}委员会"


def status_text(status: str, result: str) -> str:
    """整改情况 with its status word first: "已整改。……" (a status word the text already starts with is
    replaced by the item's actual status, so that the word is never doubled nor contradicted)."""
    label = STATUS_LABELS.get(status, "")
    body = (result or "").strip()
    for word in states.STATUS_WORDS:
        if body.startswith(word):
            body = body[len(word):].lstrip("。，,.：: ")
            break
    return f"{label}。{_sentence(body)}" if body else f"{label}。"


def numbered(style: str, index: int) -> str:
    """The label of the index-th entry in a numbering style: （一） 一、 1. 1． （1） ①."""
    if style == NumberingStyle.PAREN_CN:
        return f"（{chinese_ordinal(index)}）"
    if style == NumberingStyle.CN_COMMA:
        return f"{chinese_ordinal(index)}、"
    if style == NumberingStyle.ARABIC_FULLWIDTH:
        return f"{index}．"
    if style == NumberingStyle.PAREN_ARABIC:
        return f"（{index}）"
    if style == NumberingStyle.CIRCLED and index <= 20:
        return chr(0x2460 + index - 1)
    if style == NumberingStyle.CIRCLED:
        return f"（{index}）"
    return f"{index}."


def party_organisation(organisation) -> str:
    """太平镇党委 for a township, 楼星村党支部 for a village (as the opening names the inspected body)."""
    return f"{organisation.name}{'党支部' if _has_branch(organisation) else '党委'}"


def county_of(region) -> Region:
    """The county above a region in the region tree (the region itself if it is one; else the tree's root)."""
    if getattr(getattr(region, "tier", None), "key", "") == "county":
        return region
    ancestors = list(Region.objects.filter(path__in=paths_from_root(region.path)[:-1]).select_related("tier").order_by("path"))
    return next((r for r in reversed(ancestors) if r.tier.key == "county"), ancestors[0] if ancestors else region)


def current_template(county: Region) -> NoticeTemplate:
    """The county's latest template version, or the default template (unsaved, version 0)."""
    template = county.notice_templates.order_by("-version").first()
    return template or NoticeTemplate(county=county, version=0)


TEMPLATE_FIELDS = ["title", "opening", "heading_organisation", "heading_problems", "heading_handling", "heading_people",
                   "heading_petitions", "heading_unfinished", "heading_next", "category_numbering",
                   "subheading_numbering", "problem_numbering", "unfinished_numbering", "next_plan", "closing",
                   "measure_names", "level_names"]


def template_settings(template: NoticeTemplate) -> dict:
    """A template version as a plain dict (frozen with the notice's content)."""
    values = {name: getattr(template, name) for name in TEMPLATE_FIELDS}
    values["version"] = template.version or 0
    values["id"] = template.pk
    return values


# Placeholders a contact line may hold instead of a real contact.
_NO_CONTACT = re.compile(r"^[\s　]*(无|暂无|没有|略|待定|待补充|[-—－/／×xX〇○]+)?[\s　。.]*$")


def real_contact(text: str) -> str:
    """The contact as given, or "" when it is empty or a placeholder (无, —, ××…)."""
    text = (text or "").strip()
    return "" if _NO_CONTACT.match(text) else text


def deadline_wording(item: RectificationItem) -> str:
    """整改时限 as the plan wrote it ("2024年12月前"); a later decided new deadline wins; else the parsed date."""
    if item.new_deadline:
        return chinese_date(item.new_deadline)
    return item.deadline_text.strip() or chinese_date(item.deadline)


def _problem_name(title: str) -> str:
    """The problem's title for "关于巡察反馈第N点……问题。" (without a doubled 问题 or a full stop)."""
    title = title.strip().rstrip("。；;，,")
    return title[:-2] if title.endswith("问题") else title


def _level_groups(people, names: dict) -> list[dict]:
    """People by level, levels that share a name counted together, every named group printed (also 0)."""
    labels = dict(Accountability.Level.choices)
    # In the order of the levels, not of the stored names: PostgreSQL's jsonb keeps no key order.
    order: OrderedDict[str, int] = OrderedDict(
        (names[code], 0) for code in [*labels, *names] if names.get(code))
    for person in people:
        name = names.get(person.level) or labels.get(person.level, person.level)
        order[name] = order.get(name, 0) + 1
    return [{"label": name, "count": count} for name, count in order.items()]


def _measure_groups(people, names: dict) -> list[dict]:
    """People by measure in the order of the measures (jsonb keeps no key order) and the template's wording."""
    labels = dict(Accountability.Measure.choices)
    counts = Counter(p.measure for p in people)
    keys = [k for k in labels if counts.get(k)] + [k for k in names if counts.get(k) and k not in labels]
    return [{"key": k, "label": names.get(k) or labels.get(k, k), "count": counts[k]} for k in keys]


# ---------------------------------------------------------------- the data


def build_notice(plan: RectificationPlan, *, today: datetime.date | None = None, notice: ProgressNotice | None = None) -> dict:
    """Every section of the notice as a plain (JSON-ready) dict; all counts computed from the rows.

    The texts a committee may rewrite before approval (see `edit_fields`) are drafted from the rows and
    replaced by the version's edits; the headings, sentences and numbering come from the template
    version the notice was drafted with (the county's current one for a preview)."""
    plan = RectificationPlan.objects.select_related("organisation__tier").get(pk=plan.pk)
    today = today or timezone.localdate()
    edits = dict(notice.edits or {}) if notice else {}
    county = county_of(plan.organisation)
    if notice is None:  # a preview of what a new draft would print
        template = current_template(county)
    else:  # the version the draft was made with (none: the default template)
        template = notice.template or NoticeTemplate(county=county, version=0)
    t = template_settings(template)
    items = list(plan.items.order_by("number"))
    meetings = list(plan.meetings.all())
    measures = list(plan.measures.all())
    recoveries = list(plan.recoveries.all())
    people = list(plan.accountabilities.all())
    petitions = list(plan.petitions.all())
    committee = committee_name(plan.organisation)

    figures = states.figures_of(items, today)
    counts = {
        "problems": figures.total, "done": figures.done, "fully_done": figures.fully_done,
        "in_progress": figures.in_progress, "ongoing": figures.ongoing, "pending": figures.pending,
        "closed": figures.closed, "overdue": figures.overdue, "no_deadline": figures.no_deadline,
        "meetings": len(meetings),
        "rules": len(measures),
        "people": len(people),
        "petitions": len(petitions),
        "petitions_closed": sum(1 for p in petitions if p.closed_on),
        "money_total": _money(sum((r.amount for r in recoveries), Decimal(0))),
    }
    counts["petitions_open"] = counts["petitions"] - counts["petitions_closed"]

    # 二: items in number order under category → sub-heading (first appearance decides the order);
    # categories numbered （一）…, sub-headings 1. 2. … anew in each category, problems （1）…（N） throughout.
    grouped: OrderedDict[str, OrderedDict[str, list]] = OrderedDict()
    position = {item.number: index for index, item in enumerate(items, start=1)}  # （N） and 第N点 agree
    for index, item in enumerate(items, start=1):
        category = item.category.strip() or "其他方面的问题"
        drafted = item.result.strip()
        result = edits.get(f"result:{item.number}", drafted)
        grouped.setdefault(category, OrderedDict()).setdefault(item.subcategory.strip(), []).append({
            "number": item.number,
            "label": numbered(t["problem_numbering"], index),
            "title": item.title.strip().rstrip("。"),
            "status": item.status,
            "status_label": STATUS_LABELS.get(item.status, ""),
            "drafted": drafted,
            "result": result.strip(),
            "text": status_text(item.status, result),
        })
    section_list = []
    for index, (category, groups) in enumerate(grouped.items(), start=1):
        group_list, sub = [], 0
        for heading, rows in groups.items():
            sub += bool(heading)
            group_list.append({"label": numbered(t["subheading_numbering"], sub) if heading else "",
                               "heading": heading, "items": rows})
        section_list.append({
            "label": numbered(t["category_numbering"], index), "title": category, "groups": group_list,
            "count": sum(len(g["items"]) for g in group_list),
        })

    # 三: accountability, petitions, money.
    accountability = {
        "by_measure": _measure_groups(people, t["measure_names"] or {}),
        "by_level": _level_groups(people, t["level_names"] or {}),
        "recoveries": [{"source": r.source, "amount": _money(r.amount)} for r in recoveries],
    }

    # 四: items not yet finished, each with its progress, reason and next steps, and deadline as written.
    unfinished = []
    for index, item in enumerate((i for i in items if i.status in UNFINISHED_STATUSES), start=1):
        drafted_progress = item.result.strip()
        drafted_reason = "".join(_sentence(text) for text in (item.unfinished_reason, item.next_steps) if text.strip())
        progress = edits.get(f"progress:{item.number}", drafted_progress).strip()
        reason = edits.get(f"reason:{item.number}", drafted_reason).strip()
        unfinished.append({
            "number": item.number,
            "label": numbered(t["unfinished_numbering"], index),
            "title": item.title.strip().rstrip("。"),
            "heading": f"关于巡察反馈第{position[item.number]}点{_problem_name(item.title)}问题。",
            "status": item.status,
            "status_label": STATUS_LABELS.get(item.status, ""),
            "drafted_progress": drafted_progress, "progress": progress,
            "progress_text": status_text(item.status, progress),
            "drafted_reason": drafted_reason, "reason": reason,
            "deadline": deadline_wording(item),
        })

    organisation_drafted = "\n".join(_organisation_paragraphs(plan, committee, meetings, measures, counts))
    next_drafted = plan.next_plan.strip() or t["next_plan"]
    signed_on = (notice.signed_on if notice and notice.signed_on else None) or today
    data = {
        "plan_id": plan.pk,
        "version": notice.version if notice else None,
        "template": t,
        "county": county.name,
        "committee": committee,
        "organisation": plan.organisation.name,
        "party_organisation": party_organisation(plan.organisation),
        "group_name": plan.group_name,
        "inspected_from": chinese_date(plan.inspected_from),
        "inspected_to": chinese_date(plan.inspected_to),
        "feedback_on": chinese_date(plan.feedback_on),
        "document_title": plan.document_title.strip().strip("《》"),
        "document_number": plan.document_number.strip(),
        "counts": counts,
        "sections": section_list,
        "accountability": accountability,
        "unfinished": unfinished,
        "texts": {
            "organisation": edits.get("organisation", organisation_drafted).strip(),
            "next_plan": edits.get("next_plan", next_drafted).strip(),
        },
        "drafted": {"organisation": organisation_drafted, "next_plan": next_drafted},
        "edits": edits,
        "contact": real_contact(plan.contact),
        "signed_by": (notice.signed_by if notice and notice.signed_by else "") or committee,
        "signed_on": signed_on.isoformat(),
        "date_label": chinese_date(signed_on),
    }
    data["title"] = notice.title if notice and notice.title else _fill(t["title"], data)
    data["paragraphs"] = paragraphs(data)
    data["blocks"] = layout(data)
    return data


def _organisation_paragraphs(plan, committee, meetings, measures, counts) -> list[str]:
    """Section 一 as drafted from the rows: meetings, the plan document and its number, rules made."""
    first = f"收到巡察反馈意见后，{committee}把巡察整改作为一项重要政治任务"
    if plan.first_responsible:
        first += f"，{plan.first_responsible}切实履行第一责任人职责"
    first += "，对巡察反馈问题照单全收、逐条整改。"
    if meetings:
        held = "；".join(f"{chinese_date(m.held_on)}召开{m.kind}，{m.topic.strip().rstrip('。')}" for m in meetings)
        first += f"先后召开会议{counts['meetings']}次：{held}。"
    document_title = plan.document_title.strip().strip("《》")
    if document_title:
        number = f"（{plan.document_number.strip()}）" if plan.document_number.strip() else ""
        first += f"制定印发《{document_title}》{number}，逐项明确责任领导、责任单位、整改措施和整改时限。"
    if measures:
        names = "".join(f"《{m.name.strip().strip('《》')}》" for m in measures)
        first += f"坚持标本兼治，建立完善{names}等制度{counts['rules']}项。"
    return [first] + [p.strip() for p in plan.organisation_text.splitlines() if p.strip()]


def _fill(pattern: str, data: dict) -> str:
    """A template sentence with its placeholders filled; a missing date leaves no stray words behind."""
    values = {
        "县委": f"{data['county']}委", "巡察组": data["group_name"] or "县委巡察组",
        "进驻日期": data["inspected_from"], "撤离日期": data["inspected_to"],
        "反馈日期": data["feedback_on"], "被巡察党组织": data["party_organisation"],
        "党委全称": data["committee"],
    }
    text = with_chinese_placeholders(pattern).format_map(values)
    text = re.sub(r"(?<=[，。])至，|^至，", "", text)  # no inspection dates
    return text.replace("并于反馈了", "并反馈了")  # no feedback date


def paragraphs(data: dict) -> dict:
    """The running text of each section, written once here for HTML, PDF and DOCX alike."""
    c = data["counts"]
    t = data["template"]
    summary = f"巡察反馈的{c['problems']}个问题中，已整改{c['done']}个"
    if c["in_progress"]:
        summary += f"，正在整改中{c['in_progress']}个"
    if c["ongoing"]:
        summary += f"，需长期坚持{c['ongoing']}个"
    if c["pending"]:
        summary += f"，尚未整改{c['pending']}个"
    summary += "。具体情况如下：" if c["problems"] else "。"

    acc = data["accountability"]
    if c["people"]:
        levels = "、".join(f"{lv['label']}{lv['count']}人" for lv in acc["by_level"])
        measures = "、".join(f"{m['label']}{m['count']}人" for m in acc["by_measure"])
        people = f"针对巡察反馈问题，共处理{c['people']}人。其中，{levels}；{measures}。"
    else:
        people = "截至目前，巡察整改中未有人员被处理。"
    if c["petitions"]:
        petitions = f"巡察组转办信访件{c['petitions']}件，已办结{c['petitions_closed']}件"
        petitions += f"，正在办理{c['petitions_open']}件。" if c["petitions_open"] else "，全部办结。"
    else:
        petitions = "巡察期间未转办信访件。"
    if acc["recoveries"]:
        parts = "、".join(f"{r['source']}{r['amount']}元" for r in acc["recoveries"])
        petitions += f"追回资金{c['money_total']}元，其中{parts}。"

    unfinished = (f"截至目前，尚有{len(data['unfinished'])}个问题未完成整改，具体情况如下："
                  if data["unfinished"] else "截至目前，巡察反馈问题均已整改或转入长期坚持。")
    contact = f"{t['closing'].strip()}联系方式：{_sentence(data['contact'])}" if data["contact"] else ""
    return {
        "opening": _fill(t["opening"], data),
        "organisation": [p.strip() for p in data["texts"]["organisation"].splitlines() if p.strip()],
        "summary": summary, "people": people, "petitions": petitions, "unfinished": unfinished,
        "next_plan": [p.strip() for p in data["texts"]["next_plan"].splitlines() if p.strip()],
        "contact": contact,
    }


def layout(data: dict) -> list[dict]:
    """The notice as a list of blocks — style (title, h1 一、 黑体, h2 （一） 楷体, h3 1. 仿宋加粗, p, sign)
    and text — that HTML, PDF and DOCX all print in the same order."""
    t, p = data["template"], data["paragraphs"]
    title = data["title"]
    # Broken as published titles are: the issuing committee on the first line, "关于……的通报" on the next.
    cut = title.find("关于")
    lines = [title[:cut], title[cut:]] if 0 < cut and len(title) > 18 else [title]
    blocks = [{"style": "title", "text": title, "lines": lines}, {"style": "p", "text": p["opening"]}]

    def add(style, text):
        if text:
            blocks.append({"style": style, "text": text})

    add("h1", f"一、{t['heading_organisation']}")
    for text in p["organisation"]:
        add("p", text)
    add("h1", f"二、{t['heading_problems']}")
    add("p", p["summary"])
    for sec in data["sections"]:
        add("h2", f"{sec['label']}{sec['title']}")
        for group in sec["groups"]:
            if group["heading"]:
                add("h3", f"{group['label']}{group['heading']}")
            for item in group["items"]:
                add("p", f"{item['label']}{item['title']}。整改情况：{item['text']}")
    add("h1", f"三、{t['heading_handling']}")
    add("h2", f"（一）{t['heading_people']}")
    add("p", p["people"])
    add("h2", f"（二）{t['heading_petitions']}")
    add("p", p["petitions"])
    add("h1", f"四、{t['heading_unfinished']}")
    add("p", p["unfinished"])
    for item in data["unfinished"]:
        add("h3", f"{item['label']}{item['heading']}")
        add("p", f"整改情况：{item['progress_text']}")
        if item["reason"]:
            add("p", f"未完成整改的原因及下一步措施：{_sentence(item['reason'])}")
        if item["deadline"]:
            add("p", f"整改时限：{item['deadline']}。")
    add("h1", f"五、{t['heading_next']}")
    for text in p["next_plan"]:
        add("p", text)
    add("p", p["contact"])
    add("sign", data["signed_by"])
    add("date", data["date_label"])
    return blocks


# ---------------------------------------------------------------- editing a draft


SECTION_LABELS = checks.PART_LABELS
MAX_EDIT_LENGTH = LONG_TEXT_MAX


def edit_fields(data: dict, issues: dict[str, list[str]] | None = None) -> list[dict]:
    """The texts of a draft a committee may rewrite, in the notice's order, each with its drafted text,
    its current text and `issues` found in it (checks.contradictions, by key); none for a version
    frozen before its texts could be edited."""
    if "texts" not in data:
        return []
    issues = issues or {}
    drafted = data.get("drafted", {})
    edits = data.get("edits", {})
    fields = [{"key": "organisation", "label": SECTION_LABELS["organisation"], "text": data["texts"]["organisation"],
               "drafted": drafted.get("organisation", "")}]
    for sec in data["sections"]:
        for group in sec["groups"]:
            for item in group["items"]:
                fields.append({"key": f"result:{item['number']}", "text": item["result"], "drafted": item.get("drafted", ""),
                               "label": f"二、{item['label']}{item['title']}（{item['status_label']}）— 整改情况"})
    for item in data["unfinished"]:
        fields.append({"key": f"progress:{item['number']}", "text": item["progress"],
                       "drafted": item.get("drafted_progress", ""),
                       "label": f"四、{item['label']}第{item['number']}点 — 整改情况"})
        fields.append({"key": f"reason:{item['number']}", "text": item["reason"], "drafted": item.get("drafted_reason", ""),
                       "label": f"四、{item['label']}第{item['number']}点 — 未完成整改的原因及下一步措施"})
    fields.append({"key": "next_plan", "label": SECTION_LABELS["next_plan"], "text": data["texts"]["next_plan"],
                   "drafted": drafted.get("next_plan", "")})
    for field in fields:
        field["edited"] = field["key"] in edits
        field["issues"] = issues.get(field["key"], [])
    return fields


def unprinted_edits(data: dict) -> list[str]:
    """Edits kept for texts the notice no longer prints (the item left the plan, or is no longer
    unfinished): not a contradiction, but the committee should know they will not appear."""
    numbers = {item["number"] for sec in data.get("sections", []) for g in sec["groups"] for item in g["items"]}
    unfinished = {item["number"] for item in data.get("unfinished", [])}
    notes = []
    for key in data.get("edits", {}):
        kind, _, number = key.partition(":")
        if not number.isdigit():
            continue
        if int(number) not in numbers:
            notes.append(f"第{number}项问题已不在整改方案中，对它的修改不会印出。")
        elif kind in ("progress", "reason") and int(number) not in unfinished:
            notes.append(f"第{number}项问题已不属未完成事项，对它第四部分文字的修改不会印出。")
    return notes


def _edit_key_ok(key: str) -> bool:
    if key in SECTION_LABELS:
        return True
    kind, _, number = key.partition(":")
    return kind in ("result", "progress", "reason") and number.isdigit()


def edit_sections(notice: ProgressNotice, changes: dict[str, str], *, by) -> ProgressNotice:
    """Rewrite texts of a draft (key → text; an empty text or the drafted one restores the drafted text).
    A text the input rules refuse (a control character, too long) refuses the whole change, by key.

    Only a draft is edited: an approved text is the committee's and a published one is frozen — a
    correction is a new version. The changed texts are audited (before/after)."""
    if not by.has_perm(DRAFT_PERM, notice.plan):
        raise PermissionDenied("只有本级党委可以修改整改进展情况通报。")
    bad = [key for key in changes if not _edit_key_ok(key)]
    if bad:
        raise ValidationError(f"无法修改：未知的部分 {'、'.join(bad)}。")
    # The project's rules for typed text (governance.input_rules), as every form applies them: the
    # texts are printed in HTML, PDF and Word, none of which may carry a control character.
    changes = {key: (text or "").replace("\r\n", "\n").strip() for key, text in changes.items()}
    problems = {key: [f"{checks.part_label(key)}：{problem}"] for key, text in changes.items()
                if (problem := text_problem(text, long_text=True, max_length=MAX_EDIT_LENGTH))}
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        notice = ProgressNotice.objects.select_for_update(of=("self",)).select_related("plan", "template").get(pk=notice.pk)
        if notice.state != ProgressNotice.State.DRAFT:
            raise ValidationError(f"第{notice.version}版通报{notice.get_state_display()}，不能再修改；更正请起草新版本。")
        data = build_notice(notice.plan, notice=notice)
        drafted = {field["key"]: field["drafted"] for field in edit_fields(data)}
        missing = [key for key in changes if key not in drafted]
        if missing:
            raise ValidationError(f"无法修改：通报中没有这些部分（{'、'.join(missing)}），请刷新页面后重试。")
        edits = dict(notice.edits or {})
        before, after = {}, {}
        for key, text in changes.items():
            new = text if text and text != drafted[key].strip() else None
            if edits.get(key) == new:
                continue
            before[key], after[key] = edits.get(key), new
            if new is None:
                edits.pop(key, None)
            else:
                edits[key] = new
        if after:
            notice.edits = edits
            notice.save(update_fields=["edits"])
            audit.record("progress_notice.edit", actor=by, obj=notice, before=before, after=after)
    return notice


# ---------------------------------------------------------------- renderers


def render_html(data: dict) -> str:
    """A standalone HTML page (also the public page); it is the source of the PDF."""
    return render_to_string("documents/progress_notice.html", {"data": data, "blocks": data["blocks"]})


def render_pdf(data: dict, *, html: str | None = None, laid_out=None) -> bytes:
    """A4 PDF after GB/T 9704 with the Noto CJK fonts embedded (subset; never full_fonts)."""
    return html_to_pdf(html if html is not None else render_html(data), laid_out=laid_out)


# Word style of each block: font family, size (pt), bold, first-line indent, alignment.
_DOCX_STYLES = {
    "title": ("方正小标宋简体", 22, False, False, "center"),
    "h1": ("黑体", 16, False, True, None),
    "h2": ("楷体_GB2312", 16, False, True, None),
    "h3": ("仿宋_GB2312", 16, True, True, None),
    "p": ("仿宋_GB2312", 16, False, True, None),
    "sign": ("仿宋_GB2312", 16, False, False, "right"),
    "date": ("仿宋_GB2312", 16, False, False, "right"),
}


def _width(text: str) -> float:
    """Width in em of a line of the body font: ASCII half width, the rest full width."""
    return sum(0.5 if ord(ch) < 128 else 1.0 for ch in text)


def render_docx(data: dict) -> bytes:
    """The same notice as a Word document: 小标宋 title, 黑体/楷体 headings, 仿宋 body, A4, page numbers."""
    data = printable_tree(data)
    # Deferred: python-docx is loaded only where a Word file is written
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    aligns = {"center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}

    for block in data["blocks"]:
        family, size, bold, indent, align = _DOCX_STYLES.get(block["style"], _DOCX_STYLES["p"])
        if block["style"] == "sign":
            document.add_paragraph().paragraph_format.line_spacing = Pt(28)
        paragraph = document.add_paragraph()
        fmt = paragraph.paragraph_format
        fmt.line_spacing = Pt(35 if block["style"] == "title" else 28)
        fmt.space_after = Pt(28 if block["style"] == "title" else 0)
        fmt.widow_control = True
        if block["style"] in ("h1", "h2", "h3"):
            fmt.keep_with_next = True
        if indent:
            fmt.first_line_indent = Pt(size * 2)
        if align:
            paragraph.alignment = aligns[align]
        if block["style"] == "date":  # GB/T 9704: the date 4 characters in from the right edge
            fmt.right_indent = Pt(size * 4)
        elif block["style"] == "sign":  # the signing organ centred over the date
            fmt.right_indent = Pt(size * max(0.0, 4 + (_width(data["date_label"]) - _width(block["text"])) / 2))
        for index, line in enumerate(block.get("lines") or [block["text"]]):
            run = add_run(paragraph, line, family=family, size=size, bold=bold)
            if index < len(block.get("lines") or []) - 1:
                run.add_break()

    # Page number "— 1 —" in the footer.
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_run(footer, "— ", family="宋体", size=14)
    run = add_run(footer, "", family="宋体", size=14)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    add_run(footer, " —", family="宋体", size=14)

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render(data: dict, fmt: str) -> bytes:
    if fmt == "pdf":
        return render_pdf(data)
    if fmt == "docx":
        return render_docx(data)
    if fmt == "html":
        return render_html(data).encode("utf-8")
    raise ValueError(f"不支持的格式：{fmt}")


def filename(data: dict, fmt: str) -> str:
    version = f"（第{data['version']}版）" if data.get("version") else ""
    return f"{data['title']}{version}.{fmt}"


# ---------------------------------------------------------------- versions and publication


def notice_data(notice: ProgressNotice) -> dict:
    """The frozen content of a published (or approved) version, else the live data of its plan."""
    if notice.content and "blocks" in notice.content:
        return notice.content
    if notice.content and notice.html:  # frozen before the notice was laid out in blocks: read its HTML
        return {**notice.content, "blocks": blocks_from_html(notice.html)}
    return build_notice(notice.plan, notice=notice)


class _Blocks(HTMLParser):
    _STYLES = {"h1": "title", "h2": "h1", "h3": "h2", "h4": "h3", "p": "p"}

    def __init__(self):
        super().__init__()
        self.blocks: list[dict] = []
        self._style = None

    def handle_starttag(self, tag, attrs):
        if tag in self._STYLES:
            self._style = self._STYLES[tag]
            self.blocks.append({"style": self._style, "text": ""})

    def handle_endtag(self, tag):
        if tag in self._STYLES:
            self._style = None

    def handle_data(self, data):
        if self._style:
            self.blocks[-1]["text"] += data.strip()


def blocks_from_html(html: str) -> list[dict]:
    """The blocks of a notice published as HTML only (title, headings, paragraphs in order)."""
    parser = _Blocks()
    parser.feed(html)
    return [b for b in parser.blocks if b["text"]]


def missing_results(data: dict) -> list[int]:
    """Numbers of the items that lack a status or a 整改情况 text."""
    return [item["number"] for sec in data["sections"] for g in sec["groups"] for item in g["items"]
            if not item["status_label"] or not item["result"]]


def _check_complete(data: dict) -> None:
    missing = missing_results(data)
    if missing:
        numbers = "、".join(str(n) for n in missing)
        raise ValidationError(f"第 {numbers} 项问题缺少整改状态或整改情况，不能审定或公开通报。请补充后再试。")


def create_draft(plan: RectificationPlan, *, by) -> ProgressNotice:
    """A new version of the plan's notice, as a draft (the first one, or a correction of a published one)."""
    if not by.has_perm(DRAFT_PERM, plan):
        raise PermissionDenied("只有本级党委可以起草整改进展情况通报。")
    with transaction.atomic():
        RectificationPlan.objects.select_for_update().filter(pk=plan.pk).first()
        open_version = plan.notices.exclude(state=ProgressNotice.State.PUBLISHED).order_by("-version").first()
        if open_version is not None:
            raise ValidationError(f"第{open_version.version}版通报尚未公开（{open_version.get_state_display()}），"
                                  "请先处理该版本。")
        version = (plan.notices.aggregate(v=Max("version"))["v"] or 0) + 1
        template = current_template(county_of(plan.organisation))
        previous = plan.notices.order_by("-version").first()
        # A correction starts from the texts of the version it corrects.
        notice = ProgressNotice.objects.create(
            plan=plan, version=version, state=ProgressNotice.State.DRAFT, title="",
            signed_by=committee_name(plan.organisation), created_by=by, template=template if template.pk else None,
            edits=dict(previous.edits or {}) if previous else {},
        )
        notice.title = build_notice(plan, notice=notice)["title"]
        notice.save(update_fields=["title"])
        audit.record("progress_notice.draft", actor=by, obj=notice,
                     after={"plan": plan.pk, "version": version, "template": template.version or 0})
    return notice


_DRAFT_ONLY = ("drafted", "drafted_progress", "drafted_reason")


def frozen(data: dict) -> dict:
    """The content kept with an approved version: what the notice prints, without the texts the
    committee replaced (those stay in the audit trail, not in the public content)."""
    data = {key: value for key, value in data.items() if key not in ("drafted", "edits")}
    data["sections"] = [{**sec, "groups": [{**g, "items": [{k: v for k, v in item.items() if k not in _DRAFT_ONLY}
                                                             for item in g["items"]]} for g in sec["groups"]]}
                        for sec in data["sections"]]
    data["unfinished"] = [{k: v for k, v in item.items() if k not in _DRAFT_ONLY} for item in data["unfinished"]]
    return data


def approve(notice: ProgressNotice, *, by) -> ProgressNotice:
    """The committee approves a draft (审定): its text is then fixed for publication."""
    if not by.has_perm(APPROVE_PERM, notice.plan):
        raise PermissionDenied("只有本级党委可以审定整改进展情况通报。")
    with transaction.atomic():
        notice = ProgressNotice.objects.select_for_update().get(pk=notice.pk)
        if notice.state != ProgressNotice.State.DRAFT:
            raise ValidationError(f"第{notice.version}版通报{notice.get_state_display()}，不能再审定。")
        now = timezone.now()
        notice.signed_on = notice.signed_on or timezone.localdate(now)
        data = build_notice(notice.plan, notice=notice)
        _check_complete(data)
        checks.refuse_contradictions(notice.plan, data)
        data = frozen(data)
        notice.content = data
        notice.state = ProgressNotice.State.APPROVED
        notice.approved_by, notice.approved_at = by, now
        notice.save(update_fields=["signed_on", "content", "state", "approved_by", "approved_at"])
        audit.record("progress_notice.approve", actor=by, obj=notice,
                     after={"version": notice.version, "counts": data["counts"]})
    return notice


def publish(notice: ProgressNotice, *, by) -> ProgressNotice:
    """Publish an approved version: content and HTML frozen (the PDF follows, laid out from that HTML after the
    commit); published_at set. Audited."""
    if not by.has_perm(APPROVE_PERM, notice.plan):
        raise PermissionDenied("只有本级党委可以公开整改进展情况通报。")
    with transaction.atomic():
        notice = ProgressNotice.objects.select_for_update().get(pk=notice.pk)
        if notice.state == ProgressNotice.State.PUBLISHED:
            raise ValidationError(f"第{notice.version}版通报已经公开；更正请起草新版本。")
        if notice.state != ProgressNotice.State.APPROVED:
            raise ValidationError(f"第{notice.version}版通报尚未审定，不能公开。")
        # The plan's items as they stand must still be complete; the text is the approved one.
        _check_complete(build_notice(notice.plan, notice=notice))
        data = notice.content or build_notice(notice.plan, notice=notice)
        _check_complete(data)
        notice.content, notice.html = data, render_html(data)
        notice.state = ProgressNotice.State.PUBLISHED
        notice.published_at = timezone.now()
        notice.save(update_fields=["content", "html", "state", "published_at"])
        audit.record("progress_notice.publish", actor=by, obj=notice,
                     after={"version": notice.version, "counts": data["counts"]})
        # The frozen PDF is laid out after the commit, in the background (it takes seconds); until it is
        # stored, the public PDF address renders the same frozen text on the fly.
        notice_id = notice.pk
        transaction.on_commit(lambda: write_published_pdf_task.delay(notice_id))
    return notice


def write_published_pdf(notice_id: int) -> int:
    """Store the PDF of a published version, laid out from its frozen HTML; once only. Returns its size."""
    notice = ProgressNotice.objects.filter(pk=notice_id, state=ProgressNotice.State.PUBLISHED).first()
    if notice is None or notice.pdf:
        return 0
    pdf = render_pdf(notice.content, html=notice.html)
    with transaction.atomic():
        notice = ProgressNotice.objects.select_for_update().get(pk=notice_id)
        if notice.pdf:
            return 0
        notice.pdf.save(f"notice-{notice.plan_id}-v{notice.version}.pdf", ContentFile(pdf), save=False)
        notice.save(update_fields=["pdf"])
    return len(pdf)


@shared_task(name="rectification.tasks.write_published_notice_pdf", ignore_result=True, runs_in_background=True)
def write_published_pdf_task(notice_id: int) -> int:
    return write_published_pdf(notice_id)


def published_notices():
    return ProgressNotice.objects.filter(state=ProgressNotice.State.PUBLISHED, published_at__isnull=False)


# ---------------------------------------------------------------- the county's template

TEMPLATE_PERM = "rectification.add_noticetemplate"


def save_template(county: Region, values: dict, *, by) -> NoticeTemplate:
    """Save a county's template as its next version (a saved version never changes: a notice drafted
    with it keeps it). Fields not given keep the current version's value. Audited with the changes."""
    if not by.has_perm(TEMPLATE_PERM, county):
        raise PermissionDenied("只有县委巡察办可以修改本县的通报模板。")
    unknown = sorted(set(values) - set(TEMPLATE_FIELDS))
    if unknown:
        raise ValidationError(f"通报模板没有这些项：{'、'.join(unknown)}。")
    with transaction.atomic():
        Region.objects.select_for_update().filter(pk=county.pk).first()
        current = current_template(county)
        template = NoticeTemplate(county=county, created_by=by,
                                  **{name: values.get(name, getattr(current, name)) for name in TEMPLATE_FIELDS})
        template.version = current.version + 1
        template.full_clean(exclude=["created_by"])
        before, after = changed_fields(current, template)
        if not after:
            raise ValidationError("模板没有修改。")
        template.save()
        audit.record("notice_template.save", actor=by, obj=template, before=before, after=after)
    return template


def changed_fields(old: NoticeTemplate, new: NoticeTemplate) -> tuple[dict, dict]:
    before = {n: getattr(old, n) for n in TEMPLATE_FIELDS if getattr(old, n) != getattr(new, n)}
    return before, {n: getattr(new, n) for n in before}
