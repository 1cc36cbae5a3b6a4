"""The township big patrol's monthly circular (月度考评情况通报) and quarterly grade sheet (季度考评).
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
import io
from collections import OrderedDict
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from governance import audit, charts
from governance.chinese_dates import chinese_date
from governance.docx_fonts import set_font
from governance.input_rules import EARLIEST_DATE, LATEST_YEARS_AHEAD, printable_tree
from governance.pdf import html_to_pdf
from governance.spreadsheet_safety import xlsx_row
from governance.templatetags.zh_format import zh_score
from grid.models import Region

from ..models import Circular, SupervisionGroup
from . import oversight
from .findings import lock_township
from .scoring import (
    GRADES,
    LOWEST_GRADE,
    decimal_text,
    grade_rule_text,
    mean_score,
    month_scores,
    month_start,
    quarter_months,
    quarter_scores,
    ranked,
)

FORMATS = ("pdf", "xlsx", "docx")
FORMAT_NAMES = {"pdf": "PDF", "xlsx": "Excel", "docx": "Word"}
NO_UNCHECKED = "各督查组本月已督查全部负责村（居）。"
NO_GROUPS = "本镇尚未设置巡查督查组。"
TIPPED_INTRO = ("以下上报在镇督查组或部门已发现同村同事项问题、尚未通报到村（居）时提交，按“不得与村（居）‘通气’”"
                "的要求不予加分：")
NO_TIPPED = "本月没有督查发现后、通报前上报的情况。"  # (snapshots from before this key existed had groups)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
GRADE_ORDER = [grade for _, _, grade in GRADES] + [LOWEST_GRADE]
KIND_LABEL = {"addition": "加分", "deduction": "扣分", "veto": "一票否决", "excused": "已上报不扣分",
              "tipped": "通气上报不加分"}


MONTH_ERROR = f"月份格式应为 YYYY-MM，如 2026-03，且不早于 {EARLIEST_DATE.year} 年、不晚于 {LATEST_YEARS_AHEAD} 年之后。"
QUARTER_ERROR = (f"季度格式应为 YYYYQn（n 为 1–4），如 2026Q1，且不早于 {EARLIEST_DATE.year} 年、"
                 f"不晚于 {LATEST_YEARS_AHEAD} 年之后。")


def month_title(township: Region, month: datetime.date) -> str:
    return f"{township.name}大巡查工作{month.year}年{month.month}月考评情况通报"


def quarter_title(township: Region, year: int, quarter: int) -> str:
    return f"{township.name}大巡查工作{year}年第{quarter}季度考评情况"


# ---------------------------------------------------------------- building the data


def _group_entries(entries) -> list[dict]:
    """Entries grouped by department, then by catalog item (department and item in first-seen order)."""
    departments: OrderedDict[str, OrderedDict[str, dict]] = OrderedDict()
    for entry in entries:
        items = departments.setdefault(entry.department, OrderedDict())
        row = items.get(entry.item_code)
        if row is None:
            row = items[entry.item_code] = {
                "item_code": entry.item_code, "item_name": entry.item_name, "count": 0, "amount": Decimal(0),
                "numbers": [], "sources": [],
            }
        row["count"] += 1
        row["amount"] += entry.amount
        row["numbers"].append(entry.number)
        if entry.source:
            label = f"{entry.source}×{entry.multiplier}" if entry.kind == "deduction" else entry.source
            if label not in row["sources"]:
                row["sources"].append(label)
    result = []
    for department, items in departments.items():
        rows = list(items.values())
        total = sum((row["amount"] for row in rows), Decimal(0))
        for row in rows:
            row["amount"] = decimal_text(row["amount"])
        result.append({"department": department, "items": rows, "total": decimal_text(total)})
    return result


def build_month_circular(township: Region, month: datetime.date, today: datetime.date | None = None) -> dict:
    """The month's circular of a township: ranking, each village's additions and deductions by department
    and item, villages no group checked that month, departments late with their confirmation."""
    start = month_start(month)
    today = today or timezone.localdate()
    scores = month_scores(township, start)
    ranking, details = [], []
    for rank, village_month in ranked(scores):
        ranking.append({
            "rank": rank, "village": village_month.village.name, "village_id": village_month.village.pk,
            "base": decimal_text(village_month.base),
            "additions": decimal_text(village_month.additions), "deductions": decimal_text(village_month.deductions),
            "veto": village_month.veto, "score": decimal_text(village_month.score),
        })
    for village_month in scores:  # details in tree order, as villages are listed in the plan
        if not village_month.entries:
            continue
        by_kind = {kind: [e for e in village_month.entries if e.kind == kind] for kind in KIND_LABEL}
        details.append({
            "village": village_month.village.name,
            "additions": _group_entries(by_kind["addition"]),
            "deductions": _group_entries(by_kind["deduction"]),
            "vetoes": [_entry_row(entry) for entry in by_kind["veto"]],
            "excused": [_entry_row(entry) for entry in by_kind["excused"]],
            "tipped": [_entry_row(entry) for entry in by_kind["tipped"]],
            "additions_total": decimal_text(village_month.additions),
            "deductions_total": decimal_text(village_month.deductions),
            "score": decimal_text(village_month.score),
        })
    unchecked = oversight.unchecked_villages(township, start)
    late = oversight.late_departments(township, start, today=today)
    return {
        "kind": "month",
        "title": month_title(township, start),
        "township": township.name,
        "township_path": township.full_path,
        "period": f"{start:%Y-%m}",
        "period_label": f"{start.year}年{start.month}月",
        "date": today.isoformat(),
        "date_label": chinese_date(today),
        "circular_deadline": oversight.circular_deadline(start).isoformat(),
        "ranking": ranking,
        "details": details,
        "tipped_reports": [{"village": vm.village.name, **_entry_row(entry)}
                           for vm in scores for entry in vm.entries if entry.kind == "tipped"],
        "unchecked_villages": [village.name for village in unchecked],
        "has_supervision_groups": SupervisionGroup.objects.filter(township=township).exists(),
        "late_departments": [
            {"department": entry.department.name,
             "confirmed_at": timezone.localtime(entry.confirmed_at).strftime("%Y-%m-%d %H:%M")
             if entry.confirmed_at and timezone.is_aware(entry.confirmed_at)
             else (entry.confirmed_at.strftime("%Y-%m-%d %H:%M") if entry.confirmed_at else ""),
             "days_late": entry.days_late}
            for entry in late
        ],
        "totals": {
            "villages": len(scores),
            "additions": decimal_text(sum((vm.additions for vm in scores), Decimal(0))),
            "deductions": decimal_text(sum((vm.deductions for vm in scores), Decimal(0))),
            "vetoed": sum(1 for vm in scores if vm.veto),
            "average": decimal_text(mean_score(vm.score for vm in scores)),
            "at_cap": sum(1 for vm in scores if vm.score == 100),
            "unchecked": len(unchecked),
            "late_departments": len(late),
        },
    }


def _entry_row(entry) -> dict:
    return {"number": entry.number, "date": entry.date.isoformat(), "item_code": entry.item_code,
            "item_name": entry.item_name, "department": entry.department, "source": entry.source,
            "points": decimal_text(entry.points), "note": entry.note}


def build_quarter_circular(township: Region, year: int, quarter: int, today: datetime.date | None = None) -> dict:
    """The quarter's grade sheet: each village's three months, its mean and grade; counts per grade."""
    today = today or timezone.localdate()
    months = quarter_months(year, quarter)
    rows = [
        {"village": entry.village.name, "months": [decimal_text(score) for score in entry.months],
         "average": decimal_text(entry.average), "grade": entry.grade}
        for entry in quarter_scores(township, year, quarter)
    ]
    counts = {grade: 0 for grade in GRADE_ORDER}
    for row in rows:
        counts[row["grade"]] += 1
    return {
        "kind": "quarter",
        "title": quarter_title(township, year, quarter),
        "township": township.name,
        "township_path": township.full_path,
        "period": f"{year}Q{quarter}",
        "period_label": f"{year}年第{quarter}季度",
        "date": today.isoformat(),
        "date_label": chinese_date(today),
        "month_labels": [f"{m.month}月" for m in months],
        "rows": rows,
        "grade_counts": [{"grade": grade, "count": counts[grade]} for grade in GRADE_ORDER],
        "grade_rule": grade_rule_text(),
        "totals": {"villages": len(rows)},
    }


def period_start(data: dict) -> datetime.date:
    """The first day of the data's month or quarter (Circular.period_start)."""
    if data["kind"] == "month":
        return datetime.date.fromisoformat(data["period"] + "-01")
    year, quarter = data["period"].split("Q")
    return quarter_months(int(year), int(quarter))[0]


