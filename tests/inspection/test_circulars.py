"""The big patrol's monthly circular and quarterly grade sheet (PDF, xlsx, docx), the command, the pages,
and the ledger exports (附件3, 附件4).

The March 2026 rows below give, worked out by hand (base 60, cap 100, the township big patrol plan 五):
- 大楼村: nine verified reports of B01 (5 points) = +45 → 105, capped at 100; a 镇督查组 finding of A01
  excused by its earlier report → 100.00, rank 1;
- 楼星村: two verified reports of A01 (2 points) = +4; a 市 finding of B01 = −5 × 2 = −10 → 54.00, rank 2;
- 新村: a 中央 finding → vetoed, 0.00, rank 3.
Quarter 1 (January and February have no rows, 60 each): 大楼村 (60+60+100)/3 = 73.33 一般;
楼星村 (60+60+54)/3 = 58.00 较差; 新村 (60+60+0)/3 = 40.00 较差.
"""

from __future__ import annotations

import datetime
import io
import re
import shutil
import subprocess
from decimal import Decimal
from zoneinfo import ZoneInfo

import docx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from governance.models import AuditEntry
from grid import services
from grid.models import Role
from inspection.models import (
    CatalogItem,
    Circular,
    DepartmentConfirmation,
    PatrolCategory,
    PatrolFinding,
    PatrolReport,
    SupervisionCheck,
    SupervisionGroup,
    VillagePatrol,
)
from inspection.patrol import circulars

MARCH = datetime.date(2026, 3, 1)
TODAY = datetime.date(2026, 4, 8)
SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLE = "太平镇大巡查工作2026年3月考评情况通报"
Verdict = PatrolReport.Verdict
Source = PatrolFinding.Source


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


class Rows:
    def __init__(self, county, personas):
        self.county = county
        self.user = personas["township_office"]
        self.resources = services.create_department(name="自然资源所", region=county.taiping)
        self.a01 = self._item("A01", "非法占用宅基地", county.agriculture, "2")
        self.b01 = self._item("B01", "违法建筑", self.resources, "5")
        self.xincun = services.create_region(parent=county.taiping, name="新村", tier=county.tier("village"))
        self.count = 0

    def _item(self, code, name, department, points):
        category = PatrolCategory.objects.create(township=self.county.taiping, name=f"{department.name}类",
                                                 lead_department=department)
        return CatalogItem.objects.create(township=self.county.taiping, code=code, name=name, category=category,
                                          lead_department=department, points=Decimal(points))

    def report(self, village, item, reported_on, verdict=Verdict.TRUE, verified_on=None):
        self.count += 1
        verified = None if verdict == Verdict.PENDING else d(verified_on or reported_on)
        return PatrolReport.objects.create(
            township=self.county.taiping, village=village, number=f"R{self.count:03d}", item=item,
            occurred_at=datetime.datetime.combine(d(reported_on), datetime.time(9), tzinfo=SHANGHAI),
            location="村东头", description=f"{item.name}问题", reported_on=d(reported_on), verdict=verdict,
            verified_on=verified, points=item.points if verdict == Verdict.TRUE else 0,
            registration_number=f"DJ-{self.count:03d}" if verified else "",
        )

    def finding(self, village, item, discovered_on, source, matched=None):
        self.count += 1
        return PatrolFinding.objects.create(
            township=self.county.taiping, village=village, number=f"F{self.count:03d}", item=item, source=source,
            discovered_on=d(discovered_on), is_true=True, matched_report=matched, points=item.points,
            registered_at=datetime.datetime(2026, 3, 28, 10, tzinfo=SHANGHAI), registered_by=self.user,
        )


