"""The monthly work meeting and the 宣传办's 简讯 (the township big patrol plan 四、(十), (十五), 六、(六)):
a register, and the month's check on the oversight page.

Hand-computed case: in the current month 太平镇 registers one meeting and one 简讯: the meeting is met
(1 of at least 1), the 简讯 is short by one (1 of at least 2); a second 简讯 meets it.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from inspection.models import PatrolWorkRecord
from inspection.patrol.work_records import month_work, record_work

Kind = PatrolWorkRecord.Kind


def checks(county):
    return {check.kind: (check.count, check.required, check.met) for check in month_work(county.taiping, timezone.localdate())}


def test_month_check_counts_meetings_and_briefings(county, personas):
    office, today = personas["township_office"], timezone.localdate()
    record_work(by=office, township=county.taiping, kind=Kind.MEETING, date=today, title="3月大巡查分析研判会")
    record_work(by=office, township=county.taiping, kind=Kind.BRIEFING, date=today, title="太平镇开展秸秆禁烧巡查")
    assert checks(county) == {Kind.MEETING: (1, 1, True), Kind.BRIEFING: (1, 2, False)}
    record_work(by=office, township=county.taiping, kind=Kind.BRIEFING, date=today, title="楼星村主动上报获加分")
    assert checks(county)[Kind.BRIEFING] == (2, 2, True)
    assert AuditEntry.objects.filter(action="patrol_work_record.create").count() == 3


def test_bad_input_and_wrong_user_are_refused(county, personas):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError):
        record_work(by=personas["township_office"], township=county.taiping, kind=Kind.MEETING, date=tomorrow, title="会")
    with pytest.raises(PermissionDenied):
        record_work(by=personas["village_cadre"], township=county.taiping, kind=Kind.MEETING,
                    date=timezone.localdate(), title="会")


def test_office_registers_on_the_oversight_page(client, county, personas):
    client.force_login(personas["township_office"])
    page = client.get(reverse("patrol:oversight")).content.decode()
    assert "工作会议与宣传简讯" in page and "登记会议或简讯" in page and "还差 2" in page
    data = {"township": county.taiping.pk, "kind": Kind.BRIEFING, "date": timezone.localdate().isoformat(),
            "title": "太平镇大巡查简讯", "note": ""}
    assert client.post(reverse("patrol:oversight_work"), data).status_code == 302
    assert "还差 1" in client.get(reverse("patrol:oversight")).content.decode()
    response = client.post(reverse("patrol:oversight_work"), {**data, "title": ""})
    assert response.status_code == 422


def test_department_sees_the_check_but_cannot_register(client, county, personas):
    client.force_login(personas["department"])
    page = client.get(reverse("patrol:oversight")).content.decode()
    assert "工作会议与宣传简讯" in page and "登记会议或简讯" not in page
    data = {"township": county.taiping.pk, "kind": Kind.MEETING, "date": timezone.localdate().isoformat(), "title": "会"}
    assert client.post(reverse("patrol:oversight_work"), data).status_code == 403
