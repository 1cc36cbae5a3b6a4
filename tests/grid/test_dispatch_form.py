"""The township's dispatch carries 派单意见, 办理要求 and a checked deadline; merge offers similar events."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from grid import case_record, events
from grid.event_lists import merge_candidates
from grid.models import CategoryRouting, Event, EventCategory
from workflows.models import TaskDeadline

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def category(county):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    CategoryRouting.objects.create(township=county.taiping, category=category, department=county.agriculture)
    return category


def report(county, personas, category, key, region=None, by="grid_member", **changes):
    data = dict(region=region or county.grid1, category=category, title=f"事件{key}", description="描述",
                occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key)
    data.update(changes)
    event, _ = events.report_event(by=personas[by], **data)
    return event


@pytest.fixture
def at_township(county, personas, category):
    event = report(county, personas, category, "t")
    events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="网格处置不了")
    events.handle_event(event, by=personas["village_cadre"], decision="escalate", reason="村里处置不了")
    return event


def dispatch(client, event, **data):
    return client.post(reverse("grid:event_action", args=[event.pk, "handle"]), {"decision": "dispatch", **data})


def test_dispatch_keeps_opinion_requirements_and_sets_the_deadline(client, county, personas, at_township):
    client.force_login(personas["township_office"])
    page = client.get(reverse("grid:event_detail", args=[at_township.pk])).content.decode()
    assert "派单意见" in page and "办理要求" in page and 'name="due_on"' in page
    due = timezone.localdate() + datetime.timedelta(days=3)
    response = dispatch(client, at_township, department=county.agriculture.pk, opinion="请农业农村办牵头处置",
                        requirements="现场核查并拍照", due_on=due.isoformat())
    assert response.status_code == 302
    at_township.refresh_from_db()
    assert at_township.status == Event.Status.DISPATCHED
    deadline = TaskDeadline.objects.get(is_open=True, **events.process_lookup(at_township, "task__process__"))
    assert timezone.localtime(deadline.due_at).date() == due
    step = case_record.timeline(at_township)[-1]
    assert (step.opinion_label, step.opinion) == ("派单意见", "请农业农村办牵头处置")
    assert ("办理要求", "现场核查并拍照") in step.details
    assert ("办理时限", f"{due.year}年{due.month}月{due.day}日") in step.details


@pytest.mark.parametrize("due_on, message", [
    ((-1), "办理时限不能早于今天。"),
    (91, "办理时限不能超过 90 天。"),
    ("明天", "请填写有效的办理时限日期（年-月-日）。"),
])
def test_bad_dispatch_deadline_gets_a_chinese_error_and_changes_nothing(client, county, personas, at_township,
                                                                       due_on, message):
    client.force_login(personas["township_office"])
    value = due_on if isinstance(due_on, str) else (timezone.localdate() + datetime.timedelta(days=due_on)).isoformat()
    response = dispatch(client, at_township, department=county.agriculture.pk, opinion="意见", due_on=value)
    assert response.status_code == 422
    assert message in response.content.decode()
    at_township.refresh_from_db()
    assert at_township.status == Event.Status.HANDLING
    assert "意见</textarea>" in response.content.decode()  # what was typed is kept


def test_dispatch_is_refused_to_a_grid_leader(client, county, personas, at_township):
    client.force_login(personas["grid_leader"])
    response = dispatch(client, at_township, department=county.agriculture.pk)
    assert response.status_code in (403, 404, 422)
    at_township.refresh_from_db()
    assert at_township.status == Event.Status.HANDLING


def test_merge_offers_same_category_nearby_recent_events(client, county, personas, category):
    other_category = EventCategory.objects.create(code="X01", name="别的小类", parent=EventCategory.objects.create(
        code="X", name="别的大类"))
    near = report(county, personas, category, "near", latitude="34.100000", longitude="112.600000")
    far = report(county, personas, category, "far", latitude="34.200000", longitude="112.700000")
    report(county, personas, other_category, "other-kind")
    report(county, personas, category, "other-grid", region=county.grid2, by="village_cadre")
    old = report(county, personas, category, "old")
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=45))
    new = report(county, personas, category, "new", latitude="34.100100", longitude="112.600100")
    rows = merge_candidates(personas["grid_leader"], new)
    assert [row.event.pk for row in rows] == [near.pk, far.pk]  # nearest first; not itself, other kinds, another grid, old
    assert rows[0].distance_m < 20
    client.force_login(personas["grid_leader"])
    page = client.get(reverse("grid:event_detail", args=[new.pk])).content.decode()
    assert f'name="duplicate_of" value="{near.pk}"' in page and "相距约" in page
    response = client.post(reverse("grid:event_action", args=[new.pk, "handle"]),
                           {"decision": "merge", "duplicate_of": near.pk, "duplicate_of_number": ""})
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.status == Event.Status.MERGED and new.duplicate_of == near
