"""The township big patrol plan's rules of who is scored, which sources cost how much, tip-offs, and
the quarterly incentive (五、奖惩细则; 六、(二)).

Hand-computed cases (base 60; items of 2, 3 and 5 points as in test_scoring):
- 太平镇 has 楼星村, 大楼村 and an 工业园区 marked as not subject to the assessment: two villages are
  ranked and graded, the park's verified report of 5 points counts nowhere.
- Sources: a 3-point item found through 市长信箱 costs 3 × 2 = 6 (楼星村 54.00); through 舆情 3 × 1 = 3
  (大楼村 57.00); through 市长热线 3 × 1 = 3.
- Effective dates: the township sets 市 to ×4 from 2026-02-01: a January 市 finding of 3 points still
  costs 3 × 2 = 6 (54.00), a February one 3 × 4 = 12 (48.00).
- Tip-off: a 镇督查组 finding of 楼星村 item 2 (2 points) recorded and not registered; 楼星村 then
  reports item 2, verified true: while the finding is unregistered the village sees 60 + 2 = 62.00;
  once it is registered as true the report earns 0 and the finding costs 2 → 58.00 (not 60.00); if it is
  registered as untrue, 62.00 stays. Had the finding been registered before the report was filed, the
  report earns 2 → 60.00.
- Quarter 1 2026: 楼星村 a verified 5-point report in January → 65, 60, 60 = 185 > 180 → 合格 (61.67),
  rewarded 500.00 元 at the township's rate for 合格; 大楼村 60, 60, 60 = 180 → 较差 (60.00), 不给予奖励.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from grid import services
from inspection.models import AssessmentExemption, IncentiveRate, PatrolFinding, SourceMultiplier
from inspection.patrol import circulars, incentives
from inspection.patrol.scoring import (
    GRADES,
    grade_for_total,
    grade_rule_text,
    grade_rules,
    month_scores,
    quarter_scores,
)
from tests.api.conftest import api_as
from tests.inspection.test_scoring import Ledger

JAN = datetime.date(2026, 1, 1)
FEB = datetime.date(2026, 2, 1)
Source = PatrolFinding.Source


@pytest.fixture
def ledger(county) -> Ledger:
    return Ledger(county)


@pytest.fixture
def items(ledger):
    return {2: ledger.item("2", code="TP-02"), 3: ledger.item("3", code="TP-03"), 5: ledger.item("5", code="TP-05")}


@pytest.fixture
def park(county):
    park = services.create_region(parent=county.taiping, name="龙湾工业园区", tier=county.tier("village"))
    AssessmentExemption.objects.create(region=park)
    return park


def scores_of(county, month=JAN) -> dict[str, Decimal]:
    return {vm.village.name: vm.score for vm in month_scores(county.taiping, month)}


# ------------------------------------------------------------------ who is scored


def test_industrial_park_is_left_out_of_ranking_circular_grades_and_chart(county, ledger, items, park):
    ledger.report(park, items[5], reported_on="2026-01-05")
    assert scores_of(county) == {"楼星村": Decimal(60), "大楼村": Decimal(60)}
    month = circulars.build_month_circular(county.taiping, JAN, today=datetime.date(2026, 2, 8))
    assert month["totals"]["villages"] == 2
    assert [row["village"] for row in month["ranking"]] == ["楼星村", "大楼村"]
    assert "龙湾工业园区" not in circulars.score_chart_svg(month)
    quarter = circulars.build_quarter_circular(county.taiping, 2026, 1, today=datetime.date(2026, 4, 8))
    assert [row["village"] for row in quarter["rows"]] == ["楼星村", "大楼村"]
    assert [quarter.village.name for quarter in quarter_scores(county.taiping, 2026, 1)] == ["楼星村", "大楼村"]


def test_a_park_without_the_mark_is_still_ranked(county, ledger, items):
    services.create_region(parent=county.taiping, name="盈富工业园区", tier=county.tier("village"))
    assert set(scores_of(county)) == {"楼星村", "大楼村", "盈富工业园区"}


# ------------------------------------------------------------------ sources and multipliers


def test_mayor_mailbox_costs_twice_public_opinion_and_mayor_hotline_once(county, ledger, items):
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", source=Source.MAYOR_MAILBOX)
    ledger.finding(county.dalou, items[3], discovered_on="2026-01-10", source=Source.PUBLIC_OPINION)
    assert scores_of(county) == {"楼星村": Decimal(54), "大楼村": Decimal(57)}
    ledger.finding(county.dalou, items[3], discovered_on="2026-01-11", source=Source.MAYOR_HOTLINE)
    assert scores_of(county)["大楼村"] == Decimal(54)


def test_township_multiplier_applies_from_its_date_and_leaves_earlier_months_alone(county, ledger, items):
    SourceMultiplier.objects.create(township=county.taiping, source=Source.CITY, multiplier=4,
                                    effective_from=datetime.date(2026, 2, 1))
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-31", source=Source.CITY)
    ledger.finding(county.louxing, items[3], discovered_on="2026-02-01", source=Source.CITY)
    assert scores_of(county, JAN)["楼星村"] == Decimal(54)
    assert scores_of(county, FEB)["楼星村"] == Decimal(48)


# ------------------------------------------------------------------ no tipping off


def test_report_filed_after_an_unreleased_finding_earns_nothing_and_is_listed(county, ledger, items, personas):
    finding = ledger.finding(county.louxing, items[2], discovered_on="2026-01-10", is_true=None)
    report = ledger.report(county.louxing, items[2], reported_on="2026-01-12")
    # Until the finding is registered the village may not learn of it, not even through its points.
    assert scores_of(county)["楼星村"] == Decimal(62)
    PatrolFinding.objects.filter(pk=finding.pk).update(is_true=True, registered_at=timezone.now())
    louxing = next(vm for vm in month_scores(county.taiping, JAN) if vm.village == county.louxing)
    assert (louxing.additions, louxing.deductions, louxing.score) == (Decimal(0), Decimal(2), Decimal(58))
    assert [entry.kind for entry in louxing.entries] == ["tipped", "deduction"]
    report.refresh_from_db()
    assert report.is_tipped_off and not report.earns_points
    shown = api_as(personas["township_office"]).get(reverse("api:patrol_report_detail", args=[report.pk])).json()
    assert (shown["points"], shown["earns_points"]) == ("0.00", False)  # as the pages and exports show it
    data = circulars.build_month_circular(county.taiping, JAN, today=datetime.date(2026, 2, 8))
    assert [(row["village"], row["number"]) for row in data["tipped_reports"]] == [("楼星村", report.number)]
    text = "\n".join(p.text for p in Document(io.BytesIO(circulars.render_docx(data))).paragraphs)
    assert "五、督查发现后上报不加分的情况" in text


def test_a_finding_found_untrue_does_not_take_the_reports_points(county, ledger, items):
    finding = ledger.finding(county.louxing, items[2], discovered_on="2026-01-10", is_true=None)
    ledger.report(county.louxing, items[2], reported_on="2026-01-12")
    PatrolFinding.objects.filter(pk=finding.pk).update(is_true=False, registered_at=timezone.now())
    assert scores_of(county)["楼星村"] == Decimal(62)


def test_report_filed_after_the_finding_was_released_earns_its_points(county, ledger, items):
    finding = ledger.finding(county.louxing, items[2], discovered_on="2026-01-10")
    PatrolFinding.objects.filter(pk=finding.pk).update(registered_at=timezone.now())
    report = ledger.report(county.louxing, items[2], reported_on="2026-01-12")
    assert scores_of(county)["楼星村"] == Decimal(60)  # +2 for the report, −2 for the finding
    report.refresh_from_db()
    assert report.earns_points


def test_report_of_another_item_after_an_unreleased_finding_earns_its_points(county, ledger, items):
    ledger.finding(county.louxing, items[2], discovered_on="2026-01-10")
    ledger.report(county.louxing, items[3], reported_on="2026-01-12")
    assert scores_of(county)["楼星村"] == Decimal(61)  # 60 + 3 − 2


# ------------------------------------------------------------------ grades and incentives


def test_printed_grade_rule_is_the_computed_rule():
    assert dict(grade_rules())["合格"] == "月平均分60分以上、不满70分"
    assert dict(grade_rules())["较差"] == "月平均分60分及以下"
    assert grade_for_total(Decimal("180.03")) == "合格"  # a mean of 60.01: above 60, so 合格 as printed
    assert grade_for_total(Decimal("180")) == "较差"
    assert "61至69" not in grade_rule_text()
    assert [grade for grade, _ in grade_rules()][: len(GRADES)] == [grade for _, _, grade in GRADES]


@pytest.fixture
def quarter_one(county, ledger, items):
    ledger.report(county.louxing, items[5], reported_on="2026-01-05")
    IncentiveRate.objects.create(township=county.taiping, grade="合格", amount=Decimal(500),
                                 effective_from=datetime.date(2026, 1, 1))


def test_incentive_sheet_rewards_all_but_poor(county, quarter_one):
    sheet = incentives.build_incentive_sheet(county.taiping, 2026, 1, today=datetime.date(2026, 4, 8))
    rows = {row["village"]: (row["average"], row["grade"], row["reward"]) for row in sheet["rows"]}
    assert rows == {"楼星村": ("61.67", "合格", "500.00 元"), "大楼村": ("60.00", "较差", "不给予奖励")}
    assert sheet["totals"] == {"villages": 2, "rewarded": 1, "not_rewarded": 1, "amount": "500.00"}
    text = "\n".join(p.text for p in Document(io.BytesIO(incentives.render_docx(sheet))).paragraphs)
    assert grade_rule_text() in text and "提交镇党政班子会议研究" in text


def test_incentive_sheet_circular_and_command_agree_on_every_village(county, quarter_one):
    sheet = {row["village"]: row["grade"] for row in incentives.build_incentive_sheet(county.taiping, 2026, 1)["rows"]}
    circular = {row["village"]: row["grade"] for row in circulars.build_quarter_circular(county.taiping, 2026, 1)["rows"]}
    scored = {quarter.village.name: quarter.grade for quarter in quarter_scores(county.taiping, 2026, 1)}
    out = io.StringIO()
    call_command("patrol_score", "--township", county.taiping.full_path, "--quarter", "2026Q1", stdout=out)
    printed = {name: grade for name, grade in sheet.items() if any(name in line and grade in line
                                                                   for line in out.getvalue().splitlines())}
    assert sheet == circular == scored == printed == {"楼星村": "合格", "大楼村": "较差"}


def test_year_summary_has_four_quarters_per_village(county, quarter_one):
    summary = incentives.build_year_summary(county.taiping, 2026, today=datetime.date(2027, 1, 5))
    louxing = next(row for row in summary["rows"] if row["village"] == "楼星村")
    assert [q["grade"] for q in louxing["quarters"]] == ["合格", "较差", "较差", "较差"]
    assert louxing["rewarded_quarters"] == 1
    assert louxing["year_average"] == "60.42"  # (61.67 + 60 + 60 + 60) / 4 = 60.4175
    sheet = load_workbook(io.BytesIO(incentives.render_xlsx(summary))).active
    assert sheet.cell(row=3, column=1).value == "楼星村"


def test_year_summary_during_the_year_shows_only_the_quarters_that_have_ended(county, quarter_one):
    """In May only the first quarter is graded: the quarters still to come are blank ("—"), not 较差 at the
    base score, and the year's mean is that of the first quarter."""
    summary = incentives.build_year_summary(county.taiping, 2026, today=datetime.date(2026, 5, 10))
    louxing = next(row for row in summary["rows"] if row["village"] == "楼星村")
    assert [q and q["grade"] for q in louxing["quarters"]] == ["合格", None, None, None]
    assert (louxing["year_average"], summary["totals"]["quarters"]) == ("61.67", 1)
    text = "\n".join(cell.text for table in Document(io.BytesIO(incentives.render_docx(summary))).tables
                     for row in table.rows for cell in row.cells)
    assert "楼星村\n61.67 合格\n—\n—\n—\n1\n61.67\n" in text
    assert incentives.build_year_summary(county.taiping, 2026, today=datetime.date(2026, 3, 31))["rows"] == []


