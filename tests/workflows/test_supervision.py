"""The overdue scan (督办): notices to the holder and the person above, once; automatic escalation."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from governance.models import AuditEntry, Notification
from grid import events
from grid.models import Event
from grid.supervision import supervise_overdue
from workflows.models import SLARule, TaskDeadline


def report(personas, county, category, key="k1", urgency="normal"):
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title="违建", description="村口棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key, urgency=urgency,
    )
    return event


def later(hours):
    return timezone.now() + datetime.timedelta(hours=hours)


def supervision_notices():
    return Notification.objects.filter(kind=Notification.Kind.SUPERVISION)


def test_default_rules_exist_for_each_tier_and_urgency(db):
    rules = {(rule.tier.key, rule.urgency): rule for rule in SLARule.objects.filter(category__isnull=True)}
    for tier in ("grid", "village", "township"):
        for urgency in ("normal", "urgent", "critical"):
            assert (tier, urgency) in rules
    assert rules[("grid", "normal")].hours == 24 and rules[("grid", "normal")].auto_escalate
    assert not rules[("township", "normal")].auto_escalate


def test_a_task_within_its_time_is_left_alone(county, personas, category):
    report(personas, county, category)
    assert supervise_overdue(now=later(23)).supervised == 0
    assert not supervision_notices().exists()


def test_overdue_grid_task_notifies_leader_and_village_once_and_is_audited(county, personas, category):
    SLARule.objects.filter(tier__key="grid").update(auto_escalate=False)
    event = report(personas, county, category)
    result = supervise_overdue(now=later(25))
    assert result.supervised == 1 and result.escalated == 0
    recipients = set(supervision_notices().values_list("recipient__username", flat=True))
    # the grid leader holds the triage step; the village's handlers are the people above
    assert recipients == {"grid_leader", "grid_instructor", "village_cadre"}
    event.refresh_from_db()
    assert event.overdue_at(later(25)) and not event.is_overdue  # computed: overdue then, not yet now
    assert AuditEntry.objects.filter(action="event.supervised", object_id=str(event.pk)).count() == 1
    assert TaskDeadline.objects.get(is_open=True).supervised_at is not None

    again = supervise_overdue(now=later(30))
    assert again.supervised == 0
    assert supervision_notices().count() == 3


def test_overdue_grid_task_escalates_to_the_village_by_itself(county, personas, category):
    event = report(personas, county, category)
    result = supervise_overdue(now=later(25))
    assert result.escalated == 1
    event.refresh_from_db()
    assert event.handling_region == county.louxing and events.current_step(event) == "handle"
    assert not event.overdue_at(later(25))  # the village has its own, fresh deadline
    assert event.step_due_at == TaskDeadline.objects.get(is_open=True).due_at
    assert AuditEntry.objects.filter(action="event.auto_escalate", object_id=str(event.pk)).exists()
    open_deadline = TaskDeadline.objects.get(is_open=True)
    assert open_deadline.supervised_at is None and open_deadline.due_at > timezone.now() + datetime.timedelta(hours=40)
    # the village cadre can now take the step
    assert events.available_decisions(personas["village_cadre"], event) == {"handle": {"resolve", "escalate"}}


def test_township_task_is_supervised_but_not_escalated(county, personas, category):
    event = report(personas, county, category)
    events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="上报")
    events.handle_event(event, by=personas["village_cadre"], decision="escalate", reason="上报")
    result = supervise_overdue(now=later(24 * 8))
    event.refresh_from_db()
    assert result.supervised == 1 and result.escalated == 0
    assert event.handling_region == county.taiping and event.overdue_at(later(24 * 8))
    recipients = set(supervision_notices().values_list("recipient__username", flat=True))
    assert recipients == {"township_office", "township_committee"}


def test_handling_an_overdue_step_gives_the_event_the_next_steps_deadline(county, personas, category):
    SLARule.objects.filter(tier__key="grid").update(auto_escalate=False)
    event = report(personas, county, category)
    events.set_step_due(event, timezone.now() - datetime.timedelta(minutes=1))
    assert Event.objects.get(pk=event.pk).is_overdue  # no scan has run
    event = events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="上报")
    assert not event.is_overdue  # the service's event and the stored one agree
    event.refresh_from_db()
    assert not event.is_overdue and event.step_due_at == TaskDeadline.objects.get(is_open=True).due_at


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_scans_at_once_send_no_double_notices(county, personas, category):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent scans need a database with row locks (PostgreSQL)")
    SLARule.objects.filter(tier__key="grid").update(auto_escalate=False)
    for number in range(20):
        report(personas, county, category, key=f"k{number}")
    results, errors = [], []

    def scan():
        try:
            results.append(supervise_overdue(now=later(25), batch_size=3))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(result.supervised for result in results) == 20
    assert supervision_notices().count() == 20 * 3
    assert Event.objects.overdue(later(25)).count() == 20
    assert AuditEntry.objects.filter(action="event.supervised").count() == 20
