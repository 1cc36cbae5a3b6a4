"""Exact monthly points and quarterly grades of the township big patrol.

Every expected figure below is worked out by hand from the township big patrol plan, 五、奖惩细则:
base 60, + the item's points for a verified report (month of verification), − the item's points ×
the finder's multiplier for a true finding the village had not reported strictly before (month of
discovery), a central finding vetoes the month, the month is kept within 0–100; a quarter is the
mean of its months, ≥90 优秀, ≥80 良好, ≥70 一般, >60 合格, ≤60 较差.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from grid import services
from grid.models import Region
from inspection.models import CatalogItem, PatrolCategory, PatrolFinding, PatrolReport
from inspection.patrol.scoring import (
    SOURCE_MULTIPLIER,
    VETO_SOURCES,
    VillageMonth,
    VillageQuarter,
    grade_for_total,
    month_scores,
    quarter_months,
    quarter_scores,
    ranked,
)

JAN = datetime.date(2026, 1, 1)
FEB = datetime.date(2026, 2, 1)
Source = PatrolFinding.Source
Verdict = PatrolReport.Verdict


def d(day: str) -> datetime.date:
    return datetime.date.fromisoformat(day)


class Ledger:
    """Builds catalog items, reports and findings with explicit dates straight through the ORM."""

    def __init__(self, county):
        self.county = county
        self.numbers = itertools.count(1)
        self.categories = {}

    def item(self, points: str, *, township=None, code: str | None = None) -> CatalogItem:
        township = township or self.county.taiping
        if township.pk not in self.categories:
            department = (
                self.county.agriculture if township == self.county.taiping
                else services.create_department(name="综合行政执法办", region=township)
            )
            self.categories[township.pk] = PatrolCategory.objects.create(
                township=township, name="综合", lead_department=department
            )
        category = self.categories[township.pk]
        code = code or f"I-{next(self.numbers)}"
        return CatalogItem.objects.create(
            township=township, code=code, name=f"事项{code}", category=category,
            lead_department=category.lead_department, points=Decimal(points),
        )

    def report(self, village, item, *, reported_on: str, verdict: str = Verdict.TRUE, verified_on: str | None = None,
               is_fraud: bool = False) -> PatrolReport:
        """A village report; a judged report is verified on `verified_on` (default: the day it was reported).

        The points snapshot is the item's points whatever the verdict, so that the tests show the
        verdict (not a zero snapshot) is what keeps 不属实/重复/待核实 reports from earning.
        """
        reported = d(reported_on)
        verified = None if verdict == Verdict.PENDING else d(verified_on or reported_on)
        return PatrolReport.objects.create(
            township=self._township_of(village), village=village, number=f"R-{next(self.numbers)}", item=item,
            occurred_at=timezone.make_aware(datetime.datetime.combine(reported, datetime.time(8))),
            location="村口", description="巡查发现", reported_on=reported, verdict=verdict, verified_on=verified,
            points=item.points, is_fraud=is_fraud,
        )

    def finding(self, village, item, *, discovered_on: str, source: str = Source.TOWNSHIP_GROUP,
                is_true: bool | None = True, matched_report: PatrolReport | None = None,
                is_fraud: bool = False) -> PatrolFinding:
        return PatrolFinding.objects.create(
            township=self._township_of(village), village=village, number=f"F-{next(self.numbers)}", item=item,
            source=source, discovered_on=d(discovered_on), is_true=is_true, matched_report=matched_report,
            points=item.points, is_fraud=is_fraud,
        )

    def _township_of(self, village):
        return township_of(village)


@pytest.fixture
def ledger(county) -> Ledger:
    return Ledger(county)


@pytest.fixture
def items(ledger):
    """A small catalog of 太平镇: items worth 2, 3 and 5 points."""
    return {2: ledger.item("2", code="TP-02"), 3: ledger.item("3", code="TP-03"), 5: ledger.item("5", code="TP-05")}


def township_of(village) -> Region:
    return Region.objects.get(path=village.path[: Region.steplen * (village.depth - 1)])


def month_of(village, month=JAN, townships=None) -> VillageMonth:
    townships = townships or [township_of(village)]
    return next(score for score in month_scores(townships, month) if score.village == village)


def figures(score: VillageMonth) -> tuple:
    return score.additions, score.deductions, score.veto, score.score


def kinds(score: VillageMonth) -> list[str]:
    return [entry.kind for entry in score.entries]


# ---------------------------------------------------------------------------------------- the month


def test_villages_with_no_activity_score_the_base_60(county, items):
    scores = month_scores(county.taiping, JAN)

    assert [score.village for score in scores] == [county.louxing, county.dalou]
    for score in scores:
        assert (score.base, *figures(score)) == (Decimal(60), 0, 0, False, Decimal(60))
        assert score.entries == []


def test_verified_report_adds_the_items_points_to_its_own_village_only(county, ledger, items):
    report = ledger.report(county.louxing, items[3], reported_on="2026-01-08", verified_on="2026-01-10")

    louxing, dalou = month_scores(county.taiping, JAN)

    assert figures(louxing) == (Decimal(3), 0, False, Decimal(63))
    assert figures(dalou) == (0, 0, False, Decimal(60))
    (entry,) = louxing.entries
    assert (entry.kind, entry.number, entry.date, entry.item_code, entry.amount) == (
        "addition", report.number, d("2026-01-10"), "TP-03", Decimal(3))
    assert entry.department == "农业农村办"


def test_points_snapshot_counts_not_the_catalogs_current_points(county, ledger, items):
    ledger.report(county.louxing, items[3], reported_on="2026-01-08")
    CatalogItem.objects.filter(pk=items[3].pk).update(points=Decimal(10))

    assert month_of(county.louxing).score == Decimal(63)


def test_month_is_capped_at_100(county, ledger, items):
    for day in range(1, 10):  # 9 × 5 = 45: 60 + 45 = 105 → 100
        ledger.report(county.louxing, items[5], reported_on=f"2026-01-{day:02d}")
    for day in range(1, 9):  # 8 × 5 = 40: exactly 100
        ledger.report(county.dalou, items[5], reported_on=f"2026-01-{day:02d}")

    louxing, dalou = month_scores(county.taiping, JAN)

    assert figures(louxing) == (Decimal(45), 0, False, Decimal(100))
    assert figures(dalou) == (Decimal(40), 0, False, Decimal(100))


def test_cap_applies_to_the_net_so_deductions_come_off_the_uncapped_sum(county, ledger, items):
    for day in range(1, 10):  # + 45
        ledger.report(county.louxing, items[5], reported_on=f"2026-01-{day:02d}")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-20", source=Source.CITY)  # − 3 × 2

    # 60 + 45 − 6 = 99, not min(100, 105) − 6 = 94
    assert figures(month_of(county.louxing)) == (Decimal(45), Decimal(6), False, Decimal(99))


def test_month_is_floored_at_0(county, ledger, items):
    ledger.report(county.louxing, items[2], reported_on="2026-01-02")  # + 2
    for day in range(10, 15):  # 5 × 5 × 3 = 75
        ledger.finding(county.louxing, items[5], discovered_on=f"2026-01-{day}", source=Source.PROVINCE)
    for day in range(10, 14):  # 4 × 5 × 3 = 60: exactly 0
        ledger.finding(county.dalou, items[5], discovered_on=f"2026-01-{day}", source=Source.PROVINCE_PETITION)

    louxing, dalou = month_scores(county.taiping, JAN)

    assert figures(louxing) == (Decimal(2), Decimal(75), False, Decimal(0))  # 60 + 2 − 75 = −13 → 0
    assert figures(dalou) == (0, Decimal(60), False, Decimal(0))


def test_central_finding_vetoes_the_month_whatever_the_additions(county, ledger, items):
    for day in range(1, 4):  # + 15
        ledger.report(county.louxing, items[5], reported_on=f"2026-01-{day:02d}")
    central = ledger.finding(county.louxing, items[2], discovered_on="2026-01-20", source=Source.CENTRAL)

    louxing, dalou = month_scores(county.taiping, JAN)

    assert figures(louxing) == (Decimal(15), 0, True, Decimal(0))
    assert figures(dalou) == (0, 0, False, Decimal(60))
    veto = louxing.entries[-1]
    assert (veto.kind, veto.number, veto.amount, veto.source) == ("veto", central.number, 0, "中央")


def test_central_finding_reported_before_flagged_false_or_untrue_does_not_veto(county, ledger, items):
    report = ledger.report(county.louxing, items[2], reported_on="2026-01-05", verified_on="2026-01-06")
    ledger.finding(county.louxing, items[2], discovered_on="2026-01-06", source=Source.CENTRAL, matched_report=report)
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-07", source=Source.CENTRAL, is_fraud=True)
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-08", source=Source.CENTRAL, is_true=False)
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-09", source=Source.CENTRAL, is_true=None)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (Decimal(2), 0, False, Decimal(62))
    assert kinds(louxing) == ["addition", "excused"]


def test_veto_is_only_the_month_of_discovery(county, ledger, items):
    ledger.finding(county.louxing, items[2], discovered_on="2026-01-31", source=Source.CENTRAL)

    assert month_of(county.louxing, JAN).score == 0
    assert figures(month_of(county.louxing, FEB)) == (0, 0, False, Decimal(60))


@pytest.mark.parametrize(("source", "multiplier"), [
    (Source.TOWNSHIP_GROUP, 1), (Source.TOWNSHIP_DEPARTMENT, 1), (Source.DISTRICT, 1), (Source.HOTLINE_12345, 1),
    (Source.TOWNSHIP_PETITION, 1), (Source.DISTRICT_PETITION, 1),
    (Source.CITY, 2), (Source.CITY_PETITION, 2),
    (Source.PROVINCE, 3), (Source.PROVINCE_PETITION, 3),
])
def test_each_finder_deducts_the_items_points_times_its_multiplier(county, ledger, items, source, multiplier):
    finding = ledger.finding(county.louxing, items[3], discovered_on="2026-01-15", source=source)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (0, Decimal(3 * multiplier), False, Decimal(60 - 3 * multiplier))
    (entry,) = louxing.entries
    assert (entry.kind, entry.number, entry.points, entry.multiplier, entry.amount) == (
        "deduction", finding.number, Decimal(3), multiplier, Decimal(3 * multiplier))
    assert entry.source == finding.get_source_display()


def test_every_source_is_either_multiplied_or_a_veto():
    assert set(SOURCE_MULTIPLIER) | set(VETO_SOURCES) == set(Source.values)
    assert not set(SOURCE_MULTIPLIER) & set(VETO_SOURCES)


def test_multiple_findings_add_up(county, ledger, items):
    ledger.report(county.louxing, items[5], reported_on="2026-01-03")  # + 5
    ledger.finding(county.louxing, items[2], discovered_on="2026-01-10", source=Source.DISTRICT)  # − 2
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-11", source=Source.CITY_PETITION)  # − 6
    ledger.finding(county.louxing, items[5], discovered_on="2026-01-12", source=Source.PROVINCE)  # − 15

    assert figures(month_of(county.louxing)) == (Decimal(5), Decimal(23), False, Decimal(42))


# ---------------------------------------------------------------- when a village report excuses a finding


def test_report_strictly_before_the_finding_excuses_it(county, ledger, items):
    report = ledger.report(county.louxing, items[3], reported_on="2026-01-09", verified_on="2026-01-12")
    finding = ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", source=Source.CITY,
                             matched_report=report)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (Decimal(3), 0, False, Decimal(63))
    excused = louxing.entries[1]
    assert (excused.kind, excused.number, excused.amount) == ("excused", finding.number, 0)
    assert report.number in excused.note


def test_report_the_same_day_as_the_finding_does_not_excuse_it(county, ledger, items):
    report = ledger.report(county.louxing, items[3], reported_on="2026-01-10", verified_on="2026-01-12")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", source=Source.CITY, matched_report=report)

    # + 3 for the verified report, − 3 × 2 for the finding
    assert figures(month_of(county.louxing)) == (Decimal(3), Decimal(6), False, Decimal(57))


def test_report_after_the_finding_does_not_excuse_it(county, ledger, items):
    report = ledger.report(county.louxing, items[3], reported_on="2026-01-11")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", matched_report=report)

    assert figures(month_of(county.louxing)) == (Decimal(3), Decimal(3), False, Decimal(60))


def test_report_after_a_central_finding_does_not_save_the_month(county, ledger, items):
    report = ledger.report(county.louxing, items[3], reported_on="2026-01-11")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", source=Source.CENTRAL, matched_report=report)

    assert figures(month_of(county.louxing)) == (Decimal(3), 0, True, Decimal(0))


def test_report_judged_untrue_earns_nothing_and_does_not_excuse(county, ledger, items):
    report = ledger.report(county.louxing, items[5], reported_on="2026-01-05", verdict=Verdict.FALSE,
                           verified_on="2026-01-06")
    ledger.finding(county.louxing, items[5], discovered_on="2026-01-10", source=Source.DISTRICT, matched_report=report)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (0, Decimal(5), False, Decimal(55))
    assert kinds(louxing) == ["deduction"]


def test_matched_report_of_another_village_does_not_excuse(county, ledger, items):
    dalou_report = ledger.report(county.dalou, items[3], reported_on="2026-01-05")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", matched_report=dalou_report)

    louxing, dalou = month_scores(county.taiping, JAN)

    assert figures(louxing) == (0, Decimal(3), False, Decimal(57))
    assert figures(dalou) == (Decimal(3), 0, False, Decimal(63))


def test_matched_report_of_another_item_does_not_excuse(county, ledger, items):
    report = ledger.report(county.louxing, items[2], reported_on="2026-01-05")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", source=Source.PROVINCE, matched_report=report)

    assert figures(month_of(county.louxing)) == (Decimal(2), Decimal(9), False, Decimal(53))


def test_report_before_the_finding_but_not_matched_to_it_does_not_excuse(county, ledger, items):
    """The rule excuses a finding that references the village's report; an unreferenced one is not guessed."""
    ledger.report(county.louxing, items[3], reported_on="2026-01-05")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10")

    assert figures(month_of(county.louxing)) == (Decimal(3), Decimal(3), False, Decimal(60))


