"""Findings, supervision checks, month confirmations, reminders and their pages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from governance.celery import app
from governance.models import AuditEntry, Notification
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
)
from inspection.patrol import findings, oversight, scoring
from inspection.patrol.findings import FindingError
from inspection.tasks import remind_late_patrol_work, send_late_reminders

Source = PatrolFinding.Source


@pytest.fixture
def patrol(county, personas):
    category = PatrolCategory.objects.create(township=county.taiping, name="农业", lead_department=county.agriculture)
    item = CatalogItem.objects.create(township=county.taiping, code="A01", name="秸秆焚烧", category=category,
                                      lead_department=county.agriculture, points=Decimal("2"))
    other_department = services.create_department(name="城建办", region=county.taiping)
    other_category = PatrolCategory.objects.create(township=county.taiping, name="城建", lead_department=other_department)
    other_item = CatalogItem.objects.create(township=county.taiping, code="B01", name="违法建设", category=other_category,
                                            lead_department=other_department, points=Decimal("3"))
    group = SupervisionGroup.objects.create(township=county.taiping, number=1, name="第一督查组")
    group.villages.set([county.louxing])
    group.members.set([personas["supervision_group"]])
    builder, _ = services.ensure_user("chengjian", password="x")
    services.create_post(user=builder, role=Role.objects.get(key="department"), region=county.taiping,
                         department=other_department)
    return {"item": item, "other_item": other_item, "group": group, "other_department": other_department,
            "builder": builder}


def yesterday():
    return timezone.localdate() - datetime.timedelta(days=1)


def record(personas, county, patrol, *, by="supervision_group", source=Source.TOWNSHIP_GROUP, village=None, **kwargs):
    values = dict(by=personas[by] if isinstance(by, str) else by, village=village or county.louxing,
                  item=patrol["item"], source=source, discovered_on=yesterday(), location="村东头",
                  description="麦田焚烧秸秆")
    values.update(kwargs)
    return findings.record_finding(**values)


# ---------------------------------------------------------------- recording


def test_group_member_records_a_group_finding_unregistered_with_points_and_number(
    county, personas, patrol, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        finding = record(personas, county, patrol)
    assert finding.group == patrol["group"]
    assert finding.points == Decimal("2") and finding.is_true is None and finding.registered_at is None
    assert finding.number == f"FX{timezone.localdate().year}-00001"
    with django_capture_on_commit_callbacks(execute=True):
        assert record(personas, county, patrol).number == f"FX{timezone.localdate().year}-00002"
    assert AuditEntry.objects.filter(action="patrol_finding.record", object_id=str(finding.pk)).exists()
    # The lead department is told, the village is not.
    assert Notification.objects.filter(recipient=personas["department"], kind="task").count() == 2
    assert not Notification.objects.filter(recipient=personas["village_cadre"]).exists()


def test_group_finding_must_be_in_one_of_the_groups_villages(county, personas, patrol):
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, village=county.dalou)
    assert "不在您所在督查组" in str(exc.value)


@pytest.mark.parametrize("by, source, allowed", [
    ("supervision_group", Source.TOWNSHIP_GROUP, True),
    ("supervision_group", Source.TOWNSHIP_DEPARTMENT, False),
    ("supervision_group", Source.CITY, False),
    ("department", Source.TOWNSHIP_DEPARTMENT, True),
    ("department", Source.TOWNSHIP_GROUP, False),
    ("department", Source.CENTRAL, False),
    ("township_office", Source.CENTRAL, True),
    ("township_office", Source.HOTLINE_12345, True),
    ("township_office", Source.PROVINCE_PETITION, True),
    ("township_office", Source.TOWNSHIP_GROUP, False),
    ("township_office", Source.TOWNSHIP_DEPARTMENT, False),
    ("village_cadre", Source.CITY, False),
    ("discipline", Source.CITY, False),
    ("outsider", Source.CITY, False),
])
def test_who_may_record_which_source(county, personas, patrol, by, source, allowed):
    if allowed:
        assert record(personas, county, patrol, by=by, source=source).source == source
    else:
        with pytest.raises(PermissionDenied):
            record(personas, county, patrol, by=by, source=source)


def test_finding_rules(county, personas, patrol):
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, by="township_office", source=Source.CITY,
               discovered_on=timezone.localdate() + datetime.timedelta(days=1), description=" ")
    assert set(exc.value.message_dict) == {"discovered_on", "description"}
    henan_item = CatalogItem.objects.create(
        township=county.zhaocun, code="Z01", name="外乡镇事项", points=1, lead_department=county.agriculture,
        category=PatrolCategory.objects.create(township=county.zhaocun, name="x", lead_department=county.agriculture))
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, by="township_office", source=Source.CITY, item=henan_item)
    assert "item" in exc.value.message_dict
    record(personas, county, patrol, by="township_office", source=Source.CITY, number="SJ-1")
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, by="township_office", source=Source.CITY, number="SJ-1")
    assert "已存在" in str(exc.value)


def test_matched_report_must_be_of_the_same_township(county, personas, patrol):
    other = PatrolReport.objects.create(
        township=county.zhaocun, village=county.henan, number="R1", item=patrol["item"], occurred_at=timezone.now(),
        location="x", description="x", reported_on=yesterday())
    with pytest.raises(FindingError) as exc:
        record(personas, county, patrol, by="township_office", source=Source.CITY, matched_report=other)
    assert "matched_report" in exc.value.message_dict


# ---------------------------------------------------------------- no tipping off


def test_village_cadre_sees_a_group_finding_only_once_registered(county, personas, patrol):
    finding = record(personas, county, patrol)
    cadre = personas["village_cadre"]
    assert not findings.visible_findings(cadre).filter(pk=finding.pk).exists()
    for who in ("supervision_group", "department", "township_office", "discipline"):
        assert findings.visible_findings(personas[who]).filter(pk=finding.pk).exists(), who
    assert not findings.visible_findings(personas["outsider"]).exists()
    findings.verify_and_register_finding(finding, by=personas["department"], is_true=True, note="现场核实")
    cadre = type(cadre).objects.get(pk=cadre.pk)
    assert findings.visible_findings(cadre).filter(pk=finding.pk).exists()


def test_village_cadre_gets_404_for_an_unregistered_finding_page(client, county, personas, patrol):
    finding = record(personas, county, patrol)
    client.force_login(personas["village_cadre"])
    assert client.get(reverse("patrol:finding_detail", args=[finding.pk])).status_code == 404
    page = client.get(reverse("patrol:findings"))
    assert page.status_code == 200 and finding.number not in page.content.decode()


# ---------------------------------------------------------------- verify and register


def test_lead_department_registers_and_the_audit_keeps_the_note(county, personas, patrol):
    finding = record(personas, county, patrol)
    report = PatrolReport.objects.create(
        township=county.taiping, village=county.louxing, number="R1", item=patrol["item"], occurred_at=timezone.now(),
        location="x", description="x", reported_on=yesterday() - datetime.timedelta(days=1))
    registered = findings.verify_and_register_finding(finding, by=personas["department"], is_true=True,
                                                      matched_report=report, note="村已上报")
    assert registered.is_true and registered.registered_by == personas["department"] and registered.registered_at
    assert registered.matched_report == report
    entry = AuditEntry.objects.get(action="patrol_finding.register", object_id=str(finding.pk))
    assert entry.after["verification_note"] == "村已上报"
    with pytest.raises(FindingError):
        findings.verify_and_register_finding(registered, by=personas["township_office"], is_true=False)


def test_a_department_that_does_not_lead_the_item_cannot_register(county, personas, patrol):
    finding = record(personas, county, patrol)
    with pytest.raises(PermissionDenied):
        findings.verify_and_register_finding(finding, by=patrol["builder"], is_true=True)
    for who in ("supervision_group", "village_cadre", "discipline"):
        with pytest.raises(PermissionDenied):
            findings.verify_and_register_finding(finding, by=personas[who], is_true=True)
    assert findings.verify_and_register_finding(finding, by=personas["township_office"], is_true=False).is_true is False


# ---------------------------------------------------------------- scoring consequences


def _louxing(month_scores):
    return next(v for v in month_scores if v.village.name == "楼星村")


def test_fraud_flag_reverses_the_deduction(county, personas, patrol):
    finding = record(personas, county, patrol)
    findings.verify_and_register_finding(finding, by=personas["department"], is_true=True)
    month = finding.discovered_on.replace(day=1)
    assert _louxing(scoring.month_scores(county.taiping, month)).deductions == Decimal("2")
    with pytest.raises(PermissionDenied):
        findings.flag_finding_fraud(finding, by=personas["township_office"], note="x")
    with pytest.raises(FindingError):
        findings.flag_finding_fraud(finding, by=personas["discipline"], note=" ")
    findings.flag_finding_fraud(finding, by=personas["discipline"], note="督查组虚报")
    village = _louxing(scoring.month_scores(county.taiping, month))
    assert village.deductions == 0 and village.score == Decimal(60)
    assert AuditEntry.objects.filter(action="patrol_finding.flag_fraud", object_id=str(finding.pk)).exists()


def test_a_true_central_finding_vetoes_the_month(county, personas, patrol):
    finding = record(personas, county, patrol, by="township_office", source=Source.CENTRAL)
    month = finding.discovered_on.replace(day=1)
    assert _louxing(scoring.month_scores(county.taiping, month)).score == Decimal(60)  # not registered as true yet
    findings.verify_and_register_finding(finding, by=personas["township_office"], is_true=True)
    village = _louxing(scoring.month_scores(county.taiping, month))
    assert village.veto and village.score == 0


# ---------------------------------------------------------------- checks and confirmations


def test_group_member_records_a_check_and_the_village_is_no_longer_unchecked(county, personas, patrol):

    member = personas["supervision_group"]
    today = timezone.localdate()
    assert oversight.unchecked_villages(county.taiping, today) == [county.louxing]
    with pytest.raises(FindingError) as exc:
        findings.record_check(by=member, group=patrol["group"], village=county.dalou, date=today,
                              checked_by=[member], ledger_ok=True, notes="")
    assert "village" in exc.value.message_dict
    with pytest.raises(FindingError) as exc:
        findings.record_check(by=member, group=patrol["group"], village=county.louxing, date=today,
                              checked_by=[personas["village_cadre"]], ledger_ok=True, notes="")
    assert "checked_by" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        findings.record_check(by=personas["township_office"], group=patrol["group"], village=county.louxing,
                              date=today, checked_by=[member], ledger_ok=True, notes="")
    check = findings.record_check(by=member, group=patrol["group"], village=county.louxing, date=today,
                                  checked_by=[member], ledger_ok=False, notes="台账记录不全")
    assert list(check.checked_by.all()) == [member]
    assert oversight.unchecked_villages(county.taiping, today) == []


def test_department_confirms_a_finished_month_once(county, personas, patrol):
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    with pytest.raises(PermissionDenied):
        findings.confirm_month(by=personas["township_office"], department=county.agriculture, month=last_month)
    with pytest.raises(PermissionDenied):
        findings.confirm_month(by=patrol["builder"], department=county.agriculture, month=last_month)
    with pytest.raises(FindingError):
        findings.confirm_month(by=personas["department"], department=county.agriculture, month=timezone.localdate())
    confirmation = findings.confirm_month(by=personas["department"], department=county.agriculture, month=last_month,
                                          note="无异议")
    assert confirmation.township == county.taiping and confirmation.month == last_month
    assert AuditEntry.objects.filter(action="department_confirmation.confirm").count() == 1
    with pytest.raises(FindingError) as exc:
        findings.confirm_month(by=personas["department"], department=county.agriculture, month=last_month)
    assert "已确认" in str(exc.value)


# ---------------------------------------------------------------- reminders


def test_reminders_after_the_5th_and_the_10th_are_sent_once(county, personas, patrol):
    april = datetime.date(2026, 4, 5)
    assert send_late_reminders(april).sent == 0  # the 5th itself: nobody late
    result = send_late_reminders(datetime.date(2026, 4, 6))
    assert result.departments_late == 2 and result.circulars_late == 0
    notices = Notification.objects.filter(kind="supervision")
    assert notices.filter(recipient=personas["department"], title__contains="农业农村办").count() == 1
    assert notices.filter(recipient=patrol["builder"]).count() == 1
    assert notices.filter(recipient=personas["township_office"]).count() == 1
    first = notices.count()
    assert send_late_reminders(datetime.date(2026, 4, 6)).sent == 0  # idempotent
    assert notices.count() == first

    DepartmentConfirmation.objects.create(township=county.taiping, department=county.agriculture,
                                          month=datetime.date(2026, 3, 1), confirmed_at=timezone.now(),
                                          confirmed_by=personas["department"])
    result = send_late_reminders(datetime.date(2026, 4, 11))
    assert result.departments_late == 1 and result.circulars_late == 1
    assert not notices.filter(recipient=personas["department"], created_at__gte=timezone.now() - datetime.timedelta(minutes=1),
                              dedupe_key__contains="20260411").exists()
    assert notices.filter(recipient=personas["township_office"], title__contains="通报").count() == 1
    Circular.objects.create(township=county.taiping, period=Circular.Period.MONTH, period_start=datetime.date(2026, 3, 1),
                            published_at=timezone.now(), published_by=personas["township_office"])
    assert send_late_reminders(datetime.date(2026, 4, 12)).circulars_late == 0
    assert not notices.filter(recipient=personas["village_cadre"]).exists()


def test_the_beat_task_runs(county, personas, patrol):
    assert set(remind_late_patrol_work.delay().get()) == {"departments_late", "circulars_late", "sent"}

    assert any(entry["task"] == "inspection.tasks.remind_late_patrol_work" for entry in app.conf.beat_schedule.values())


# ---------------------------------------------------------------- pages


def test_finding_pages_record_register_and_flag(client, county, personas, patrol):
    client.force_login(personas["supervision_group"])
    assert client.get(reverse("patrol:finding_new")).status_code == 200
    data = {"village": county.louxing.pk, "item": patrol["item"].pk, "source": Source.TOWNSHIP_GROUP,
            "discovered_on": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
            "location": "村东", "description": "焚烧秸秆", "matched_report": "", "number": ""}
    response = client.post(reverse("patrol:finding_new"), data)
    assert response.status_code == 422
    assert "发现日期不能晚于今天" in response.content.decode() and "焚烧秸秆" in response.content.decode()
    data["discovered_on"] = yesterday().isoformat()
    response = client.post(reverse("patrol:finding_new"), data)
    assert response.status_code == 302
    finding = PatrolFinding.objects.get()

    client.force_login(patrol["builder"])  # not the lead department: sees it, may not register
    assert client.post(reverse("patrol:finding_register", args=[finding.pk]), {"is_true": "true"}).status_code == 403
    client.force_login(personas["department"])
    page = client.get(reverse("patrol:finding_detail", args=[finding.pk])).content.decode()
    assert "核实并登记备案" in page
    response = client.post(reverse("patrol:finding_register", args=[finding.pk]), {"is_true": "", "note": ""})
    assert response.status_code == 422
    response = client.post(reverse("patrol:finding_register", args=[finding.pk]), {"is_true": "true", "note": "属实"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.is_true and finding.registered_at

    client.force_login(personas["village_cadre"])
    assert client.get(reverse("patrol:finding_detail", args=[finding.pk])).status_code == 200
    assert client.post(reverse("patrol:finding_fraud", args=[finding.pk]), {"note": "x"}).status_code == 403
    client.force_login(personas["discipline"])
    assert client.post(reverse("patrol:finding_fraud", args=[finding.pk]), {"note": ""}).status_code == 422
    assert client.post(reverse("patrol:finding_fraud", args=[finding.pk]), {"note": "虚报"}).status_code == 302
    finding.refresh_from_db()
    assert finding.is_fraud

    month = yesterday().strftime("%Y-%m")
    client.force_login(personas["township_office"])
    listing = client.get(reverse("patrol:findings"), {"village": county.louxing.pk, "month": month, "status": "fraud"})
    assert finding.number in listing.content.decode()
    listing = client.get(reverse("patrol:findings"), {"status": "pending"})
    assert finding.number not in listing.content.decode()


def test_pages_refuse_wrong_users(client, county, personas, patrol):
    client.force_login(personas["outsider"])
    for name in ("patrol:findings", "patrol:finding_new", "patrol:checks", "patrol:check_new", "patrol:oversight"):
        assert client.get(reverse(name)).status_code == 403, name
    client.force_login(personas["village_cadre"])
    assert client.get(reverse("patrol:finding_new")).status_code == 403
    assert client.get(reverse("patrol:check_new")).status_code == 403
    assert client.post(reverse("patrol:oversight_confirm"), {}).status_code == 403
    # Another township's office does not see taiping's finding: 404.
    finding = record(personas, county, patrol, by="township_office", source=Source.CITY)
    other, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=other, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    client.force_login(other)
    assert client.get(reverse("patrol:finding_detail", args=[finding.pk])).status_code == 404
    assert client.post(reverse("patrol:finding_register", args=[finding.pk]), {"is_true": "true"}).status_code == 404


def test_check_pages(client, county, personas, patrol):
    member = personas["supervision_group"]
    client.force_login(member)
    assert client.get(reverse("patrol:check_new")).status_code == 200
    data = {"group": patrol["group"].pk, "village": county.louxing.pk, "date": "", "checked_by": [member.pk],
            "ledger_ok": "ok", "notes": "台账规范"}
    response = client.post(reverse("patrol:check_new"), data)
    assert response.status_code == 422 and "台账规范" in response.content.decode()
    data["date"] = timezone.localdate().isoformat()
    assert client.post(reverse("patrol:check_new"), data).status_code == 302
    assert SupervisionCheck.objects.get(village=county.louxing).ledger_ok is True
    assert "楼星村" in client.get(reverse("patrol:checks")).content.decode()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    data.update(date=yesterday.isoformat(), ledger_ok="bad")  # 不规范 is its own choice, not an unticked box
    assert client.post(reverse("patrol:check_new"), data).status_code == 302
    assert SupervisionCheck.objects.get(village=county.louxing, date=yesterday).ledger_ok is False


def test_oversight_page_shows_unchecked_villages_lateness_and_confirms(client, county, personas, patrol):
    client.force_login(personas["township_office"])
    page = client.get(reverse("patrol:oversight"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "第一督查组" in text and "楼星村" in text and "农业农村办" in text and "城建办" in text
    assert "确认农业农村办" not in text  # the office has no confirming post
    assert client.get(reverse("patrol:oversight"), {"month": "2099-01"}).status_code == 422

    client.force_login(personas["department"])
    text = client.get(reverse("patrol:oversight")).content.decode()
    assert "确认农业农村办" in text
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    response = client.post(reverse("patrol:oversight_confirm"), {"department": county.agriculture.pk, "month": last_month})
    assert response.status_code == 302
    assert DepartmentConfirmation.objects.filter(department=county.agriculture).count() == 1
    response = client.post(reverse("patrol:oversight_confirm"), {"department": county.agriculture.pk, "month": last_month})
    assert response.status_code == 422 and "已确认" in response.content.decode()
    response = client.post(reverse("patrol:oversight_confirm"),
                           {"department": patrol["other_department"].pk, "month": last_month})
    assert response.status_code == 422


def test_a_supervision_post_outside_the_group_cannot_record_for_it(county, personas, patrol):
    """Group membership decides: a supervision-group post alone does not act for every group."""
    patrol["group"].members.clear()
    with pytest.raises((PermissionDenied, FindingError)):
        record(personas, county, patrol)
    assert not PatrolFinding.objects.exists()
