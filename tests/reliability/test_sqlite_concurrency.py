"""The embedded run (SQLite, one file): people completing the same step at once.

One wins; the others are told that someone else has handled it, as on PostgreSQL, never a 500
"database is locked". Runs on a file database (WAL needs one): `database_for_threads` copies the
migrated test database to a file that every connection, one per thread, opens with the configured options.
"""

from __future__ import annotations

import datetime
import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from grid import events, services
from grid.models import Event, EventCategory, Role
from tests.reliability.test_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def file_database(database_for_threads):
    if database_for_threads is None:
        pytest.skip("嵌入式运行（SQLite）专用")
    return database_for_threads


@pytest.fixture
def three_leaders_one_event(file_database, monkeypatch):
    from tests.conftest import build_county

    county = build_county()
    member, _ = services.ensure_user("member", password="x")
    services.create_post(user=member, role=Role.objects.get(key="grid_member"), region=county.grid1)
    leaders = []
    for name in ("leader_a", "leader_b", "leader_c"):
        leader, _ = services.ensure_user(name, password="x")
        services.create_post(user=leader, role=Role.objects.get(key="grid_leader"), region=county.grid1)
        leaders.append(leader)
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    event, _ = events.report_event(
        by=member, region=county.grid1, category=category, title="违建", description="村口棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="sqlite-race",
    )
    checked = events._require_step

    def slow_check(*args, **kwargs):
        checked(*args, **kwargs)
        time.sleep(0.3)  # hold the step: the others arrive while the first is still inside it

    monkeypatch.setattr(events, "_require_step", slow_check)
    return event, leaders


def test_the_embedded_database_is_a_wal_file(file_database):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert connection.transaction_mode == "IMMEDIATE"


def test_three_leaders_rejecting_the_same_event_at_once_reject_it_once(three_leaders_one_event):
    event, leaders = three_leaders_one_event

    def reject(leader):
        return lambda: events.handle_event(Event.objects.get(pk=event.pk), by=leader, decision="reject",
                                           reason=f"{leader.username}：非网格事务")

    results = run_together(*(reject(leader) for leader in leaders))
    won = [r for r in results if isinstance(r, Event)]
    lost = [r for r in results if isinstance(r, events.EventError)]
    assert len(won) == 1 and len(lost) == 2, results
    assert all("已由他人办理" in str(exc) for exc in lost)
    assert AuditEntry.objects.filter(action="event.reject", object_id=str(event.pk)).count() == 1


def test_on_the_page_the_two_late_leaders_are_told_someone_else_handled_it(three_leaders_one_event):
    event, leaders = three_leaders_one_event
    url = reverse("grid:event_action", args=[event.pk, "handle"])

    def post(leader):
        client = Client()
        client.force_login(leader)
        return lambda: client.post(url, {"decision": "reject", "reason": "非网格事务"}, follow=True)

    results = run_together(*(post(leader) for leader in leaders))
    assert all(not isinstance(r, BaseException) for r in results), results
    assert all(r.status_code < 500 for r in results), [r.status_code for r in results]
    pages = [r.content.decode() for r in results]
    assert sum("已由他人办理" in page for page in pages) == 2
    assert AuditEntry.objects.filter(object_id=str(event.pk), action="event.reject").count() == 1


def test_three_sessions_completing_one_workflow_task_complete_it_once(three_leaders_one_event, monkeypatch):
    """The engine's own guard (workflows.engine.complete_task): the late two are told the step is taken."""
    from django.db import transaction

    from grid.event_flow import EventFlow
    from workflows import engine, sla

    event, leaders = three_leaders_one_event
    process = events._process(event)
    process.data = {**(process.data or {}), "decision": "reject"}
    process.save(update_fields=["data"])
    task = engine.open_task(process, EventFlow.handle)
    closing = sla.close_deadline

    def slow_close(task):
        closing(task)
        time.sleep(0.3)  # still inside the step's transaction when the others arrive

    monkeypatch.setattr(sla, "close_deadline", slow_close)

    def complete(leader):
        def run():
            with transaction.atomic():
                engine.complete_task(engine.Task.objects.get(pk=task.pk), by=leader)
            return "done"
        return run

    results = run_together(*(complete(leader) for leader in leaders))
    assert results.count("done") == 1, results
    lost = [r for r in results if isinstance(r, engine.StepUnavailable)]
    assert len(lost) == 2, results
    assert all("该环节已由他人办理" in str(exc) for exc in lost)