# ---------------------------------------------------------------- the chart


def score_chart_svg(data: dict) -> str:
    """A horizontal bar chart of the villages' scores (month) or averages (quarter), 0–100, with the
    base score marked: server-side SVG, so the page and the PDF need no script."""
    if data["kind"] == "month":
        bars = [(row["village"], Decimal(row["score"]), row["veto"]) for row in data["ranking"]]
    else:
        bars = sorted(((row["village"], Decimal(row["average"]), False) for row in data["rows"]),
                      key=lambda bar: -bar[1])
    figure = charts.Figure(
        key="patrol-scores", kind="hbar", title=f'{"得分" if data["kind"] == "month" else "月平均分"}（0–100，虚线为基础分 60）',
        labels=[name for name, _, _ in bars], series=[charts.Series("得分", [float(value) for _, value, _ in bars])],
        y_max=100, reference=60, reference_label="基础分 60",
        colours=["#7f8c8d" if veto else "#2e7d32" if value >= 80 else "#1565c0" if value > 60 else "#e67e22"
                 for _, value, veto in bars],
        value_labels=["否决 0" if veto else zh_score(value) for _, value, veto in bars],
    )
    return charts.render_svg(figure, width=600)


# ---------------------------------------------------------------- renderers


def _template_context(data: dict) -> dict:
    return {"data": data, "chart": mark_safe(score_chart_svg(data)),  # noqa: S308 — built from escaped text
            "grade_rule": grade_rule_text()}


