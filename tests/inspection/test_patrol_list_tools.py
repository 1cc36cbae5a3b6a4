"""The big patrol's lists: filters, search, a choice of order and an .xlsx of exactly the rows
the list shows — 发现问题, 督查记录, 村级巡查台账, 村级上报 — and the order of 待核实上报."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import AuditEntry
from grid import services
from grid.models import Role
from inspection.models import (
    CatalogItem,
    PatrolCategory,
    PatrolFinding,
    PatrolReport,
    SupervisionGroup,
)
from inspection.patrol import findings, reports

Source = PatrolFinding.Source


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def world(county, personas):
    """Two catalog items of 太平镇 (both led by 农业农村办), a group for 楼星村 and 大楼村, a second cadre in
    楼星村, cadres of 大楼村, and a township office of 赵村镇 (who must see none of 太平镇's rows)."""
    category = PatrolCategory.objects.create(township=county.taiping, name="农业", lead_department=county.agriculture)
    straw = CatalogItem.objects.create(township=county.taiping, code="A01", name="秸秆焚烧", category=category,
                                       lead_department=county.agriculture, points=Decimal("2"))
    building = CatalogItem.objects.create(township=county.taiping, code="A02", name="违法建设", category=category,
                                          lead_department=county.agriculture, points=Decimal("3"))
    group = SupervisionGroup.objects.create(township=county.taiping, number=1, name="第一督查组")
    group.villages.set([county.louxing, county.dalou])
    group.members.set([personas["supervision_group"]])
    cadre = Role.objects.get(key="village_cadre")
    users = dict(personas)
    for username, region in (("cadre2", county.louxing), ("dalou_cadre", county.dalou), ("dalou_cadre2", county.dalou)):
        users[username], _ = services.ensure_user(username, password="x")
        services.create_post(user=users[username], role=cadre, region=region)
    users["zhaocun_office"], _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=users["zhaocun_office"], role=Role.objects.get(key="township_office"), region=county.zhaocun)
    return {"straw": straw, "building": building, "group": group, "users": users}


def listed(client, name, **query) -> list:
    response = client.get(reverse(name), query)
    assert response.status_code == 200
    return list(response.context["page"])


def exported(client, name, **query) -> list[list]:
    response = client.get(reverse(name), query)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


# ---------------------------------------------------------------- 发现问题


@pytest.fixture
def finding_rows(county, world, personas):
    office = personas["township_office"]

    def record(village, item, days, description, source=Source.CITY):
        return findings.record_finding(by=office, village=village, item=item, source=source,
                                       discovered_on=days_ago(days), location="村口", description=description)

    return {
        "old_louxing": record(county.louxing, world["straw"], 9, "麦田焚烧秸秆"),
        "new_dalou": record(county.dalou, world["building"], 1, "河边新建厂房"),
        "mid_louxing": record(county.louxing, world["building"], 5, "路边私搭乱建", source=Source.HOTLINE_12345),
    }


def test_findings_sort_changes_the_order(client, personas, finding_rows):
    client.force_login(personas["township_office"])
    f = finding_rows
    assert listed(client, "patrol:findings") == [f["new_dalou"], f["mid_louxing"], f["old_louxing"]]
    assert listed(client, "patrol:findings", sort="oldest") == [f["old_louxing"], f["mid_louxing"], f["new_dalou"]]
    # 楼星村 was created before 大楼村, so its path sorts first; within it, newest first.
    assert listed(client, "patrol:findings", sort="village") == [f["mid_louxing"], f["old_louxing"], f["new_dalou"]]


def test_findings_item_filter_and_search_narrow_the_rows(client, personas, world, finding_rows):
    client.force_login(personas["township_office"])
    f = finding_rows
    assert set(listed(client, "patrol:findings", item=world["straw"].pk)) == {f["old_louxing"]}
    assert set(listed(client, "patrol:findings", q="秸秆")) == {f["old_louxing"]}
    assert set(listed(client, "patrol:findings", q="违法建设")) == {f["new_dalou"], f["mid_louxing"]}  # the item's name
    assert set(listed(client, "patrol:findings", q="厂房 河边")) == {f["new_dalou"]}
    assert set(listed(client, "patrol:findings", q=f["mid_louxing"].number)) == {f["mid_louxing"]}
    assert listed(client, "patrol:findings", q="没有这样的问题") == []


