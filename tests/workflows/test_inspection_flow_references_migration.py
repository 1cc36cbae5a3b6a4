"""A database made before the inspection flows moved into inspection/patrol/ and inspection/rounds/ keeps
'inspection/patrol_report_flow…' and 'inspection/mobile_inspection_flow…' references; the migration rewrites
them, and the processes in flight go on to the end."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from viewflow.workflow.models import Process, Task

from grid import services
from grid.models import Role
from inspection.models import PatrolReport, RoundTarget
from inspection.patrol import reports
from inspection.patrol.report_flow import PatrolReportFlow
from inspection.rounds import round_services
from inspection.rounds.mobile_inspection_flow import MobileInspectionFlow
from tests.inspection.test_reports import item, submit  # noqa: F401 (item is a fixture)
from tests.inspection.test_rounds import make_group, make_round

migration = importlib.import_module("workflows.migrations.0007_inspection_flows_in_their_subpackages")
EDITOR = SimpleNamespace(connection=connection)
OLD = {"inspection/patrol_report_flow.PatrolReportFlow", "inspection/mobile_inspection_flow.MobileInspectionFlow"}
NEW = {"inspection/patrol.report_flow.PatrolReportFlow", "inspection/rounds.mobile_inspection_flow.MobileInspectionFlow"}

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def people(county, personas):
    users = dict(personas)
    users["zu_member"], _ = services.ensure_user("zu_member", password="x")
    services.create_post(user=users["zu_member"], role=Role.objects.get(key="inspection_group"), region=county.zhaocun)
    return users


def stored_references():
    with connection.cursor() as cursor:
        cursor.execute("SELECT flow_class FROM viewflow_process ORDER BY id")
        processes = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT flow_task FROM viewflow_task ORDER BY id")
        tasks = [row[0] for row in cursor.fetchall()]
    return processes, tasks


def open_steps(flow_class):
    return sorted(task.flow_task.name for task in Task.objects.filter(process__flow_class=flow_class, status="NEW"))


def test_a_patrol_report_and_a_mobile_proposal_in_flight_under_the_old_references_go_on_after_the_migration(
        county, people, item, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(people, county, item)
        group = make_group(people, make_round(people, county), county.zhaocun)
        proposal = round_services.propose_mobile(by=people["inspection_group"], group=group, village=county.henan,
                                                 reason="群众来信反映集体资金使用不规范")
    task_count = Task.objects.count()

    migration.backwards(None, EDITOR)  # the rows as a database of the release before the move holds them
    processes, tasks = stored_references()
    assert processes == OLD
    assert {task.rsplit(".", 1)[0] for task in tasks} == OLD

    migration.forwards(None, EDITOR)
    processes, tasks = stored_references()
    assert processes == NEW
    assert "inspection/patrol.report_flow.PatrolReportFlow.verify" in tasks
    assert "inspection/rounds.mobile_inspection_flow.MobileInspectionFlow.decide" in tasks
    assert Process.objects.count() == 2 and Task.objects.count() == task_count  # nothing lost
    assert open_steps(PatrolReportFlow) == ["verify"] and open_steps(MobileInspectionFlow) == ["decide"]

    with django_capture_on_commit_callbacks(execute=True):
        report = reports.verify_report(
            report, by=people["department"], verdict="true", note="现场核实属实")
        round_services.decide_proposal(proposal, by=people["leading_group"], approve=True, note="同意")
    report.refresh_from_db()
    assert report.verdict == PatrolReport.Verdict.TRUE and report.registration_number
    assert open_steps(PatrolReportFlow) == ["follow_up"]
    assert Process.objects.get(flow_class=MobileInspectionFlow).status == "DONE"
    assert RoundTarget.objects.get(round=group.round, organisation=county.henan).is_mobile


def test_a_second_run_changes_nothing(county, people, item):  # noqa: F811
    submit(people, county, item)
    before = stored_references()
    migration.forwards(None, EDITOR)
    assert stored_references() == before
