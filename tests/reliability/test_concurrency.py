"""Two users completing the same step at once: one wins, the other gets a clear message.

Needs real row locks and two connections: PostgreSQL (pass 2 of .ci/run). Each user works in a
thread with its own database connection; the step is slowed down inside its lock, so that without
the lock both would pass the "is the step still open" check before either commits.
"""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from grid import events, services
from grid.models import Event, EventCategory, Role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("两个连接同时办理需要行锁（PostgreSQL，.ci/run 第二遍）")


@pytest.fixture
def race(county, personas, monkeypatch):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    second, _ = services.ensure_user("leader_b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title="违建", description="村口棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="race",
    )
    checked = events._require_step

    def slow_check(*args, **kwargs):
        checked(*args, **kwargs)
        time.sleep(0.5)  # hold the step open: the other user arrives meanwhile

    monkeypatch.setattr(events, "_require_step", slow_check)
    return event, [personas["grid_leader"], second]


def run_together(*actions):
    results: list = [None] * len(actions)
    barrier = threading.Barrier(len(actions))

    def run(index, action):
        try:
            barrier.wait()
            results[index] = action()
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_leaders_rejecting_the_same_event_reject_it_once(race, county):
    event, leaders = race

    def reject(leader):
        return lambda: events.handle_event(Event.objects.get(pk=event.pk), by=leader, decision="reject",
                                           reason=f"{leader.username}：非网格事务")

    results = run_together(reject(leaders[0]), reject(leaders[1]))
    won = [r for r in results if isinstance(r, Event)]
    lost = [r for r in results if isinstance(r, events.EventError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "可能已由他人办理" in str(lost[0])
    event.refresh_from_db()
    assert event.rejection_reason.startswith(won[0].rejection_reason.split("：")[0])
    assert AuditEntry.objects.filter(action="event.reject", object_id=str(event.pk)).count() == 1


def test_two_leaders_escalating_the_same_event_escalate_it_once(race, county):
    event, leaders = race

    def escalate(leader):
        return lambda: events.handle_event(Event.objects.get(pk=event.pk), by=leader, decision="escalate",
                                           reason="上报")

    results = run_together(escalate(leaders[0]), escalate(leaders[1]))
    won = [r for r in results if isinstance(r, Event)]
    # The loser meets the event already at the village: not its step any more (a clear 403 message).
    lost = [r for r in results if isinstance(r, (events.EventError, PermissionDenied))]
    assert len(won) == 1 and len(lost) == 1, results
    event.refresh_from_db()
    assert event.handling_region == county.louxing  # one tier up, not two
    assert AuditEntry.objects.filter(action="event.escalate", object_id=str(event.pk)).count() == 1


def test_on_the_page_the_loser_is_told_someone_else_handled_it(race, county):
    event, leaders = race
    url = reverse("grid:event_action", args=[event.pk, "handle"])

    def post(leader):
        client = Client()
        client.force_login(leader)
        return lambda: client.post(url, {"decision": "reject", "reason": "非网格事务"}, follow=True)

    results = run_together(post(leaders[0]), post(leaders[1]))
    assert all(not isinstance(r, BaseException) for r in results), results
    assert sorted(r.status_code for r in results)[0] < 500
    pages = [r.content.decode() for r in results]
    assert sum("可能已由他人办理" in page for page in pages) == 1
    assert AuditEntry.objects.filter(object_id=str(event.pk), action="event.reject").count() == 1


def test_two_department_users_verifying_one_report_award_its_points_once(county, personas, monkeypatch):
    """Verifying a village report as 属实 awards the item's points: two verifiers at once must not
    award them twice or take two registration numbers."""
    from inspection.models import CatalogItem, PatrolCategory, PatrolReport
    from inspection.patrol import reports

    second, _ = services.ensure_user("agri_b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="department"), region=county.taiping,
                         department=county.agriculture)
    category = PatrolCategory.objects.create(township=county.taiping, name="违法用地", lead_department=county.agriculture)
    item = CatalogItem.objects.create(township=county.taiping, code="A01", name="违法占用宅基地", category=category,
                                      lead_department=county.agriculture, points=3)
    report = reports.submit_report(by=personas["village_cadre"], village=county.louxing, item=item,
                                   occurred_at=timezone.now() - datetime.timedelta(hours=3), location="村道旁",
                                   description="未经审批新建住宅地基", files=[])
    allowed = reports.may_verify

    def slow_may_verify(*args, **kwargs):
        result = allowed(*args, **kwargs)
        time.sleep(0.5)  # inside the report's lock: the other verifier arrives meanwhile
        return result

    monkeypatch.setattr(reports, "may_verify", slow_may_verify)

    def verify(user):
        return lambda: reports.verify_report(PatrolReport.objects.get(pk=report.pk), by=user, verdict="true")

    results = run_together(verify(personas["department"]), verify(second))
    won = [r for r in results if isinstance(r, PatrolReport)]
    lost = [r for r in results if isinstance(r, reports.ReportError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "不能重复核实" in str(lost[0])
    report.refresh_from_db()
    assert report.points == 3 and report.registration_number
    assert AuditEntry.objects.filter(action="patrol_report.verify.true", object_id=str(report.pk)).count() == 1


def test_writers_starting_together_on_an_empty_audit_chain_are_all_recorded_in_one_chain(county):
    from governance import audit
    from governance.models import AuditChainHead

    AuditChainHead.objects.all().delete()  # a fresh database: nobody has written the chain's head yet
    before = set(AuditEntry.objects.values_list("pk", flat=True))

    def writer(number):
        def write():
            from django.db import transaction

            with transaction.atomic():
                audit.record("test.concurrent", object_repr=f"第{number}个", region_path="")
                time.sleep(0.3)  # hold the transaction open: the others arrive meanwhile
            return True
        return write

    results = run_together(*(writer(n) for n in range(4)))
    assert results == [True] * 4, results
    entries = list(AuditEntry.objects.exclude(pk__in=before).order_by("pk"))
    assert len(entries) == 4
    assert len({entry.previous_hash for entry in entries}) == 4, "each entry chains onto a different one"
    assert AuditChainHead.objects.get(pk=1).last_hash in {entry.entry_hash for entry in entries}