def render_html(data: dict) -> str:
    template = "documents/patrol_circular.html" if data["kind"] == "month" else "documents/patrol_quarter.html"
    return render_to_string(template, _template_context(data))


def render_pdf(data: dict, *, laid_out=None) -> bytes:
    """A4 PDF with the Noto CJK fonts embedded (subset), title, date and "第 X 页 共 Y 页"."""
    return html_to_pdf(render_html(data), laid_out=laid_out)


def _xlsx_sheet(workbook, title: str, headers: list[str], rows: list[list], widths: list[int]):
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _number(text: str):
    """Two-decimal strings as numbers in the workbook (the exact cents survive as float to 2 places)."""
    return float(Decimal(text))


def render_xlsx(data: dict) -> bytes:
    """The ranking (or grade) sheet plus a details sheet."""
    data = printable_tree(data)

    workbook = Workbook()
    workbook.remove(workbook.active)
    if data["kind"] == "month":
        sheet = _xlsx_sheet(
            workbook, "排名", ["排名", "村（居）", "基础分", "加分", "扣分", "一票否决", "得分"],
            [[row["rank"], row["village"], _number(row["base"]), _number(row["additions"]), _number(row["deductions"]),
              "是" if row["veto"] else "否", _number(row["score"])] for row in data["ranking"]],
            [8, 18, 10, 10, 10, 10, 10],
        )
        sheet.insert_rows(1)
        sheet["A1"] = f"{data['title']}（{data['date_label']}）"
        sheet.freeze_panes = "A3"
        details = []
        for village in data["details"]:
            for kind, groups in (("加分", village["additions"]), ("扣分", village["deductions"])):
                for group in groups:
                    for item in group["items"]:
                        details.append([village["village"], kind, group["department"], item["item_code"],
                                        item["item_name"], item["count"], _number(item["amount"]),
                                        "、".join(item["sources"]), "、".join(item["numbers"])])
            for kind, rows in (("一票否决", village["vetoes"]), ("已上报不扣分", village["excused"]),
                               ("通气上报不加分", village.get("tipped", []))):
                for entry in rows:
                    details.append([village["village"], kind, entry["department"], entry["item_code"],
                                    entry["item_name"], 1, 0, entry["source"], entry["number"]])
        _xlsx_sheet(workbook, "加扣分明细",
                    ["村（居）", "类型", "牵头部门", "目录编号", "事项", "件数", "分值", "来源", "编号"],
                    details, [14, 12, 16, 10, 30, 6, 8, 18, 30])
        others = [["未督查村（居）", name, ""] for name in data["unchecked_villages"]]
        others += [["通气上报不加分", f"{row['village']} {row['number']}", f"{row['item_code']} {row['item_name']}"]
                   for row in data.get("tipped_reports", [])]
        others += [["逾期确认部门", row["department"],
                    f"逾期 {row['days_late']} 天" + (f"，{row['confirmed_at']} 确认" if row["confirmed_at"] else "，尚未确认")]
                   for row in data["late_departments"]]
        _xlsx_sheet(workbook, "督查与确认", ["情况", "名称", "说明"], others, [16, 20, 36])
    else:
        sheet = _xlsx_sheet(
            workbook, "季度考评", ["村（居）", *data["month_labels"], "月平均分", "等次"],
            [[row["village"], *(_number(score) for score in row["months"]), _number(row["average"]), row["grade"]]
             for row in data["rows"]],
            [18, 10, 10, 10, 12, 10],
        )
        sheet.insert_rows(1)
        sheet["A1"] = f"{data['title']}（{data['date_label']}）"
        sheet.freeze_panes = "A3"
        _xlsx_sheet(workbook, "等次统计", ["等次", "村（居）数"],
                    [[row["grade"], row["count"]] for row in data["grade_counts"]], [12, 12])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _docx_table(document, headers: list[str], rows: list[list]):
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = ""
        set_font(cell.paragraphs[0].add_run(text), bold=True, size=10.5, family="宋体")
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = ""
            set_font(cell.paragraphs[0].add_run(str(value)), size=10.5, family="宋体")
    return table


