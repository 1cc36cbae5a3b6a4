"""The flow policy's switch for big-patrol reports: with it on, the township office reviews a village
report before the lead department verifies it; with it off (the default) the lead department verifies
at once. A report keeps the version it was submitted under."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.models import AuditEntry, Notification
from grid import services
from grid.flow_policy import policy_in_force
from grid.models import Role
from inspection.models import PatrolReport
from inspection.patrol import reports
from inspection.patrol.report_registration import review_queue, verify_queue
from tests.inspection import test_reports
from tests.inspection.test_reports import submit

people, item = test_reports.people, test_reports.item  # the fixtures of the report tests

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture(autouse=True)
def _urls():
    import config.urls  # noqa: F401 — Node.reverse() needs the URLconf


def review_on(county, **fields):
    return services.create_flow_policy(by=None, region=county.county, patrol_township_review=True, **fields)


def action(client, report, name, data):
    return client.post(reverse("patrol:report_action", args=[report.pk, name]), data)


def test_switch_off_the_lead_department_verifies_at_once_and_nobody_reviews(county, people, item, client,
                                                                              django_capture_on_commit_callbacks):
    services.create_flow_policy(by=None, region=county.county, patrol_township_review=False)
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(people, county, item)
    assert reports.current_step(report) == "verify"
    assert list(verify_queue(people["department"])) == [report]
    assert not review_queue(people["township_office"]).exists()
    assert not Notification.objects.filter(recipient=people["township_office"], title__startswith="待审核").exists()

    client.force_login(people["township_office"])
    page = client.get(reverse("patrol:report_detail", args=[report.pk])).content.decode()
    assert "review-section" not in page
    assert "由牵头部门直接核实" in client.get(reverse("patrol:report_chart", args=[report.pk])).content.decode()
    assert action(client, report, "review", {"decision": "passed"}).status_code == 422

    client.force_login(people["department"])
    assert action(client, report, "verify", {"verdict": "true", "note": "属实"}).status_code == 302
    report.refresh_from_db()
    assert report.verdict == PatrolReport.Verdict.TRUE and report.points == item.points
    assert report.reviewed_at is None


def test_switch_on_the_township_office_reviews_first_then_the_lead_department_verifies(
        county, people, item, client, django_capture_on_commit_callbacks):
    policy = review_on(county)
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(people, county, item)
    assert report.flow_policy == policy and reports.current_step(report) == "township_review"
    assert Notification.objects.filter(recipient=people["township_office"], title__startswith="待审核").count() == 1
    assert not Notification.objects.filter(recipient=people["department"], title__startswith="待核实").exists()
    assert list(review_queue(people["township_office"])) == [report]
    assert not verify_queue(people["department"]).exists()

    # The lead department cannot verify before the review; it is not its step.
    client.force_login(people["department"])
    page = client.get(reverse("patrol:report_detail", args=[report.pk])).content.decode()
    assert "verify-section" not in page and "乡镇巡查办审核" in page
    response = action(client, report, "verify", {"verdict": "true", "note": "属实"})
    assert response.status_code == 422 and "等待乡镇巡查办审核" in response.content.decode()
    assert action(client, report, "review", {"decision": "passed"}).status_code == 403
    # Another township's office does not see the report at all; a village cadre may not review.
    zhaocun_office, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=zhaocun_office, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    client.force_login(zhaocun_office)
    assert action(client, report, "review", {"decision": "passed"}).status_code == 404
    client.force_login(people["village_cadre"])
    assert action(client, report, "review", {"decision": "passed"}).status_code == 403
    report.refresh_from_db()
    assert report.reviewed_at is None and reports.current_step(report) == "township_review"

    client.force_login(people["township_office"])
    assert client.get(reverse("patrol:review_queue")).status_code == 200
    chart = client.get(reverse("patrol:report_chart", args=[report.pk])).content.decode()
    assert "先经乡镇巡查办审核" in chart and "乡镇巡查办审核" in client.get(
        reverse("patrol:report_chart", args=[report.pk]) + "?format=bpmn").content.decode()
    page = client.get(reverse("patrol:report_detail", args=[report.pk])).content.decode()
    assert "review-section" in page
    assert action(client, report, "review", {"note": "x"}).status_code == 422  # no decision chosen
    with django_capture_on_commit_callbacks(execute=True):
        assert action(client, report, "review", {"decision": "passed", "note": "属于目录事项"}).status_code == 302
    report.refresh_from_db()
    assert report.review_passed is True and report.reviewed_by == people["township_office"]
    assert reports.current_step(report) == "verify" and report.verdict == PatrolReport.Verdict.PENDING
    assert list(verify_queue(people["department"])) == [report]
    assert Notification.objects.filter(recipient=people["department"], title__startswith="待核实").count() == 1
    assert AuditEntry.objects.filter(action="patrol_report.review.passed", object_id=str(report.pk)).exists()

    client.force_login(people["department"])
    assert action(client, report, "verify", {"verdict": "true", "note": "属实"}).status_code == 302
    report.refresh_from_db()
    assert report.verdict == PatrolReport.Verdict.TRUE and report.registration_number and report.points == item.points
    assert reports.current_step(report) == "follow_up"


def test_switch_on_a_report_the_township_does_not_pass_is_refused_with_a_reason(
        county, people, item, client, django_capture_on_commit_callbacks):
    review_on(county)
    report = submit(people, county, item)
    client.force_login(people["township_office"])
    response = action(client, report, "review", {"decision": "rejected", "note": ""})
    assert response.status_code == 422 and "须填写理由" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = action(client, report, "review", {"decision": "rejected", "note": "不属于巡查目录事项"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.verdict == PatrolReport.Verdict.FALSE and report.points == 0 and report.review_passed is False
    assert reports.current_step(report) is None
    assert Notification.objects.filter(recipient=people["village_cadre"], title__contains="不属实").exists()
    assert action(client, report, "review", {"decision": "passed"}).status_code == 422  # reviewed once only


def test_a_policy_change_leaves_reports_in_flight_under_their_own_version(county, people, item):
    review_on(county)
    under_review = submit(people, county, item, idempotency_key="a")
    services.create_flow_policy(by=None, region=county.county, patrol_township_review=False)  # same day, next version
    straight = submit(people, county, item, idempotency_key="b")
    assert reports.current_step(under_review) == "township_review"
    assert reports.current_step(straight) == "verify"

    reports.review_report(under_review, by=people["township_office"], passed=True)
    reports.verify_report(under_review, by=people["department"], verdict="true")
    reports.verify_report(straight, by=people["department"], verdict="false", note="现场无此情况")
    assert {report.verdict for report in PatrolReport.objects.all()} == {"true", "false"}


def test_a_township_override_turns_the_review_on_for_its_villages_only(county, people, item):
    services.create_flow_policy(by=None, region=county.taiping, patrol_township_review=True)
    report = submit(people, county, item)
    assert reports.current_step(report) == "township_review"
    assert not policy_in_force(county.henan)  # 赵村镇 keeps the default flow (no review)
