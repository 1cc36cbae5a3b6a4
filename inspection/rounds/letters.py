"""Letters of a county inspection round (巡察文书), numbered official documents tracked until answered.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
import io
import re

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from governance import audit
from governance.chinese_dates import chinese_date
from governance.chinese_numerals import chinese_ordinal
from governance.docx_fonts import set_font
from governance.input_rules import printable_tree
from governance.models import Notification
from governance.notifications import notify
from governance.pdf import html_to_pdf
from grid.models import Department, Post, Region, paths_from_root

from ..models import InspectionFinding, InspectionLetter, InspectionRound, RoundTarget, letter_overdue_q
from . import onsite

Kind = InspectionLetter.Kind

# The short name of each kind inside the number: 某巡察提醒函〔2022〕3号.
NUMBER_WORDS = {
    Kind.REMINDER: "巡察提醒函",
    Kind.SUPERVISION: "巡察督办函",
    Kind.RECOMMENDATION: "巡察建议书",
    Kind.RECTIFICATION: "巡察整改提示",
}
ISSUER = "中共{county}委巡察工作领导小组办公室"
NUMBER_ATTEMPTS = 5
DEFAULT_REPLY_DAYS = 15

_LETTER_FIELDS = ["round", "kind", "number", "recipient", "recipient_department", "subject", "issued_on", "reply_due"]


class LetterError(ValidationError):
    """A user mistake in a letter; the message is in Chinese."""


# ---------------------------------------------------------------- who may do what


def may_issue(user, round: InspectionRound) -> bool:
    return onsite._active(user) and user.has_perm("inspection.add_inspectionletter", round.county)


def may_record_reply(user, letter: InspectionLetter) -> bool:
    return onsite._active(user) and user.has_perm("inspection.change_inspectionletter", letter.round.county)


def visible_letters(user) -> QuerySet:
    """The office and leading group: every letter of rounds in their county; group members: their round's;
    a township committee: letters addressed to its organisation or its villages."""
    queryset = InspectionLetter.objects.all()
    if not onsite._active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    perm = "inspection.view_inspectionletter"
    condition = Q(round_id__in=onsite.member_round_ids(user)) | onsite._overseer_condition(
        user, perm, "round__county__path")
    readers = onsite.reader_paths(user, perm)
    if readers:
        condition |= onsite._paths_q("recipient__path", readers)
    return queryset.filter(condition)


# ---------------------------------------------------------------- addressing


def issuer_name(round: InspectionRound) -> str:
    return ISSUER.format(county=round.county.name)  # 中共某县委巡察工作领导小组办公室


def organisation_title(region: Region) -> str:
    """How a letter addresses a party organisation: 赵村镇党委 / 河南村党支部."""
    if region.tier.key == "village":
        return f"{region.name}党支部"
    if region.tier.key == "township":
        return f"{region.name}党委"
    return f"{region.name}党组织"


def recipient_label(letter: InspectionLetter) -> str:
    if letter.recipient_department_id:
        return letter.recipient_department.name
    return organisation_title(letter.recipient) if letter.recipient_id else ""


def target_for(round: InspectionRound, organisation: Region) -> RoundTarget | None:
    """The round's target for an organisation: itself, or the township target a village lies under."""
    targets = {target.organisation.path: target
               for target in RoundTarget.objects.filter(round=round).select_related("organisation")}
    if organisation.path in targets:
        return targets[organisation.path]
    for path, target in targets.items():
        if organisation.path.startswith(path) and organisation.tier.key == "village":
            return target
    return None


def _recipient_errors(round: InspectionRound, kind: str, recipient, department) -> list[str]:
    if kind == Kind.RECOMMENDATION:
        if recipient is not None:
            return ["巡察建议书发往县直有关部门，请选择收文部门而不是被巡察党组织。"]
        if not isinstance(department, Department):
            return ["请选择巡察建议书的收文部门（县直有关部门）。"]
        if department.region_id != round.county_id:
            return [f"{department}不是{round.county.name}直属部门，巡察建议书须发往县直有关部门。"]
        return []
    if department is not None:
        return [f"{Kind(kind).label}发往被巡察党组织，不能选择收文部门。"]
    if not isinstance(recipient, Region):
        return ["请选择收文的被巡察党组织。"]
    if target_for(round, recipient) is None:
        return [f"{recipient.name}不是{round.name}的巡察对象，不能向其发文。"]
    return []