@pytest.fixture
def march(county, personas) -> Rows:
    rows = Rows(county, personas)
    for day in range(1, 10):
        rows.report(county.dalou, rows.b01, f"2026-03-{day:02d}", verified_on=f"2026-03-{day + 10:02d}")
    earlier = rows.report(county.dalou, rows.a01, "2026-03-01", verdict=Verdict.PENDING)
    rows.finding(county.dalou, rows.a01, "2026-03-12", Source.TOWNSHIP_GROUP, matched=earlier)
    rows.report(county.louxing, rows.a01, "2026-03-02", verified_on="2026-03-05")
    rows.report(county.louxing, rows.a01, "2026-03-18", verified_on="2026-03-20")
    rows.report(county.louxing, rows.a01, "2026-02-20", verified_on="2026-04-02")  # counts in April
    rows.finding(county.louxing, rows.b01, "2026-03-10", Source.CITY)
    rows.finding(rows.xincun, rows.b01, "2026-03-15", Source.CENTRAL)

    group = SupervisionGroup.objects.create(township=county.taiping, number=1, name="第一巡查督查组")
    group.villages.set([county.louxing, county.dalou])
    SupervisionCheck.objects.create(group=group, village=county.dalou, date=d("2026-03-15"),
                                    recorded_by=personas["supervision_group"])
    DepartmentConfirmation.objects.create(
        township=county.taiping, department=rows.resources, month=MARCH,
        confirmed_at=datetime.datetime(2026, 4, 5, 23, 30, tzinfo=SHANGHAI), confirmed_by=personas["department"])
    return rows


# ---------------------------------------------------------------- the data


def test_month_circular_ranks_villages_with_exact_figures(county, march):
    data = circulars.build_month_circular(county.taiping, MARCH, today=TODAY)
    assert data["title"] == TITLE
    assert data["date"] == "2026-04-08" and data["date_label"] == "2026年4月8日"
    assert [(r["rank"], r["village"], r["additions"], r["deductions"], r["veto"], r["score"]) for r in data["ranking"]] == [
        (1, "大楼村", "45.00", "0.00", False, "100.00"),
        (2, "楼星村", "4.00", "10.00", False, "54.00"),
        (3, "新村", "0.00", "0.00", True, "0.00"),
    ]
    details = {village["village"]: village for village in data["details"]}
    louxing = details["楼星村"]
    assert louxing["additions"] == [{"department": "农业农村办", "total": "4.00", "items": [
        {"item_code": "A01", "item_name": "非法占用宅基地", "count": 2, "amount": "4.00", "numbers": ["R012", "R013"],
         "sources": []}]}]
    assert louxing["deductions"] == [{"department": "自然资源所", "total": "10.00", "items": [
        {"item_code": "B01", "item_name": "违法建筑", "count": 1, "amount": "10.00", "numbers": ["F015"],
         "sources": ["市×2"]}]}]
    assert [e["number"] for e in details["大楼村"]["excused"]] == ["F011"]
    assert details["大楼村"]["additions"][0]["items"][0]["count"] == 9
    assert [e["source"] for e in details["新村"]["vetoes"]] == ["中央"]
    assert data["unchecked_villages"] == ["楼星村"]
    assert data["late_departments"] == [{"department": "农业农村办", "confirmed_at": "", "days_late": 3}]
    assert data["totals"] == {"villages": 3, "additions": "49.00", "deductions": "10.00", "vetoed": 1,
                              "average": "51.33", "at_cap": 1, "unchecked": 1, "late_departments": 1}


def test_quarter_sheet_has_months_average_grade_and_counts(county, march):
    data = circulars.build_quarter_circular(county.taiping, 2026, 1, today=TODAY)
    assert data["title"] == "太平镇大巡查工作2026年第1季度考评情况"
    assert data["month_labels"] == ["1月", "2月", "3月"]
    assert [(r["village"], r["months"], r["average"], r["grade"]) for r in data["rows"]] == [
        ("楼星村", ["60.00", "60.00", "54.00"], "58.00", "较差"),
        ("大楼村", ["60.00", "60.00", "100.00"], "73.33", "一般"),
        ("新村", ["60.00", "60.00", "0.00"], "40.00", "较差"),
    ]
    assert data["grade_counts"] == [{"grade": "优秀", "count": 0}, {"grade": "良好", "count": 0},
                                    {"grade": "一般", "count": 1}, {"grade": "合格", "count": 0},
                                    {"grade": "较差", "count": 2}]


def test_chart_is_inline_svg_with_a_bar_per_village(county, march):
    svg = circulars.score_chart_svg(circulars.build_month_circular(county.taiping, MARCH, today=TODAY))
    assert svg.startswith("<svg") and svg.count("<title>") == 3 and "大楼村" in svg and "否决 0" in svg