def test_duplicate_report_earns_nothing(county, ledger, items):
    ledger.report(county.louxing, items[5], reported_on="2026-01-05", verdict=Verdict.DUPLICATE)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (0, 0, False, Decimal(60))
    assert louxing.entries == []


def test_duplicate_report_still_excuses_a_later_finding(county, ledger, items):
    """重复 is not 不属实: the village did report the issue before it was found."""
    report = ledger.report(county.louxing, items[5], reported_on="2026-01-05", verdict=Verdict.DUPLICATE)
    ledger.finding(county.louxing, items[5], discovered_on="2026-01-10", matched_report=report)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (0, 0, False, Decimal(60))
    assert kinds(louxing) == ["excused"]


def test_pending_report_earns_nothing_but_excuses(county, ledger, items):
    report = ledger.report(county.louxing, items[5], reported_on="2026-01-05", verdict=Verdict.PENDING)
    ledger.finding(county.louxing, items[5], discovered_on="2026-01-10", source=Source.PROVINCE, matched_report=report)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (0, 0, False, Decimal(60))
    assert kinds(louxing) == ["excused"]


def test_report_flagged_false_loses_its_points_and_no_longer_excuses(county, ledger, items):
    report = ledger.report(county.louxing, items[3], reported_on="2026-01-05")
    ledger.finding(county.louxing, items[3], discovered_on="2026-01-10", source=Source.CITY, matched_report=report)
    assert figures(month_of(county.louxing)) == (Decimal(3), 0, False, Decimal(63))

    PatrolReport.objects.filter(pk=report.pk).update(is_fraud=True)

    louxing = month_of(county.louxing)
    assert figures(louxing) == (0, Decimal(6), False, Decimal(54))
    assert kinds(louxing) == ["deduction"]


