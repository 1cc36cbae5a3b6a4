"""Whoever recorded a disposal does not verify it while someone else may: a result is checked by another
person (the reporter, or another grid leader). Only when nobody else may does the disposer verify."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import Notification
from grid import events, services
from grid.event_lists import my_tasks
from grid.event_rules import may_take_step
from grid.models import Event, FlowPolicy, Role
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")


def reported(by, county, category, key="k1") -> Event:
    event, _ = events.report_event(
        by=by, region=county.grid1, category=category, title="违建", description="村口棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key,
    )
    return event


def disposed_by_the_grid_leader(personas, county, category, *, reporter=None) -> Event:
    event = reported(reporter or personas["grid_member"], county, category)
    events.handle_event(event, by=personas["grid_leader"], decision="resolve", result="已拆除", files=[photo()])
    event.refresh_from_db()
    assert event.status == Event.Status.VERIFYING and event.disposed_by == personas["grid_leader"]
    return event


def test_the_grid_leader_does_not_verify_his_own_disposal_the_reporter_does(client, county, personas, category):
    event = disposed_by_the_grid_leader(personas, county, category)
    leader, member = personas["grid_leader"], personas["grid_member"]
    assert not may_take_step(leader, event, "verify")
    assert event not in my_tasks(leader)
    client.force_login(leader)
    page = client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    assert 'value="satisfied"' not in page and "本人处置的结果由他人核实" in page
    response = client.post(reverse("grid:event_action", args=[event.pk, "verify"]), {"decision": "satisfied"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.status == Event.Status.VERIFYING

    assert event in my_tasks(member)
    client.force_login(member)
    response = client.post(reverse("grid:event_action", args=[event.pk, "verify"]), {"decision": "satisfied"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.CLOSED


def test_the_village_verifies_the_disposal_of_the_grid_leader_of_another_tier(county, personas, category):
    """A result recorded by someone else (the village) is verified by the grid leader as before."""
    event = reported(personas["grid_member"], county, category)
    events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="网格无法处理")
    event.refresh_from_db()
    events.handle_event(event, by=personas["village_cadre"], decision="resolve", result="已拆除", files=[photo()])
    event.refresh_from_db()
    assert may_take_step(personas["grid_leader"], event, "verify") and event in my_tasks(personas["grid_leader"])


def test_a_grid_leader_alone_verifies_what_he_reported_and_disposed_until_a_second_leader_comes(
    county, personas, category
):
    leader = personas["grid_leader"]
    event = disposed_by_the_grid_leader(personas, county, category, reporter=leader)
    assert may_take_step(leader, event, "verify") and event in my_tasks(leader)

    second, _ = services.ensure_user("leader1b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    leader = type(leader).objects.get(pk=leader.pk)  # a fresh user: grants are read per request
    assert not may_take_step(leader, event, "verify") and event not in my_tasks(leader)
    assert may_take_step(second, event, "verify") and event in my_tasks(second)


def test_under_a_grid_leader_policy_another_leader_verifies(county, personas, category):
    services.create_flow_policy(by=None, region=county.county, verifier=FlowPolicy.Verifier.GRID_LEADER)
    second, _ = services.ensure_user("leader1b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    event = disposed_by_the_grid_leader(personas, county, category)
    assert event.flow_policy.verifier == FlowPolicy.Verifier.GRID_LEADER
    assert not may_take_step(personas["grid_leader"], event, "verify")
    assert may_take_step(second, event, "verify")
    assert not may_take_step(personas["grid_member"], event, "verify")


def test_the_verify_notice_goes_to_the_reporter_not_to_the_disposer(
    county, personas, category, django_capture_on_commit_callbacks
):
    leader = personas["grid_leader"]
    with django_capture_on_commit_callbacks(execute=True):
        event = reported(leader, county, category)
    second, _ = services.ensure_user("leader1b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    with django_capture_on_commit_callbacks(execute=True):
        events.handle_event(event, by=leader, decision="resolve", result="已拆除", files=[photo()])
    asked = Notification.objects.filter(kind=Notification.Kind.TASK, title__startswith="待核实")
    assert set(asked.values_list("recipient__username", flat=True)) == {"leader1b"}


def test_the_overdue_verify_step_is_supervised_with_its_verifier_not_the_disposer(county, personas, category):
    """督办 of a verify step goes to who verifies it, as its 待办 did (the scan reads the disposer too)."""
    from grid.supervision import supervise_overdue

    event = disposed_by_the_grid_leader(personas, county, category, reporter=personas["grid_leader"])
    second, _ = services.ensure_user("leader1b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    assert supervise_overdue(now=timezone.now() + datetime.timedelta(days=30)).supervised == 1
    told = Notification.objects.filter(title__startswith="督办", url=reverse("grid:event_detail", args=[event.pk]))
    holders = told.exclude(title__contains="请督促")  # (the others go to those above, to urge them)
    assert set(holders.values_list("recipient__username", flat=True)) == {"leader1b"}