# ---------------------------------------------------------------- numbers and bodies


def number_prefix(round: InspectionRound, kind: str, year: int) -> str:
    return f"{round.county.name[:1]}{NUMBER_WORDS[kind]}〔{year}〕"


def next_number(round: InspectionRound, kind: str, year: int) -> str:
    """The next number of a kind for the round's county office in a year, whichever round it is for:
    某巡察提醒函〔2026〕3号 (a 文号 names the office and the year, not the round; numbers typed by hand
    are skipped)."""
    prefix = number_prefix(round, kind, year)
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)号$")
    numbers = InspectionLetter.objects.filter(round__county_id=round.county_id, kind=kind,
                                              number__startswith=prefix).values_list("number", flat=True)
    highest = max((int(match.group(1)) for number in numbers if (match := pattern.match(number))), default=0)
    return f"{prefix}{highest + 1}号"


def findings_for(round: InspectionRound, *, recipient: Region | None = None, only_meeting: bool = False) -> QuerySet:
    """The round's findings addressed to a recipient: of its target, or naming the village."""
    findings = InspectionFinding.objects.filter(round=round).select_related("focus", "village", "target__organisation")
    if recipient is not None:
        findings = findings.filter(Q(target__organisation=recipient) | Q(village=recipient))
    if only_meeting:
        findings = findings.filter(for_secretary_meeting=True)
    return findings.order_by("id")


def _problem_lines(findings) -> list[str]:
    lines = []
    for index, finding in enumerate(findings, start=1):
        where = f"（{finding.village.name}）" if finding.village_id and finding.village_id != finding.target.organisation_id else ""
        description = finding.description.strip().rstrip("。")
        lines.append(f"{chinese_ordinal(index)}、{finding.title.rstrip('。')}{where}。{description}。")
    return lines


def group_name(round: InspectionRound, recipient: Region | None) -> str:
    target = target_for(round, recipient) if recipient is not None else None
    return target.group.published_name if target is not None else "县委巡察组"


def generate_body(round: InspectionRound, kind: str, *, recipient: Region | None = None,
                  department: Department | None = None, reply_due: datetime.date | None = None) -> str:
    """The letter's text from the data: the addressee, the problems (findings), the deadline to reply."""
    addressee = department.name if department is not None else organisation_title(recipient)
    due = f"于{chinese_date(reply_due)}前" if reply_due else "在规定期限内"
    paragraphs = [f"{addressee}："]
    if kind == Kind.REMINDER:
        lines = _problem_lines(findings_for(round, recipient=recipient))
        paragraphs.append(
            f"{round.name}期间，{group_name(round, recipient)}发现你单位存在以下问题，属于可以立行立改的问题，现予以提醒：")
        paragraphs += lines or ["（巡察组发现的具体问题见附件。）"]
        paragraphs.append(f"请你单位高度重视，对上述问题立行立改，并{due}将问题整改落实及进展情况书面报告县委巡察办。")
    elif kind == Kind.SUPERVISION:
        lines = _problem_lines(findings_for(round, recipient=recipient, only_meeting=True)
                               or findings_for(round, recipient=recipient))
        paragraphs.append(f"经县委书记专题会研究，{round.name}发现你单位存在以下典型问题，现予督办：")
        paragraphs += lines or ["（典型问题见附件。）"]
        paragraphs.append(f"请你单位逐项明确责任领导、责任人和整改时限，{due}将督办问题办理情况书面报告县委巡察办。")
    elif kind == Kind.RECOMMENDATION:
        lines = _problem_lines(findings_for(round))
        paragraphs.append(f"{round.name}在巡察乡镇、村（社区）党组织中发现以下共性问题，涉及你单位职责，现提出巡察建议：")
        paragraphs += lines or ["（共性问题清单见附件。）"]
        paragraphs.append(f"建议你单位针对上述问题加强行业指导和系统治理，完善相关制度，并{due}将落实情况书面反馈县委巡察办。")
    else:
        lines = _problem_lines(findings_for(round, recipient=recipient).filter(fed_back_at__isnull=False)
                               or findings_for(round, recipient=recipient))
        paragraphs.append(f"{round.name}反馈意见下发后，你单位以下问题整改落实不到位，现予以提示：")
        paragraphs += lines or ["（具体问题见附件。）"]
        paragraphs.append(f"请你单位切实履行整改主体责任，对照问题清单逐项整改，{due}将整改进展情况书面报告县委巡察办。")
    return "\n".join(paragraphs)


