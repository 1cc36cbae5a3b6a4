"""The township big patrol's quarterly incentive sheet (季度激励方案) and year-end performance summary
(年度绩效考核汇总). Design notes: docs/architecture/inspection.md.

The township big patrol plan, 五、8: 实行分季度激励，获得“较差”等次的不给予奖励; 四、(十): the office draws up
each quarter's incentive plan for the 镇党政班子会议; 四、(三): the 党建工作办 takes the big patrol into
the villages' year-end 绩效考核. The grades are those of the quarter's grade sheet (the published one
where there is one), so the sheet, the circular and `patrol_score` agree on every village.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from django.utils import timezone
from openpyxl import Workbook

from governance import audit
from governance.chinese_dates import chinese_date
from governance.docx_fonts import set_font
from governance.input_rules import printable_tree
from grid.models import Region

from ..models import IncentiveRate
from .circular_access import circular_data
from .circulars import _docx_table, _number, _xlsx_sheet, titled_a4_document
from .scoring import NO_REWARD_GRADES, decimal_text, grade_rule_text, next_month, quarter_months

FORMATS = ("docx", "xlsx")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
NO_REWARD = "不给予奖励"
REWARD = "给予奖励"


def rates_on(township: Region, day: datetime.date) -> dict[str, Decimal]:
    """Each grade's reward in the township's incentive plan in force on `day` (its latest row from on or
    before that day per grade): one query. Empty where the township has set no amounts."""
    rates: dict[str, Decimal] = {}
    rows = IncentiveRate.objects.filter(township=township, effective_from__lte=day).order_by("-effective_from")
    for grade, amount in rows.values_list("grade", "amount"):
        rates.setdefault(grade, amount)
    return rates


def reward_of(grade: str, rates: dict[str, Decimal]) -> tuple[bool, str]:
    """(rewarded?, what the sheet prints) for a grade: 较差 gets nothing; another grade gets its amount,
    or "给予奖励" where the township has set no amount for it."""
    if grade in NO_REWARD_GRADES:
        return False, NO_REWARD
    amount = rates.get(grade)
    return True, (f"{decimal_text(amount)} 元" if amount is not None else REWARD)


def build_incentive_sheet(township: Region, year: int, quarter: int, *, full: bool = True,
                          today: datetime.date | None = None) -> dict | None:
    """The quarter's incentive sheet: per village its months, mean, grade and reward (None where the
    user may see neither the live figures nor a published grade sheet)."""
    grades, _ = circular_data(township, full, "quarter", (year, quarter))
    if grades is None:
        return None
    today = today or timezone.localdate()
    rates = rates_on(township, quarter_months(year, quarter)[0])
    rows, total, rewarded = [], Decimal(0), 0
    for row in grades["rows"]:
        gets, text = reward_of(row["grade"], rates)
        rewarded += gets
        if gets and row["grade"] in rates:
            total += rates[row["grade"]]
        rows.append({**row, "rewarded": gets, "reward": text})
    return {
        "kind": "incentive",
        "title": f"{township.name}大巡查工作{year}年第{quarter}季度激励方案",
        "township": township.name,
        "period": f"{year}Q{quarter}",
        "period_label": f"{year}年第{quarter}季度",
        "date": today.isoformat(),
        "date_label": chinese_date(today),
        "month_labels": grades["month_labels"],
        "rows": rows,
        "grade_rule": grade_rule_text(),
        "totals": {"villages": len(rows), "rewarded": rewarded, "not_rewarded": len(rows) - rewarded,
                   "amount": decimal_text(total) if rates else ""},
    }


def build_year_summary(township: Region, year: int, *, full: bool = True, today: datetime.date | None = None) -> dict:
    """The year-end 绩效考核 summary: per village the four quarters' means and grades, how many quarters
    were rewarded, and the year's mean of the quarters shown. A quarter the user may not see, or one not
    ended by `today` (its months would count as base scores not yet earned), is blank."""
    today = today or timezone.localdate()
    quarters = [build_incentive_sheet(township, year, quarter, full=full, today=today)
                if next_month(quarter_months(year, quarter)[-1]) <= today else None for quarter in (1, 2, 3, 4)]
    villages: dict[str, dict] = {}
    for index, sheet in enumerate(quarters):
        for row in (sheet or {}).get("rows", []):
            entry = villages.setdefault(row["village"], {"village": row["village"], "quarters": [None] * 4})
            entry["quarters"][index] = {"average": row["average"], "grade": row["grade"], "reward": row["reward"],
                                        "rewarded": row["rewarded"]}
    rows = []
    for entry in villages.values():
        shown = [q for q in entry["quarters"] if q is not None]
        mean = sum((Decimal(q["average"]) for q in shown), Decimal(0)) / len(shown)
        rows.append({**entry, "rewarded_quarters": sum(q["rewarded"] for q in shown),
                     "year_average": decimal_text(mean)})
    return {
        "kind": "year",
        "title": f"{township.name}{year}年度大巡查工作绩效考核汇总",
        "township": township.name,
        "period": str(year),
        "date": today.isoformat(),
        "date_label": chinese_date(today),
        "rows": rows,
        "grade_rule": grade_rule_text(),
        "totals": {"villages": len(rows), "quarters": sum(sheet is not None for sheet in quarters)},
    }


# ---------------------------------------------------------------- documents


def _quarter_cells(quarter: dict | None) -> list[str]:
    return ["", "", ""] if quarter is None else [quarter["average"], quarter["grade"], quarter["reward"]]


def render_docx(data: dict) -> bytes:
    """The sheet as a Word document (A4) for the 班子会议."""
    data = printable_tree(data)
    document = titled_a4_document(data["title"], data["date_label"], side_margins_mm=(20, 20), title_size=20)

    def paragraph(text: str) -> None:
        set_font(document.add_paragraph().add_run(text), size=14, family="仿宋")

    totals = data["totals"]
    if data["kind"] == "incentive":
        paragraph(incentive_summary(data))
        _docx_table(document, ["村（居）", *data["month_labels"], "月平均分", "等次", "奖励"],
                    [[row["village"], *row["months"], row["average"], row["grade"], row["reward"]]
                     for row in data["rows"]])
    else:
        paragraph(f"根据{data['period']}年四个季度的大巡查考评结果，现将{data['township']}各村（居）大巡查工作绩效考核情况"
                  f"汇总如下（共 {totals['villages']} 个村（居），已有 {totals['quarters']} 个季度的考评）：")
        _docx_table(document, ["村（居）", *(f"第{q}季度" for q in (1, 2, 3, 4)), "获奖励季度数", "全年平均分"],
                    [[row["village"], *(f"{q['average']} {q['grade']}" if q else "—" for q in row["quarters"]),
                      row["rewarded_quarters"], row["year_average"]] for row in data["rows"]])
    paragraph(f"等次：{data['grade_rule']}。获得“较差”等次的不给予奖励。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_xlsx(data: dict) -> bytes:
    data = printable_tree(data)
    workbook = Workbook()
    workbook.remove(workbook.active)
    if data["kind"] == "incentive":
        sheet = _xlsx_sheet(
            workbook, "季度激励", ["村（居）", *data["month_labels"], "月平均分", "等次", "奖励"],
            [[row["village"], *(_number(score) for score in row["months"]), _number(row["average"]), row["grade"],
              row["reward"]] for row in data["rows"]],
            [18, 10, 10, 10, 12, 10, 16],
        )
    else:
        headers = ["村（居）"]
        for quarter in (1, 2, 3, 4):
            headers += [f"第{quarter}季度平均分", f"第{quarter}季度等次", f"第{quarter}季度奖励"]
        sheet = _xlsx_sheet(
            workbook, "年度绩效考核", [*headers, "获奖励季度数", "全年平均分"],
            [[row["village"], *(cell for q in row["quarters"] for cell in _quarter_cells(q)), row["rewarded_quarters"],
              _number(row["year_average"])] for row in data["rows"]],
            [18] + [12] * 12 + [12, 12],
        )
    sheet.insert_rows(1)
    sheet["A1"] = f"{data['title']}（{data['date_label']}）"
    sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def incentive_summary(data: dict) -> str:
    totals = data["totals"]
    text = (f"根据{data['period_label']}各村（居）大巡查考评等次，按照“获得‘较差’等次的不给予奖励”的规定，拟定激励方案如下，"
            f"提交镇党政班子会议研究：共 {totals['villages']} 个村（居），给予奖励 {totals['rewarded']} 个，"
            f"不给予奖励 {totals['not_rewarded']} 个")
    if totals["amount"]:
        text += f"，奖励金额合计 {totals['amount']} 元"
    return text + "。"


RENDERERS = {"docx": render_docx, "xlsx": render_xlsx}


def export(data: dict, fmt: str, *, by, township: Region) -> bytes:
    """Render the sheet or summary and write the export to the audit trail."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}")
    content = RENDERERS[fmt](data)
    audit.record(f"patrol_{data['kind']}.export", actor=by, obj=township,
                 after={"period": data["period"], "format": fmt, "bytes": len(content)}, object_repr=data["title"])
    return content


def filename(data: dict, fmt: str) -> str:
    return f"{data['title']}.{fmt}"