def test_finding_flagged_false_loses_its_deduction(county, ledger, items):
    finding = ledger.finding(county.louxing, items[5], discovered_on="2026-01-10", source=Source.PROVINCE)
    assert month_of(county.louxing).score == Decimal(45)

    PatrolFinding.objects.filter(pk=finding.pk).update(is_fraud=True)

    louxing = month_of(county.louxing)
    assert figures(louxing) == (0, 0, False, Decimal(60))
    assert louxing.entries == []


@pytest.mark.parametrize("is_true", [False, None])
def test_finding_not_true_or_not_yet_judged_counts_nothing(county, ledger, items, is_true):
    ledger.finding(county.louxing, items[5], discovered_on="2026-01-10", source=Source.PROVINCE, is_true=is_true)

    louxing = month_of(county.louxing)

    assert figures(louxing) == (0, 0, False, Decimal(60))
    assert louxing.entries == []


# --------------------------------------------------------------------------------- month boundaries


def test_additions_count_in_the_month_of_verification(county, ledger, items):
    ledger.report(county.louxing, items[2], reported_on="2026-01-20", verified_on="2026-01-31")
    ledger.report(county.louxing, items[3], reported_on="2026-01-20", verified_on="2026-02-01")
    ledger.report(county.louxing, items[5], reported_on="2025-12-31", verified_on="2025-12-31")

    assert month_of(county.louxing, datetime.date(2025, 12, 1)).additions == Decimal(5)
    assert month_of(county.louxing, JAN).additions == Decimal(2)
    assert month_of(county.louxing, FEB).additions == Decimal(3)
    assert month_of(county.louxing, datetime.date(2026, 1, 17)).additions == Decimal(2)  # any day of the month


