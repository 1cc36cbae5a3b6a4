"""Registering a finding offers the village's earlier reports as its "此前已上报" (the township big patrol
plan, 五、(二)2–4), so nobody types a number.

Hand-computed case: a finding of 楼星村 item A01 (2 points, category 农业) discovered on day D. 楼星村 had
reported A01 on D−3 (R-1) and the same-category item A02 on D−5 (R-2); it reported A01 again on D (R-3,
the same day: not earlier) and B01 of another category on D−1 (R-4); 大楼村 reported A01 on D−2 (R-5);
R-6 of A01 on D−4 was judged untrue. The offer is R-1 (same item, chosen by default), then R-2 (similar
item); confirming R-1 excuses the finding (楼星村 keeps 60 + 2 = 62 from R-1 alone, no deduction);
confirming "此前没有上报" costs 2.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from grid import services
from inspection.models import CatalogItem, PatrolCategory, PatrolFinding, PatrolReport
from inspection.patrol import findings
from inspection.patrol.finding_forms import RegisterForm
from inspection.patrol.scoring import month_scores

Verdict = PatrolReport.Verdict


@pytest.fixture
def case(county, personas):
    today = timezone.localdate()
    day = today - datetime.timedelta(days=1) if today.day > 6 else today  # D, with D−5 in the same month
    agriculture = PatrolCategory.objects.create(township=county.taiping, name="农业", lead_department=county.agriculture)
    other = PatrolCategory.objects.create(
        township=county.taiping, name="城建", lead_department=services.create_department(name="城建办", region=county.taiping))

    def item(code, category, points):
        return CatalogItem.objects.create(township=county.taiping, code=code, name=f"事项{code}", category=category,
                                          lead_department=category.lead_department, points=Decimal(points))

    a01, a02, b01 = item("A01", agriculture, "2"), item("A02", agriculture, "1"), item("B01", other, "3")

    def report(number, village, it, days_before, verdict=Verdict.PENDING):
        on = day - datetime.timedelta(days=days_before)
        return PatrolReport.objects.create(
            township=county.taiping, village=village, number=number, item=it, reported_on=on, location="村口",
            occurred_at=timezone.make_aware(datetime.datetime.combine(on, datetime.time(8))), description="发现",
            verdict=verdict, verified_on=None if verdict == Verdict.PENDING else on,
            points=it.points if verdict == Verdict.TRUE else 0)

    reports = {
        "R-1": report("R-1", county.louxing, a01, 3, Verdict.TRUE), "R-2": report("R-2", county.louxing, a02, 5),
        "R-3": report("R-3", county.louxing, a01, 0), "R-4": report("R-4", county.louxing, b01, 1),
        "R-5": report("R-5", county.dalou, a01, 2), "R-6": report("R-6", county.louxing, a01, 4, Verdict.FALSE),
    }
    finding = findings.record_finding(by=personas["department"], village=county.louxing, item=a01,
                                      source=PatrolFinding.Source.TOWNSHIP_DEPARTMENT, discovered_on=day,
                                      location="村东", description="焚烧秸秆")
    return {"finding": finding, "reports": reports, "day": day}


def test_earlier_reports_of_the_same_then_similar_item_are_offered(case):
    offered = findings.matching_report_candidates(case["finding"])
    assert [(c.report.number, c.same_item) for c in offered] == [("R-1", True), ("R-2", False)]


def test_the_same_item_report_is_chosen_and_confirming_it_excuses_the_finding(client, county, personas, case):
    finding = case["finding"]
    client.force_login(personas["department"])
    page = client.get(reverse("patrol:finding_detail", args=[finding.pk])).content.decode()
    assert "R-1" in page and "R-2" in page and "同类事项" in page and "村（居）此前没有上报" in page
    assert "R-3" not in page and "R-5" not in page and "R-6" not in page
    form = RegisterForm(finding=finding, candidates=findings.matching_report_candidates(finding))
    assert form.fields["earlier_report"].initial == str(case["reports"]["R-1"].pk)
    response = client.post(reverse("patrol:finding_register", args=[finding.pk]),
                           {"is_true": "true", "earlier_report": str(case["reports"]["R-1"].pk), "note": ""})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.matched_report == case["reports"]["R-1"]
    louxing = next(vm for vm in month_scores(county.taiping, case["day"]) if vm.village == county.louxing)
    assert (louxing.additions, louxing.deductions, louxing.score) == (Decimal(2), Decimal(0), Decimal(62))


def test_confirming_no_earlier_report_costs_the_points(client, county, personas, case):
    finding = case["finding"]
    client.force_login(personas["department"])
    response = client.post(reverse("patrol:finding_register", args=[finding.pk]),
                           {"is_true": "true", "earlier_report": "none", "note": ""})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.matched_report is None
    louxing = next(vm for vm in month_scores(county.taiping, case["day"]) if vm.village == county.louxing)
    assert (louxing.additions, louxing.deductions, louxing.score) == (Decimal(2), Decimal(2), Decimal(60))


def test_a_report_not_offered_cannot_be_slipped_in_as_a_choice(client, county, personas, case):
    client.force_login(personas["department"])
    response = client.post(reverse("patrol:finding_register", args=[case["finding"].pk]),
                           {"is_true": "true", "earlier_report": str(case["reports"]["R-3"].pk), "note": ""})
    assert response.status_code == 422