def titled_a4_document(title_text: str, date_label: str, *, side_margins_mm=(28, 26), title_size=22):
    """A new A4 Word document opening with the centred title and date line of the township's documents."""
    # Deferred: python-docx is loaded only where a Word file is written
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(side_margins_mm[0]), Mm(side_margins_mm[1])
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(title.add_run(title_text), size=title_size, bold=True, family="方正小标宋简体")
    date = document.add_paragraph()
    date.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(date.add_run(date_label), size=14, family="仿宋")
    return document


def render_docx(data: dict) -> bytes:
    """Title, date, paragraphs and tables in a Word document (A4)."""
    data = printable_tree(data)
    document = titled_a4_document(data["title"], data["date_label"])

    def paragraph(text: str, *, heading=False):
        para = document.add_paragraph()
        set_font(para.add_run(text), size=16 if not heading else 16, bold=heading, family="黑体" if heading else "仿宋")
        return para

    if data["kind"] == "month":
        totals = data["totals"]
        paragraph(month_summary(data))
        paragraph("一、各村（居）得分排名", heading=True)
        _docx_table(document, ["排名", "村（居）", "加分", "扣分", "一票否决", "得分"],
                    [[row["rank"], row["village"], zh_score(row["additions"]), zh_score(row["deductions"]),
                      "是" if row["veto"] else "否", zh_score(row["score"])] for row in data["ranking"]])
        paragraph("二、加扣分明细", heading=True)
        if not data["details"]:
            paragraph("本月各村（居）无加扣分。")
        for village in data["details"]:
            paragraph(f"{village['village']}：加 {zh_score(village['additions_total'])} 分，"
                      f"扣 {zh_score(village['deductions_total'])} 分，得分 {zh_score(village['score'])}。")
            rows = []
            for kind, groups in (("加分", village["additions"]), ("扣分", village["deductions"])):
                for group in groups:
                    for item in group["items"]:
                        rows.append([kind, group["department"], f"{item['item_code']} {item['item_name']}",
                                     item["count"], zh_score(item["amount"]), "、".join(item["sources"])])
            for kind, entries in (("一票否决", village["vetoes"]), ("已上报不扣分", village["excused"]),
                                  ("通气上报不加分", village.get("tipped", []))):
                for entry in entries:
                    rows.append([kind, entry["department"], f"{entry['item_code']} {entry['item_name']}", 1, "0",
                                 entry["source"]])
            _docx_table(document, ["类型", "牵头部门", "事项", "件数", "分值", "来源"], rows)
        paragraph("三、督查组未督查的村（居）", heading=True)
        paragraph("、".join(data["unchecked_villages"]) + f"，共 {totals['unchecked']} 个。"
                  if data["unchecked_villages"] else NO_UNCHECKED if data.get("has_supervision_groups", True)
                  else NO_GROUPS)
        paragraph("四、逾期确认考评的部门", heading=True)
        if data["late_departments"]:
            _docx_table(document, ["部门", "确认时间", "逾期天数"],
                        [[row["department"], row["confirmed_at"] or "尚未确认", row["days_late"]]
                         for row in data["late_departments"]])
        else:
            paragraph("各牵头部门均按时确认。")
        paragraph("五、督查发现后上报不加分的情况", heading=True)
        if data.get("tipped_reports"):
            paragraph(TIPPED_INTRO)
            _docx_table(document, ["村（居）", "上报编号", "事项", "核实日期"],
                        [[row["village"], row["number"], f"{row['item_code']} {row['item_name']}", row["date"]]
                         for row in data["tipped_reports"]])
        else:
            paragraph(NO_TIPPED)
    else:
        paragraph(quarter_summary(data))
        _docx_table(document, ["村（居）", *data["month_labels"], "月平均分", "等次"],
                    [[row["village"], *(zh_score(score) for score in row["months"]), zh_score(row["average"]),
                      row["grade"]] for row in data["rows"]])
        paragraph(f"等次：{data.get('grade_rule') or grade_rule_text()}。获得“较差”等次的不给予奖励。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def month_summary(data: dict) -> str:
    totals = data["totals"]
    text = (f"根据各牵头部门核实登记情况，现将{data['period_label']}{data['township']}各村（居）大巡查考评情况通报如下："
            f"全镇 {totals['villages']} 个村（居）合计加 {zh_score(totals['additions'])} 分、"
            f"扣 {zh_score(totals['deductions'])} 分，平均得分 {zh_score(totals['average'])} 分")
    if totals["vetoed"]:
        text += f"，{totals['vetoed']} 个村（居）被一票否决"
    return text + "。"


def quarter_summary(data: dict) -> str:
    counts = "，".join(f"{row['grade']} {row['count']} 个" for row in data["grade_counts"])
    return (f"现将{data['period_label']}{data['township']}各村（居）大巡查考评结果通报如下"
            f"（季度成绩为三个月得分的平均数）：共 {data['totals']['villages']} 个村（居），{counts}。")


RENDERERS = {"pdf": render_pdf, "xlsx": render_xlsx, "docx": render_docx}


def render(data: dict, fmt: str) -> bytes:
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}")
    return RENDERERS[fmt](data)


