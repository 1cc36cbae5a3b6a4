"""Importing a township's patrol catalog, historical village reports and findings."""

import csv
import datetime
from decimal import Decimal
from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from governance.models import AuditEntry
from governance.tabular import ImportFailed
from grid import services
from inspection.models import CatalogItem, PatrolCategory, PatrolFinding, PatrolReport, SupervisionGroup
from inspection.patrol.imports import import_patrol_catalog, import_patrol_findings, import_patrol_reports
from inspection.patrol.scoring import month_scores

CATALOG_HEADER = ["编号", "事项", "类别", "牵头部门", "分值", "佐证要求"]
REPORT_HEADER = ["编号", "村(居)", "目录编号", "发生时间", "地点", "问题描述", "上报日期", "核实结果", "核实日期"]
FINDING_HEADER = ["编号", "村(居)", "目录编号", "发现日期", "来源", "是否属实", "对应上报编号"]

CATALOG_ROWS = [
    CATALOG_HEADER,
    ["TP-01", "未经审批新建、扩建住宅", "农村非法占用宅基地", "农业农村办", "3", "现场照片、位置示意"],
    ["TP-02", "露天焚烧秸秆、垃圾", "野外用火（露天焚烧）", "农业农村办", "2", "带时间水印的照片"],
    ["TP-03", "非法占用土地、推填土", "违法用地", "自然资源所", "5", ""],
]


