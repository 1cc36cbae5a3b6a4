"""The rectification progress notice (整改进展情况通报, DESIGN.md §5): data, renderers and publication.

`build_notice(plan)` gathers every section into a plain dict; every count in the text is computed from
the plan's rows, never typed. `render_html` / `render_pdf` / `render_docx` write it out (the PDF after
GB/T 9704: A4, 37/35/28/26 mm margins, a song-style title, a fang-song-style body where the machine has
one — else Noto Serif CJK —, page numbers "— 1 —", fonts embedded as subsets).

A notice is a numbered version of a plan's notice: draft → approved (committee, approve_notice) →
published. Publishing freezes the content, the HTML and the PDF; a correction is a new version and the
old published versions stay readable. Every step is audited.
"""

from __future__ import annotations

import datetime
import io
import logging
from collections import Counter, OrderedDict
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from governance import audit

from . import checks, states
from .models import Accountability, ProgressNotice, RectificationItem, RectificationPlan

Status = RectificationItem.Status
DONE_STATUSES = states.DONE_STATUSES
UNFINISHED_STATUSES = states.UNFINISHED_STATUSES
STATUS_LABELS = dict(Status.choices)
# Longest first, so that "已整改到位" is not taken for "已整改".
_STATUS_WORDS = sorted(STATUS_LABELS.values(), key=len, reverse=True)