def test_township_office_downloads_the_incentive_sheet(client, county, personas, quarter_one):
    client.force_login(personas["township_office"])
    url = reverse("patrol:incentive_download", args=["xlsx"])
    response = client.get(url, {"township": county.taiping.pk, "quarter": "2026Q1"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [sheet.cell(row=r, column=7).value for r in (3, 4)] == ["500.00 元", "不给予奖励"]
    assert client.get(url, {"township": county.taiping.pk, "quarter": "2026Q9"}).status_code == 422
    response = client.get(reverse("patrol:year_summary_download", args=["docx"]),
                          {"township": county.taiping.pk, "year": "2026"})
    assert response.status_code == 200


def test_outsiders_cannot_download_incentive_sheets(client, county, personas, quarter_one):
    client.force_login(personas["outsider"])
    response = client.get(reverse("patrol:incentive_download", args=["docx"]),
                          {"township": county.taiping.pk, "quarter": "2026Q1"})
    assert response.status_code in (403, 404)
    client.force_login(personas["inspection_group"])  # posted in another township
    response = client.get(reverse("patrol:year_summary_download", args=["docx"]),
                          {"township": county.taiping.pk, "year": "2026"})
    assert response.status_code in (403, 404)


def test_township_changes_a_multiplier_only_from_this_month_on(county):
    from inspection.admin import SourceMultiplierForm

    today = timezone.localdate()
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    form = SourceMultiplierForm({"township": county.taiping.pk, "source": Source.CITY, "multiplier": 4,
                                 "effective_from": last_month.isoformat()})
    assert not form.is_valid() and "不能早于本月1日" in str(form.errors["effective_from"])
    form = SourceMultiplierForm({"township": county.taiping.pk, "source": Source.CENTRAL, "multiplier": 4,
                                 "effective_from": today.isoformat()})
    assert not form.is_valid() and "一票否决" in str(form.errors["source"])
    form = SourceMultiplierForm({"township": county.taiping.pk, "source": Source.MAYOR_MAILBOX, "multiplier": 3,
                                 "effective_from": today.replace(day=1).isoformat()})
    assert form.is_valid(), form.errors


def test_each_village_circular_lists_only_its_own_tipped_reports(county, ledger, items):
    from inspection.patrol.job_kinds import village_circular

    finding = ledger.finding(county.louxing, items[2], discovered_on="2026-01-10", is_true=None)
    ledger.report(county.louxing, items[2], reported_on="2026-01-12")
    PatrolFinding.objects.filter(pk=finding.pk).update(is_true=True, registered_at=timezone.now())
    data = circulars.build_month_circular(county.taiping, JAN, today=datetime.date(2026, 2, 8))
    assert len(village_circular(data, "楼星村")["tipped_reports"]) == 1
    assert village_circular(data, "大楼村")["tipped_reports"] == []
