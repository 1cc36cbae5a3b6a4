"""A month whose circular (考评通报) is published stands: a finding discovered in it is neither recorded,
registered nor imported any more, so no deduction lands in a figure that was already published; nor is a
village report imported as verified true in it (its points count in the month of 核实日期)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.tabular import ImportFailed
from inspection.models import Circular, PatrolFinding, PatrolReport
from inspection.patrol import findings
from inspection.patrol.findings import FindingError
from inspection.patrol.imports import import_patrol_findings, import_patrol_reports
from inspection.patrol.scoring import month_scores, month_start
from tests.inspection.test_findings import patrol, record  # noqa: F401 (patrol is a fixture)
from tests.inspection.test_patrol_imports import FINDING_HEADER, REPORT_HEADER, write_csv

Source = PatrolFinding.Source


def last_month() -> datetime.date:
    return month_start(month_start(timezone.localdate()) - datetime.timedelta(days=1))


def publish(county, personas, month: datetime.date, period=Circular.Period.MONTH) -> Circular:
    return Circular.objects.create(township=county.taiping, period=period, period_start=month,
                                   published_at=timezone.now(), published_by=personas["township_office"], scores={})


def quarter_start(month: datetime.date) -> datetime.date:
    return month.replace(month=(month.month - 1) // 3 * 3 + 1)


def louxing_score(county, month):
    return next(m for m in month_scores(county.taiping, month) if m.village == county.louxing).score


def test_a_finding_of_a_published_month_is_not_recorded(county, personas, patrol):  # noqa: F811
    month = last_month()
    publish(county, personas, month)
    day = month.replace(day=20)
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, discovered_on=day)
    assert exc.value.message_dict == {"discovered_on": [f"{month.year}年{month.month}月考评已通报，不能再补录该月的发现问题。"]}
    # The month before, not published, is still open; as is the other township's same month.
    earlier = month_start(month - datetime.timedelta(days=1))
    assert record(personas, county, patrol, discovered_on=earlier.replace(day=20)).discovered_on.month == earlier.month
    assert PatrolFinding.objects.count() == 1


def test_a_finding_of_a_month_in_a_published_quarter_is_not_recorded(county, personas, patrol):  # noqa: F811
    month = last_month()
    publish(county, personas, quarter_start(month), period=Circular.Period.QUARTER)
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, discovered_on=month.replace(day=3))
    assert "季度考评已通报，不能再补录该月的发现问题" in str(exc.value)


def test_the_other_townships_circular_does_not_close_the_month(county, personas, patrol):  # noqa: F811
    month = last_month()
    Circular.objects.create(township=county.zhaocun, period=Circular.Period.MONTH, period_start=month,
                            published_at=timezone.now(), published_by=personas["township_office"], scores={})
    assert record(personas, county, patrol, discovered_on=month.replace(day=20)).registered_at is None


def test_a_future_discovery_date_is_refused(county, personas, patrol):  # noqa: F811
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, discovered_on=timezone.localdate() + datetime.timedelta(days=1))
    assert exc.value.message_dict["discovered_on"] == ["发现日期不能晚于今天。"]


def test_a_finding_whose_month_was_published_meanwhile_is_not_registered(client, county, personas, patrol):  # noqa: F811
    month = last_month()
    finding = record(personas, county, patrol, discovered_on=month.replace(day=20))
    publish(county, personas, month)
    published_score = louxing_score(county, month)
    message = f"{month.year}年{month.month}月考评已通报，不能再核实登记该月的发现问题。"
    with pytest.raises(FindingError) as exc:
        findings.verify_and_register_finding(finding, by=personas["department"], is_true=True)
    assert exc.value.message_dict == {"discovered_on": [message]}
    finding.refresh_from_db()
    assert finding.registered_at is None and finding.is_true is None
    assert louxing_score(county, month) == published_score
    # The page says so instead of offering the form; a posted form is refused with the same words.
    client.force_login(personas["department"])
    page = client.get(reverse("patrol:finding_detail", args=[finding.pk])).content.decode()
    assert message in page and "核实并登记备案" not in page
    response = client.post(reverse("patrol:finding_register", args=[finding.pk]),
                           {"is_true": "true", "earlier_report": "none", "note": "属实"})
    assert response.status_code == 422 and message in response.content.decode()
    finding.refresh_from_db()
    assert finding.registered_at is None


def test_a_finding_of_an_open_month_is_still_registered(county, personas, patrol):  # noqa: F811
    month = last_month()
    publish(county, personas, month_start(month - datetime.timedelta(days=1)))  # the month before is published
    finding = record(personas, county, patrol, discovered_on=month.replace(day=20))
    assert findings.verify_and_register_finding(finding, by=personas["department"], is_true=True).is_true


def test_an_import_refuses_new_findings_of_a_published_month_but_keeps_stored_ones(county, personas, patrol,  # noqa: F811
                                                                                  tmp_path):
    month = last_month()
    stored = [FINDING_HEADER, ["F-1", "楼星村", "A01", month.replace(day=5).isoformat(), "区", "是", ""]]
    import_patrol_findings(write_csv(tmp_path, stored), township=county.taiping)
    publish(county, personas, month)
    # The same file again changes nothing and is accepted.
    assert import_patrol_findings(write_csv(tmp_path, stored), township=county.taiping).unchanged == 1
    path = write_csv(tmp_path, [*stored, ["F-2", "楼星村", "A01", month.replace(day=6).isoformat(), "区", "是", ""]])
    with pytest.raises(ImportFailed) as exc_info:
        import_patrol_findings(path, township=county.taiping)
    assert [(error.row, error.message) for error in exc_info.value.errors] == [
        (3, f"{month.year}年{month.month}月考评已通报，不能再导入该月的发现问题")]
    assert PatrolFinding.objects.count() == 1


def report_row(number: str, reported: datetime.date, verdict: str, verified: datetime.date | None) -> list[str]:
    return [number, "楼星村", "A01", reported.isoformat(), "村东头", "麦田焚烧秸秆", reported.isoformat(), verdict,
            verified.isoformat() if verified else ""]


def test_an_import_refuses_reports_verified_true_in_a_published_month(county, personas, patrol,  # noqa: F811
                                                                     tmp_path):
    month = last_month()
    publish(county, personas, month)
    before = louxing_score(county, month)
    today = timezone.localdate()
    path = write_csv(tmp_path, [
        REPORT_HEADER,
        report_row("R-1", month.replace(day=3), "属实", month.replace(day=9)),  # earns points in the published month
        report_row("R-2", month.replace(day=3), "不属实", month.replace(day=9)),  # earns nothing: accepted
    ])
    with pytest.raises(ImportFailed) as exc_info:
        import_patrol_reports(path, township=county.taiping)
    assert [(error.row, error.message) for error in exc_info.value.errors] == [
        (2, f"{month.year}年{month.month}月考评已通报，不能再导入该月的核实属实的上报")]
    assert not PatrolReport.objects.exists()  # nothing of the file is kept
    assert louxing_score(county, month) == before

    # Reported in the published month, verified true in an open one: accepted, and its points count in the
    # month it was verified, which no circular holds yet.
    path = write_csv(tmp_path, [REPORT_HEADER, report_row("R-3", month.replace(day=3), "属实", today),
                                report_row("R-2", month.replace(day=3), "不属实", month.replace(day=9))])
    assert import_patrol_reports(path, township=county.taiping).created == 2
    assert louxing_score(county, month) == before
    assert louxing_score(county, month_start(today)) == before + patrol["item"].points