def test_findings_bad_filter_values_are_form_errors_not_500(client, personas, finding_rows):
    client.force_login(personas["township_office"])
    response = client.get(reverse("patrol:findings"), {"sort": "nonsense", "item": "abc", "month": "2026-13"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"sort", "item", "month"}
    assert "月份格式应为" in response.content.decode()
    assert client.get(reverse("patrol:finding_export"), {"sort": "nonsense"}).status_code == 200


def test_findings_export_is_the_list_scoped_and_audited(client, personas, world, finding_rows):
    client.force_login(personas["township_office"])
    query = {"sort": "oldest", "item": world["building"].pk}
    rows = listed(client, "patrol:findings", **query)
    assert len(rows) == 2
    sheet = exported(client, "patrol:finding_export", **query)
    assert sheet[0][:3] == ["编号", "乡镇", "村（居）"]
    assert [line[0] for line in sheet[1:]] == [f.number for f in rows]
    first = sheet[1]
    assert first[2] == "楼星村" and first[4] == "违法建设" and first[5] == Source.HOTLINE_12345.label
    assert first[7] == finding_rows["mid_louxing"].discovered_on.strftime("%Y-%m-%d") and first[10] == "待核实登记"
    entry = AuditEntry.objects.filter(action="patrol_finding.export").latest("id")
    assert entry.actor == personas["township_office"] and entry.after["rows"] == 2
    assert "sort=oldest" in entry.after["query"]
    # Another township's office gets a file without 太平镇's rows; a user without the post is refused.
    client.force_login(world["users"]["zhaocun_office"])
    assert exported(client, "patrol:finding_export")[1:] == []
    client.force_login(personas["outsider"])
    assert client.get(reverse("patrol:finding_export")).status_code == 403


def test_findings_export_keeps_the_visibility_rule_for_unregistered_findings(client, personas, finding_rows):
    # A village cadre sees only registered findings of the village: none of these is registered yet.
    client.force_login(personas["village_cadre"])
    assert listed(client, "patrol:findings") == []
    assert exported(client, "patrol:finding_export")[1:] == []


# ---------------------------------------------------------------- 督查记录


@pytest.fixture
def check_rows(county, world, personas):
    member = personas["supervision_group"]

    def record(village, days, ledger_ok, notes):
        return findings.record_check(by=member, group=world["group"], village=village, date=days_ago(days),
                                     checked_by=[member], ledger_ok=ledger_ok, notes=notes)

    return {
        "old_louxing": record(county.louxing, 40, True, "台账齐全"),
        "new_dalou": record(county.dalou, 2, False, "巡查记录缺签名"),
        "mid_louxing": record(county.louxing, 10, False, "照片缺失"),
    }


def test_checks_sort_changes_the_order(client, personas, check_rows):
    client.force_login(personas["township_office"])
    c = check_rows
    assert listed(client, "patrol:checks") == [c["new_dalou"], c["mid_louxing"], c["old_louxing"]]
    assert listed(client, "patrol:checks", sort="oldest") == [c["old_louxing"], c["mid_louxing"], c["new_dalou"]]
    assert listed(client, "patrol:checks", sort="village") == [c["mid_louxing"], c["old_louxing"], c["new_dalou"]]


def test_checks_filters_and_search_narrow_the_rows(client, county, personas, world, check_rows):
    client.force_login(personas["township_office"])
    c = check_rows
    assert set(listed(client, "patrol:checks", village=county.dalou.pk)) == {c["new_dalou"]}
    assert set(listed(client, "patrol:checks", ledger="bad")) == {c["new_dalou"], c["mid_louxing"]}
    assert set(listed(client, "patrol:checks", ledger="ok")) == {c["old_louxing"]}
    month = c["old_louxing"].date.strftime("%Y-%m")
    in_month = {check for check in c.values() if check.date.strftime("%Y-%m") == month}
    assert set(listed(client, "patrol:checks", month=month)) == in_month and c["new_dalou"] not in in_month
    assert set(listed(client, "patrol:checks", q="签名")) == {c["new_dalou"]}
    assert set(listed(client, "patrol:checks", group=world["group"].pk)) == set(c.values())
    other = SupervisionGroup.objects.create(township=county.taiping, number=2, name="第二督查组")
    assert listed(client, "patrol:checks", group=other.pk) == []
    response = client.get(reverse("patrol:checks"), {"ledger": "maybe", "month": "x"})
    assert response.status_code == 200 and set(response.context["form"].errors) == {"ledger", "month"}


def test_checks_export_is_the_list_scoped_and_audited(client, personas, world, check_rows):
    client.force_login(personas["township_office"])
    query = {"ledger": "bad", "sort": "oldest"}
    rows = listed(client, "patrol:checks", **query)
    sheet = exported(client, "patrol:check_export", **query)
    assert sheet[0] == ["督查日期", "乡镇", "督查组", "村（居）", "督查人员", "台账", "督查情况", "录入人", "录入时间"]
    assert [line[0] for line in sheet[1:]] == [check.date.strftime("%Y-%m-%d") for check in rows]
    assert [line[6] for line in sheet[1:]] == ["照片缺失", "巡查记录缺签名"]
    assert sheet[1][1:6] == ["太平镇", "第一督查组", "楼星村", "supervision_group", "不规范"]
    entry = AuditEntry.objects.filter(action="supervision_check.export").latest("id")
    assert entry.actor == personas["township_office"] and entry.after["rows"] == 2
    client.force_login(world["users"]["zhaocun_office"])
    assert exported(client, "patrol:check_export")[1:] == []
    client.force_login(personas["outsider"])
    assert client.get(reverse("patrol:check_export")).status_code == 403


# ---------------------------------------------------------------- 村级巡查台账


@pytest.fixture
def patrol_rows(county, world, personas):
    users = world["users"]

    def record(by, partner, village, days, items, route, text):
        return reports.record_village_patrol(by=by, village=village, date=days_ago(days), patrollers=[by, partner],
                                             items=items, route=route, findings=text)

    return {
        "old_louxing": record(users["village_cadre"], users["cadre2"], county.louxing, 20, [world["straw"]],
                              "一组至三组", "发现焚烧秸秆一处"),
        "new_dalou": record(users["dalou_cadre"], users["dalou_cadre2"], county.dalou, 1,
                            [world["straw"], world["building"]], "河堤", "未发现问题"),
        "mid_louxing": record(users["village_cadre"], users["cadre2"], county.louxing, 3, [], "村部周边", "未发现问题"),
    }


def test_ledger_sort_changes_the_order(client, personas, patrol_rows):
    client.force_login(personas["township_office"])
    p = patrol_rows
    assert listed(client, "patrol:ledger") == [p["new_dalou"], p["mid_louxing"], p["old_louxing"]]
    assert listed(client, "patrol:ledger", sort="oldest") == [p["old_louxing"], p["mid_louxing"], p["new_dalou"]]
    assert listed(client, "patrol:ledger", sort="village") == [p["mid_louxing"], p["old_louxing"], p["new_dalou"]]


def test_ledger_filters_and_search_narrow_the_rows(client, county, personas, world, patrol_rows):
    client.force_login(personas["township_office"])
    p = patrol_rows
    assert set(listed(client, "patrol:ledger", village=county.dalou.pk)) == {p["new_dalou"]}
    # A patrol of two items is listed once.
    assert listed(client, "patrol:ledger", item=world["straw"].pk) == [p["new_dalou"], p["old_louxing"]]
    assert set(listed(client, "patrol:ledger", q="秸秆")) == {p["old_louxing"]}
    assert set(listed(client, "patrol:ledger", q="河堤")) == {p["new_dalou"]}  # the route
    month = p["old_louxing"].date.strftime("%Y-%m")
    in_month = {patrol for patrol in p.values() if patrol.date.strftime("%Y-%m") == month}
    assert set(listed(client, "patrol:ledger", month=month)) == in_month
    assert listed(client, "patrol:ledger", month="2001-01") == []
    # The village cadre sees only their village.
    client.force_login(personas["village_cadre"])
    assert set(listed(client, "patrol:ledger")) == {p["old_louxing"], p["mid_louxing"]}


def test_ledger_page_keeps_the_formal_ledger_export_beside_the_row_export(client, personas, patrol_rows):
    client.force_login(personas["township_office"])
    html = client.get(reverse("patrol:ledger"), {"village": ""}).content.decode()
    assert reverse("patrol:ledger_exports") in html
    assert f'{reverse("patrol:ledger_list_export")}?village=' in html


def test_ledger_export_is_the_list_scoped_and_audited(client, county, personas, world, patrol_rows):
    client.force_login(personas["township_office"])
    query = {"item": world["straw"].pk, "sort": "oldest"}
    rows = listed(client, "patrol:ledger", **query)
    sheet = exported(client, "patrol:ledger_list_export", **query)
    assert sheet[0][:4] == ["巡查日期", "村（居）", "巡查人员", "巡查事项"]
    assert [(line[0], line[1]) for line in sheet[1:]] == [(p.date.strftime("%Y-%m-%d"), p.village.name) for p in rows]
    assert sheet[2][2] == "dalou_cadre、dalou_cadre2" and sheet[2][3] == "A01 秸秆焚烧、A02 违法建设"
    assert sheet[1][4:6] == ["一组至三组", "发现焚烧秸秆一处"]
    entry = AuditEntry.objects.filter(action="village_patrol.export").latest("id")
    assert entry.actor == personas["township_office"] and entry.after["rows"] == 2
    client.force_login(personas["village_cadre"])
    assert {line[1] for line in exported(client, "patrol:ledger_list_export")[1:]} == {"楼星村"}
    client.force_login(world["users"]["zhaocun_office"])
    assert exported(client, "patrol:ledger_list_export")[1:] == []
    client.force_login(personas["outsider"])
    assert client.get(reverse("patrol:ledger_list_export")).status_code == 403


# ---------------------------------------------------------------- 村级上报 and 待核实上报


@pytest.fixture
def report_rows(county, world, personas):
    users = world["users"]

    def submit(by, village, item, reported_days, occurred_days, location, description):
        report = reports.submit_report(by=by, village=village, item=item, location=location, description=description,
                                       occurred_at=timezone.now() - datetime.timedelta(days=occurred_days))
        PatrolReport.objects.filter(pk=report.pk).update(reported_on=days_ago(reported_days))
        report.refresh_from_db()
        return report

    return {
        "old_louxing": submit(users["village_cadre"], county.louxing, world["straw"], 8, 9, "三组麦田", "焚烧秸秆"),
        "new_dalou": submit(users["dalou_cadre"], county.dalou, world["building"], 1, 30, "河堤旁", "新建厂房"),
        "mid_louxing": submit(users["village_cadre"], county.louxing, world["building"], 4, 4, "村部东侧", "私搭乱建"),
    }


def test_reports_sort_changes_the_order(client, personas, report_rows):
    client.force_login(personas["township_office"])
    r = report_rows
    assert listed(client, "patrol:reports") == [r["new_dalou"], r["mid_louxing"], r["old_louxing"]]
    assert listed(client, "patrol:reports", sort="oldest") == [r["old_louxing"], r["mid_louxing"], r["new_dalou"]]
    assert listed(client, "patrol:reports", sort="occurred") == [r["mid_louxing"], r["old_louxing"], r["new_dalou"]]
    assert listed(client, "patrol:reports", sort="village") == [r["mid_louxing"], r["old_louxing"], r["new_dalou"]]


def test_reports_search_narrows_the_rows(client, personas, report_rows):
    client.force_login(personas["township_office"])
    r = report_rows
    assert set(listed(client, "patrol:reports", q="麦田")) == {r["old_louxing"]}  # the location
    assert set(listed(client, "patrol:reports", q="厂房")) == {r["new_dalou"]}  # the description
    assert set(listed(client, "patrol:reports", q="违法建设")) == {r["new_dalou"], r["mid_louxing"]}  # the item
    assert set(listed(client, "patrol:reports", q=r["old_louxing"].number)) == {r["old_louxing"]}
    assert listed(client, "patrol:reports", q="违法建设 麦田") == []


def test_reports_export_is_the_list_scoped_and_audited(client, personas, world, report_rows):
    reports.verify_report(report_rows["mid_louxing"], by=personas["department"], verdict="true")
    client.force_login(personas["township_office"])
    query = {"item": world["building"].pk, "sort": "oldest"}
    rows = listed(client, "patrol:reports", **query)
    assert rows == [report_rows["mid_louxing"], report_rows["new_dalou"]]
    sheet = exported(client, "patrol:report_export", **query)
    assert sheet[0][:3] == ["编号", "乡镇", "村（居）"]
    assert [line[0] for line in sheet[1:]] == [r.number for r in rows]
    verified = dict(zip(sheet[0], sheet[1], strict=True))
    assert verified["核实结果"] == "属实" and verified["加分"] == 3 and verified["上报人"] == "village_cadre"
    assert verified["上报日期"] == report_rows["mid_louxing"].reported_on.strftime("%Y-%m-%d")
    assert dict(zip(sheet[0], sheet[2], strict=True))["加分"] == 0
    entry = AuditEntry.objects.filter(action="patrol_report.export").latest("id")
    assert entry.actor == personas["township_office"] and entry.after["rows"] == 2
    client.force_login(personas["village_cadre"])
    assert {line[2] for line in exported(client, "patrol:report_export")[1:]} == {"楼星村"}
    client.force_login(world["users"]["zhaocun_office"])
    assert exported(client, "patrol:report_export")[1:] == []
    client.force_login(personas["outsider"])
    assert client.get(reverse("patrol:report_export")).status_code == 403


def test_verify_queue_offers_a_choice_of_order(client, personas, report_rows):
    client.force_login(personas["department"])
    r = report_rows
    assert listed(client, "patrol:verify_queue") == [r["old_louxing"], r["mid_louxing"], r["new_dalou"]]
    assert listed(client, "patrol:verify_queue", sort="newest") == [r["new_dalou"], r["mid_louxing"], r["old_louxing"]]
    assert listed(client, "patrol:verify_queue", sort="occurred") == [r["new_dalou"], r["old_louxing"], r["mid_louxing"]]
    response = client.get(reverse("patrol:verify_queue"), {"sort": "nonsense"})
    assert response.status_code == 200 and "sort" in response.context["form"].errors
    assert list(response.context["page"]) == [r["old_louxing"], r["mid_louxing"], r["new_dalou"]]


# ---------------------------------------------------------------- 巡查目录: a search only


def test_catalog_search_narrows_the_items(client, county, personas, world):
    client.force_login(personas["township_office"])

    def items(**query):
        response = client.get(reverse("patrol:catalog"), query)
        assert response.status_code == 200
        return list(response.context["items"])

    assert items() == [world["straw"], world["building"]]
    assert items(q="秸秆") == [world["straw"]]
    assert items(q="A02") == [world["building"]]
    assert items(q="农业农村办 违法") == [world["building"]]  # the lead department and the name
    assert items(q="没有的事项") == []
    assert "没有符合条件的目录事项" in client.get(reverse("patrol:catalog"), {"q": "没有的事项"}).content.decode()


@pytest.mark.parametrize("name, export", [("patrol:findings", "patrol:finding_export"), ("patrol:checks", "patrol:check_export"),
                                          ("patrol:ledger", "patrol:ledger_list_export"),
                                          ("patrol:reports", "patrol:report_export")])
def test_queries_do_not_grow_with_the_rows(client, county, personas, finding_rows, check_rows, patrol_rows, report_rows,
                                           name, export):

    client.force_login(personas["township_office"])

    def count(url, **query):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(url), query).status_code == 200
        return len(queries)

    for url in (name, export):
        count(url)  # the first request of the session loads what later ones find cached
        assert count(url, village=county.dalou.pk) == count(url, village=county.louxing.pk) == count(url), url