def filename(data: dict, fmt: str) -> str:
    return f"{data['title']}.{fmt}"


def export_circular(data: dict, fmt: str, *, by, township: Region, laid_out=None) -> bytes:
    """Render the circular and write the export to the audit trail (laid_out: see governance.pdf)."""
    content = render_pdf(data, laid_out=laid_out) if fmt == "pdf" else render(data, fmt)
    audit.record("patrol_circular.export", actor=by, obj=township,
                 after={"kind": data["kind"], "period": data["period"], "format": fmt, "bytes": len(content)},
                 object_repr=data["title"])
    return content


# ---------------------------------------------------------------- publication


def published_circular(township: Region, kind: str, start: datetime.date) -> Circular | None:
    return Circular.objects.filter(township=township, period=kind, period_start=start).select_related(
        "published_by").first()


class PeriodNotEnded(ValidationError):
    """The month or quarter is still running (or still ahead): its circular cannot be published yet."""


def not_ended_reason(kind: str, start: datetime.date, today: datetime.date | None = None) -> str | None:
    """Why the month or quarter beginning on `start` may not be published yet, or None once it has ended.

    The township big patrol plan 六、(五): the office circulates each month's figures after the month
    (在每月10日前通报各村（居）上月巡查考评情况); 五、7: a quarter's grade is the mean of its three months. A
    publication is final, so publishing a running period would freeze it without its later points."""
    this_month = month_start(today or timezone.localdate())
    last_month = start if kind == "month" else start.replace(month=start.month + 2)
    if last_month < this_month:
        return None
    if kind == "month":
        label, wait, what = f"{start.year}年{start.month}月", "月满后", "该月考评通报"
    else:
        label, wait, what = f"{start.year}年第{(start.month - 1) // 3 + 1}季度", "季度结束后", "该季度考评"
    state = "尚未结束" if start <= this_month else "尚未开始"
    return f"{label}{state}，{wait}才能发布{what}。"


