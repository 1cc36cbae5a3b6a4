"""EventFlow end to end: grid → village → township → department → verification → closed."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from grid import events, services
from grid.models import CategoryRouting, Event, Role
from tests.conftest import photo
from workflows.models import TaskDeadline

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def flow_people(county, personas):
    """A grid leader for 第2网格 too (someone of the right role but the wrong region)."""
    other, _ = services.ensure_user("leader2", password="x")
    services.create_post(user=other, role=Role.objects.get(key="grid_leader"), region=county.grid2)
    return {**personas, "leader2": other}


def report(user, region, category, key="k1", **extra):
    fields = dict(
        by=user, region=region, category=category, title="违建", description="村口新建棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key,
    )
    fields.update(extra)
    return events.report_event(**fields)


def test_event_climbs_to_department_and_comes_back_for_verification(county, flow_people, category):
    p = flow_people
    CategoryRouting.objects.create(township=county.taiping, category=category, department=county.agriculture)
    event, created = report(p["grid_member"], county.micro1, category, files=[photo()])
    assert created and event.handling_region == county.grid1 and event.status == "handling"
    assert events.current_step(event) == "handle"
    assert TaskDeadline.objects.filter(is_open=True).count() == 1

    events.handle_event(event, by=p["grid_leader"], decision="escalate", reason="需村里协调")
    event.refresh_from_db()
    assert event.handling_region == county.louxing and events.current_step(event) == "handle"

    events.handle_event(event, by=p["village_cadre"], decision="escalate", reason="需乡镇执法")
    event.refresh_from_db()
    assert event.handling_region == county.taiping

    events.handle_event(event, by=p["township_office"], decision="dispatch")
    event.refresh_from_db()
    assert event.department == county.agriculture and event.status == "dispatched"
    assert events.current_step(event) == "department"

    events.department_handle_event(event, by=p["department"], decision="resolve", result="已拆除", files=[photo("r.jpg")])
    event.refresh_from_db()
    assert event.status == "verifying" and events.current_step(event) == "verify"

    events.verify_event(event, by=p["grid_member"], satisfied=False, reason="还剩一角未拆")
    event.refresh_from_db()
    assert event.return_count == 1 and events.current_step(event) == "department"

    events.department_handle_event(event, by=p["department"], decision="resolve", result="全部拆除", files=[photo()])
    events.verify_event(event, by=p["grid_member"], satisfied=True)
    event.refresh_from_db()
    assert event.status == "closed" and event.closed_at and events.current_step(event) is None
    assert TaskDeadline.objects.filter(is_open=True).count() == 0

    events.rate_event(event, by=p["grid_member"], rating=5, comment="及时")
    event.refresh_from_db()
    assert event.rating == 5


def test_only_the_department_the_event_was_dispatched_to_may_act(county, flow_people, category, client):
    """A second department of the same township holds the same role there, but the event is not its own."""
    from django.urls import reverse

    from grid.event_lists import my_tasks

    p = flow_people
    construction = services.create_department(name="城建办", region=county.taiping)
    other, _ = services.ensure_user("chengjian", password="x")
    services.create_post(user=other, role=Role.objects.get(key="department"), region=county.taiping, department=construction)
    CategoryRouting.objects.create(township=county.taiping, category=category, department=county.agriculture)
    event, _ = report(p["village_cadre"], county.louxing, category)
    events.handle_event(event, by=p["village_cadre"], decision="escalate", reason="需乡镇派单")
    event.refresh_from_db()
    events.handle_event(event, by=p["township_office"], decision="dispatch")
    event.refresh_from_db()
    assert event.department == county.agriculture and events.current_step(event) == "department"
    result_before = event.result

    assert not events.may_take_step(other, event, "department") and events.available_decisions(other, event) == {}
    assert event not in my_tasks(other)
    with pytest.raises(PermissionDenied):
        events.department_handle_event(event, by=other, decision="resolve", result="越权办结", files=[photo()])
    client.force_login(other)
    response = client.post(reverse("grid:event_action", args=[event.pk, "department"]),
                           {"decision": "resolve", "result": "越权办结"})
    assert response.status_code in (403, 404)
    response = client.post(reverse("api:event_department", args=[event.pk]), {"decision": "resolve", "result": "越权办结"})
    assert response.status_code in (403, 404)
    event.refresh_from_db()
    assert event.status == "dispatched" and event.result == result_before and "越权" not in event.result

    assert events.may_take_step(p["department"], event, "department") and event in my_tasks(p["department"])
    events.department_handle_event(event, by=p["department"], decision="resolve", result="已办结", files=[photo()])
    event.refresh_from_db()
    assert event.status == "verifying"


def test_same_report_submitted_twice_creates_one_event(county, personas, category):
    first, created = report(personas["grid_member"], county.grid1, category, key="same")
    again, created_again = report(personas["grid_member"], county.grid1, category, key="same")
    assert created and not created_again and first.pk == again.pk
    assert Event.objects.count() == 1


@pytest.mark.parametrize("who", ["leader2", "village_cadre", "township_office", "grid_member", "outsider"])
def test_wrong_role_or_region_cannot_triage(county, flow_people, category, who):
    event, _ = report(flow_people["grid_member"], county.grid1, category)
    with pytest.raises(PermissionDenied):
        events.handle_event(event, by=flow_people[who], decision="escalate", reason="x")
    assert events.current_step(event) == "handle"


def test_a_step_already_taken_by_someone_else_gets_a_clear_message(county, personas, category):
    event, _ = report(personas["grid_member"], county.grid1, category)
    stale = Event.objects.get(pk=event.pk)
    events.handle_event(event, by=personas["grid_leader"], decision="reject", reason="非网格事务")
    with pytest.raises(events.EventError, match="可能已由他人办理"):
        events.handle_event(stale, by=personas["grid_leader"], decision="escalate", reason="x")


def test_grid_resolve_needs_result_and_evidence(county, personas, category):
    event, _ = report(personas["grid_member"], county.grid1, category)
    with pytest.raises(events.EventError, match="佐证"):
        events.handle_event(event, by=personas["grid_leader"], decision="resolve", result="已劝离")
    events.handle_event(event, by=personas["grid_leader"], decision="resolve", result="已劝离", files=[photo()])
    event.refresh_from_db()
    assert event.status == "verifying"