def write_csv(tmp_path, rows, *, name="sheet.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(tmp_path, rows, *, name="sheet.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def errors_of(exc_info) -> list[tuple[int, str]]:
    return [(error.row, error.message) for error in exc_info.value.errors]


def rows_with_errors(exc_info) -> list[int]:
    return sorted({error.row for error in exc_info.value.errors})


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def counts() -> tuple[int, ...]:
    return (CatalogItem.objects.count(), PatrolCategory.objects.count(), PatrolReport.objects.count(),
            PatrolFinding.objects.count(), AuditEntry.objects.count())


@pytest.fixture
def township(county):
    services.create_department(name="自然资源所", region=county.taiping)
    services.create_department(name="自然资源所", region=county.zhaocun)
    return county.taiping


@pytest.fixture
def catalog(township, tmp_path):
    import_patrol_catalog(write_csv(tmp_path, CATALOG_ROWS, name="catalog.csv"), township=township)
    return {item.code: item for item in CatalogItem.objects.filter(township=township)}


def report_row(number="LX-001", village="楼星村", code="TP-01", occurred="2026-01-03 09:30", location="楼星村东片",
               description="村民未经审批建房", reported="2026-01-04", verdict="属实", verified="2026-01-08"):
    return [number, village, code, occurred, location, description, reported, verdict, verified]


@pytest.fixture
def reports(catalog, tmp_path):
    path = write_csv(tmp_path, [
        REPORT_HEADER,
        report_row(),
        report_row("DL-001", "大楼村", "TP-02", "2026-01-10", "大楼村北田", "焚烧秸秆", "2026-01-10", "不属实", "2026-01-12"),
    ], name="reports.csv")
    import_patrol_reports(path, township=catalog["TP-01"].township)
    return {report.number: report for report in PatrolReport.objects.all()}


# --- catalog -----------------------------------------------------------------------------------------


def test_csv_catalog_import_creates_items_and_missing_categories_audited(township, tmp_path):
    agriculture = township.departments.get(name="农业农村办")
    PatrolCategory.objects.create(township=township, name="违法用地", lead_department=agriculture)
    before = counts()

    result = import_patrol_catalog(write_csv(tmp_path, CATALOG_ROWS), township="太平镇")

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    item = CatalogItem.objects.get(township=township, code="TP-01")
    assert (item.name, item.category.name, item.lead_department, item.points, item.evidence_required) == (
        "未经审批新建、扩建住宅", "农村非法占用宅基地", agriculture, Decimal("3.00"), "现场照片、位置示意",
    )
    assert item.category.lead_department == agriculture
    # An existing category led by another department is used as it is; the item's department counts.
    land = CatalogItem.objects.get(code="TP-03")
    assert land.category.lead_department == agriculture and land.lead_department.name == "自然资源所"
    assert [warning.row for warning in result.warnings] == [2, 3]  # two new categories
    assert counts() == (before[0] + 3, before[1] + 2, before[2], before[3], before[4] + 5)
    assert AuditEntry.objects.filter(action="catalog_item.create").count() == 3
    assert AuditEntry.objects.filter(action="patrol_category.create").count() == 2


def test_xlsx_catalog_import_reads_numeric_cells_and_township_by_path(township, tmp_path):
    path = write_xlsx(tmp_path, [
        CATALOG_HEADER,
        [101, "禁养区内复养畜禽", "禁养区畜禽养殖", "农业农村办", 4.0, None],
        [None, None, None, None, None, None],
        ["TP-05", "耕地撂荒", "撂荒耕地及复耕", "农业农村办", 1.5, "航拍或现场照片"],
    ])

    result = import_patrol_catalog(path, township="某县/太平镇")

    assert result.created == 2
    assert CatalogItem.objects.get(code="101").points == Decimal("4")
    assert CatalogItem.objects.get(code="TP-05").points == Decimal("1.5")


def test_reimporting_the_same_catalog_changes_nothing_and_writes_no_audit_entry(catalog, tmp_path):
    before = counts()
    path = write_xlsx(tmp_path, CATALOG_ROWS)

    result = import_patrol_catalog(path, township="太平镇")

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert counts() == before


def test_reimporting_with_changed_points_and_name_updates_the_item_but_not_its_reports(reports, tmp_path):
    item = CatalogItem.objects.get(code="TP-01")
    rows = [list(row) for row in CATALOG_ROWS]
    rows[1][1], rows[1][4] = "违法占用宅基地建房", "4.5"
    before = last_audit_id()

    result = import_patrol_catalog(write_csv(tmp_path, rows), township="太平镇")

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    item.refresh_from_db()
    assert (item.name, item.points) == ("违法占用宅基地建房", Decimal("4.50"))
    entry = AuditEntry.objects.get(pk__gt=before)
    assert entry.action == "catalog_item.update" and entry.object_id == str(item.pk)
    assert entry.before == {"name": "未经审批新建、扩建住宅", "points": "3.00"}
    assert entry.after == {"name": "违法占用宅基地建房", "points": "4.50"}
    assert PatrolReport.objects.get(number="LX-001").points == Decimal("3.00")  # awarded before the change


def test_every_bad_catalog_row_is_reported_and_nothing_is_written(township, tmp_path):
    before = counts()
    path = write_csv(tmp_path, [
        CATALOG_HEADER,
        ["TP-01", "好的事项", "违法建筑", "自然资源所", "3", ""],  # 2: good, but must not be written
        ["TP-02", "事项", "违法建筑", "财政所", "3", ""],  # 3: no such department in 太平镇
        ["TP-03", "事项", "违法建筑", "自然资源所", "0", ""],  # 4
        ["TP-04", "事项", "违法建筑", "自然资源所", "-2", ""],  # 5
        ["TP-05", "事项", "违法建筑", "自然资源所", "三分", ""],  # 6
        ["TP-06", "事项", "违法建筑", "自然资源所", "1.234", ""],  # 7
        ["TP-01", "事项", "违法建筑", "自然资源所", "3", ""],  # 8: duplicate of row 2
        ["", "", "", "", "", ""],  # blank: skipped
        ["TP-08", "", "", "", "", ""],  # 10
    ])

    with pytest.raises(ImportFailed) as exc_info:
        import_patrol_catalog(path, township=township)

    errors = errors_of(exc_info)
    assert rows_with_errors(exc_info) == [3, 4, 5, 6, 7, 8, 10]
    assert (3, "牵头部门“财政所”不是太平镇的部门（请先导入或添加该部门）") in errors
    assert (4, "分值“0”应为大于 0 的数，最多两位小数") in errors
    assert (8, "编号“TP-01”与第 2 行重复") in errors
    assert {(10, "事项不能为空"), (10, "类别不能为空"), (10, "牵头部门不能为空"), (10, "分值不能为空")} <= set(errors)
    assert "共 7 行有误" in str(exc_info.value)
    assert counts() == before


def test_a_department_of_another_township_is_refused(township, tmp_path):
    path = write_csv(tmp_path, [CATALOG_HEADER, ["ZC-01", "违法用地", "违法用地", "自然资源所", "3", ""]])
    import_patrol_catalog(path, township="赵村镇")  # 赵村镇 has its own 自然资源所
    path = write_csv(tmp_path, [CATALOG_HEADER, ["ZC-02", "违法用地", "违法用地", "农业农村办", "3", ""]])

    with pytest.raises(ImportFailed) as exc_info:
        import_patrol_catalog(path, township="赵村镇")

    assert errors_of(exc_info) == [(2, "牵头部门“农业农村办”不是赵村镇的部门（请先导入或添加该部门）")]


def test_the_township_must_be_a_township(township, tmp_path):
    path = write_csv(tmp_path, CATALOG_ROWS)
    with pytest.raises(ImportFailed, match="不是乡镇"):
        import_patrol_catalog(path, township="太平镇/楼星村")
    with pytest.raises(ImportFailed, match="找不到区域"):
        import_patrol_catalog(path, township="无名镇")


def test_a_missing_column_is_reported(township, tmp_path):
    path = write_csv(tmp_path, [["编号", "事项", "类别", "牵头部门", "分值"], ["TP-01", "x", "y", "农业农村办", "1"]])
    with pytest.raises(ImportFailed, match="缺少必需的列：佐证要求"):
        import_patrol_catalog(path, township=township)


# --- reports ----------------------------------------------------------------------------------------------


def test_csv_report_import_snapshots_points_by_verdict(catalog, county, tmp_path):
    before = last_audit_id()
    path = write_csv(tmp_path, [
        REPORT_HEADER,
        report_row(),
        report_row("LX-002", "太平镇/楼星村", "TP-02", "2026-01-05", verdict="不属实", reported="2026-01-05",
                   verified="2026-01-05"),
        report_row("LX-003", "某县/太平镇/楼星村", "TP-01", verdict="重复"),
        report_row("DL-001", "大楼村", "TP-03", "2026/1/20 8:05", reported="2026年1月21日", verdict="待核实", verified=""),
    ])

    result = import_patrol_reports(path, township="太平镇")

    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    got = {r.number: r for r in PatrolReport.objects.all()}
    first = got["LX-001"]
    assert (first.village, first.item, first.verdict, first.points) == (county.louxing, catalog["TP-01"], "true", Decimal("3"))
    assert (first.reported_on, first.verified_on) == (datetime.date(2026, 1, 4), datetime.date(2026, 1, 8))
    assert timezone.localtime(first.occurred_at).replace(tzinfo=None) == datetime.datetime(2026, 1, 3, 9, 30)
    assert first.registered_at is not None and first.reporter is None
    assert (got["LX-002"].verdict, got["LX-002"].points) == ("false", Decimal("0"))
    assert (got["LX-003"].verdict, got["LX-003"].points) == ("duplicate", Decimal("0"))
    pending = got["DL-001"]
    assert (pending.village, pending.verdict, pending.verified_on, pending.points, pending.registered_at) == (
        county.dalou, "pending", None, Decimal("0"), None,
    )
    assert pending.reported_on == datetime.date(2026, 1, 21)
    assert timezone.localtime(pending.occurred_at).replace(tzinfo=None) == datetime.datetime(2026, 1, 20, 8, 5)
    assert AuditEntry.objects.filter(pk__gt=before, action="patrol_report.import").count() == 4

    louxing = next(month for month in month_scores(county.taiping, datetime.date(2026, 1, 1)) if month.village == county.louxing)
    assert (louxing.additions, louxing.score) == (Decimal("3"), Decimal("63"))


def test_xlsx_report_import_reads_date_and_datetime_cells(catalog, county, tmp_path):
    path = write_xlsx(tmp_path, [
        ["编号", "村（居）", "目录编号", "发生时间", "地点", "问题描述", "上报日期", "核实结果", "核实日期"],
        ["LX-010", "楼星村", "TP-02", datetime.datetime(2026, 2, 1, 17, 45), "村口", "烧垃圾",
         datetime.date(2026, 2, 2), "属实", datetime.datetime(2026, 2, 3)],
        ["LX-011", "楼星村", "TP-02", datetime.date(2026, 2, 2), "村口", "烧秸秆",
         datetime.date(2026, 2, 2), "待核实", None],
    ])

    result = import_patrol_reports(path, township=county.taiping)

    assert result.created == 2
    report = PatrolReport.objects.get(number="LX-010")
    assert timezone.localtime(report.occurred_at).replace(tzinfo=None) == datetime.datetime(2026, 2, 1, 17, 45)
    assert (report.verified_on, report.points) == (datetime.date(2026, 2, 3), Decimal("2"))


def test_reimporting_the_same_reports_changes_nothing_and_writes_no_audit_entry(reports, catalog, tmp_path):
    rows = [
        REPORT_HEADER,
        report_row(),
        report_row("DL-001", "大楼村", "TP-02", "2026-01-10", "大楼村北田", "焚烧秸秆", "2026-01-10", "不属实", "2026-01-12"),
    ]
    before = counts()

    result = import_patrol_reports(write_xlsx(tmp_path, rows), township="太平镇")

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert counts() == before


def test_every_bad_report_row_is_reported_and_nothing_is_written(reports, county, tmp_path):
    before = counts()
    path = write_csv(tmp_path, [
        REPORT_HEADER,
        report_row("OK-1"),  # 2: good, but must not be written
        report_row("BAD-3", village="河南村"),  # 3: a village of 赵村镇
        report_row("BAD-4", code="TP-99"),  # 4
        report_row("BAD-5", reported="2026-02-30"),  # 5: no such date
        report_row("BAD-6", occurred="昨天"),  # 6
        report_row("OK-1"),  # 7: duplicate of row 2
        report_row("LX-001", code="TP-02"),  # 8: 编号 of another stored report
        report_row("BAD-9", verified=""),  # 9
        report_row("BAD-10", reported="2026-01-10", verified="2026-01-09"),  # 10
        report_row("BAD-11", occurred="2026-01-05 08:00", reported="2026-01-04"),  # 11
        report_row("BAD-12", verdict="待核实", verified="2026-01-08"),  # 12
        report_row("BAD-13", verdict="基本属实"),  # 13
        report_row("BAD-14", village="楼星村/第1网格"),  # 14: a grid, not a village
        report_row("BAD-15", location=""),  # 15
    ])

    with pytest.raises(ImportFailed) as exc_info:
        import_patrol_reports(path, township="太平镇")

    errors = errors_of(exc_info)
    assert rows_with_errors(exc_info) == list(range(3, 16))
    assert (3, "“河南村”不是太平镇的村（居）") in errors
    assert (4, "目录编号“TP-99”不在太平镇的巡查目录中") in errors
    assert (5, "上报日期“2026-02-30”不是有效日期（如 2026-01-05）") in errors
    assert (6, "发生时间“昨天”不是有效的日期或时间（如 2026-01-05 或 2026-01-05 09:30）") in errors
    assert (7, "编号“OK-1”与第 2 行重复") in errors
    assert (8, "编号“LX-001”已被另一条上报使用（楼星村，TP-01，2026-01-04 上报，属实）") in errors
    assert (9, "核实日期不能为空") in errors
    assert (10, "核实日期 2026-01-09 早于上报日期 2026-01-10") in errors
    assert (11, "发生时间 2026-01-05 08:00 晚于上报日期 2026-01-04") in errors
    assert (12, "核实结果为待核实时不应填写核实日期") in errors
    assert (13, "核实结果“基本属实”无效，应为待核实、属实、不属实、重复之一") in errors
    assert (15, "地点不能为空") in errors
    assert counts() == before


def test_a_future_report_date_is_refused(catalog, tmp_path):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    path = write_csv(tmp_path, [REPORT_HEADER, report_row(occurred=tomorrow, reported=tomorrow, verdict="待核实", verified="")])
    with pytest.raises(ImportFailed) as exc_info:
        import_patrol_reports(path, township="太平镇")
    assert errors_of(exc_info) == [(2, f"上报日期“{tomorrow}”晚于今天")]


# --- findings ---------------------------------------------------------------------------------------------


def test_csv_finding_import_records_sources_truth_and_matched_reports(reports, county, tmp_path):
    group = SupervisionGroup.objects.create(township=county.taiping, number=2, name="第二巡查督查组")
    group.villages.set([county.louxing, county.dalou])
    before = last_audit_id()
    path = write_csv(tmp_path, [
        FINDING_HEADER,
        ["F-1", "楼星村", "TP-01", "2026-01-20", "镇督查组", "是", "LX-001"],  # excused by the earlier report
        ["F-2", "大楼村", "TP-03", "2026-01-21", "12345", "属实", ""],
        ["F-3", "大楼村", "TP-02", "2026-01-22", "市信访", "否", ""],
        ["F-4", "大楼村", "TP-02", "2026-01-23", "省", "", "DL-001"],
        ["F-5", "大楼村", "TP-01", "2026-01-24", "中央", "不属实", ""],
    ])

    result = import_patrol_findings(path, township="太平镇")

    assert (result.created, result.updated, result.unchanged) == (5, 0, 0)
    got = {f.number: f for f in PatrolFinding.objects.all()}
    first = got["F-1"]
    assert (first.source, first.is_true, first.matched_report, first.group, first.points) == (
        "township_group", True, reports["LX-001"], group, Decimal("3"),
    )
    assert first.registered_at is not None and first.discovered_on == datetime.date(2026, 1, 20)
    assert (got["F-2"].source, got["F-2"].is_true, got["F-2"].group, got["F-2"].points) == ("12345", True, None, Decimal("5"))
    assert (got["F-3"].source, got["F-3"].is_true) == ("city_petition", False)
    assert (got["F-4"].source, got["F-4"].is_true, got["F-4"].matched_report) == ("province", None, reports["DL-001"])
    assert (got["F-5"].source, got["F-5"].is_true) == ("central", False)
    assert AuditEntry.objects.filter(pk__gt=before, action="patrol_finding.import").count() == 5

    scores = {month.village: month for month in month_scores(county.taiping, datetime.date(2026, 1, 1))}
    assert scores[county.louxing].score == Decimal("63")  # +3, the group's finding is excused
    assert (scores[county.dalou].deductions, scores[county.dalou].score) == (Decimal("5"), Decimal("55"))


def test_xlsx_finding_import_and_reimport_changes_nothing(reports, tmp_path):
    rows = [
        FINDING_HEADER,
        ["F-1", "楼星村", "TP-01", datetime.date(2026, 1, 20), "区", "是", None],
        ["F-2", "大楼村", "TP-02", datetime.datetime(2026, 1, 21), "镇部门", None, "DL-001"],
    ]
    assert import_patrol_findings(write_xlsx(tmp_path, rows), township="太平镇").created == 2
    before = counts()

    result = import_patrol_findings(write_csv(tmp_path, rows), township="太平镇")

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert counts() == before


def test_every_bad_finding_row_is_reported_and_nothing_is_written(reports, tmp_path):
    import_patrol_findings(write_csv(tmp_path, [FINDING_HEADER, ["F-1", "楼星村", "TP-01", "2026-01-20", "区", "是", ""]]),
                           township="太平镇")
    before = counts()
    path = write_csv(tmp_path, [
        FINDING_HEADER,
        ["OK-2", "楼星村", "TP-01", "2026-01-20", "市", "是", ""],  # 2: good, but must not be written
        ["B-3", "楼星村", "TP-01", "2026-01-20", "县纪委", "是", ""],  # 3
        ["B-4", "楼星村", "TP-01", "2026-01-20", "区", "大概", ""],  # 4
        ["B-5", "楼星村", "TP-01", "2026-13-01", "区", "是", ""],  # 5
        ["B-6", "楼星村", "TP-01", "2026-01-20", "区", "是", "LX-999"],  # 6
        ["B-7", "楼星村", "TP-01", "2026-01-20", "区", "是", "DL-001"],  # 7: 大楼村's report
        ["OK-2", "楼星村", "TP-01", "2026-01-20", "市", "是", ""],  # 8: duplicate of row 2
        ["F-1", "楼星村", "TP-01", "2026-01-21", "区", "是", ""],  # 9: 编号 of another stored finding
        ["B-10", "河南村", "TP-01", "2026-01-20", "区", "是", ""],  # 10
        ["B-11", "楼星村", "", "2026-01-20", "", "是", ""],  # 11
    ])

    with pytest.raises(ImportFailed) as exc_info:
        import_patrol_findings(path, township="太平镇")

    errors = errors_of(exc_info)
    assert rows_with_errors(exc_info) == list(range(3, 12))
    assert (3, "来源“县纪委”无效，应为镇督查组、镇部门、区、市、省、12345、镇信访、区信访、市信访、省信访、舆情、市长信箱、市长热线、中央之一") in errors
    assert (4, "是否属实“大概”无效，应为 是、否、属实、不属实，或留空（待核实）") in errors
    assert (5, "发现日期“2026-13-01”不是有效日期（如 2026-01-05）") in errors
    assert (6, "对应上报编号“LX-999”不是太平镇已有的上报") in errors
    assert (7, "对应上报“DL-001”是大楼村的上报，与本行村（居）不符") in errors
    assert (7, "对应上报“DL-001”的目录编号是“TP-02”，与本行不符") in errors
    assert (8, "编号“OK-2”与第 2 行重复") in errors
    assert (9, "编号“F-1”已被另一条发现问题使用（楼星村，TP-01，2026-01-20 区发现）") in errors
    assert (10, "“河南村”不是太平镇的村（居）") in errors
    assert {(11, "目录编号不能为空"), (11, "来源不能为空（镇督查组、镇部门、区、市、省、12345、镇信访、区信访、市信访、省信访、舆情、市长信箱、市长热线、中央）")} <= set(errors)
    assert counts() == before


# --- commands ---------------------------------------------------------------------------------------------


def test_commands_import_catalog_reports_and_findings_in_turn(township, tmp_path):
    out = StringIO()
    call_command("import_patrol_catalog", str(write_csv(tmp_path, CATALOG_ROWS, name="c.csv")), township="太平镇", stdout=out)
    assert "太平镇巡查目录导入完成：新增 3，更新 0，未变 0。" in out.getvalue()
    assert "提示：第 2 行：新建类别“农村非法占用宅基地”，牵头部门为农业农村办" in out.getvalue()

    out = StringIO()
    call_command("import_patrol_reports", str(write_csv(tmp_path, [REPORT_HEADER, report_row()], name="r.csv")),
                 township="某县/太平镇", stdout=out)
    assert "村级巡查上报导入完成：新增 1" in out.getvalue()

    out = StringIO()
    findings = write_xlsx(tmp_path, [FINDING_HEADER, ["F-1", "楼星村", "TP-01", "2026-01-20", "镇督查组", "是", "LX-001"]])
    call_command("import_patrol_findings", str(findings), "--township", "太平镇", stdout=out)
    assert "巡查发现问题导入完成：新增 1" in out.getvalue()
    call_command("import_patrol_findings", str(findings), "--township", "太平镇", stdout=(out := StringIO()))
    assert "新增 0，更新 0，未变 1" in out.getvalue()


def test_command_lists_every_bad_row_and_fails(catalog, tmp_path):
    path = write_csv(tmp_path, [REPORT_HEADER, report_row(village="无名村"), report_row("X-2", code="TP-99")])
    err = StringIO()
    with pytest.raises(CommandError, match="共 2 行有误，未导入任何数据"):
        call_command("import_patrol_reports", str(path), township="太平镇", stderr=err)
    assert "第 2 行：“无名村”不是太平镇的村（居）" in err.getvalue()
    assert "第 3 行：目录编号“TP-99”不在太平镇的巡查目录中" in err.getvalue()
    assert PatrolReport.objects.count() == 0


def test_command_refuses_a_missing_file_or_unknown_township(township, tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_patrol_catalog", str(tmp_path / "none.csv"), township="太平镇")
    with pytest.raises(CommandError, match="找不到区域“无名镇”"):
        call_command("import_patrol_catalog", str(write_csv(tmp_path, CATALOG_ROWS)), township="无名镇")
    with pytest.raises(CommandError, match="--township"):
        call_command("import_patrol_catalog", str(write_csv(tmp_path, CATALOG_ROWS)))
