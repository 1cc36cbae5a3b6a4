"""The big patrol's ledgers as .xlsx workbooks: a village's patrol ledger (村级巡查工作台账, the plan's
附件3) and a lead department's registration book (部门登记备案台账, 附件4).
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
import io

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from governance import audit
from governance.input_rules import printable
from governance.spreadsheet_safety import xlsx_row
from grid.access import scope
from grid.models import Department, Region

from ..models import CatalogItem, PatrolFinding, PatrolReport, VillagePatrol
from .findings import visible_findings
from .scoring import finding_outcome, multiplier_table, with_tip_off


def ledger_villages(user):
    return scope(user, Region.objects.filter(tier__key="village"), "inspection.view_villagepatrol").order_by("path")


def book_departments(user):
    """Departments leading a catalog item, in regions where the user may see reports."""
    leading = Department.objects.filter(pk__in=CatalogItem.objects.values("lead_department_id"))
    return scope(user, leading, "inspection.view_patrolreport").select_related("region").order_by("region__path", "name")


EXPORT_LIMIT = 50_000

PATROL_HEADERS = ["序号", "巡查日期", "巡查人员", "巡查事项", "巡查路线或地点", "巡查情况", "记录人", "上报编号"]
VILLAGE_REPORT_HEADERS = ["编号", "目录编号", "事项", "牵头部门", "发生时间", "地点", "问题描述", "上报日期", "上报人",
                          "核实结果", "核实日期", "登记备案号", "加分", "弄虚作假"]
BOOK_REPORT_HEADERS = ["登记备案号", "上报编号", "村（居）", "目录编号", "事项", "发生时间", "地点", "问题描述", "上报日期",
                       "核实结果", "核实日期", "核实人", "核实情况", "加分", "后续处置", "弄虚作假"]
BOOK_FINDING_HEADERS = ["编号", "村（居）", "目录编号", "事项", "来源", "发现日期", "是否属实", "对应上报", "目录分值", "倍数",
                        "扣分", "登记时间", "登记人", "弄虚作假"]


def patrol_prefetches(*names: str) -> list:
    """A patrol's people, items and reports (or those `names`) in a fixed order, for the cells of the
    ledger list, its export and the formal ledger."""
    ordered = {"patrollers": get_user_model().objects.order_by("pk"),
               "items": CatalogItem.objects.order_by("code", "pk"),
               "reports": PatrolReport.objects.order_by("number")}
    return [Prefetch(name, queryset=ordered[name]) for name in names or ordered]


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _local(value: datetime.datetime | None):
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value


def _sheet(workbook: Workbook, title: str, caption: str, headers: list[str], widths: list[int]):
    sheet = workbook.create_sheet(title)
    sheet.append([printable(caption)])  # region and department names are stored text
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = width
    sheet.freeze_panes = "A3"
    return sheet


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _points(report: PatrolReport):
    return float(report.earned_points)


def export_village_ledger(village: Region, start: datetime.date, end: datetime.date, *, by,
                          progress=None) -> bytes:
    """附件3: the village's patrols (巡查台账) and its reports (上报记录) from `start` to `end` inclusive."""
    patrols = list(
        scope(by, VillagePatrol.objects.filter(village=village, date__gte=start, date__lte=end),
              "inspection.view_villagepatrol")
        .select_related("recorded_by").prefetch_related(*patrol_prefetches())
        .order_by("date", "id")[:EXPORT_LIMIT]
    )
    reports = list(
        with_tip_off(scope(by, PatrolReport.objects.filter(village=village, reported_on__gte=start,
                                                           reported_on__lte=end), "inspection.view_patrolreport"))
        .select_related("item__lead_department", "reporter").order_by("reported_on", "number")[:EXPORT_LIMIT]
    )
    workbook = Workbook()
    workbook.remove(workbook.active)
    period = f"{start:%Y年%m月%d日}至{end:%Y年%m月%d日}"
    sheet = _sheet(workbook, "巡查台账", f"{village.full_path} 巡查工作台账（{period}）", PATROL_HEADERS,
                   [6, 12, 18, 30, 30, 40, 10, 20])
    for index, patrol in enumerate(patrols, start=1):
        if progress is not None:  # called once per row (a long export run as a job)
            progress()
        sheet.append(xlsx_row(sheet, [
            index, patrol.date, "、".join(_name(user) for user in patrol.patrollers.all()),
            "、".join(f"{item.code} {item.name}" for item in patrol.items.all()), patrol.route, patrol.findings,
            _name(patrol.recorded_by), "、".join(report.number for report in patrol.reports.all()),
        ]))
    sheet = _sheet(workbook, "上报记录", f"{village.full_path} 巡查发现问题上报记录（{period}）", VILLAGE_REPORT_HEADERS,
                   [16, 10, 26, 14, 17, 20, 36, 12, 10, 10, 12, 16, 8, 8])
    for report in reports:
        if progress is not None:  # called once per row (a long export run as a job)
            progress()
        sheet.append(xlsx_row(sheet, [
            report.number, report.item.code, report.item.name, report.item.lead_department.name,
            _local(report.occurred_at), report.location, report.description, report.reported_on, _name(report.reporter),
            report.get_verdict_display(), report.verified_on, report.registration_number, _points(report),
            "是" if report.is_fraud else "",
        ]))
    # Filed under the ledger (its own rule: where inspection.view_villagepatrol is held), not the village:
    # its counts are the ledger's.
    audit.record("village_ledger.export", actor=by, about=VillagePatrol, region_path=village.path,
                 object_repr=str(village),
                 after={"start": start, "end": end, "patrols": len(patrols), "reports": len(reports)})
    return _save(workbook)


