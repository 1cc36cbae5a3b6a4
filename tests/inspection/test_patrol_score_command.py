"""`manage.py patrol_score`: a township's month or quarter as JSON or as a Chinese table."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.utils import timezone

from grid import services
from inspection.models import CatalogItem, PatrolCategory, PatrolFinding, PatrolReport


def run(*args) -> str:
    out = StringIO()
    call_command("patrol_score", *args, stdout=out)
    return out.getvalue()


def run_json(*args) -> list[dict]:
    return json.loads(run(*args, "--json"))


@pytest.fixture
def january(county):
    """楼星村: + 3 (verified report), − 2 × 2 (city finding), one excused finding → 59; 大楼村: 60.
    February: 大楼村 is vetoed by a central finding; March: 大楼村 + 5 → 65."""
    category = PatrolCategory.objects.create(township=county.taiping, name="综合", lead_department=county.agriculture)

    def item(code, points):
        return CatalogItem.objects.create(township=county.taiping, code=code, name=f"事项{code}", category=category,
                                          lead_department=county.agriculture, points=Decimal(points))

    def report(number, village, item, day, verdict="true"):
        on = datetime.date.fromisoformat(day)
        return PatrolReport.objects.create(
            township=county.taiping, village=village, number=number, item=item, location="村口", description="问题",
            occurred_at=timezone.make_aware(datetime.datetime.combine(on, datetime.time(9))), reported_on=on,
            verdict=verdict, verified_on=on, points=item.points,
        )

    def finding(number, village, item, day, source, matched_report=None):
        return PatrolFinding.objects.create(
            township=county.taiping, village=village, number=number, item=item, source=source, is_true=True,
            discovered_on=datetime.date.fromisoformat(day), matched_report=matched_report, points=item.points,
        )

    two, three, five = item("TP-02", "2"), item("TP-03", "3"), item("TP-05", "5")
    first = report("LX-001", county.louxing, three, "2026-01-08")
    finding("F-001", county.louxing, three, "2026-01-09", "township_group", matched_report=first)
    finding("F-002", county.louxing, two, "2026-01-20", "city")
    finding("F-003", county.dalou, two, "2026-02-03", "central")
    report("DL-001", county.dalou, five, "2026-03-31")
    report("DL-002", county.dalou, five, "2026-04-01")


def test_month_json_lists_every_village_with_its_figures_and_entries(county, january):
    data = run_json("--township", "太平镇", "--month", "2026-01")

    assert [(row["rank"], row["village"], row["base"], row["additions"], row["deductions"], row["veto"], row["score"])
            for row in data] == [
        (1, "大楼村", "60.00", "0.00", "0.00", False, "60.00"),
        (2, "楼星村", "60.00", "3.00", "4.00", False, "59.00"),
    ]
    louxing = data[1]
    assert louxing["village_path"] == "某县/太平镇/楼星村"
    assert louxing["month"] == "2026-01"
    assert [(e["kind"], e["number"], e["date"], e["item_code"], e["points"], e["multiplier"], e["amount"], e["source"])
            for e in louxing["entries"]] == [
        ("addition", "LX-001", "2026-01-08", "TP-03", "3.00", 1, "3.00", ""),
        ("excused", "F-001", "2026-01-09", "TP-03", "3.00", 0, "0.00", "镇督查组"),
        ("deduction", "F-002", "2026-01-20", "TP-02", "2.00", 2, "4.00", "市"),
    ]
    assert data[0]["entries"] == []


def test_full_width_month_and_quarter_read_as_their_ascii_forms(county, january):
    assert run_json("--township", "太平镇", "--month", "２０２６－０１") == run_json("--township", "太平镇", "--month", "2026-01")
    assert run_json("--township", "太平镇", "--quarter", "２０２６Ｑ１") == run_json("--township", "太平镇", "--quarter", "2026Q1")


def test_month_json_shows_the_veto(county, january):
    data = {row["village"]: row for row in run_json("--township", "某县/太平镇", "--month", "2026-02")}

    assert (data["大楼村"]["veto"], data["大楼村"]["score"]) == (True, "0.00")
    assert [e["kind"] for e in data["大楼村"]["entries"]] == ["veto"]
    assert data["楼星村"]["score"] == "60.00"


def test_quarter_json_gives_months_average_and_grade(county, january):
    data = run_json("--township", "太平镇", "--quarter", "2026Q1")

    assert data == [
        {"quarter": "2026Q1", "village": "楼星村", "village_path": "某县/太平镇/楼星村",
         "months": ["59.00", "60.00", "60.00"], "average": "59.67", "grade": "较差"},
        {"quarter": "2026Q1", "village": "大楼村", "village_path": "某县/太平镇/大楼村",
         "months": ["60.00", "0.00", "65.00"], "average": "41.67", "grade": "较差"},
    ]
    assert run_json("--township", "太平镇", "--quarter", "2026q2")[1]["months"] == ["65.00", "60.00", "60.00"]


def test_month_table_is_readable_chinese(county, january):
    text = run("--township", "太平镇", "--month", "2026-01")

    lines = text.splitlines()
    assert lines[0] == "太平镇 2026年1月 大巡查考评得分（基础分 60，最高 100）"
    assert lines[1].split() == ["排名", "村（居）", "基础分", "加分", "扣分", "一票否决", "得分"]
    assert lines[2].split() == ["1", "大楼村", "60.00", "0.00", "0.00", "否", "60.00"]
    assert lines[3].split() == ["2", "楼星村", "60.00", "3.00", "4.00", "否", "59.00"]
    assert "加扣分明细：" in lines
    assert "F-002 扣分 -4.00（TP-02 事项TP-02，2.00 分 × 2，农业农村办，市发现）" in text
    assert "F-001 已上报不扣分 0" in text


def test_quarter_table_is_readable_chinese(county, january):
    lines = run("--township", "太平镇", "--quarter", "2026Q1").splitlines()

    assert lines[0] == "太平镇 2026年第1季度 大巡查考评（1月、2月、3月）"
    assert lines[1].split() == ["村（居）", "1月", "2月", "3月", "月平均分", "等次"]
    assert lines[2].split() == ["楼星村", "59.00", "60.00", "60.00", "59.67", "较差"]
    assert lines[3].split() == ["大楼村", "60.00", "0.00", "65.00", "41.67", "较差"]


def test_township_without_villages_prints_an_empty_list(county):

    services.create_region(parent=county.county, name="空镇", tier=county.tier("township"))

    assert run_json("--township", "空镇", "--month", "2026-01") == []
    assert "空镇没有村（居）。" in run("--township", "空镇", "--quarter", "2026Q1")


@pytest.mark.parametrize(("args", "message"), [
    (["--township", "太阳镇", "--month", "2026-01"], "找不到区域“太阳镇”"),
    (["--township", "太平镇/楼星村", "--month", "2026-01"], "不是乡镇"),
    (["--township", "太平镇", "--month", "2026-13"], "月份“2026-13”格式不对"),
    (["--township", "太平镇", "--month", "2026-01-05"], "格式不对，应为 YYYY-MM"),
    (["--township", "太平镇", "--month", "0000-01"], "格式不对"),
    (["--township", "太平镇", "--quarter", "2026Q5"], "季度“2026Q5”格式不对"),
    (["--township", "太平镇", "--quarter", "2026-01"], "应为 YYYYQn"),
    (["--township", "太平镇"], "请指定 --month YYYY-MM 或 --quarter YYYYQn 中的一个"),
    (["--township", "太平镇", "--month", "2026-01", "--quarter", "2026Q1"], "不能同时指定"),
])
def test_mistakes_raise_command_error_in_chinese(county, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_mistake_exits_non_zero_from_the_command_line(county):

    utility = ManagementUtility(["manage.py", "patrol_score", "--township", "太阳镇", "--month", "2026-01"])
    with pytest.raises(SystemExit) as exc_info:
        utility.execute()
    assert exc_info.value.code == 1