def default_subject(round: InspectionRound, kind: str, recipient=None, department=None) -> str:
    addressee = department.name if department is not None else (recipient.name if recipient is not None else "")
    return f"关于{addressee}{round.name}有关问题的{Kind(kind).label}"[:200]


# ---------------------------------------------------------------- services


def issue_letter(
    *, by, round: InspectionRound, kind: str, recipient: Region | None = None,
    recipient_department: Department | None = None, subject: str = "", body: str | None = None,
    reply_due: datetime.date | None = None,
) -> InspectionLetter:
    """The office issues a numbered letter to a target of the round (巡察建议书: to a county department)."""
    if not isinstance(round, InspectionRound):
        raise LetterError("请选择巡察轮次。")
    if not may_issue(by, round):
        raise PermissionDenied("只有县委巡察办可以制发巡察文书。")
    errors = []
    if kind not in Kind.values:
        raise LetterError("请选择文书类型。")
    errors += _recipient_errors(round, kind, recipient, recipient_department)
    today = timezone.localdate()
    if kind == Kind.REMINDER and reply_due is None:
        errors.append("巡察提醒函须设定书面报告期限。")
    if reply_due is not None and reply_due <= today:
        errors.append("书面回复期限须晚于发文日期。")
    subject = (subject or "").strip()
    if len(subject) > 200:
        errors.append("事由不能超过 200 个字。")
    if body is not None and not body.strip():
        body = None
    if errors:
        raise LetterError(errors)
    subject = subject or default_subject(round, kind, recipient, recipient_department)
    text = body.strip() if body else generate_body(round, kind, recipient=recipient, department=recipient_department,
                                                   reply_due=reply_due)
    with transaction.atomic():
        # The county's row serialises numbering across its rounds; within a round the unique constraint
        # and the retry are the second guard.
        Region.objects.select_for_update().filter(pk=round.county_id).first()
        letter = None
        for _attempt in range(NUMBER_ATTEMPTS):
            try:
                with transaction.atomic():
                    letter = InspectionLetter.objects.create(
                        round=round, kind=kind, number=next_number(round, kind, today.year), recipient=recipient,
                        recipient_department=recipient_department, subject=subject, body=text, issued_on=today,
                        reply_due=reply_due, issued_by=by,
                    )
                break
            except IntegrityError:
                continue
        if letter is None:
            raise LetterError("文号生成冲突，请稍后重试。")
        audit.record("inspection_letter.issue", actor=by, obj=letter, after=audit.snapshot(letter, _LETTER_FIELDS))
    return letter


def record_reply(letter: InspectionLetter, *, by, replied_on: datetime.date | None, summary: str) -> InspectionLetter:
    """The office records the recipient's written reply; an overdue flag is cleared."""
    if not may_record_reply(by, letter):
        raise PermissionDenied("只有县委巡察办可以登记文书回复。")
    summary = (summary or "").strip()
    errors = []
    if letter.replied_on:
        errors.append(f"该文书已于{letter.replied_on:%Y-%m-%d}登记回复。")
    if replied_on is None:
        errors.append("请填写回复日期。")
    else:
        if replied_on > timezone.localdate():
            errors.append("回复日期不能晚于今天。")
        if replied_on < letter.issued_on:
            errors.append(f"回复日期不能早于发文日期（{letter.issued_on:%Y-%m-%d}）。")
    if not summary:
        errors.append("请填写回复情况。")
    if errors:
        raise LetterError(errors)
    with transaction.atomic():
        letter = InspectionLetter.objects.select_for_update().get(pk=letter.pk)
        before = audit.snapshot(letter, ["replied_on", "reply_summary", "is_overdue"])
        letter.replied_on, letter.reply_summary, letter.is_overdue = replied_on, summary, False
        letter.save(update_fields=["replied_on", "reply_summary", "is_overdue"])
        audit.record("inspection_letter.reply", actor=by, obj=letter, before=before,
                     after=audit.snapshot(letter, ["replied_on", "reply_summary", "is_overdue"]))
    return letter


def office_users(round: InspectionRound) -> list:
    """Active holders of inspection.add_inspectionletter at or above the round's county (the office)."""
    user_ids = Post.objects.active().granting("inspection.add_inspectionletter").filter(
        region__path__in=paths_from_root(round.county.path), user__is_active=True).values_list("user_id", flat=True).distinct()
    return list(get_user_model().objects.filter(pk__in=set(user_ids)).order_by("pk"))


