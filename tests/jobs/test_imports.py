"""Imports through the upload pages, run as jobs: progress, every bad row listed, nothing half-written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from governance.models import AuditEntry
from grid import services
from grid.models import Role
from inspection.models import CatalogItem, InspectionRound, PatrolFinding
from inspection.patrol.imports import import_patrol_catalog, import_patrol_reports
from inspection.patrol.job_kinds import PATROL_CATALOG_IMPORT, PATROL_FINDINGS_IMPORT, PATROL_REPORTS_IMPORT
from rectification.models import RectificationItem, RectificationPlan

from .conftest import csv_upload, status_of, xlsx_upload

CATALOG = [
    ["编号", "事项", "类别", "牵头部门", "分值", "佐证要求"],
    ["TP-01", "未经审批新建、扩建住宅", "农村非法占用宅基地", "农业农村办", "3", "现场照片"],
    ["TP-02", "露天焚烧秸秆、垃圾", "野外用火", "农业农村办", "2", ""],
]
REPORTS = [
    ["编号", "村(居)", "目录编号", "发生时间", "地点", "问题描述", "上报日期", "核实结果", "核实日期"],
    ["LX-001", "楼星村", "TP-01", "2026-01-03 09:30", "楼星村东片", "村民未经审批建房", "2026-01-04", "属实", "2026-01-08"],
]
FINDING_HEADER = ["编号", "村(居)", "目录编号", "发现日期", "来源", "是否属实", "对应上报编号"]
GOOD_FINDINGS = [
    FINDING_HEADER,
    ["DC-001", "楼星村", "TP-01", "2026-01-09", "镇督查组", "是", "LX-001"],
    ["RX-001", "大楼村", "TP-02", "2026-01-15", "12345", "属实", ""],
    ["SX-001", "大楼村", "TP-01", "2026-01-18", "市信访", "", ""],
]


@pytest.fixture
def catalog(county, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_upload(CATALOG).read())
    import_patrol_catalog(path, township=county.taiping)
    path = tmp_path / "reports.csv"
    path.write_bytes(csv_upload(REPORTS).read())
    import_patrol_reports(path, township=county.taiping)
    return {item.code: item for item in CatalogItem.objects.all()}


def import_findings(start, user, county, rows, *, upload=xlsx_upload):
    return start(user, "post", reverse("patrol:patrol_import"),
                 {"kind": PATROL_FINDINGS_IMPORT, "township": county.taiping.pk, "file": upload(rows)})


def test_township_office_imports_findings_through_a_job(client, start, county, personas, catalog):
    office = personas["township_office"]
    response, job = import_findings(start, office, county, GOOD_FINDINGS)

    assert response.status_code == 302 and response.url == reverse("jobs:detail", args=[job.pk])
    state = status_of(client, office, job)
    assert (state["status"], state["done"], state["total"], state["percent"]) == ("succeeded", 3, 3, 100)
    assert "新增 3" in state["summary"] and state["errors"] == []
    assert state["record_url"] == reverse("patrol:findings")
    assert sorted(PatrolFinding.objects.values_list("number", flat=True)) == ["DC-001", "RX-001", "SX-001"]
    assert set(PatrolFinding.objects.values_list("registered_by", flat=True)) == {office.pk}
    assert AuditEntry.objects.filter(action="job.start", object_id=str(job.pk), actor=office).exists()
    finish = AuditEntry.objects.get(action="job.finish", object_id=str(job.pk))
    assert finish.after["status"] == "succeeded" and finish.region_path == county.taiping.path
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "已完成" in page and "巡查发现问题导入完成" in page and 'http-equiv="refresh"' not in page


def test_every_bad_row_is_listed_and_nothing_is_imported(client, start, county, personas, catalog):
    rows = [
        FINDING_HEADER,
        ["DC-001", "楼星村", "TP-01", "2026-01-09", "镇督查组", "是", "LX-001"],
        ["DC-002", "河南村", "TP-01", "2026-01-09", "镇督查组", "是", ""],
        ["DC-003", "楼星村", "TP-99", "2026-01-09", "镇督查组", "是", ""],
        ["DC-004", "楼星村", "TP-02", "2026-01-10", "外星人", "是", ""],
    ]
    before = (PatrolFinding.objects.count(), AuditEntry.objects.exclude(action__startswith="job.").count())

    _, job = import_findings(start, personas["township_office"], county, rows, upload=csv_upload)

    state = status_of(client, personas["township_office"], job)
    assert state["status"] == "failed" and "未导入任何数据" in state["summary"]
    assert sorted({error["row"] for error in state["errors"]}) == [3, 4, 5]
    assert any("河南村" in error["message"] for error in state["errors"])
    assert (PatrolFinding.objects.count(), AuditEntry.objects.exclude(action__startswith="job.").count()) == before
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "第 3 行" in page and "第 5 行" in page and "失败" in page


def test_a_wrong_file_type_is_refused_on_the_form(client, start, county, personas, catalog):

    response, job = start(personas["township_office"], "post", reverse("patrol:patrol_import"), {
        "kind": PATROL_FINDINGS_IMPORT, "township": county.taiping.pk,
        "file": SimpleUploadedFile("a.xls", b"old excel")})
    assert response.status_code == 422 and job is None
    assert "请上传 .xlsx 或 .csv 文件" in response.content.decode()


def test_only_the_township_office_may_import_and_only_in_its_township(client, start, county, personas, catalog):
    for who in ("department", "village_cadre", "outsider"):
        client.force_login(personas[who])
        assert client.get(reverse("patrol:patrol_import")).status_code == 403
    other, _ = services.ensure_user("zhaocun_office", password="x")

    services.create_post(user=other, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    response, job = import_findings(start, other, county, GOOD_FINDINGS)  # 太平镇 is not among its choices
    assert response.status_code == 422 and job is None and not PatrolFinding.objects.exists()


def test_another_user_cannot_see_the_job_or_its_page(client, start, county, personas, catalog):
    _, job = import_findings(start, personas["township_office"], county, GOOD_FINDINGS)
    for who in ("township_committee", "county_office", "outsider"):
        client.force_login(personas[who])
        for name in ("jobs:detail", "jobs:status", "jobs:result"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404
        assert f"#{job.pk}" not in client.get(reverse("jobs:list")).content.decode()
    client.logout()
    assert client.get(reverse("jobs:status", args=[job.pk])).status_code == 302  # to the login form


# ---------------------------------------------------------------- rectification plan import

RECT_HEADER = ["序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施"]


def rect_row(number, title, status="已整改", deadline="2024-12-31"):
    return [number, "聚焦党的理论路线", "学习贯彻", title, "已制定学习计划", status, "张书记", "党政办", deadline, "", ""]


def import_plan(start, user, county, rows):
    return start(user, "post", reverse("rectification:plan_import"), {
        "organisation": county.taiping.pk, "round": "十五届县委第二轮巡察", "group": "县委第一巡察组",
        "arrival": "2024-04-08", "withdrawal": "2024-05-20", "feedback_date": "2024-06-25",
        "file": xlsx_upload(rows)})


def test_county_office_imports_a_rectification_plan_through_a_job(client, start, county, personas):
    office = personas["county_office"]
    response, job = import_plan(start, office, county, [RECT_HEADER, rect_row(1, "理论学习不深入"),
                                                        rect_row(2, "村务公开不及时", "正在整改中", "2024年12月")])

    state = status_of(client, office, job)
    assert state["status"] == "succeeded", state
    plan = RectificationPlan.objects.get(organisation=county.taiping)
    assert state["record_url"] == reverse("rectification:plan_detail", args=[plan.pk])
    assert "新建 2 项" in state["summary"] and "已新建巡察轮次" in state["summary"]
    assert RectificationItem.objects.filter(plan=plan).count() == 2
    assert job.region == county.taiping
    client.force_login(personas["township_committee"])
    assert client.get(reverse("jobs:status", args=[job.pk])).status_code == 404


def test_a_bad_rectification_file_changes_nothing_and_lists_every_bad_row(client, start, county, personas):
    rows = [RECT_HEADER, rect_row(1, "理论学习不深入"), rect_row(2, "", deadline="2023-01-01"),
            rect_row(3, "组织生活不规范", status="差不多")]
    _, job = import_plan(start, personas["county_office"], county, rows)

    state = status_of(client, personas["county_office"], job)
    assert state["status"] == "failed"
    assert sorted({error["row"] for error in state["errors"]}) == [3, 4]
    assert not RectificationPlan.objects.exists()

    assert not InspectionRound.objects.exists()  # not even the round


def test_township_committee_cannot_import_plans(client, personas):
    client.force_login(personas["township_committee"])
    assert client.get(reverse("rectification:plan_import")).status_code == 403


@pytest.mark.parametrize("kind, rows, created", [
    (PATROL_CATALOG_IMPORT, CATALOG + [["TP-03", "非法占用土地、推填土", "违法用地", "农业农村办", "5", ""]],
     "新增 1，更新 0，未变 2"),
    (PATROL_REPORTS_IMPORT, REPORTS[:1] + [["LX-002", "楼星村", "TP-02", "2026-01-20", "楼星村西", "基本农田挖塘",
                                                    "2026-01-21", "待核实", ""]], "新增 1"),
])
def test_catalog_and_report_imports_run_the_same_way(client, start, county, personas, catalog, kind, rows, created):
    office = personas["township_office"]
    response, job = start(office, "post", reverse("patrol:patrol_import"),
                          {"kind": kind, "township": county.taiping.pk, "file": csv_upload(rows)})
    state = status_of(client, office, job)
    assert state["status"] == "succeeded" and created in state["summary"], state