FORMATS = ("pdf", "html", "docx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
DRAFT_PERM = "rectification.add_progressnotice"
APPROVE_PERM = "rectification.approve_notice"

CN_DIGITS = "〇一二三四五六七八九"
SECTION_ORDINALS = "一二三四五六七八九十"


# ---------------------------------------------------------------- small text helpers


def chinese_date(day: datetime.date | None) -> str:
    """2025-03-08 → 2025年3月8日 (Arabic numerals, as GB/T 9704-2012 asks for the date)."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def chinese_ordinal(index: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for the （一）… sub-sections)."""
    if index <= 10:
        return SECTION_ORDINALS[index - 1]
    tens, ones = divmod(index, 10)
    return f"{'' if tens == 1 else CN_DIGITS[tens]}十{CN_DIGITS[ones] if ones else ''}"


def _sentence(text: str) -> str:
    """Strip and end with a full stop (unless it already ends with a punctuation mark)."""
    text = (text or "").strip()
    if text and text[-1] not in "。！？；…”）)":
        text += "。"
    return text


def _money(amount: Decimal) -> str:
    amount = Decimal(amount).quantize(Decimal("0.01"))
    return f"{amount:,.2f}".replace(",", "")


def committee_name(organisation) -> str:
    """中共太平镇委员会 for a township, 中共楼星村支部委员会 for a village."""
    tier = getattr(getattr(organisation, "tier", None), "key", "")
    if tier in ("village", "grid", "microgrid"):
        return f"中共{organisation.name}支部委员会"
    return f"中共{organisation.name}委员会"


def notice_title(plan: RectificationPlan) -> str:
    return f"{committee_name(plan.organisation)}关于巡察整改进展情况的通报"


def status_text(status: str, result: str) -> str:
    """整改情况 with its status word first: "已整改。……" (a status word the text already starts with is
    replaced by the item's actual status, so that the word is never doubled nor contradicted)."""
    label = STATUS_LABELS.get(status, "")
    body = (result or "").strip()
    for word in _STATUS_WORDS:
        if body.startswith(word):
            body = body[len(word):].lstrip("。，,.：: ")
            break
    return f"{label}。{_sentence(body)}" if body else f"{label}。"


def _count_phrase(counter: Counter, labels: dict) -> str:
    """"立案审查调查1人、诫勉谈话2人" in the order of the choices."""
    return "、".join(f"{label}{counter[key]}人" for key, label in labels.items() if counter.get(key))


# ---------------------------------------------------------------- the data


def build_notice(plan: RectificationPlan, *, today: datetime.date | None = None, notice: ProgressNotice | None = None) -> dict:
    """Every section of the notice as a plain (JSON-ready) dict; all counts computed from the rows."""
    plan = RectificationPlan.objects.select_related("organisation__tier").get(pk=plan.pk)
    today = today or timezone.localdate()
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

    # 二: items in number order under category → sub-heading (first appearance decides the order).
    sections: OrderedDict[str, OrderedDict[str, list]] = OrderedDict()
    for item in items:
        category = item.category.strip() or "其他方面的问题"
        sections.setdefault(category, OrderedDict()).setdefault(item.subcategory.strip(), []).append({
            "number": item.number,
            "title": item.title.strip().rstrip("。"),
            "status": item.status,
            "status_label": STATUS_LABELS.get(item.status, ""),
            "result": item.result.strip(),
            "text": status_text(item.status, item.result),
        })
    section_list = []
    for index, (category, groups) in enumerate(sections.items(), start=1):
        group_list = [{"heading": heading, "items": rows} for heading, rows in groups.items()]
        section_list.append({
            "label": f"（{chinese_ordinal(index)}）", "title": category, "groups": group_list,
            "count": sum(len(g["items"]) for g in group_list),
        })

    # 三: accountability, petitions, money.
    by_measure = Counter(p.measure for p in people)
    by_level = Counter(p.level for p in people)
    accountability = {
        "by_measure": [{"key": k, "label": label, "count": by_measure[k]}
                       for k, label in Accountability.Measure.choices if by_measure.get(k)],
        "by_level": [{"key": k, "label": label, "count": by_level[k]}
                     for k, label in Accountability.Level.choices if by_level.get(k)],
        "recoveries": [{"source": r.source, "amount": _money(r.amount)} for r in recoveries],
    }

    # 四: items not yet finished.
    unfinished = [{
        "number": item.number,
        "title": item.title.strip().rstrip("。"),
        "status_label": STATUS_LABELS.get(item.status, ""),
        "reason": item.unfinished_reason.strip(),
        "next_steps": item.next_steps.strip(),
        "deadline": chinese_date(item.new_deadline or item.deadline),
    } for item in items if item.status in UNFINISHED_STATUSES]
    for row in unfinished:
        row["text"] = unfinished_text(row)

    signed_on = (notice.signed_on if notice and notice.signed_on else None) or today
    data = {
        "plan_id": plan.pk,
        "version": notice.version if notice else None,
        "title": notice.title if notice and notice.title else notice_title(plan),
        "committee": committee,
        "organisation": plan.organisation.name,
        "group_name": plan.group_name,
        "inspected_from": chinese_date(plan.inspected_from),
        "inspected_to": chinese_date(plan.inspected_to),
        "feedback_on": chinese_date(plan.feedback_on),
        "document_title": plan.document_title.strip().strip("《》"),
        "document_number": plan.document_number.strip(),
        "first_responsible": plan.first_responsible,
        "organisation_text": [p.strip() for p in plan.organisation_text.splitlines() if p.strip()],
        "meetings": [{"date": chinese_date(m.held_on), "kind": m.kind, "topic": m.topic.strip().rstrip("。")}
                     for m in meetings],
        "rules": [{"name": m.name.strip().strip("《》"), "date": chinese_date(m.adopted_on)} for m in measures],
        "counts": counts,
        "sections": section_list,
        "accountability": accountability,
        "unfinished": unfinished,
        "next_plan": [p.strip() for p in plan.next_plan.splitlines() if p.strip()],
        "contact": plan.contact.strip(),
        "signed_by": (notice.signed_by if notice and notice.signed_by else "") or committee,
        "signed_on": signed_on.isoformat(),
        "date_label": chinese_date(signed_on),
    }
    data["paragraphs"] = paragraphs(data)
    return data


def paragraphs(data: dict) -> dict:
    """The running text of each section, written once here for HTML, PDF and DOCX alike."""
    c = data["counts"]
    opening = "根据县委统一部署，"
    if data["group_name"]:
        opening += data["group_name"]
    else:
        opening += "县委巡察组"
    if data["inspected_from"] and data["inspected_to"]:
        opening += f"于{data['inspected_from']}至{data['inspected_to']}"
    opening += f"对{data['committee']}进行了巡察"
    if data["feedback_on"]:
        opening += f"，并于{data['feedback_on']}反馈了巡察意见"
    opening += "。按照党务公开原则和巡察工作有关要求，现将巡察整改进展情况予以公布。"

    org = []
    first = f"收到巡察反馈意见后，{data['committee']}把巡察整改作为一项重要政治任务"
    if data["first_responsible"]:
        first += f"，{data['first_responsible']}切实履行第一责任人职责"
    first += "，对巡察反馈问题照单全收、逐条整改。"
    if data["meetings"]:
        held = "；".join(f"{m['date']}召开{m['kind']}，{m['topic']}" for m in data["meetings"])
        first += f"先后召开会议{c['meetings']}次：{held}。"
    if data["document_title"]:
        number = f"（{data['document_number']}）" if data["document_number"] else ""
        first += f"制定印发《{data['document_title']}》{number}，逐项明确责任领导、责任单位、整改措施和整改时限。"
    if data["rules"]:
        names = "".join(f"《{r['name']}》" for r in data["rules"])
        first += f"坚持标本兼治，建立完善{names}等制度{c['rules']}项。"
    org.append(first)
    org.extend(data["organisation_text"])

    summary = f"巡察反馈的{c['problems']}个问题中，已整改{c['done']}个"
    if c["in_progress"]:
        summary += f"，正在整改中{c['in_progress']}个"
    if c["ongoing"]:
        summary += f"，需长期坚持{c['ongoing']}个"
    if c["pending"]:
        summary += f"，尚未整改{c['pending']}个"
    summary += "。具体情况如下：" if c["problems"] else "。"

    acc = data["accountability"]
    three = []
    if c["people"]:
        measures = "、".join(f"{m['label']}{m['count']}人" for m in acc["by_measure"])
        levels = "、".join(f"{lv['label']}{lv['count']}人" for lv in acc["by_level"])
        three.append(f"针对巡察反馈问题，共问责处理{c['people']}人，其中{measures}；按层级分，{levels}。")
    else:
        three.append("截至目前，巡察整改中未有人员被问责处理。")
    if c["petitions"]:
        text = f"巡察组转办信访件{c['petitions']}件，已办结{c['petitions_closed']}件"
        text += f"，正在办理{c['petitions_open']}件。" if c["petitions_open"] else "，全部办结。"
        three.append(text)
    else:
        three.append("巡察期间未转办信访件。")
    if acc["recoveries"]:
        parts = "、".join(f"{r['source']}{r['amount']}元" for r in acc["recoveries"])
        three.append(f"追回资金{c['money_total']}元，其中{parts}。")

    unfinished = (f"截至目前，尚有{len(data['unfinished'])}个问题正在整改中，具体情况如下："
                  if data["unfinished"] else "截至目前，巡察反馈问题均已整改或转入长期坚持。")

    contact = "欢迎广大干部群众对巡察整改落实情况进行监督。如有意见建议，请及时向我们反映。"
    if data["contact"]:
        contact += f"联系方式：{_sentence(data['contact'])}"
    return {
        "opening": opening, "organisation": org, "summary": summary, "accountability": three,
        "unfinished": unfinished,
        "next_plan": data["next_plan"] or [
            "下一步，我们将坚持目标不变、标准不降、力度不减，对已完成的整改事项巩固成果、防止反弹，"
            "对正在整改的事项紧盯不放、按期完成，对需要长期坚持的事项建立长效机制，持续推动巡察整改落地见效。"],
        "contact": contact,
    }


# ---------------------------------------------------------------- renderers


def render_html(data: dict) -> str:
    """A standalone HTML page (also the public page); it is the source of the PDF."""
    return render_to_string("documents/progress_notice.html", {"data": data, "p": data["paragraphs"]})


def render_pdf(data: dict, *, html: str | None = None) -> bytes:
    """A4 PDF after GB/T 9704 with the Noto CJK fonts embedded (subset; never full_fonts)."""
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    from weasyprint import HTML  # imported here: loading WeasyPrint costs a noticeable fraction of a second

    return HTML(string=html if html is not None else render_html(data)).write_pdf()


def _docx_run(paragraph, text: str, *, family="仿宋_GB2312", size=16, bold=False):
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run = paragraph.add_run(text)
    run.font.name = family
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)
    run.font.size = Pt(size)
    run.bold = bold
    return run


