"""Smaller holes: weak passwords, English framework messages, answers that tell out-of-scope records from
missing ones, and implausible dates and lengths."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.input_rules import happened_problem
from grid import events as event_services
from grid import services
from grid.models import Event, Role


@pytest.mark.parametrize(("password", "message"), [
    ("P@ssw0rd123", "常见密码"),
    ("Admin@12345", "常见密码"),
    ("Qwerty@123456", "常见密码"),
    ("Zhangsan2024!", "用户名"),
    ("2024#Zhangsan", "用户名"),
    ("Short1!", "密码太短，至少需要 10 个字符"),
])
def test_weak_passwords_are_refused_in_chinese(db, password, message):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, User(username="zhangsan"))
    assert any(message in text for text in refused.value.messages), refused.value.messages
    assert all(not text.isascii() for text in refused.value.messages)


def test_a_strong_password_is_accepted(db):
    validate_password("Kx9#mPq2vL", User(username="zhangsan"))


def test_api_parse_and_csrf_errors_are_in_chinese(county, personas):
    client = Client()
    client.force_login(personas["grid_member"])
    parse = client.post(reverse("api:events"), "{bad", content_type="application/json")
    assert parse.status_code == 400 and parse.json()["detail"].startswith("请求内容无法解析")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(personas["grid_member"])
    csrf = strict.post(reverse("api:events"), "{}", content_type="application/json")
    assert csrf.status_code == 403 and csrf.json()["detail"].startswith("CSRF 校验失败")


def report(user, county, category, key="k", **changes):
    data = dict(by=user, region=county.grid1, category=category, title="村口违建", description="占道",
                occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key)
    data.update(changes)
    return event_services.report_event(**data)[0]


def test_a_step_on_an_event_out_of_scope_answers_as_for_a_missing_event(client, county, personas, category):
    event = report(personas["grid_member"], county, category)
    stranger, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=stranger, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    client.force_login(stranger)
    hidden = client.post(reverse("grid:event_action", args=[event.pk, "handle"]), {"decision": "escalate", "reason": "r"})
    missing = client.post(reverse("grid:event_action", args=[event.pk + 1000, "handle"]),
                          {"decision": "escalate", "reason": "r"})
    assert hidden.status_code == missing.status_code == 404


def test_merge_answers_the_same_for_an_event_out_of_scope_and_a_missing_one(county, personas, category):
    event = report(personas["grid_member"], county, category)
    elsewhere, _ = services.ensure_user("henan_member", password="x")
    services.create_post(user=elsewhere, role=Role.objects.get(key="grid_member"), region=county.henan)
    other = report(elsewhere, county, category, key="other", region=county.henan)
    answers = []
    for duplicate_of in (other, None):
        with pytest.raises(event_services.EventError) as refused:
            event_services.handle_event(event, by=personas["grid_leader"], decision="merge", duplicate_of=duplicate_of)
        answers.append(refused.value.messages)
    assert answers[0] == answers[1]


@pytest.mark.parametrize(("value", "message"), [
    (datetime.datetime(1999, 12, 31, 12, tzinfo=datetime.UTC), "不能早于 2000年01月01日"),
    (datetime.datetime(1, 1, 1, tzinfo=datetime.UTC), "不能早于"),
    pytest.param(lambda: timezone.now() + datetime.timedelta(hours=1), "不能晚于当前时间", id="in-an-hour-不能晚于当前时间"),
    (datetime.date(1990, 5, 1), "不能早于"),
])
def test_a_time_something_happened_is_plausible(value, message):
    value = value() if callable(value) else value  # "an hour from now" is read when the test runs
    assert message in happened_problem(value)


def test_every_date_field_refuses_dates_out_of_the_plausible_range():
    field = forms.DateField()
    for text in ("0001-01-01", "1999-12-31", "9999-12-31", f"{timezone.localdate().year + 11}-01-01"):
        with pytest.raises(ValidationError):
            field.clean(text)
    assert field.clean("2026-03-01") == datetime.date(2026, 3, 1)


def test_a_description_of_a_million_characters_is_refused(client, county, personas, category):
    client.force_login(personas["grid_member"])
    response = client.post(reverse("grid:event_report"), {
        "idempotency_key": "k1", "region": county.grid1.pk, "category": category.pk, "title": "违建",
        "description": "甲" * 1_000_000, "urgency": "normal", "source": "patrol",
        "occurred_at": (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")})
    assert "不能超过 5000 个字" in response.content.decode()
    assert not Event.objects.exists()


def test_services_refuse_implausible_dates_from_every_entrance(county, personas, category):
    from governance.input_rules import date_problem
    from grid import patrols
    from inspection.patrol import findings
    from tests.inspection.test_reports import make_item

    with pytest.raises(ValidationError, match="巡查日期不能早于"):
        patrols.record_patrol(by=personas["grid_member"], region=county.grid1, kind="daily",
                              date=datetime.date(1, 1, 1), started_at=datetime.time(8), ended_at=datetime.time(9),
                              route="村道", findings="无")
    item = make_item(county.taiping, county.agriculture)
    with pytest.raises(ValidationError, match="发现日期不能早于"):
        findings.record_finding(by=personas["department"], village=county.louxing, item=item,
                                source="township_department", discovered_on=datetime.date(1999, 1, 1),
                                location="村东", description="违建")
    assert "整改时限不能晚于" in date_problem(datetime.date(9999, 12, 31), what="整改时限")