def test_deductions_count_in_the_month_of_discovery(county, ledger, items):
    ledger.finding(county.louxing, items[2], discovered_on="2026-01-31")
    ledger.finding(county.louxing, items[3], discovered_on="2026-02-01")

    assert month_of(county.louxing, JAN).deductions == Decimal(2)
    assert month_of(county.louxing, FEB).deductions == Decimal(3)


def test_report_of_the_previous_month_excuses_a_finding_of_the_first(county, ledger, items):
    report = ledger.report(county.louxing, items[3], reported_on="2026-01-31", verified_on="2026-02-03")
    ledger.finding(county.louxing, items[3], discovered_on="2026-02-01", source=Source.PROVINCE, matched_report=report)

    assert figures(month_of(county.louxing, JAN)) == (0, 0, False, Decimal(60))
    assert figures(month_of(county.louxing, FEB)) == (Decimal(3), 0, False, Decimal(63))


def test_other_townships_rows_stay_out(county, ledger, items):
    zhaocun_item = ledger.item("5", township=county.zhaocun)
    ledger.report(county.henan, zhaocun_item, reported_on="2026-01-05")
    ledger.finding(county.henan, zhaocun_item, discovered_on="2026-01-06", source=Source.CENTRAL)

    assert [score.score for score in month_scores(county.taiping, JAN)] == [Decimal(60), Decimal(60)]
    (henan,) = month_scores(county.zhaocun, JAN)
    assert figures(henan) == (Decimal(5), 0, True, Decimal(0))