# ---------------------------------------------------------------- the documents


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} 未安装（Debian 软件包 poppler-utils），无法检查 PDF 文本与字体")
    return path


def test_pdf_has_title_villages_page_numbers_and_embedded_cjk_fonts(county, march, tmp_path):
    content = circulars.render_pdf(circulars.build_month_circular(county.taiping, MARCH, today=TODAY))
    assert content.startswith(b"%PDF")
    pdf = tmp_path / "circular.pdf"
    pdf.write_bytes(content)
    text = subprocess.run([_poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert TITLE in text and "楼星村" in text and "第 1 页" in text and "2026年4月8日" in text
    assert "100" in text and not re.search(r"\d\.00(?!\d)", text)  # 100 分, not 100.00
    fonts = subprocess.run([_poppler("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(line.split()[-5] == "yes" for line in cjk), fonts  # the emb column
    info = subprocess.run([_poppler("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89" in info  # A4


def test_quarter_pdf_renders(county, march, tmp_path):
    content = circulars.render_pdf(circulars.build_quarter_circular(county.taiping, 2026, 1, today=TODAY))
    pdf = tmp_path / "quarter.pdf"
    pdf.write_bytes(content)
    text = subprocess.run([_poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "2026年第1季度考评情况" in text and "一般" in text and "第 1 页" in text


def test_xlsx_has_ranking_and_details(county, march):
    content = circulars.render_xlsx(circulars.build_month_circular(county.taiping, MARCH, today=TODAY))
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["排名", "加扣分明细", "督查与确认"]
    rows = list(workbook["排名"].iter_rows(values_only=True))
    assert rows[0][0].startswith(TITLE)
    assert rows[1] == ("排名", "村（居）", "基础分", "加分", "扣分", "一票否决", "得分")
    assert rows[2:] == [(1, "大楼村", 60, 45, 0, "否", 100), (2, "楼星村", 60, 4, 10, "否", 54),
                        (3, "新村", 60, 0, 0, "是", 0)]
    details = list(workbook["加扣分明细"].iter_rows(values_only=True))
    assert ("楼星村", "扣分", "自然资源所", "B01", "违法建筑", 1, 10, "市×2", "F015") in details
    others = list(workbook["督查与确认"].iter_rows(values_only=True))
    assert ("未督查村（居）", "楼星村", None) in others


def test_quarter_xlsx_has_grades(county, march):
    workbook = load_workbook(io.BytesIO(circulars.render_xlsx(circulars.build_quarter_circular(county.taiping, 2026, 1))))
    rows = list(workbook["季度考评"].iter_rows(values_only=True))
    assert ("大楼村", 60, 60, 100, 73.33, "一般") in rows
    assert ("较差", 2) in list(workbook["等次统计"].iter_rows(values_only=True))


def test_docx_has_title_and_ranking_table(county, march):

    document = Document(io.BytesIO(circulars.render_docx(circulars.build_month_circular(county.taiping, MARCH,
                                                                                        today=TODAY))))
    assert document.paragraphs[0].text == TITLE
    assert document.paragraphs[1].text == "2026年4月8日"
    ranking = document.tables[0]
    assert [cell.text for cell in ranking.rows[1].cells] == ["1", "大楼村", "45", "0", "否", "100"]  # points without needless decimals


# ---------------------------------------------------------------- the command


@pytest.mark.parametrize("suffix", ["pdf", "xlsx", "docx"])
def test_command_writes_each_format(county, march, tmp_path, suffix):
    out = tmp_path / f"通报.{suffix}"
    call_command("patrol_circular", "--township", "太平镇", "--month", "2026-03", "--out", str(out),
                 stdout=io.StringIO())
    content = out.read_bytes()
    assert content.startswith(b"%PDF" if suffix == "pdf" else b"PK")
    assert AuditEntry.objects.filter(action="patrol_circular.export").count() == 1


def test_command_writes_the_quarter_sheet(county, march, tmp_path):
    out = tmp_path / "q.xlsx"
    call_command("patrol_circular", "--township", "某县/太平镇", "--quarter", "2026Q1", "--out", str(out),
                 stdout=io.StringIO())
    assert load_workbook(out).sheetnames == ["季度考评", "等次统计"]


@pytest.mark.parametrize("args, message", [
    (["--township", "无此镇", "--month", "2026-03", "--out", "x.pdf"], "找不到区域"),
    (["--township", "太平镇/楼星村", "--month", "2026-03", "--out", "x.pdf"], "不是乡镇"),
    (["--township", "太平镇", "--month", "2026-13", "--out", "x.pdf"], "月份“2026-13”格式不对"),
    (["--township", "太平镇", "--quarter", "2026Q5", "--out", "x.pdf"], "季度“2026Q5”格式不对"),
    (["--township", "太平镇", "--month", "2026-03", "--out", "x.txt"], "不支持的输出格式"),
    (["--township", "太平镇", "--out", "x.pdf"], "请指定 --month"),
])
def test_command_refuses_bad_input_in_chinese(county, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("patrol_circular", *args, stdout=io.StringIO())


# ---------------------------------------------------------------- the pages


def _page(county, **extra):
    return {"township": county.taiping.pk, "kind": "month", "month": "2026-03", **extra}


def test_township_office_sees_the_circular_and_publishes_once(client, county, personas, march):
    client.force_login(personas["township_office"])
    page = client.get(reverse("patrol:circulars"), _page(county))
    assert page.status_code == 200
    text = page.content.decode()
    assert TITLE in text and "<svg" in text and "楼星村" in text and "发布通报" in text and "逾期确认考评的部门" in text

    response = client.post(reverse("patrol:circular_publish"), _page(county))
    assert response.status_code == 302
    circular = Circular.objects.get()
    assert (circular.period, circular.period_start, circular.published_by) == ("month", MARCH,
                                                                               personas["township_office"])
    assert [row["score"] for row in circular.scores["ranking"]] == ["100.00", "54.00", "0.00"]
    assert AuditEntry.objects.filter(action="patrol_circular.publish", object_id=str(circular.pk)).exists()

    again = client.post(reverse("patrol:circular_publish"), _page(county))
    assert again.status_code == 409
    assert "已经发布，不能重复发布" in again.content.decode()
    assert Circular.objects.count() == 1
    assert "发布通报</button>" not in client.get(reverse("patrol:circulars"), _page(county)).content.decode()


def test_download_buttons_give_each_format_and_are_audited(client, county, personas, march,
                                                          django_capture_on_commit_callbacks, media_in_tmp):
    client.force_login(personas["township_office"])
    for fmt, magic in (("pdf", b"%PDF"), ("xlsx", b"PK"), ("docx", b"PK")):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(reverse("patrol:circular_download", args=[fmt]), _page(county))
        if fmt in ("pdf", "docx"):  # laid out as a job: its page offers the file
            assert response.status_code == 302 and response["Location"].startswith("/jobs/")
            response = client.get(response["Location"] + "result/")
            content = b"".join(response.streaming_content)
        else:
            content = response.content
        assert response.status_code == 200 and content.startswith(magic)
        assert "attachment" in response["Content-Disposition"]
    assert AuditEntry.objects.filter(action="patrol_circular.export").count() == 3
    quarter = client.get(reverse("patrol:circular_download", args=["xlsx"]),
                         {"township": county.taiping.pk, "kind": "quarter", "quarter": "2026Q1"})
    assert quarter.status_code == 200


def test_quarter_page_shows_grades(client, county, personas, march):
    client.force_login(personas["township_committee"])
    page = client.get(reverse("patrol:circulars"), {"township": county.taiping.pk, "kind": "quarter",
                                                    "quarter": "2026Q1"})
    assert page.status_code == 200 and "73.33" in page.content.decode() and "一般" in page.content.decode()


def test_publishing_without_permission_is_403(client, county, personas, march):
    client.force_login(personas["township_committee"])  # may view circulars, may not publish
    assert client.get(reverse("patrol:circulars"), _page(county)).status_code == 200
    assert client.post(reverse("patrol:circular_publish"), _page(county)).status_code == 403
    assert not Circular.objects.exists()


def test_village_cadre_of_another_township_gets_404(client, county, personas, march):
    user, _ = services.ensure_user("henan_cadre", password="Test@2026pw")
    services.create_post(user=user, role=Role.objects.get(key="village_cadre"), region=county.henan)
    client.force_login(user)
    assert client.get(reverse("patrol:circulars"), _page(county)).status_code == 404
    assert client.get(reverse("patrol:circular_download", args=["pdf"]), _page(county)).status_code == 404
    assert client.post(reverse("patrol:circular_publish"), _page(county)).status_code == 404


def test_outsider_is_refused(client, county, personas, march):
    client.force_login(personas["outsider"])
    assert client.get(reverse("patrol:circulars"), _page(county)).status_code == 403


def test_village_cadre_sees_only_published_circulars_of_their_township(client, county, personas, march):
    cadre = personas["village_cadre"]
    client.force_login(cadre)
    page = client.get(reverse("patrol:circulars"), _page(county))
    assert page.status_code == 200 and "尚未发布" in page.content.decode() and "楼星村" not in page.content.decode()
    assert client.get(reverse("patrol:circular_download", args=["xlsx"]), _page(county)).status_code == 404
    assert client.post(reverse("patrol:circular_publish"), _page(county)).status_code == 403

    circulars.publish_circular(county.taiping, circulars.build_month_circular(county.taiping, MARCH),
                               by=personas["township_office"])
    page = client.get(reverse("patrol:circulars"), _page(county))
    assert page.status_code == 200 and "大楼村" in page.content.decode() and "已发布" in page.content.decode()
    assert client.get(reverse("patrol:circular_download", args=["xlsx"]), _page(county)).status_code == 200


def test_published_circular_keeps_its_snapshot(county, personas, march):
    circulars.publish_circular(county.taiping, circulars.build_month_circular(county.taiping, MARCH),
                               by=personas["township_office"])
    march.report(county.louxing, march.b01, "2026-03-25")  # verified after publication: not in the circular
    circular = Circular.objects.get()
    assert circular.scores["ranking"][1]["score"] == "54.00"
    assert circulars.build_month_circular(county.taiping, MARCH)["ranking"][1]["score"] == "59.00"


# ---------------------------------------------------------------- ledger exports


def test_village_ledger_export_has_patrols_and_reports(client, county, personas, march):
    cadre = personas["village_cadre"]
    patrol = VillagePatrol.objects.create(village=county.louxing, date=d("2026-03-02"), route="一组至三组",
                                          findings="发现一处宅基地问题", recorded_by=cadre)
    patrol.patrollers.set([cadre, personas["grid_instructor"]])
    patrol.items.set([march.a01])
    client.force_login(cadre)
    assert client.get(reverse("patrol:ledger_exports")).status_code == 200
    query = {"village": county.louxing.pk, "start": "2026-03-01", "end": "2026-03-31"}
    response = client.get(reverse("patrol:ledger_export"), query)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    patrols = list(workbook["巡查台账"].iter_rows(min_row=3, values_only=True))
    assert len(patrols) == 1 and patrols[0][3] == "A01 非法占用宅基地" and patrols[0][5] == "发现一处宅基地问题"
    reports = list(workbook["上报记录"].iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in reports] == ["R012", "R013"]  # R014 was reported in February
    assert reports[0][9] == "属实" and reports[0][12] == 2
    assert AuditEntry.objects.filter(action="village_ledger.export").count() == 1
    # Another village is outside the cadre's posts.
    assert client.get(reverse("patrol:ledger_export"), {**query, "village": county.dalou.pk}).status_code == 404


def test_department_book_export_has_reports_and_registered_findings(client, county, personas, march):
    client.force_login(personas["department"])
    query = {"department": march.resources.pk, "start": "2026-03-01", "end": "2026-03-31"}
    response = client.get(reverse("patrol:book_export"), query)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    reports = list(workbook["上报登记"].iter_rows(min_row=3, values_only=True))
    assert len(reports) == 9 and reports[0][:3] == ("DJ-001", "R001", "大楼村") and reports[0][13] == 5
    findings = {row[0]: row for row in workbook["发现问题登记"].iter_rows(min_row=3, values_only=True)}
    assert findings["F015"][4:7] == ("市", datetime.datetime(2026, 3, 10), "属实")
    assert findings["F015"][9:11] == (2, 10)
    assert findings["F016"][10] == "一票否决"
    assert AuditEntry.objects.filter(action="department_book.export").count() == 1


def test_ledger_exports_are_refused_outside_scope(client, county, personas, march):
    client.force_login(personas["outsider"])
    assert client.get(reverse("patrol:ledger_exports")).status_code == 403
    assert client.get(reverse("patrol:book_export"), {"department": march.resources.pk, "start": "2026-03-01",
                                                      "end": "2026-03-31"}).status_code == 403
    user, _ = services.ensure_user("henan_cadre", password="Test@2026pw")
    services.create_post(user=user, role=Role.objects.get(key="village_cadre"), region=county.henan)
    client.force_login(user)
    assert client.get(reverse("patrol:ledger_export"), {"village": county.louxing.pk, "start": "2026-03-01",
                                                        "end": "2026-03-31"}).status_code == 404


def test_publishing_takes_the_figures_that_stand_when_it_publishes(county, personas, march):
    """Not those of the page the office looked at: a report verified in between is in the circular."""
    shown = circulars.build_month_circular(county.taiping, MARCH)
    march.report(county.louxing, march.b01, "2026-03-25")
    circular = circulars.publish_circular(county.taiping, shown, by=personas["township_office"])
    published = {row["village"]: row["score"] for row in circular.scores["ranking"]}
    before = {row["village"]: row["score"] for row in shown["ranking"]}
    now = {row["village"]: row["score"] for row in circulars.build_month_circular(county.taiping, MARCH)["ranking"]}
    assert published == now and published["楼星村"] != before["楼星村"]


def test_quarter_sheet_is_published_once_per_quarter(county, personas, march):
    office = personas["township_office"]
    data = circulars.build_quarter_circular(county.taiping, 2026, 1)
    circular = circulars.publish_circular(county.taiping, data, by=office)
    assert (circular.period, circular.period_start) == ("quarter", datetime.date(2026, 1, 1))
    assert circular.scores["rows"][1]["grade"] == "一般"
    with pytest.raises(ValidationError, match="2026年第1季度考评已经发布"):
        circulars.publish_circular(county.taiping, data, by=office)
    with pytest.raises(PermissionDenied):
        circulars.publish_circular(county.taiping, circulars.build_month_circular(county.taiping, MARCH),
                                   by=personas["township_committee"])


@pytest.mark.parametrize(("today", "kind", "start", "reason"), [
    ("2026-12-07", "month", "2026-11-01", None),
    ("2026-12-07", "month", "2026-12-01", "2026年12月尚未结束，月满后才能发布该月考评通报。"),
    ("2026-12-07", "month", "2027-05-01", "2027年5月尚未开始，月满后才能发布该月考评通报。"),
    ("2026-12-07", "quarter", "2026-07-01", None),
    ("2026-12-07", "quarter", "2026-10-01", "2026年第4季度尚未结束，季度结束后才能发布该季度考评。"),
    ("2026-11-30", "quarter", "2026-10-01", "2026年第4季度尚未结束，季度结束后才能发布该季度考评。"),
    ("2027-01-01", "month", "2026-12-01", None),
    ("2027-01-01", "quarter", "2026-10-01", None),
    ("2027-01-01", "quarter", "2027-01-01", "2027年第1季度尚未结束，季度结束后才能发布该季度考评。"),
])
def test_only_a_month_or_quarter_that_has_ended_may_be_published(today, kind, start, reason):
    assert circulars.not_ended_reason(kind, d(start), d(today)) == reason


def test_the_running_month_and_quarter_and_a_future_month_are_refused_by_the_service(county, personas):
    office, this_month = personas["township_office"], timezone.localdate().replace(day=1)
    next_month = (this_month + datetime.timedelta(days=31)).replace(day=1)
    quarter = (this_month.month - 1) // 3 + 1
    for data in (circulars.build_month_circular(county.taiping, this_month),
                 circulars.build_month_circular(county.taiping, next_month),
                 circulars.build_quarter_circular(county.taiping, this_month.year, quarter)):
        with pytest.raises(circulars.PeriodNotEnded, match="才能发布"):
            circulars.publish_circular(county.taiping, data, by=office)
    assert not Circular.objects.exists()
    assert not AuditEntry.objects.filter(action="patrol_circular.publish").exists()


def test_the_office_sees_the_running_month_live_without_a_publish_button(client, county, personas):
    client.force_login(personas["township_office"])
    today = timezone.localdate()
    month = {"township": county.taiping.pk, "kind": "month", "month": f"{today:%Y-%m}"}
    page = client.get(reverse("patrol:circulars"), month).content.decode()
    assert f"太平镇大巡查工作{today.year}年{today.month}月考评情况通报" in page and "未发布" in page
    assert "发布通报</button>" not in page and f"{today.year}年{today.month}月尚未结束，月满后才能发布" in page

    refused = client.post(reverse("patrol:circular_publish"), month)
    assert refused.status_code == 422 and "月满后才能发布该月考评通报" in refused.content.decode()
    quarter = {"township": county.taiping.pk, "kind": "quarter", "quarter": f"{today.year}Q{(today.month - 1) // 3 + 1}"}
    assert "发布通报</button>" not in client.get(reverse("patrol:circulars"), quarter).content.decode()
    refused = client.post(reverse("patrol:circular_publish"), quarter)
    assert refused.status_code == 422 and "季度结束后才能发布该季度考评" in refused.content.decode()
    future = {**month, "month": f"{today.year + 1}-05"}
    assert client.post(reverse("patrol:circular_publish"), future).status_code == 422
    assert not Circular.objects.exists()


def test_a_township_without_supervision_groups_is_not_told_every_group_checked(county, march):
    SupervisionCheck.objects.filter(group__township=county.taiping).delete()
    SupervisionGroup.objects.filter(township=county.taiping).delete()
    data = circulars.build_month_circular(county.taiping, MARCH, today=d("2026-04-10"))
    assert data["unchecked_villages"] == [] and data["has_supervision_groups"] is False
    html = circulars.render_html(data)
    assert "本镇尚未设置巡查督查组" in html and "已督查全部负责村" not in html

    text = "\n".join(p.text for p in docx.Document(io.BytesIO(circulars.render_docx(data))).paragraphs)
    assert "本镇尚未设置巡查督查组" in text


def test_quarter_is_chosen_from_a_list_not_typed(client, county, personas):
    from inspection.patrol.circular_views import quarter_choices

    assert quarter_choices(datetime.date(2026, 11, 5))[:3] == [
        ("2026Q4", "2026年第4季度"), ("2026Q3", "2026年第3季度"), ("2026Q2", "2026年第2季度")]
    assert quarter_choices(datetime.date(2026, 2, 1))[1] == ("2025Q4", "2025年第4季度")
    client.force_login(personas["township_committee"])
    page = client.get(reverse("patrol:circulars"), {"township": county.taiping.pk, "kind": "quarter",
                                                     "quarter": "2026Q1"}).content.decode()
    assert '<select name="quarter"' in page and '<option value="2026Q1" selected>2026年第1季度</option>' in page
    assert 'placeholder="2026Q1"' not in page


def test_ledger_exports_page_drop_downs_start_at_please_choose(client, county, personas, march):
    client.force_login(personas["village_cadre"])
    html = client.get(reverse("patrol:ledger_exports")).content.decode()
    assert '<option value="" selected>请选择</option>' in html  # the departments: several
    assert f'<option value="{county.louxing.pk}" selected>' in html  # the cadre's only village is proposed
    assert "---------" not in html


def test_ledger_exports_page_shows_no_errors_before_the_first_submit(client, county, personas, march):
    client.force_login(personas["village_cadre"])
    html = client.get(reverse("patrol:ledger_exports")).content.decode()
    assert "必填项" not in html and "errorlist" not in html
    assert f'value="{timezone.localdate():%Y}-01-01"' in html  # the proposed range is still filled in
    # Submitted with a bad range: now the error shows.
    query = {"village": county.louxing.pk, "start": "2026-03-31", "end": "2026-03-01"}
    response = client.get(reverse("patrol:ledger_export"), query)
    assert response.status_code == 422 and "起始日期不能晚于截止日期。" in response.content.decode()