def render_docx(data: dict) -> bytes:
    """The same notice as a Word document: 小标宋 title, 黑体/楷体 headings, 仿宋 body, A4, page numbers."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    p = data["paragraphs"]
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    def para(text="", *, family="仿宋_GB2312", size=16, bold=False, indent=True, align=None, runs=None):
        paragraph = document.add_paragraph()
        fmt = paragraph.paragraph_format
        fmt.line_spacing = Pt(28)
        fmt.space_after = Pt(0)
        if indent:
            fmt.first_line_indent = Pt(size * 2)
        if align is not None:
            paragraph.alignment = align
        for run_text, run_family, run_bold in runs or [(text, family, bold)]:
            _docx_run(paragraph, run_text, family=run_family, size=size, bold=run_bold)
        return paragraph

    para(data["title"], family="方正小标宋简体", size=22, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    para("")
    para(p["opening"])
    para("一、整改工作组织情况", family="黑体")
    for text in p["organisation"]:
        para(text)
    para("二、巡察反馈问题整改落实情况", family="黑体")
    para(p["summary"])
    for sec in data["sections"]:
        para(f"{sec['label']}{sec['title']}", family="楷体_GB2312")
        for group in sec["groups"]:
            if group["heading"]:
                para(group["heading"], bold=True)
            for item in group["items"]:
                para(runs=[(f"问题{item['number']}：{item['title']}。", "仿宋_GB2312", True),
                           (f"整改情况：{item['text']}", "仿宋_GB2312", False)])
    para("三、问责处理、信访件办理及追回资金情况", family="黑体")
    for text in p["accountability"]:
        para(text)
    para("四、尚未完成整改的问题及下一步措施", family="黑体")
    para(p["unfinished"])
    for item in data["unfinished"]:
        para(runs=[(f"问题{item['number']}：{item['title']}。", "仿宋_GB2312", True),
                   (item["text"], "仿宋_GB2312", False)])
    para("五、下一步工作打算", family="黑体")
    for text in p["next_plan"]:
        para(text)
    para(p["contact"])
    para("")
    para(data["signed_by"], indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(data["date_label"], indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)

    # Page number "— 1 —" in the footer.
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_run(footer, "— ", family="宋体", size=14)
    run = _docx_run(footer, "", family="宋体", size=14)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    _docx_run(footer, " —", family="宋体", size=14)

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def unfinished_text(item: dict) -> str:
    parts = [f"整改情况：{item['status_label']}。"]
    if item["reason"]:
        parts.append(f"未完成原因：{_sentence(item['reason'])}")
    if item["next_steps"]:
        parts.append(f"下一步措施：{_sentence(item['next_steps'])}")
    if item["deadline"]:
        parts.append(f"完成时限：{item['deadline']}。")
    return "".join(parts)


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
    if notice.content:
        return notice.content
    return build_notice(notice.plan, notice=notice)


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
        notice = ProgressNotice.objects.create(
            plan=plan, version=version, state=ProgressNotice.State.DRAFT, title=notice_title(plan),
            signed_by=committee_name(plan.organisation), created_by=by,
        )
        audit.record("progress_notice.draft", actor=by, obj=notice, after={"plan": plan.pk, "version": version})
    return notice


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
        notice.content = data
        notice.state = ProgressNotice.State.APPROVED
        notice.approved_by, notice.approved_at = by, now
        notice.save(update_fields=["signed_on", "content", "state", "approved_by", "approved_at"])
        audit.record("progress_notice.approve", actor=by, obj=notice,
                     after={"version": notice.version, "counts": data["counts"]})
    return notice


def publish(notice: ProgressNotice, *, by) -> ProgressNotice:
    """Publish an approved version: content, HTML and PDF frozen; published_at set. Audited."""
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
        html = render_html(data)
        pdf = render_pdf(data, html=html)
        notice.content, notice.html = data, html
        notice.pdf.save(f"notice-{notice.plan_id}-v{notice.version}.pdf", ContentFile(pdf), save=False)
        notice.state = ProgressNotice.State.PUBLISHED
        notice.published_at = timezone.now()
        notice.save(update_fields=["content", "html", "pdf", "state", "published_at"])
        audit.record("progress_notice.publish", actor=by, obj=notice,
                     after={"version": notice.version, "counts": data["counts"], "pdf_bytes": len(pdf)})
    return notice


def published_notices():
    return ProgressNotice.objects.filter(state=ProgressNotice.State.PUBLISHED, published_at__isnull=False)