def test_several_townships_at_once_give_each_village_its_own_month(county, ledger, items):
    zhaocun_item = ledger.item("5", township=county.zhaocun)
    ledger.report(county.henan, zhaocun_item, reported_on="2026-01-05")
    ledger.report(county.louxing, items[2], reported_on="2026-01-05")

    scores = {score.village: score.score for score in month_scores([county.taiping, county.zhaocun], JAN)}

    assert scores == {county.louxing: Decimal(62), county.dalou: Decimal(60), county.henan: Decimal(65)}


def test_as_dict_gives_exact_decimal_strings(county, ledger, items):
    ledger.report(county.louxing, items[3], reported_on="2026-01-05")
    ledger.finding(county.louxing, items[2], discovered_on="2026-01-06", source=Source.CITY)

    louxing, dalou = (score.as_dict() for score in month_scores(county.taiping, JAN))

    assert {key: louxing[key] for key in ("village", "month", "base", "additions", "deductions", "veto", "score")} == {
        "village": "楼星村", "month": "2026-01", "base": "60.00", "additions": "3.00", "deductions": "4.00",
        "veto": False, "score": "59.00",
    }
    assert [(e["kind"], e["amount"], e["multiplier"]) for e in louxing["entries"]] == [
        ("addition", "3.00", 1), ("deduction", "4.00", 2)]
    assert (dalou["base"], dalou["additions"], dalou["deductions"], dalou["score"]) == ("60.00", "0.00", "0.00", "60.00")