def publish_circular(township: Region, data: dict, *, by) -> Circular:
    """The office publishes the month's circular or the quarter's grade sheet: once per period and only
    after the period has ended (see `not_ended_reason`), with the data as published kept as the snapshot
    (the township big patrol plan 六、(五)). Audited."""
    if not by.has_perm("inspection.publish_circular", township):
        raise PermissionDenied("只有镇综合办可以发布考评通报。")
    kind = Circular.Period.MONTH if data["kind"] == "month" else Circular.Period.QUARTER
    start = period_start(data)
    if reason := not_ended_reason(data["kind"], start):
        raise PeriodNotEnded(reason)
    label = f"{data['period_label']}{'考评情况通报' if kind == Circular.Period.MONTH else '考评'}"
    try:
        with transaction.atomic():
            # The township's row is the lock a finding's registration takes too: what is published is
            # what stands when it is published, computed here, not the figures the page showed before.
            lock_township(township)
            if Circular.objects.select_for_update().filter(township=township, period=kind, period_start=start).exists():
                raise ValidationError(f"{township.name}{label}已经发布，不能重复发布。")
            data = (build_month_circular(township, start) if kind == Circular.Period.MONTH
                    else build_quarter_circular(township, start.year, (start.month - 1) // 3 + 1))
            now = timezone.now()
            snapshot = {**data, "date": timezone.localdate(now).isoformat(),
                        "date_label": chinese_date(timezone.localdate(now))}
            circular = Circular.objects.create(township=township, period=kind, period_start=start, published_at=now,
                                               published_by=by, scores=snapshot)
            audit.record("patrol_circular.publish", actor=by, obj=circular,
                         after={"period": data["period"], "kind": data["kind"],
                                "scores": data.get("ranking") or data.get("rows")})
    except IntegrityError as exc:  # a concurrent publication of the same period won the race
        raise ValidationError(f"{township.name}{label}已经发布，不能重复发布。") from exc
    return circular