def _deduction(finding: PatrolFinding, multipliers) -> tuple[int | str, float | str]:
    """(multiplier, deduction) for the book's columns, from scoring.finding_outcome."""
    kind, multiplier, amount = finding_outcome(finding, multipliers)
    return {"none": ("", 0.0), "excused": (0, 0.0), "veto": ("", "一票否决")}.get(kind, (multiplier, float(amount)))


def export_department_book(department: Department, start: datetime.date, end: datetime.date, *, by,
                           progress=None) -> bytes:
    """附件4: reports of the items the department leads, reported from `start` to `end`, with verdict,
    verification date, registration number and points; and the findings registered for its items,
    discovered in that span, with the deduction each costs."""
    reports = list(
        with_tip_off(scope(by, PatrolReport.objects.filter(item__lead_department=department, reported_on__gte=start,
                                                           reported_on__lte=end), "inspection.view_patrolreport"))
        .select_related("village", "item", "verified_by").order_by("reported_on", "number")[:EXPORT_LIMIT]
    )
    findings = list(
        visible_findings(by).filter(item__lead_department=department, registered_at__isnull=False,
                                    discovered_on__gte=start, discovered_on__lte=end)
        .select_related("village", "item", "matched_report", "registered_by").order_by("discovered_on", "number")
        [:EXPORT_LIMIT]
    )
    multipliers = multiplier_table({finding.township_id for finding in findings})
    workbook = Workbook()
    workbook.remove(workbook.active)
    period = f"{start:%Y年%m月%d日}至{end:%Y年%m月%d日}"
    title = f"{department.region.name}{department.name}"
    sheet = _sheet(workbook, "上报登记", f"{title} 登记备案工作台账：村（居）上报（{period}）", BOOK_REPORT_HEADERS,
                   [16, 16, 12, 10, 26, 17, 20, 36, 12, 10, 12, 10, 30, 8, 10, 8])
    for report in reports:
        if progress is not None:  # called once per row (a long export run as a job)
            progress()
        sheet.append(xlsx_row(sheet, [
            report.registration_number, report.number, report.village.name, report.item.code, report.item.name,
            _local(report.occurred_at), report.location, report.description, report.reported_on,
            report.get_verdict_display(), report.verified_on, _name(report.verified_by), report.verification_note,
            _points(report), report.get_follow_up_display() if report.follow_up else "", "是" if report.is_fraud else "",
        ]))
    sheet = _sheet(workbook, "发现问题登记", f"{title} 登记备案工作台账：发现问题（{period}）", BOOK_FINDING_HEADERS,
                   [16, 12, 10, 26, 12, 12, 8, 16, 8, 6, 10, 17, 10, 8])
    for finding in findings:
        if progress is not None:  # called once per row (a long export run as a job)
            progress()
        multiplier, deduction = _deduction(finding, multipliers)
        sheet.append(xlsx_row(sheet, [
            finding.number, finding.village.name, finding.item.code, finding.item.name, finding.get_source_display(),
            finding.discovered_on, {True: "属实", False: "不属实"}.get(finding.is_true, "待核实"),
            finding.matched_report.number if finding.matched_report else "", float(finding.points), multiplier,
            deduction, _local(finding.registered_at), _name(finding.registered_by), "是" if finding.is_fraud else "",
        ]))
    # Filed under the reports it lists (their rule: where inspection.view_patrolreport is held), not the region.
    audit.record("department_book.export", actor=by, about=PatrolReport, region_path=department.region.path,
                 after={"department": department.name, "start": start, "end": end, "reports": len(reports),
                        "findings": len(findings)}, object_repr=title)
    return _save(workbook)
