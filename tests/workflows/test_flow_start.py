"""Event intake in one statement (PostgreSQL) writes exactly what the ORM path and viewflow's own
start write (grid.events._write_report_in_one_statement, workflows.flow_start)."""

import datetime

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.signals import flow_started

from governance import audit, one_statement, prepared_sql
from governance.models import AuditEntry, OutboxMessage
from grid import events
from grid.event_flow import EventFlow
from grid.models import Event
from workflows.models import EventProcess, TaskDeadline

pytestmark = [pytest.mark.django_db]
needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                      reason="单条语句写入只在 PostgreSQL 上使用（SQLite 走 ORM 路径）")


@pytest.fixture
def occurred():
    """An hour ago, read when the test runs (not at import); a test's reports share it (rows_of compares)."""
    return timezone.now() - datetime.timedelta(hours=1)


def report(user, region, category, key, occurred):
    return events.report_event(
        by=user, region=region, category=category, title="违建", description="村口新建棚舍",
        occurred_at=occurred, idempotency_key=key,
        latitude="30.1", longitude="120.2", address="村口",
    )


def rows_of(event: Event) -> dict:
    """Everything intake wrote for `event`, without ids and clock readings."""
    process = EventProcess.objects.get(**events.process_lookup(event))
    tasks = list(Task.objects.filter(process=process).order_by("id"))
    start, waiting = tasks
    moments = ("created", "started", "finished", "assigned", "created_at", "updated_at", "attempted_at", "due_at",
               "step_due_at")

    def plain(instance, *drop):
        data = model_to_dict(instance)
        return {key: value for key, value in data.items() if key not in {"id", *moments, *drop}}

    deadline = TaskDeadline.objects.get(task=waiting)
    [entry] = AuditEntry.objects.filter(object_type="grid.Event", object_id=str(event.pk))
    notices = list(OutboxMessage.objects.filter(args=[waiting.pk]))
    return {
        "event": plain(event, "idempotency_key"),
        "process": plain(process, "artifact_object_id"),
        "tasks": [plain(task, "process", "previous") for task in tasks],
        "previous": [list(task.previous.values_list("pk", flat=True)) == ([start.pk] if task == waiting else [])
                     for task in tasks],
        "start_done_at_start": start.started is not None and start.finished is not None,
        "deadline": (plain(deadline, "task"), deadline.due_at - waiting.created),
        "event_due_is_the_deadline": event.step_due_at == deadline.due_at,
        "audit": plain(entry, "object_id", "entry_hash", "previous_hash", "object_repr"),
        "notices": [(n.task_name, n.kwargs, n.options, n.attempts, n.sent_at) for n in notices],
    }


@needs_postgresql
def test_one_statement_writes_the_rows_of_the_orm_path_and_viewflow(
    county, personas, category, occurred, monkeypatch, django_capture_on_commit_callbacks,
):
    from governance.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)  # the notice's outbox row is kept
    member = personas["grid_member"]
    with django_capture_on_commit_callbacks(execute=False):
        monkeypatch.setattr(one_statement, "supported", lambda: False)
        by_orm, _ = report(member, county.micro1, category, "orm", occurred)
        monkeypatch.undo()
        monkeypatch.setitem(app.conf, "task_always_eager", False)
        started = []
        flow_started.connect(lambda sender, **kw: started.append(kw["process"].pk), sender=EventFlow, weak=False,
                             dispatch_uid="test_flow_start")
        try:
            with CaptureQueriesContext(connection) as queries:
                in_one, created = report(member, county.micro1, category, "one", occurred)
        finally:
            flow_started.disconnect(sender=EventFlow, dispatch_uid="test_flow_start")

    assert created and in_one.pk != by_orm.pk
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(writes) == 2, writes  # head lock drawing the ids, then every row in one INSERT
    assert rows_of(Event.objects.get(pk=in_one.pk)) == rows_of(Event.objects.get(pk=by_orm.pk))
    assert started == [EventProcess.objects.get(**events.process_lookup(in_one)).pk]
    assert audit.verify_chain()[1] is None
    assert events.current_step(in_one) == "handle"


@needs_postgresql
def test_a_repeated_report_in_one_statement_returns_the_first_and_writes_nothing(
    county, personas, category, occurred,
):
    first, created = report(personas["grid_member"], county.micro1, category, "same", occurred)
    counts = (Event.objects.count(), Task.objects.count(), AuditEntry.objects.count(), TaskDeadline.objects.count())
    again, created_again = report(personas["grid_member"], county.micro1, category, "same", occurred)
    assert created and not created_again and again.pk == first.pk
    assert (Event.objects.count(), Task.objects.count(), AuditEntry.objects.count(),
            TaskDeadline.objects.count()) == counts
    assert audit.verify_chain()[1] is None


@needs_postgresql
def test_intake_statements_are_prepared_once_and_keep_any_stored_string(county, personas, category, occurred):
    """The two intake statements are prepared in the connection on first use and reused after; the
    text a user typed reaches the database as it was typed, whatever SQL-like characters it holds."""
    awkward = "O'Brien \\ $1 %s %% -- ; /* 注释 */ \"引号\" \t末尾"
    for number in range(3):
        event, created = events.report_event(
            by=personas["grid_member"], region=county.micro1, category=category, title=f"{awkward} {number}",
            description=awkward, occurred_at=occurred, idempotency_key=f"prepared-{number}", address=awkward,
        )
        assert created
        stored = Event.objects.get(pk=event.pk)
        assert (stored.title, stored.description, stored.address) == (f"{awkward} {number}", awkward, awkward)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len([sql for sql in prepared if sql.startswith("WITH r0 AS (INSERT INTO")]) == 1, prepared
    assert len([sql for sql in prepared if "SET writes = writes + 1" in sql]) == 1, prepared
    assert audit.verify_chain()[1] is None


def test_statements_are_numbered_for_the_raw_cursor():
    assert prepared_sql.numbered("a = %s AND b LIKE 'x%%' AND c IN (%s, %s)") == \
        "a = $1 AND b LIKE 'x%' AND c IN ($2, $3)"
    assert prepared_sql.numbered("SELECT 1") == "SELECT 1"
    with pytest.raises(ValueError):
        prepared_sql.numbered("a = %d")
