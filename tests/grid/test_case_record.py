"""An event's case record keeps every opinion: who, when, where, the decision, the reason and the files,
the same on the page, in the API and in the export; the list's newest-first order is by report time."""

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance import audit
from grid import case_record, events
from grid.models import CategoryRouting, Event, EventCategory
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def category(county):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    CategoryRouting.objects.create(township=county.taiping, category=category, department=county.agriculture)
    return category


def report(county, personas, category, key="k1", **changes):
    data = dict(region=county.grid1, category=category, title="村口违建", description="村口新建棚舍占道",
                occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key,
                files=[photo("before.jpg", colour="red")])
    data.update(changes)
    event, _ = events.report_event(by=personas["grid_member"], **data)
    return event


@pytest.fixture
def climbed(county, personas, category):
    """Reported with a photo, escalated twice with reasons, dispatched, resolved by the department with a photo."""
    event = report(county, personas, category)
    events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="涉及多户，网格无法协调")
    events.handle_event(event, by=personas["village_cadre"], decision="escalate", reason="需执法部门拆除")
    events.handle_event(event, by=personas["township_office"], decision="dispatch")
    events.department_handle_event(event, by=personas["department"], decision="resolve", result="已拆除违建棚舍",
                                   files=[photo("after.jpg", colour="blue")])
    event.refresh_from_db()
    return event


def test_escalation_reasons_are_kept_after_the_department_result(climbed):
    steps = case_record.timeline(climbed)
    assert [step.label for step in steps] == [
        "上报事件", "上报上一级（网格处置）", "上报上一级（村级处置）", "派单至部门（乡镇处置）", "部门办结（部门办理）"]
    assert [(step.opinion_label, step.opinion) for step in steps[1:3]] == [
        ("上报理由", "涉及多户，网格无法协调"), ("上报理由", "需执法部门拆除")]
    assert (steps[4].opinion_label, steps[4].opinion) == ("办理结果", "已拆除违建棚舍")
    assert climbed.result == "已拆除违建棚舍"  # the result field holds the result only
    assert [step.where for step in steps[1:4]] == ["第1网格", "楼星村", "太平镇"]
    assert ("承办部门", "农业农村办") in steps[3].details


def test_report_and_disposal_photos_are_labelled_before_and_after(climbed):
    steps = case_record.timeline(climbed)
    assert [(item.role, item.attachment.original_name) for item in steps[0].evidence] == [("上报照片", "before.jpg")]
    assert [(item.role, item.attachment.original_name) for item in steps[4].evidence] == [("处置照片", "after.jpg")]


def test_detail_page_shows_every_step_with_its_reason(client, climbed, personas):
    client.force_login(personas["township_committee"])
    page = client.get(reverse("grid:event_detail", args=[climbed.pk])).content.decode()
    assert "办理经过" in page
    for text in ("涉及多户，网格无法协调", "需执法部门拆除", "已拆除违建棚舍", "上报照片（处置前）", "处置照片（处置后）",
                 "承办部门：农业农村办"):
        assert text in page
    assert "[上报]" not in page


def test_old_escalation_rows_are_read_from_their_snapshots(county, personas, category):
    """Rows written before the opinion was kept: the reason was appended to the result as "[上报] …"."""
    event = report(county, personas, category, key="old")
    audit.record("event.escalate", actor=personas["grid_leader"], obj=event,
                 before={"result": "", "handling_region": county.grid1.pk},
                 after={"result": "[上报] 老数据的上报理由", "handling_region": county.louxing.pk})
    step = case_record.timeline(event)[-1]
    assert (step.opinion_label, step.opinion, step.where) == ("上报理由", "老数据的上报理由", "第1网格")


def test_api_event_detail_has_the_same_timeline(client, climbed, personas):
    client.force_login(personas["township_office"])
    body = client.get(reverse("api:event_detail", args=[climbed.pk])).json()
    timeline = body["timeline"]
    assert [row["opinion"] for row in timeline[1:3]] == ["涉及多户，网格无法协调", "需执法部门拆除"]
    assert timeline[0]["evidence"][0]["role"] == "上报照片"
    assert timeline[4]["evidence"][0]["role"] == "处置照片"
    assert timeline[4]["evidence"][0]["url"].startswith("http")


def test_export_has_the_case_record_column(client, climbed, personas):
    client.force_login(personas["township_office"])
    response = client.get(reverse("grid:event_export"))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming
                                      else response.content)).active
    headers = [cell.value for cell in sheet[1]]
    record = sheet.cell(row=2, column=headers.index("办理经过") + 1).value
    assert "上报理由：涉及多户，网格无法协调" in record and "上报理由：需执法部门拆除" in record
    assert "办理结果：已拆除违建棚舍；处置照片 1 份" in record


def test_case_record_is_refused_to_users_outside_the_region(client, climbed, personas):
    client.force_login(personas["inspection_group"])
    assert client.get(reverse("api:event_detail", args=[climbed.pk])).status_code in (403, 404)
    assert client.get(reverse("grid:event_detail", args=[climbed.pk])).status_code in (403, 404)


def test_newest_report_first_sorts_by_report_time_not_number(client, county, personas, category):
    late = report(county, personas, category, key="a", files=[], title="后编号但早上报")
    Event.objects.filter(pk=late.pk).update(created_at=timezone.now() - datetime.timedelta(days=30))  # imported
    report(county, personas, category, key="b", files=[], title="先编号")
    newest = report(county, personas, category, key="c", files=[], title="最新上报")
    client.force_login(personas["township_office"])
    page = client.get(reverse("grid:events")).content.decode()
    assert page.index("最新上报") < page.index("先编号") < page.index("后编号但早上报")
    oldest = client.get(reverse("grid:events") + "?sort=oldest").content.decode()
    assert oldest.index("后编号但早上报") < oldest.index("先编号")
    assert newest.pk > late.pk


def test_steps_name_the_actor_as_now_and_a_removed_account_by_its_kept_name(client, climbed, personas):
    leader, member = personas["grid_leader"], personas["grid_member"]
    leader.first_name, leader.last_name = "新", "名字"
    leader.save(update_fields=["first_name", "last_name"])
    steps = case_record.timeline(climbed)
    assert steps[1].actor == "新 名字"
    gone = User.objects.create_user("temp_clerk", first_name="临", last_name="时")
    audit.record("event.supervised", actor=gone, obj=climbed, after={"opinion": "请加快办理"})
    assert case_record.timeline(climbed)[-1].actor == "临 时"
    gone.delete()
    steps = case_record.timeline(climbed)
    assert steps[-1].actor == "temp_clerk"  # the name kept in the row when the step was taken
    client.force_login(personas["township_committee"])
    page = client.get(reverse("grid:event_detail", args=[climbed.pk])).content.decode()
    assert f"<dt>上报人</dt><dd>{member.get_full_name() or member.username}，" in page


def test_the_reporter_read_with_the_case_record_is_the_whole_account(climbed, personas):
    event = Event.objects.get(pk=climbed.pk)
    case_record.timeline(event)
    assert Event.reporter.is_cached(event)
    member = personas["grid_member"]
    assert (event.reporter.pk, event.reporter.username, event.reporter.get_full_name()) == (
        member.pk, member.username, member.get_full_name())
    assert event.reporter.email == member.email and event.reporter.is_active  # the rest is read when asked for
