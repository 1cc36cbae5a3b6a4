"""A worker killed mid-task: the broker delivers the task again (acks_late), and the second run
neither doubles nor loses a notice, an escalation or a letter.

A kill is simulated by raising a BaseException at a point inside the task (nothing after it runs,
as with SIGKILL; the task's open transaction is rolled back, as PostgreSQL does for a dead
connection); then the task runs again, as the redelivered message would make it.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from governance.celery import app
from governance.models import AuditEntry, Notification
from grid import events, services
from grid.models import Event, Role

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """What SIGKILL does to the task body: it stops there, no except clause sees it."""


def kill_after(calls: int, function):
    """`function`, except that the process 'dies' right after its `calls`-th call returned."""
    count = {"n": 0}

    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        count["n"] += 1
        if count["n"] >= calls:
            raise WorkerKilled
        return result

    return wrapper


@pytest.fixture
def two_leaders(county, personas):
    second, _ = services.ensure_user("leader_b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    return [personas["grid_leader"], second]


def report(personas, county, category, key="k1"):
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title="违建", description="村口棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key,
    )
    return event


def test_tasks_are_acknowledged_late_and_requeued_when_the_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_task_notices_killed_halfway_are_completed_once_on_redelivery(county, personas, category, two_leaders,
                                                                      monkeypatch):
    from viewflow.workflow.models import Task

    from grid import task_notices
    from grid.tasks import notify_task_holders

    event = report(personas, county, category)  # not after commit: the notices are the task's to send
    task = Task.objects.filter(finished__isnull=True).exclude(flow_task_type="START").latest("id")
    with monkeypatch.context() as patch:
        patch.setattr(task_notices, "notify", kill_after(1, task_notices.notify))
        with pytest.raises(WorkerKilled):
            notify_task_holders(task.pk)
    assert Notification.objects.filter(kind="task").count() == 1  # one leader heard before the kill

    notify_task_holders(task.pk)  # redelivered
    notify_task_holders(task.pk)  # and once more, for good measure
    for leader in two_leaders:
        notices = Notification.objects.filter(recipient=leader, kind="task")
        assert notices.count() == 1 and f"#{event.pk}" in notices.get().title


def test_supervision_killed_before_escalating_is_redone_once(county, personas, category, monkeypatch):
    from grid import events as grid_events
    from grid.tasks import supervise_overdue

    event = report(personas, county, category)
    grid_events.set_step_due(event, timezone.now() - datetime.timedelta(minutes=1))
    with monkeypatch.context() as patch:
        def killed(*args, **kwargs):
            raise WorkerKilled

        patch.setattr(grid_events, "escalate_overdue_event", killed)
        with pytest.raises(WorkerKilled):
            supervise_overdue()

    outcome = supervise_overdue()  # redelivered: the claims of the killed run were rolled back with it
    assert outcome["supervised"] == 1 and outcome["escalated"] == 1
    assert supervise_overdue()["supervised"] == 0
    event.refresh_from_db()
    assert event.handling_region == county.louxing  # escalated once, not twice
    leader_notices = Notification.objects.filter(recipient=personas["grid_leader"], kind="supervision")
    assert leader_notices.count() == 1
    assert AuditEntry.objects.filter(action="event.auto_escalate", object_id=str(event.pk)).count() == 1
    assert AuditEntry.objects.filter(action="event.supervised", object_id=str(event.pk)).count() == 1


def test_overdue_letter_flag_killed_halfway_notifies_once(county, personas, monkeypatch):
    from inspection.models import InspectionLetter
    from inspection.rounds import letters
    from inspection.tasks import flag_overdue_letters
    from tests.inspection.test_onsite import build_round

    r = build_round(county, personas)
    letter = letters.issue_letter(by=r.users["county_office"], round=r.round, kind=InspectionLetter.Kind.REMINDER,
                                  recipient=r.zhaocun.organisation, subject="",
                                  reply_due=timezone.localdate() + datetime.timedelta(days=1))
    InspectionLetter.objects.filter(pk=letter.pk).update(reply_due=timezone.localdate() - datetime.timedelta(days=3))
    with monkeypatch.context() as patch:
        patch.setattr(letters, "notify", kill_after(1, letters.notify))  # where the scan calls it
        with pytest.raises(WorkerKilled):
            flag_overdue_letters()
    assert not Notification.objects.exists()  # the kill undid the flag and the notice together

    assert flag_overdue_letters()["notified"] == 1
    assert flag_overdue_letters()["notified"] == 0
    assert Notification.objects.filter(recipient=r.users["county_office"]).count() == 1
    assert AuditEntry.objects.filter(action="inspection_letter.overdue", object_id=str(letter.pk)).count() == 1


def test_rectification_overdue_killed_after_the_letter_issues_one_letter(county, personas, monkeypatch):
    from inspection.models import InspectionLetter
    from rectification import tasks as rectification_tasks
    from tests.rectification.test_rectification import assign
    from tests.rectification.test_rectification import fed_back as fed_back_fixture

    plan = fed_back_fixture.__wrapped__(county, personas)
    committee = personas["township_committee"]
    assign(plan.items.get(number=1), committee, deadline=plan.feedback_on + datetime.timedelta(days=1))
    with monkeypatch.context() as patch:
        def killed(*args, **kwargs):
            raise WorkerKilled

        patch.setattr(rectification_tasks, "_notify_committee", killed)  # right after the letter was issued
        with pytest.raises(WorkerKilled):
            rectification_tasks.flag_overdue_items()
    assert not InspectionLetter.objects.exists()

    assert rectification_tasks.flag_overdue_items()["reminders"] == 1
    assert rectification_tasks.flag_overdue_items()["reminders"] == 0
    assert InspectionLetter.objects.filter(kind=InspectionLetter.Kind.REMINDER).count() == 1
    assert Notification.objects.filter(recipient=committee, kind="supervision").count() == 1


def test_the_same_message_delivered_twice_reports_one_event_notice(county, personas, category,
                                                                    django_capture_on_commit_callbacks):
    """Redelivery of the very message (same task id) through Celery's own execution path."""
    from viewflow.workflow.models import Task

    from grid.tasks import notify_task_holders

    with django_capture_on_commit_callbacks(execute=True):
        report(personas, county, category)
    task = Task.objects.filter(finished__isnull=True).exclude(flow_task_type="START").latest("id")
    first = notify_task_holders.apply(args=[task.pk], task_id="same-message")
    second = notify_task_holders.apply(args=[task.pk], task_id="same-message")
    assert (first.get(), second.get()) == (0, 0)  # the after-commit run already sent it
    assert Notification.objects.filter(kind="task", recipient=personas["grid_leader"]).count() == 1
    assert Event.objects.count() == 1
