"""A village's month, the same score everywhere: the month's circular as published, the page and the API
that show it, the quarter's grade sheet that grades on it (and the incentive sheet built from that), the
score command and the circular command — also when a fact of the month changes after publication (the
discipline office finds a finding false): what is published stands, and the quarter is graded on it."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from inspection.patrol import circulars, findings, incentives
from inspection.patrol.scoring import month_scores, quarter_scores
from tests.api.conftest import api_as
from tests.inspection.test_findings import patrol, record  # noqa: F401 (patrol is a fixture)
from tests.inspection.test_published_month_findings import last_month

pytestmark = pytest.mark.django_db


def quarter_of(month: datetime.date) -> tuple[int, int]:
    return month.year, (month.month - 1) // 3 + 1


def louxing(rows: list[dict]) -> dict:
    return next(row for row in rows if row["village"] == "楼星村")


@pytest.fixture
def published(county, personas, patrol):  # noqa: F811
    """Last month: 楼星村 loses 2 points to a registered group finding; the month is published; then the
    discipline office finds the finding false."""
    month = last_month()
    finding = record(personas, county, patrol, discovered_on=month.replace(day=12))
    findings.verify_and_register_finding(finding, by=personas["department"], is_true=True)
    circulars.publish_circular(county.taiping, circulars.build_month_circular(county.taiping, month),
                               by=personas["township_office"])
    findings.flag_finding_fraud(finding, by=personas["discipline"], note="督查组虚报")
    return month


def test_the_quarter_is_graded_on_the_published_month(county, personas, published, client):
    month = published
    year, quarter = quarter_of(month)
    column = (month.month - 1) % 3
    office = personas["township_office"]

    # The live computation now says 60 (the deduction is reversed), the published circular 58.
    live = next(m for m in month_scores(county.taiping, month) if m.village == county.louxing)
    assert live.score == Decimal("60")
    client.force_login(office)
    page = client.get(reverse("patrol:circulars"), {"township": county.taiping.pk, "kind": "month",
                                                   "month": f"{month:%Y-%m}"}).context["data"]
    assert louxing(page["ranking"])["score"] == "58.00"
    api = api_as(office).get(reverse("api:patrol_scores"), {"township": county.taiping.pk,
                                                           "month": f"{month:%Y-%m}"}).json()
    assert api["published"] is True and louxing(api["rows"])["score"] == "58.00"

    # The quarter grades on the published month: the sheet, the scores behind it, the incentive sheet
    # and the score command all say 58.00 for that month.
    sheet = circulars.build_quarter_circular(county.taiping, year, quarter)
    assert louxing(sheet["rows"])["months"][column] == "58.00"
    scored = next(q for q in quarter_scores(county.taiping, year, quarter) if q.village == county.louxing)
    assert scored.months[column] == Decimal("58.00")
    incentive = incentives.build_incentive_sheet(county.taiping, year, quarter)
    assert louxing(incentive["rows"])["months"][column] == "58.00"
    out = StringIO()
    call_command("patrol_score", township="太平镇", quarter=f"{year}Q{quarter}", as_json=True, stdout=out)
    assert louxing(json.loads(out.getvalue()))["months"][column] == "58.00"


def test_the_circular_command_prints_the_published_circular(county, published, tmp_path):
    month = published
    target = tmp_path / "通报.xlsx"
    captured = {}
    real = circulars.export_circular

    def keep(data, fmt, **kwargs):
        captured.update(data)
        return real(data, fmt, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(circulars, "export_circular", keep)
        call_command("patrol_circular", township="太平镇", month=f"{month:%Y-%m}", out=str(target), stdout=StringIO())
    assert louxing(captured["ranking"])["score"] == "58.00"


def test_a_village_renamed_after_publication_keeps_its_published_month(county, published):
    month = published
    year, quarter = quarter_of(month)
    county.louxing.name = "新楼星村"
    county.louxing.save(update_fields=["name"])
    scored = next(q for q in quarter_scores(county.taiping, year, quarter) if q.village == county.louxing)
    assert scored.months[(month.month - 1) % 3] == Decimal("58.00")