# ------------------------------------------------------------------------------------------ quarters


@pytest.mark.parametrize(("months", "average", "grade"), [
    (["60", "60", "60"], "60.00", "较差"),
    (["59", "60", "61"], "60.00", "较差"),
    (["60", "60", "61"], "60.33", "合格"),
    (["60", "60", "60.01"], "60.01", "合格"),  # the exact mean 60.0033… is above 60: shown rounded up
    (["69.7", "70", "70"], "69.90", "合格"),
    (["69.99", "70", "70"], "69.99", "合格"),  # the exact mean 69.9966… is below 70: shown rounded down
    (["70", "70", "70"], "70.00", "一般"),
    (["65", "70", "75"], "70.00", "一般"),
    (["79.99", "80", "80"], "79.99", "一般"),
    (["80.01", "80", "80"], "80.00", "良好"),
    (["80", "80", "80"], "80.00", "良好"),
    (["90", "90", "89.99"], "89.99", "良好"),
    (["90", "90", "89.995"], "89.99", "良好"),  # 89.99833…: never shown as 90.00 beside 良好
    (["70", "70", "70.005"], "70.00", "一般"),
    (["90", "90", "90"], "90.00", "优秀"),
    (["100", "100", "0"], "66.67", "合格"),
    (["0", "0", "0"], "0.00", "较差"),
])
def test_quarter_average_and_grade(county, months, average, grade):
    quarter = VillageQuarter(village=county.louxing, months=[Decimal(m) for m in months])

    assert (str(quarter.average), quarter.grade) == (average, grade)
    assert grade_for_total(sum(Decimal(m) for m in months)) == grade


@pytest.mark.parametrize(("additions", "average", "grade"), [
    ((None, None, None), "60.00", "较差"),
    ((None, None, "1"), "60.33", "合格"),
    (("9.7", "10", "10"), "69.90", "合格"),
    (("10", "10", "10"), "70.00", "一般"),
    (("20", "20", "20"), "80.00", "良好"),
    (("30", "30", "30"), "90.00", "优秀"),
])
def test_quarter_from_the_ledger(county, ledger, additions, average, grade):
    for month, points in zip(quarter_months(2026, 1), additions, strict=True):
        if points is not None:
            ledger.report(county.louxing, ledger.item(points), reported_on=f"{month:%Y-%m}-15")

    louxing, dalou = quarter_scores(county.taiping, 2026, 1)

    assert louxing.village == county.louxing
    assert (str(louxing.average), louxing.grade) == (average, grade)
    assert (louxing.months, dalou.months) == (
        [Decimal(60) + Decimal(points or 0) for points in additions], [Decimal(60)] * 3)
    assert louxing.as_dict() == {"village": "楼星村", "village_path": county.louxing.full_path,
                                 "months": [f"{60 + Decimal(points or 0):.2f}" for points in additions],
                                 "average": average, "grade": grade}


def test_quarter_mixes_veto_cap_and_floor(county, ledger, items):
    for day in range(1, 10):  # January: 60 + 45 → 100
        ledger.report(county.louxing, items[5], reported_on=f"2026-01-{day:02d}")
    ledger.finding(county.louxing, items[2], discovered_on="2026-02-14", source=Source.CENTRAL)  # February: 0
    ledger.finding(county.louxing, items[5], discovered_on="2026-03-14", source=Source.PROVINCE)  # March: 45

    (louxing, _) = quarter_scores(county.taiping, 2026, 1)

    assert louxing.months == [Decimal(100), Decimal(0), Decimal(45)]
    assert (louxing.total, str(louxing.average), louxing.grade) == (Decimal(145), "48.33", "较差")


