"""The village side of the big patrol and the lead department's verification:
ledger, report with evidence, PatrolReportFlow (verify → register → follow-up), fraud flag, pages."""

from __future__ import annotations

import datetime
import os
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from governance.models import Attachment, AuditEntry, Notification
from grid import services
from grid.models import Role
from inspection.models import CatalogItem, PatrolCategory, PatrolReport, VillagePatrol
from inspection.patrol import reports
from inspection.patrol.report_flow import PatrolReportFlow
from inspection.patrol.scoring import month_scores
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")


def make_item(township, department, code="A01", points="3", active=True):
    category, _ = PatrolCategory.objects.get_or_create(
        township=township, name=f"{department.name}类", defaults={"lead_department": department})
    return CatalogItem.objects.create(township=township, code=code, name=f"违法占用宅基地{code}", category=category,
                                      lead_department=department, points=Decimal(points), is_active=active)


@pytest.fixture
def people(county, personas):
    """The personas, plus: a second cadre of 楼星村, a cadre of 大楼村, a cadre of 河南村 (赵村镇), and
    a department user of 自然资源所 (a department that does not lead the items)."""
    cadre = Role.objects.get(key="village_cadre")
    department = Role.objects.get(key="department")
    users = dict(personas)
    for username, region in (("cadre2", county.louxing), ("dalou_cadre", county.dalou), ("henan_cadre", county.henan)):
        users[username], _ = services.ensure_user(username, password="x")
        services.create_post(user=users[username], role=cadre, region=region)
    users["resources"], _ = services.ensure_user("resources", password="x")
    natural = services.create_department(name="自然资源所", region=county.taiping)
    services.create_post(user=users["resources"], role=department, region=county.taiping, department=natural)
    users["natural"] = natural
    return users


@pytest.fixture
def item(county):
    return make_item(county.taiping, county.agriculture)


def submit(people, county, item, **changes):
    fields = dict(
        by=people["village_cadre"], village=county.louxing, item=item,
        occurred_at=timezone.now() - datetime.timedelta(hours=3), location="楼星村三组村道旁",
        description="未经审批新建住宅地基", files=[photo()],
    )
    fields.update(changes)
    return reports.submit_report(**fields)


def this_month():
    return timezone.localdate().replace(day=1)


def louxing_month(county):
    return next(month for month in month_scores(county.taiping, this_month()) if month.village == county.louxing)


# ------------------------------------------------------------------ the village ledger (附件3)


def test_village_cadre_records_a_patrol_with_two_patrollers(county, people, item):
    patrol = reports.record_village_patrol(
        by=people["village_cadre"], village=county.louxing, date=timezone.localdate(),
        patrollers=[people["village_cadre"], people["cadre2"]], items=[item], route="一组至三组", findings="未发现问题",
    )
    assert set(patrol.patrollers.all()) == {people["village_cadre"], people["cadre2"]}
    assert list(patrol.items.all()) == [item] and patrol.recorded_by == people["village_cadre"]
    entry = AuditEntry.objects.get(action="village_patrol.record")
    assert entry.object_id == str(patrol.pk) and len(entry.after["patrollers"]) == 2


