"""The overdue scan's two halves: claiming (the beat job) and supervising a batch (the workers).

With a broker the scan only claims and queues; a batch job or an escalation message that is
delivered twice must change nothing more the second time.
"""

import datetime

from django.utils import timezone

from governance.celery import app
from governance.models import AuditEntry, Notification
from grid import events, supervision
from grid.models import Event
from workflows.models import SLARule, TaskDeadline


def report(personas, county, category, key):
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title="违建", description="村口棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key,
    )
    return event


def later(hours):
    return timezone.now() + datetime.timedelta(hours=hours)


def test_with_a_broker_the_scan_claims_and_queues_one_message_per_batch(county, personas, category, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    for number in range(5):
        report(personas, county, category, f"k{number}")
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    queued = []
    monkeypatch.setattr("grid.tasks.supervise_batch.delay_on_commit", lambda ids, now: queued.append((ids, now)))
    with django_capture_on_commit_callbacks(execute=True):
        result = supervision.supervise_overdue(now=later(25), batch_size=2)
    assert result.supervised == 5
    assert [len(ids) for ids, _ in queued] == [2, 2, 1]
    # claimed, but nothing else happened in the scan itself
    assert TaskDeadline.objects.filter(is_open=True, supervised_at__isnull=True).count() == 0
    assert not Notification.objects.filter(kind=Notification.Kind.SUPERVISION).exists()
    assert not AuditEntry.objects.filter(action="event.supervised").exists()
    assert Event.objects.overdue(later(25)).count() == 5  # overdue is computed: the scan needs not have run


def test_a_batch_delivered_twice_notifies_and_audits_once(county, personas, category):
    SLARule.objects.filter(tier__key="grid").update(auto_escalate=False)
    event = report(personas, county, category, "k1")
    now = later(25)
    ids = supervision._claim_batch(now, 10)
    first = supervision.supervise_batch(ids, now)
    second = supervision.supervise_batch(ids, now)
    assert first.supervised == 1 and first.notices == 3
    assert second.notices == 0
    assert AuditEntry.objects.filter(action="event.supervised", object_id=str(event.pk)).count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.SUPERVISION).count() == 3


def test_an_escalation_message_delivered_twice_escalates_once(county, personas, category):
    event = report(personas, county, category, "k1")
    deadline = TaskDeadline.objects.get(is_open=True)
    assert supervision.escalate_overdue_tasks([deadline.task_id]) == 1
    assert supervision.escalate_overdue_tasks([deadline.task_id]) == 0
    event.refresh_from_db()
    assert event.handling_region == county.louxing  # one tier up, not two
    assert AuditEntry.objects.filter(action="event.auto_escalate", object_id=str(event.pk)).count() == 1