def test_quarter_four_ends_with_december_and_the_first_quarter_starts_in_january(county, ledger, items):
    assert quarter_months(2025, 4) == [d("2025-10-01"), d("2025-11-01"), d("2025-12-01")]
    assert quarter_months(2026, 1) == [d("2026-01-01"), d("2026-02-01"), d("2026-03-01")]
    ledger.report(county.louxing, items[3], reported_on="2025-09-30")  # Q3
    ledger.report(county.louxing, items[5], reported_on="2025-10-01")  # Q4, October
    ledger.report(county.louxing, items[2], reported_on="2025-12-31")  # Q4, December
    ledger.report(county.louxing, items[3], reported_on="2025-12-20", verified_on="2026-01-01")  # Q1, January
    ledger.finding(county.louxing, items[5], discovered_on="2026-01-01")  # Q1, January

    (q4, _) = quarter_scores(county.taiping, 2025, 4)
    (q1, _) = quarter_scores(county.taiping, 2026, 1)

    assert q4.months == [Decimal(65), Decimal(60), Decimal(62)]
    assert (str(q4.average), q4.grade) == ("62.33", "合格")
    assert q1.months == [Decimal(58), Decimal(60), Decimal(60)]
    assert (str(q1.average), q1.grade) == ("59.33", "较差")


def test_quarter_must_be_one_to_four():
    with pytest.raises(ValueError):
        quarter_months(2026, 5)


# ------------------------------------------------------------------------------------------ ranking


def test_ranking_shares_places_on_ties_and_skips_after_them(county, ledger, items):
    extra = services.create_region(parent=county.zhaocun, name="赵村", tier=county.tier("village"))
    zhaocun_item = ledger.item("5", township=county.zhaocun)
    ledger.report(county.louxing, items[5], reported_on="2026-01-05")  # 65
    ledger.report(county.dalou, items[5], reported_on="2026-01-05")
    ledger.report(county.dalou, items[5], reported_on="2026-01-06")  # 70
    ledger.report(county.henan, zhaocun_item, reported_on="2026-01-05")  # 65
    # 赵村: 60

    ranking = ranked(month_scores([county.taiping, county.zhaocun], JAN))

    assert [(rank, score.village.name, score.score) for rank, score in ranking] == [
        (1, "大楼村", Decimal(70)), (2, "楼星村", Decimal(65)), (2, "河南村", Decimal(65)), (4, extra.name, Decimal(60))]


def test_ranking_of_all_equal_scores_is_all_first(county):
    assert [rank for rank, _ in ranked(month_scores([county.taiping, county.zhaocun], JAN))] == [1, 1, 1]


# ------------------------------------------------------------------------------------------ queries


def _add_villages(county, ledger, items, count: int) -> None:
    """`count` more villages in 太平镇, each with a report, a matched (excused) finding and a deduction."""
    village_tier = county.tier("village")
    for number in range(count):
        village = services.create_region(parent=county.taiping, name=f"新村{number:02d}", tier=village_tier)
        report = ledger.report(village, items[2], reported_on="2026-01-05")
        ledger.finding(village, items[2], discovered_on="2026-01-10", matched_report=report)
        ledger.finding(village, items[3], discovered_on="2026-01-11", source=Source.CITY)


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_villages_or_townships(county, ledger, items):
    zhaocun_item = ledger.item("5", township=county.zhaocun)
    ledger.report(county.henan, zhaocun_item, reported_on="2026-01-05")
    report = ledger.report(county.louxing, items[2], reported_on="2026-01-05")
    ledger.finding(county.louxing, items[2], discovered_on="2026-01-10", matched_report=report)
    ledger.finding(county.dalou, items[3], discovered_on="2026-01-11", source=Source.CITY)

    def month_and_dicts(townships):
        return lambda: [score.as_dict() for score in month_scores(townships, JAN)]

    def quarter_and_dicts(townships):
        return lambda: [quarter.as_dict() for quarter in quarter_scores(townships, 2026, 1)]

    small_month = _queries(month_and_dicts(county.taiping))
    small_quarter = _queries(quarter_and_dicts(county.taiping))

    _add_villages(county, ledger, items, 28)
    assert len(month_scores(county.taiping, JAN)) == 30

    assert _queries(month_and_dicts(county.taiping)) == small_month
    assert _queries(month_and_dicts([county.taiping, county.zhaocun])) == small_month
    assert _queries(quarter_and_dicts(county.taiping)) == small_quarter
    assert _queries(quarter_and_dicts([county.taiping, county.zhaocun])) == small_quarter
    assert small_month <= 4  # villages, reports, findings, the township's multipliers