def test_recorder_need_not_be_one_of_the_patrollers(county, people):
    third, _ = services.ensure_user("cadre3", password="x")
    services.create_post(user=third, role=Role.objects.get(key="village_cadre"), region=county.louxing)
    patrol = reports.record_village_patrol(
        by=people["village_cadre"], village=county.louxing, date=timezone.localdate(),
        patrollers=[people["cadre2"], third], findings="未发现问题",
    )
    assert patrol.recorded_by == people["village_cadre"] and people["village_cadre"] not in patrol.patrollers.all()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"patrollers": ["village_cadre"]}, "巡查人员不少于 2 名"),
        ({"patrollers": ["village_cadre", "village_cadre"]}, "巡查人员不少于 2 名"),
        ({"patrollers": ["village_cadre", "dalou_cadre"]}, "dalou_cadre 不是楼星村的在岗巡查员"),
        ({"patrollers": ["village_cadre", "outsider"]}, "outsider 不是楼星村的在岗巡查员"),
        ({"date": "tomorrow"}, "巡查日期不能晚于今天"),
        ({"findings": "  "}, "请填写巡查情况"),
        ({"items": "other_township"}, "巡查事项须为本镇巡查目录中启用的事项"),
        ({"items": "inactive"}, "巡查事项须为本镇巡查目录中启用的事项"),
    ],
)
def test_bad_patrol_input_is_refused_in_chinese_and_writes_nothing(county, people, item, change, message):
    fields = dict(by=people["village_cadre"], village=county.louxing, date=timezone.localdate(),
                  patrollers=[people["village_cadre"], people["cadre2"]], items=[item], findings="未发现问题")
    if "patrollers" in change:
        fields["patrollers"] = [people[name] for name in change["patrollers"]]
    if change.get("date") == "tomorrow":
        fields["date"] = timezone.localdate() + datetime.timedelta(days=1)
    if "findings" in change:
        fields["findings"] = change["findings"]
    if change.get("items") == "other_township":
        fields["items"] = [make_item(county.zhaocun, services.create_department(name="赵村农业办", region=county.zhaocun))]
    if change.get("items") == "inactive":
        fields["items"] = [make_item(county.taiping, county.agriculture, code="OLD", active=False)]
    with pytest.raises(reports.ReportError) as exc_info:
        reports.record_village_patrol(**fields)
    assert any(message in text for text in exc_info.value.messages)
    assert VillagePatrol.objects.count() == 0 and not AuditEntry.objects.filter(action="village_patrol.record").exists()


@pytest.mark.parametrize("who", ["department", "dalou_cadre", "outsider", "township_office"])
def test_only_the_villages_own_cadres_record_its_ledger(county, people, who):
    with pytest.raises(PermissionDenied):
        reports.record_village_patrol(by=people[who], village=county.louxing, date=timezone.localdate(),
                                      patrollers=[people["village_cadre"], people["cadre2"]], findings="未发现问题")
    assert VillagePatrol.objects.count() == 0


# ------------------------------------------------------------------ reporting


