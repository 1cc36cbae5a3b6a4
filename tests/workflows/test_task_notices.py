"""待办 notices: each step's holders hear of it once the step is committed; a rejected report's reporter hears why."""

import datetime

from django.test import Client
from django.utils import timezone

from governance.models import Notification
from grid import events
from tests.conftest import photo


def report(personas, county, category, key="k1"):
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title="违建", description="村口棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key,
    )
    return event


def task_notices_of(username):
    return Notification.objects.filter(kind=Notification.Kind.TASK, recipient__username=username)


def test_a_report_tells_the_grid_leader_with_the_deadline(county, personas, category, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = report(personas, county, category)
    notice = task_notices_of("grid_leader").get()
    assert f"事件 #{event.pk}" in notice.title and "待网格处置" in notice.title
    assert "前办理" in notice.body and notice.url == f"/grid/events/{event.pk}/"
    place = county.grid1.full_path.replace("/", "")  # written as a place: no separators, no tier in brackets
    assert notice.body.startswith(f"{place}：网格处置，请于 ") and "（" not in notice.body
    assert not task_notices_of("grid_member").exists()  # the reporter does not hold the triage step
    assert not task_notices_of("township_office").exists()


def test_escalation_tells_the_village_and_resolution_asks_the_reporter_to_verify(
    county, personas, category, django_capture_on_commit_callbacks
):
    event = report(personas, county, category)
    with django_capture_on_commit_callbacks(execute=True):
        events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="网格无法处理")
    assert task_notices_of("village_cadre").count() == 1
    event.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        events.handle_event(event, by=personas["village_cadre"], decision="resolve", result="已拆除", files=[photo("proof.png", size=(8, 8), colour="red", image_format="PNG")])
    verify = task_notices_of("grid_member").get()
    assert verify.title.startswith("待核实")


def test_a_notice_is_sent_once_even_if_asked_twice(county, personas, category, django_capture_on_commit_callbacks):
    from viewflow.workflow.models import Task

    from grid.task_notices import notify_task_holders

    with django_capture_on_commit_callbacks(execute=True):
        report(personas, county, category)
    task = Task.objects.filter(finished__isnull=True).exclude(flow_task_type="START").latest("id")
    assert notify_task_holders(task.pk) == 0
    assert task_notices_of("grid_leader").count() == 1


def test_rejecting_tells_the_reporter_the_reason_in_the_inbox(county, personas, category, django_capture_on_commit_callbacks):
    event = report(personas, county, category)
    with django_capture_on_commit_callbacks(execute=True):
        events.handle_event(event, by=personas["grid_leader"], decision="reject", reason="不属于网格事项")
    notice = Notification.objects.get(recipient=personas["grid_member"], kind=Notification.Kind.RESULT)
    assert "被驳回" in notice.title and "不属于网格事项" in notice.body
    client = Client()
    client.force_login(personas["grid_member"])
    page = client.get("/inbox/").content.decode()
    assert "被驳回" in page


def test_a_holder_with_an_address_gets_the_task_notice_by_email(county, personas, category, django_capture_on_commit_callbacks, mailoutbox):
    leader = personas["grid_leader"]
    leader.email = "leader@example.gov.cn"
    leader.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        report(personas, county, category)
    assert [message.to for message in mailoutbox] == [["leader@example.gov.cn"]]
    assert "待网格处置" in mailoutbox[0].subject


def _open_task(event):
    from viewflow.workflow.models import Task

    return Task.objects.filter(process__artifact_object_id=event.pk, finished__isnull=True).exclude(
        flow_task_type="START").latest("id")


def test_a_notice_reads_the_holders_of_its_own_regions_and_finds_whom_a_scan_finds(
    county, personas, category, django_capture_on_commit_callbacks
):
    """A notice reads only the posts at the event's regions (a scan reads every holder at once): at each
    step the same holders, and the same people above them, either way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from grid.task_holders import Holders, recipients_of_task

    def compare(event):
        event.refresh_from_db()
        task = _open_task(event)
        whole = recipients_of_task(task, event, Holders())
        with CaptureQueriesContext(connection) as queries:
            narrow = recipients_of_task(task, event, Holders(narrow=True))
        assert narrow == whole and narrow[0]
        post_reads = [q["sql"] for q in queries.captured_queries if 'FROM "grid_post"' in q["sql"]]
        assert post_reads and all('"grid_region"."path" IN' in sql for sql in post_reads)
        assert recipients_of_task(task, event, Holders(narrow=True), with_above=False) == (whole[0], [])
        return whole

    event = report(personas, county, category)
    holding, above = compare(event)  # the grid's step: its leader, the village above
    assert holding == [personas["grid_leader"].pk] and personas["village_cadre"].pk in above
    events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="网格无法处理")
    holding, _ = compare(event)  # the village's step
    assert personas["village_cadre"].pk in holding and personas["grid_leader"].pk not in holding
    event.refresh_from_db()
    events.handle_event(event, by=personas["village_cadre"], decision="resolve", result="已拆除",
                        files=[photo("proof.png", size=(8, 8), colour="red", image_format="PNG")])
    holding, _ = compare(event)  # verification: the reporter
    assert holding == [personas["grid_member"].pk]