def flag_overdue_letters(today: datetime.date | None = None) -> dict:
    """Tell the office once per letter that has become overdue (letter_overdue_q, the rule the pages
    compute), recording that in the letter's flag and the audit trail (and clearing the flag of letters
    no longer overdue). Safe to run any number of times; no page reads the flag."""
    today = today or timezone.localdate()
    result = {"flagged": 0, "cleared": 0, "notified": 0}
    with transaction.atomic():
        cleared = list(InspectionLetter.objects.select_for_update().filter(is_overdue=True)
                       .exclude(letter_overdue_q(today)))
        InspectionLetter.objects.filter(pk__in=[letter.pk for letter in cleared]).update(is_overdue=False)
        audit.record_many("inspection_letter.overdue_cleared", cleared, before={"is_overdue": True},
                          after={"is_overdue": False})
        result["cleared"] = len(cleared)
        late = list(InspectionLetter.objects.select_for_update(of=("self",)).filter(
            letter_overdue_q(today), is_overdue=False).select_related(
            "round__county", "recipient__tier", "recipient_department"))
        InspectionLetter.objects.filter(pk__in=[letter.pk for letter in late]).update(is_overdue=True)
        audit.record_many("inspection_letter.overdue", late, before={"is_overdue": False}, after={"is_overdue": True})
        result["flagged"] = len(late)
        offices: dict[int, list] = {}
        for letter in late:
            if letter.round_id not in offices:
                offices[letter.round_id] = office_users(letter.round)
            days = (today - letter.reply_due).days
            for user in offices[letter.round_id]:
                sent = notify(
                    user, kind=Notification.Kind.SUPERVISION,
                    title=f"督办：{letter.number}逾期未回复",
                    body=(f"{recipient_label(letter)}应于{chinese_date(letter.reply_due)}前书面回复"
                          f"《{letter.subject}》，已逾期 {days} 天，请督促。"),
                    url=reverse("inspection:letter_detail", args=[letter.pk]),
                    dedupe_key=f"inspection-letter-overdue:{letter.pk}:{user.pk}",
                )
                if sent:
                    result["notified"] += 1
    return result


# ---------------------------------------------------------------- documents (PDF, DOCX)


def document_data(letter: InspectionLetter) -> dict:
    lines = [line.strip() for line in letter.body.splitlines() if line.strip()]
    salutation = lines[0] if lines and lines[0].endswith(("：", ":")) else ""
    return {
        "title": Kind(letter.kind).label,
        "number": letter.number,
        "recipient": recipient_label(letter),
        "salutation": salutation or f"{recipient_label(letter)}：",
        "paragraphs": lines[1:] if salutation else lines,
        "issuer": issuer_name(letter.round),
        "date": chinese_date(letter.issued_on),
        "reply_due": chinese_date(letter.reply_due) if letter.reply_due else "",
        "subject": letter.subject,
    }


def render_html(letter: InspectionLetter) -> str:
    return render_to_string("documents/inspection_letter.html", {"data": document_data(letter)})


def render_pdf(letter: InspectionLetter) -> bytes:
    """A4 PDF with the Noto CJK fonts embedded (subset)."""
    return html_to_pdf(render_html(letter))


def render_docx(letter: InspectionLetter) -> bytes:
    # Deferred: python-docx is loaded only where a Word file is written
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    data = printable_tree(document_data(letter))
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    def centered(text, *, size, family, bold=False):
        para = document.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_font(para.add_run(text), size=size, bold=bold, family=family)
        return para

    centered(data["title"], size=22, family="方正小标宋简体", bold=True)
    centered(data["number"], size=16, family="仿宋")
    set_font(document.add_paragraph().add_run(data["salutation"]), size=16, family="仿宋")
    for text in data["paragraphs"]:
        para = document.add_paragraph()
        para.paragraph_format.first_line_indent = Pt(32)
        set_font(para.add_run(text), size=16, family="仿宋")
    for text in (data["issuer"], data["date"]):
        para = document.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        set_font(para.add_run(text), size=16, family="仿宋")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def overdue_days(letter: InspectionLetter, today: datetime.date | None = None) -> int:
    today = today or timezone.localdate()
    if letter.replied_on or not letter.reply_due or letter.reply_due >= today:
        return 0
    return (today - letter.reply_due).days