def test_village_cadre_reports_with_a_photo_and_the_lead_department_is_told(county, people, item, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(people, county, item)
    assert report.number == f"太平镇-{timezone.localdate().year}-0001"
    assert report.township == county.taiping and report.reported_on == timezone.localdate()
    assert report.verdict == PatrolReport.Verdict.PENDING and report.reporter == people["village_cadre"]
    assert Attachment.objects.count() == 1
    assert reports.current_step(report) == "verify"
    notices = Notification.objects.filter(kind=Notification.Kind.TASK)
    assert [notice.recipient for notice in notices] == [people["department"]]  # not 自然资源所, not the office
    assert report.number in notices[0].title
    assert AuditEntry.objects.filter(action="patrol_report.submit", object_id=str(report.pk)).exists()


def test_report_numbers_run_per_township_and_skip_imported_numbers(county, people, item):
    PatrolReport.objects.create(township=county.taiping, village=county.dalou, number="历史-0009", item=item,
                                occurred_at=timezone.now(), location="x", description="x", reported_on=timezone.localdate())
    first = submit(people, county, item, files=[])
    second = submit(people, county, item, files=[])
    other_item = make_item(county.zhaocun, services.create_department(name="赵村农业办", region=county.zhaocun))
    third = reports.submit_report(by=people["henan_cadre"], village=county.henan, item=other_item,
                                  occurred_at=timezone.now(), location="河南村", description="违建")
    year = timezone.localdate().year
    assert (first.number, second.number) == (f"太平镇-{year}-0001", f"太平镇-{year}-0002")
    assert third.number == f"赵村镇-{year}-0001"


def test_submitting_the_same_report_twice_creates_one(county, people, item):
    first = submit(people, county, item, idempotency_key="k-1")
    again = submit(people, county, item, idempotency_key="k-1")
    assert again.pk == first.pk and PatrolReport.objects.count() == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"occurred_at": "future"}, "发生时间不能晚于当前时间"),
        ({"location": " "}, "请填写地点"),
        ({"description": ""}, "请填写问题描述"),
        ({"item": "inactive"}, "请选择本镇巡查目录中启用的事项"),
        ({"item": "other_township"}, "请选择本镇巡查目录中启用的事项"),
        ({"patrol": "other_village"}, "所选巡查台账记录不属于该村（居）"),
        ({"files": "bad"}, "文件内容与扩展名不符"),
    ],
)
def test_bad_report_input_is_refused_in_chinese_and_writes_nothing(county, people, item, change, message):
    key, value = next(iter(change.items()))
    if value == "future":
        value = timezone.now() + datetime.timedelta(days=1)
    elif value == "inactive":
        value = make_item(county.taiping, county.agriculture, code="OLD", active=False)
    elif value == "other_township":
        value = make_item(county.zhaocun, services.create_department(name="赵村农业办", region=county.zhaocun))
    elif value == "other_village":
        value = reports.record_village_patrol(
            by=people["dalou_cadre"], village=county.dalou, date=timezone.localdate(),
            patrollers=[people["dalou_cadre"], services.create_post(
                user=services.ensure_user("dalou2", password="x")[0], role=Role.objects.get(key="village_cadre"),
                region=county.dalou).user], findings="未发现问题")
    elif value == "bad":
        value = [SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")]
    with pytest.raises(ValidationError) as exc_info:
        if key == "item":
            submit(people, county, value)
        else:
            submit(people, county, item, **{key: value})
    assert any(message in text for text in exc_info.value.messages)
    assert PatrolReport.objects.count() == 0 and Attachment.objects.count() == 0 and Process.objects.count() == 0


@pytest.mark.parametrize("who", ["department", "dalou_cadre", "grid_member", "outsider", "discipline"])
def test_only_the_villages_cadres_report_for_it(county, people, item, who):
    with pytest.raises(PermissionDenied):
        submit(people, county, item, by=people[who])
    assert PatrolReport.objects.count() == 0


# ------------------------------------------------------------------ verification through the flow


def test_lead_department_verifies_true_points_are_a_snapshot_and_registered(county, people, item):
    report = submit(people, county, item)
    reports.verify_report(report, by=people["department"], verdict="true", note="现场核实属实")
    report.refresh_from_db()
    year = timezone.localdate().year
    assert report.verdict == "true" and report.points == Decimal("3") and report.verified_on == timezone.localdate()
    assert report.verified_by == people["department"] and report.registered_at is not None
    assert report.registration_number == f"农业农村办-{year}-0001"
    assert reports.current_step(report) == "follow_up"
    # The catalog's points change later: the verified report keeps its points.
    CatalogItem.objects.filter(pk=item.pk).update(points=Decimal("10"))
    village = louxing_month(county)
    assert village.additions == Decimal("3") and village.score == Decimal("63")
    entry = AuditEntry.objects.get(action="patrol_report.verify.true")
    assert entry.before["verdict"] == "pending" and entry.after["points"] == "3.00"
    assert entry.after["registration_number"] == report.registration_number


def test_registration_numbers_continue_and_a_given_number_is_kept(county, people, item):
    first, second, third = (submit(people, county, item, files=[]) for _ in range(3))
    reports.verify_report(first, by=people["department"], verdict="true", registration_number="农备2026-7")
    reports.verify_report(second, by=people["department"], verdict="true")
    with pytest.raises(reports.ReportError, match="已被使用"):
        reports.verify_report(third, by=people["department"], verdict="true", registration_number="农备2026-7")
    first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
    assert first.registration_number == "农备2026-7"
    assert second.registration_number.endswith("-0001") and third.verdict == "pending"


@pytest.mark.parametrize("who", ["resources", "discipline", "village_cadre", "township_office", "outsider"])
def test_only_the_items_lead_department_may_verify(county, people, item, who):
    report = submit(people, county, item)
    with pytest.raises(PermissionDenied):
        reports.verify_report(report, by=people[who], verdict="true")
    report.refresh_from_db()
    assert report.verdict == "pending" and reports.current_step(report) == "verify"
    node = PatrolReportFlow.verify
    task = report_task(report)
    assert not node.can_assign(people[who], task)
    assert node.can_assign(people["department"], task)


def report_task(report):

    return Task.objects.filter(**reports.process_lookup(report, "process__")).order_by("-id").first()


def test_a_department_post_in_another_township_cannot_verify(county, people, item):
    elsewhere, _ = services.ensure_user("zhaocun_agri", password="x")
    services.create_post(user=elsewhere, role=Role.objects.get(key="department"), region=county.zhaocun,
                         department=services.create_department(name="农业农村办", region=county.zhaocun))
    report = submit(people, county, item)
    with pytest.raises(PermissionDenied):
        reports.verify_report(report, by=elsewhere, verdict="true")


def test_false_needs_a_reason_earns_nothing_and_ends_the_flow(county, people, item):
    report = submit(people, county, item)
    with pytest.raises(reports.ReportError, match="核实为不属实时须填写理由"):
        reports.verify_report(report, by=people["department"], verdict="false")
    reports.verify_report(report, by=people["department"], verdict="false", note="现场为合法审批的建房")
    report.refresh_from_db()
    assert report.verdict == "false" and report.points == 0 and not report.registration_number
    assert reports.current_step(report) is None
    assert Process.objects.get(**reports.process_lookup(report)).finished is not None
    assert louxing_month(county).additions == 0


def test_duplicate_needs_an_earlier_report_of_the_same_village_and_item(county, people, item):
    first = submit(people, county, item, files=[])
    second = submit(people, county, item, files=[])
    other_item = make_item(county.taiping, county.agriculture, code="A02")
    other = submit(people, county, other_item, files=[])
    for wrong, message in ((None, "须选择被重复的上报"), (other, "同一村（居）、同一目录事项此前的上报"),
                           (second, "同一村（居）、同一目录事项此前的上报")):
        with pytest.raises(reports.ReportError, match=message):
            reports.verify_report(second if wrong is not second else first, by=people["department"], verdict="duplicate",
                                  duplicate_of=wrong)
    reports.verify_report(second, by=people["department"], verdict="duplicate", duplicate_of=first)
    second.refresh_from_db()
    assert second.verdict == "duplicate" and second.duplicate_of == first and second.points == 0
    assert reports.current_step(second) is None
    assert list(reports.duplicate_candidates(second)) == [first]


def test_a_report_cannot_be_verified_twice_or_with_a_made_up_verdict(county, people, item):
    report = submit(people, county, item)
    with pytest.raises(reports.ReportError, match="请选择核实结果"):
        reports.verify_report(report, by=people["department"], verdict="maybe")
    with pytest.raises(reports.ReportError, match="只有属实的上报登记备案号"):
        reports.verify_report(report, by=people["department"], verdict="false", note="x", registration_number="N1")
    reports.verify_report(report, by=people["department"], verdict="true")
    with pytest.raises(reports.ReportError, match="不能重复核实"):
        reports.verify_report(report, by=people["department"], verdict="false", note="改判")
    report.refresh_from_db()
    assert report.verdict == "true"


def test_an_imported_pending_report_is_verified_through_a_new_flow(county, people, item):
    report = PatrolReport.objects.create(township=county.taiping, village=county.louxing, number="HIST-1", item=item,
                                         occurred_at=timezone.now(), location="x", description="x",
                                         reported_on=timezone.localdate())
    reports.verify_report(report, by=people["department"], verdict="true")
    report.refresh_from_db()
    assert report.points == Decimal("3") and reports.current_step(report) == "follow_up"


def test_the_reporter_hears_the_verdict(county, people, item, django_capture_on_commit_callbacks):
    report = submit(people, county, item)
    with django_capture_on_commit_callbacks(execute=True):
        reports.verify_report(report, by=people["department"], verdict="true")
    notice = Notification.objects.get(kind=Notification.Kind.RESULT)
    assert notice.recipient == people["village_cadre"] and "属实" in notice.title


# ------------------------------------------------------------------ follow-up and fraud


def test_follow_up_on_a_true_report_ends_the_flow(county, people, item):
    report = submit(people, county, item)
    reports.verify_report(report, by=people["department"], verdict="true")
    with pytest.raises(reports.ReportError, match="请选择后续处置方式"):
        reports.open_follow_up(report, by=people["department"], kind="arrest", note="x")
    with pytest.raises(reports.ReportError, match="请填写后续处置情况"):
        reports.open_follow_up(report, by=people["department"], kind="enforcement", note="")
    with pytest.raises(PermissionDenied):
        reports.open_follow_up(report, by=people["resources"], kind="enforcement", note="立案")
    reports.open_follow_up(report, by=people["department"], kind="enforcement", note="已下达责令停止违法行为通知书")
    report.refresh_from_db()
    assert report.follow_up == "enforcement" and reports.current_step(report) is None
    assert Process.objects.get(**reports.process_lookup(report)).finished is not None
    with pytest.raises(reports.ReportError, match="已安排后续处置"):
        reports.open_follow_up(report, by=people["department"], kind="rectification", note="再整改")
    assert AuditEntry.objects.filter(action="patrol_report.follow_up.enforcement").count() == 1


def test_no_follow_up_for_a_report_that_is_not_true(county, people, item):
    report = submit(people, county, item)
    with pytest.raises(reports.ReportError, match="只有核实属实的上报才能安排后续处置"):
        reports.open_follow_up(report, by=people["department"], kind="rectification", note="整改")
    reports.verify_report(report, by=people["department"], verdict="false", note="不属实")
    with pytest.raises(reports.ReportError, match="只有核实属实的上报才能安排后续处置"):
        reports.open_follow_up(report, by=people["department"], kind="rectification", note="整改")


def test_a_true_report_may_close_without_follow_up(county, people, item):
    report = submit(people, county, item)
    reports.verify_report(report, by=people["department"], verdict="true")
    reports.close_without_follow_up(report, by=people["department"], note="已自行拆除")
    report.refresh_from_db()
    assert report.follow_up == "" and reports.current_step(report) is None
    with pytest.raises(reports.ReportError):
        reports.close_without_follow_up(report, by=people["department"])


def test_discipline_flags_fraud_and_the_months_addition_is_reversed(county, people, item):
    report = submit(people, county, item)
    reports.verify_report(report, by=people["department"], verdict="true")
    assert louxing_month(county).additions == Decimal("3")
    with pytest.raises(PermissionDenied):
        reports.flag_report_fraud(report, by=people["department"], note="虚报")
    with pytest.raises(reports.ReportError, match="请填写认定情况"):
        reports.flag_report_fraud(report, by=people["discipline"], note=" ")
    reports.flag_report_fraud(report, by=people["discipline"], note="照片为去年拍摄，虚报巡查发现问题")
    report.refresh_from_db()
    assert report.is_fraud and report.fraud_flagged_by == people["discipline"] and report.fraud_flagged_at
    village = louxing_month(county)
    assert village.additions == 0 and village.score == Decimal("60")
    entry = AuditEntry.objects.get(action="patrol_report.flag_fraud")
    assert entry.before["is_fraud"] is False and entry.after["is_fraud"] is True and entry.after["reversed_points"] == "3.00"
    with pytest.raises(reports.ReportError, match="已被认定为弄虚作假"):
        reports.flag_report_fraud(report, by=people["discipline"], note="再次认定")
    assert AuditEntry.objects.filter(action="patrol_report.flag_fraud").count() == 1


def test_the_flows_permissions_exist(db):
    assert Permission.objects.filter(content_type__app_label="workflows", codename="view_patrolreportprocess").exists()


# ------------------------------------------------------------------ pages


def as_user(client, user):
    client.force_login(user)
    return client


def report_form_data(county, item, **changes):
    data = {
        "idempotency_key": "page-key-1", "village": county.louxing.pk, "item": item.pk,
        "occurred_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "location": "楼星村三组村道旁", "description": "未经审批新建住宅地基", "patrol": "",
    }
    data.update(changes)
    return data


def test_ledger_pages_record_a_patrol_from_a_phone(client, county, people, item):
    as_user(client, people["village_cadre"])
    page = client.get(reverse("patrol:ledger_new"))
    html = page.content.decode()
    assert page.status_code == 200 and "cadre2" in html and 'name="viewport"' in html and "dalou_cadre" not in html
    data = {"village": county.louxing.pk, "date": timezone.localdate().isoformat(), "route": "一组至三组",
            "patrollers": [people["village_cadre"].pk, people["cadre2"].pk], "items": [item.pk], "findings": "未发现问题"}
    response = client.post(reverse("patrol:ledger_new"), data)
    assert response.status_code == 302 and VillagePatrol.objects.count() == 1
    listing = client.get(reverse("patrol:ledger")).content.decode()
    assert "一组至三组" in listing and "cadre2" in listing


def test_ledger_form_with_one_patroller_gets_422_and_keeps_the_input(client, county, people):
    as_user(client, people["village_cadre"])
    data = {"village": county.louxing.pk, "date": timezone.localdate().isoformat(), "route": "沿河巡查一圈",
            "patrollers": [people["village_cadre"].pk], "findings": "未发现问题"}
    response = client.post(reverse("patrol:ledger_new"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "巡查人员不少于 2 名" in html and "沿河巡查一圈" in html
    assert VillagePatrol.objects.count() == 0


def test_ledgers_are_scoped_to_the_village(client, county, people):
    reports.record_village_patrol(by=people["village_cadre"], village=county.louxing, date=timezone.localdate(),
                                  patrollers=[people["village_cadre"], people["cadre2"]], findings="楼星村巡查记录")
    as_user(client, people["dalou_cadre"])
    assert "楼星村巡查记录" not in client.get(reverse("patrol:ledger")).content.decode()
    as_user(client, people["township_office"])
    assert "楼星村巡查记录" in client.get(reverse("patrol:ledger")).content.decode()
    as_user(client, people["department"])
    assert client.get(reverse("patrol:ledger_new")).status_code == 403


def test_report_verify_follow_up_and_fraud_through_the_pages(client, county, people, item):
    as_user(client, people["village_cadre"])
    assert client.get(reverse("patrol:report_new")).status_code == 200
    response = client.post(reverse("patrol:report_new"), {**report_form_data(county, item), "files": [photo()]})
    report = PatrolReport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("patrol:report_detail", args=[report.pk])
    detail = client.get(response["Location"]).content.decode()
    assert report.number in detail and "牵头部门核实" in detail and "<svg" in detail and 'name="verdict"' not in detail
    attachment = Attachment.objects.get()
    evidence = client.get(reverse("patrol:report_evidence", args=[report.pk, attachment.pk]))
    assert evidence.status_code == 200 and evidence["Content-Type"] == "image/jpeg"

    # Another department of the township sees the report but may not verify it.
    as_user(client, people["resources"])
    assert client.get(reverse("patrol:report_detail", args=[report.pk])).status_code == 200
    assert report.number not in client.get(reverse("patrol:verify_queue")).content.decode()
    refused = client.post(reverse("patrol:report_action", args=[report.pk, "verify"]), {"verdict": "true"})
    assert refused.status_code == 403

    as_user(client, people["department"])
    assert report.number in client.get(reverse("patrol:verify_queue")).content.decode()
    assert 'name="verdict"' in client.get(reverse("patrol:report_detail", args=[report.pk])).content.decode()
    bad = client.post(reverse("patrol:report_action", args=[report.pk, "verify"]), {"verdict": "false", "note": ""})
    assert bad.status_code == 422 and "核实为不属实时须填写理由" in bad.content.decode()
    ok = client.post(reverse("patrol:report_action", args=[report.pk, "verify"]), {"verdict": "true", "note": "属实"})
    assert ok.status_code == 302
    report.refresh_from_db()
    assert report.verdict == "true" and report.points == Decimal("3")
    assert report.number not in client.get(reverse("patrol:verify_queue")).content.decode()
    bad = client.post(reverse("patrol:report_action", args=[report.pk, "follow_up"]),
                      {"kind": "rectification", "note": ""})
    assert bad.status_code == 422 and "请填写后续处置情况" in bad.content.decode()
    ok = client.post(reverse("patrol:report_action", args=[report.pk, "follow_up"]),
                     {"kind": "rectification", "note": "责令七日内拆除"})
    assert ok.status_code == 302

    as_user(client, people["village_cadre"])
    assert client.post(reverse("patrol:report_action", args=[report.pk, "fraud"]), {"note": "x"}).status_code == 403
    as_user(client, people["discipline"])
    page = client.get(reverse("patrol:report_detail", args=[report.pk])).content.decode()
    assert "认定弄虚作假" in page and "责令七日内拆除" in page
    bad = client.post(reverse("patrol:report_action", args=[report.pk, "fraud"]), {"note": ""})
    assert bad.status_code == 422 and "请填写认定情况" in bad.content.decode()
    assert client.post(reverse("patrol:report_action", args=[report.pk, "fraud"]), {"note": "虚报"}).status_code == 302
    report.refresh_from_db()
    assert report.is_fraud
    history = client.get(reverse("patrol:report_detail", args=[report.pk])).content.decode()
    for label in ("村（居）上报", "核实属实，登记备案并加分", "责令整改", "认定弄虚作假，加分冲销"):
        assert label in history


def test_bad_report_form_gets_422_in_chinese_and_keeps_the_input(client, county, people, item):
    as_user(client, people["village_cadre"])
    future = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("patrol:report_new"), report_form_data(county, item, occurred_at=future))
    assert response.status_code == 422
    html = response.content.decode()
    assert "发生时间不能晚于当前时间" in html and "未经审批新建住宅地基" in html
    response = client.post(reverse("patrol:report_new"), report_form_data(county, item, village=county.dalou.pk))
    assert response.status_code == 422 and PatrolReport.objects.count() == 0


def test_report_pages_refuse_the_wrong_people(client, county, people, item):
    report = submit(people, county, item)
    attachment = Attachment.objects.get()
    as_user(client, people["outsider"])
    assert client.get(reverse("patrol:report_new")).status_code == 403
    assert client.get(reverse("patrol:reports")).status_code == 403
    # A cadre of another township's village does not learn that the report exists.
    as_user(client, people["henan_cadre"])
    assert client.get(reverse("patrol:report_detail", args=[report.pk])).status_code == 404
    assert client.get(reverse("patrol:report_evidence", args=[report.pk, attachment.pk])).status_code == 404
    assert client.post(reverse("patrol:report_action", args=[report.pk, "verify"]), {"verdict": "true"}).status_code == 404
    assert report.number not in client.get(reverse("patrol:reports")).content.decode()
    as_user(client, people["village_cadre"])
    assert client.get(reverse("patrol:verify_queue")).status_code == 403


def test_report_list_filters_by_village_item_verdict_and_month(client, county, people, item):
    first = submit(people, county, item, files=[])
    other_item = make_item(county.taiping, county.agriculture, code="A02")
    second = submit(people, county, other_item, files=[])
    dalou = reports.submit_report(by=people["dalou_cadre"], village=county.dalou, item=item,
                                  occurred_at=timezone.now(), location="大楼村", description="违建")
    reports.verify_report(first, by=people["department"], verdict="true")
    as_user(client, people["township_office"])
    url = reverse("patrol:reports")

    def numbers(**query):
        html = client.get(url, query).content.decode()
        return {report.number for report in (first, second, dalou) if report.number in html}

    assert numbers() == {first.number, second.number, dalou.number}
    assert numbers(village=county.dalou.pk) == {dalou.number}
    assert numbers(item=other_item.pk) == {second.number}
    assert numbers(verdict="true") == {first.number}
    assert numbers(month=timezone.localdate().strftime("%Y-%m")) == {first.number, second.number, dalou.number}
    assert numbers(month="2001-01") == set()
    as_user(client, people["dalou_cadre"])
    assert numbers() == {dalou.number}


def test_flow_chart_pages(client, county, people, item):
    report = submit(people, county, item)
    as_user(client, people["village_cadre"])
    page = client.get(reverse("patrol:report_chart", args=[report.pk]))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    assert client.get(reverse("patrol:report_flow_chart")).status_code == 200
    assert client.get(reverse("patrol:report_flow_chart"), {"format": "bpmn"})["Content-Type"] == "application/xml"
    as_user(client, people["outsider"])
    assert client.get(reverse("patrol:report_flow_chart")).status_code == 403


# ------------------------------------------------------------------ concurrency (PostgreSQL)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="需要 PostgreSQL（并发编号）")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reports_submitted_at_once_get_distinct_numbers(county, people, item):

    barrier = threading.Barrier(4)
    numbers, failures = [], []

    def worker(index):
        try:
            barrier.wait(timeout=10)
            numbers.append(submit(people, county, item, files=[], idempotency_key=f"race-{index}").number)
        except Exception as exc:  # collected and asserted below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and len(set(numbers)) == 4


def test_catalog_page_lists_the_items_of_the_users_township_only(client, county, personas):


    category = PatrolCategory.objects.create(township=county.taiping, name="农业类", lead_department=county.agriculture)
    CatalogItem.objects.create(township=county.taiping, code="TP-77", name="露天焚烧秸秆", category=category,
                               lead_department=county.agriculture, points=Decimal("3"))
    client.force_login(personas["township_office"])
    page = client.get("/patrol/catalog/").content.decode()
    assert "TP-77" in page and "露天焚烧秸秆" in page

    neighbour, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=neighbour, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    client.force_login(neighbour)
    response = client.get("/patrol/catalog/")
    assert response.status_code == 200 and "TP-77" not in response.content.decode()
