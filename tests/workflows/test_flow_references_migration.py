"""A database made before the flows moved beside their domains keeps 'workflows/…' flow references;
the migration rewrites them, and a process in flight goes on to the end."""

import datetime
import importlib
from types import SimpleNamespace

from django.db import connection
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from grid import events

migration = importlib.import_module("workflows.migrations.0006_flows_beside_their_domains")
EDITOR = SimpleNamespace(connection=connection)


def stored_references():
    with connection.cursor() as cursor:
        cursor.execute("SELECT flow_class FROM viewflow_process ORDER BY id")
        processes = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT flow_task FROM viewflow_task ORDER BY id")
        tasks = [row[0] for row in cursor.fetchall()]
    return processes, tasks


def test_an_event_in_flight_under_the_old_references_goes_on_after_the_migration(county, personas, category):
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.micro1, category=category, title="违建", description="村口新建棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="k1",
    )
    migration.backwards(None, EDITOR)  # the rows as the database before the move held them
    processes, tasks = stored_references()
    assert processes == ["workflows/event_flow.EventFlow"]
    assert {task.rsplit(".", 1)[0] for task in tasks} == {"workflows/event_flow.EventFlow"}

    migration.forwards(None, EDITOR)
    processes, tasks = stored_references()
    assert processes == ["grid/event_flow.EventFlow"]
    assert "grid/event_flow.EventFlow.handle" in tasks
    assert Process.objects.count() == 1 and Task.objects.count() == len(tasks)  # nothing lost

    events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="需村里协调")
    event.refresh_from_db()  # the waiting step was taken, and the flow opened the next one
    assert event.handling_region == county.louxing and events.current_step(event) == "handle"


def test_the_migration_leaves_other_references_alone(county, personas, category):
    events.report_event(
        by=personas["grid_member"], region=county.micro1, category=category, title="违建", description="村口新建棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="k1",
    )
    before = stored_references()
    migration.forwards(None, EDITOR)  # already the new references: a second run changes nothing
    assert stored_references() == before
