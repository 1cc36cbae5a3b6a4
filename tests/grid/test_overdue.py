"""超期 is computed from the open step's deadline and the clock (grid.models.overdue_q): an event whose
deadline passed a minute ago is overdue on every list, count, map, export and phone page with no 督办 scan
run; one due later is not; a new step brings a new deadline; a closed event never is."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from config import dashboards
from governance.models import AuditEntry
from grid import events, region_map
from grid.models import Event
from tests.conftest import photo
from workflows.models import TaskDeadline

pytestmark = pytest.mark.usefixtures("media_in_tmp")
OVERDUE_TAG = '<span class="gv-tag gv-tag--danger">超期</span>'


def report(personas, county, category, title):
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title=title, description=f"{title}，村口",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=title,
        latitude="34.105", longitude="112.605",
    )
    return event


@pytest.fixture
def late(county, personas, category):
    """Two events at 第1网格's triage: 路灯损坏 (reported first) due a minute ago, 垃圾堆放 due in a day."""
    late = report(personas, county, category, "路灯损坏")
    report(personas, county, category, "垃圾堆放")
    events.set_step_due(late, timezone.now() - datetime.timedelta(minutes=1))
    return late


def fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_an_event_past_its_deadline_is_overdue_without_any_scan(late):
    on_time = Event.objects.get(title="垃圾堆放")
    assert not TaskDeadline.objects.filter(supervised_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="event.supervised").exists()
    assert list(Event.objects.overdue()) == [late]
    assert late.is_overdue and Event.objects.get(pk=late.pk).is_overdue
    assert not on_time.is_overdue and on_time.step_due_at > timezone.now() + datetime.timedelta(hours=23)


def test_the_event_list_filters_sorts_and_tags_it(client, personas, late):
    client.force_login(personas["township_office"])
    newest = client.get(reverse("grid:events")).content.decode()
    assert newest.index("垃圾堆放") < newest.index("路灯损坏") and newest.count(OVERDUE_TAG) == 1
    overdue_first = client.get(reverse("grid:events"), {"sort": "overdue"}).content.decode()
    assert overdue_first.index("路灯损坏") < overdue_first.index("垃圾堆放")
    only = client.get(reverse("grid:events"), {"overdue": "on", "status": "open"}).content.decode()
    assert "路灯损坏" in only and "垃圾堆放" not in only


def test_my_tasks_filter_and_deadline_cell(client, personas, late):
    client.force_login(personas["grid_leader"])
    page = client.get(reverse("grid:my_tasks")).content.decode()
    assert page.count(OVERDUE_TAG) == 1 and page.index("路灯损坏") < page.index("垃圾堆放")
    assert page.count('class="gv-tag gv-tag--danger">' + timezone.localtime(late.step_due_at).strftime("%Y-%m-%d")) == 1
    only = client.get(reverse("grid:my_tasks"), {"overdue": "on"}).content.decode()
    assert "路灯损坏" in only and "垃圾堆放" not in only


def test_the_map_counts_and_colours_it(client, county, personas, late):
    committee = personas["township_committee"]
    data = region_map.build_map(committee, county.taiping)
    louxing = next(area for area in data.areas if area.region == county.louxing)
    assert (louxing.open, louxing.overdue) == (2, 1) and data.total == (2, 1)
    colours = {point.title: region_map.point_colour(point, data.now) for point in data.points}
    assert colours == {"路灯损坏": region_map.OVERDUE_COLOUR, "垃圾堆放": region_map.URGENCY_COLOURS["normal"]}
    client.force_login(committee)
    page = client.get(reverse("grid:map")).content.decode()
    assert '<td data-label="其中超期"><span class="gv-tag gv-tag--danger">1</span>' in page


def test_the_dashboards_count_it(client, personas, late):
    assert dashboards.dashboard_for(fresh(personas["county_office"])).overdue_events == 1
    assert dashboards.dashboard_for(fresh(personas["township_committee"])).overdue_events == 1
    board = dashboards.dashboard_for(fresh(personas["grid_leader"]))
    assert (board.task_count, board.overdue_tasks) == (2, 1)
    assert [(row.event.title, row.is_late) for row in board.tasks] == [("路灯损坏", True), ("垃圾堆放", False)]
    assert board.tasks[0].due_at == late.step_due_at


def test_the_export_marks_it(client, personas, late):
    client.force_login(personas["township_office"])
    sheet = load_workbook(io.BytesIO(client.get(reverse("grid:event_export")).content)).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("超期")
    assert {row[1]: row[column] for row in rows[1:]} == {"路灯损坏": "是", "垃圾堆放": None}


def test_the_phone_page_and_the_home_page_tag_it(client, personas, late):
    client.force_login(personas["grid_leader"])
    phone = client.get(reverse("grid:mobile")).content.decode()
    assert phone.count(OVERDUE_TAG) == 1 and phone.index("路灯损坏") < phone.index("垃圾堆放")
    home = client.get("/").content.decode()
    assert 'gv-kpi__value">1</span><span class="gv-kpi__label">其中已超期' in home


def test_escalated_to_a_new_tier_it_is_no_longer_overdue(county, personas, late):
    escalated = events.handle_event(late, by=personas["grid_leader"], decision="escalate", reason="需村里协调")
    stored = Event.objects.get(pk=late.pk)
    assert stored.handling_region == county.louxing
    assert not escalated.is_overdue and not stored.is_overdue
    assert stored.step_due_at == TaskDeadline.objects.get(is_open=True, task__process__artifact_object_id=late.pk).due_at
    assert stored.step_due_at > timezone.now()
    assert not Event.objects.overdue().exists()


def test_a_closed_event_is_never_overdue(personas, late):
    events.handle_event(late, by=personas["grid_leader"], decision="resolve", result="已修复", files=[photo()])
    closed = events.verify_event(late, by=personas["grid_member"], satisfied=True)
    assert closed.status == Event.Status.CLOSED and closed.step_due_at is None and not closed.is_overdue
    Event.objects.filter(pk=late.pk).update(step_due_at=timezone.now() - datetime.timedelta(days=1))
    assert not Event.objects.get(pk=late.pk).is_overdue and not Event.objects.overdue().exists()


def test_a_rejected_event_keeps_no_deadline(personas, late):
    rejected = events.handle_event(late, by=personas["grid_leader"], decision="reject", reason="不属于网格事项")
    assert rejected.status == Event.Status.REJECTED and rejected.step_due_at is None
    assert Event.objects.get(pk=late.pk).step_due_at is None


def test_every_page_of_overdue_first_is_the_one_order_by_read_in_two_parts(county, personas, category):
    """The list reads "超期的在前" as the overdue events, then the others, each newest first: every page
    (across the boundary and past the end) holds the rows the single ORDER BY gives."""
    from governance.paging import UncountedPage
    from grid.event_lists import EventFilters, events_for_list_page, region_events

    now = timezone.now()
    for n in range(11):
        event = report(personas, county, category, f"事件{n}")
        if n % 3 == 0:  # every third overdue, some of them old, some new
            events.set_step_due(event, now - datetime.timedelta(minutes=n + 1))
    Event.objects.filter(title="事件4").update(step_due_at=None)  # open without a deadline: not overdue
    Event.objects.filter(title="事件7").update(status=Event.Status.CLOSED,  # past its deadline but closed
                                             step_due_at=now - datetime.timedelta(days=1))
    office = fresh(personas["township_office"])
    filters = EventFilters(sort="overdue")
    expected = [event.pk for event in region_events(office, filters)]
    assert len(expected) == 11 and [Event.objects.get(pk=pk).is_overdue for pk in expected[:4]] == [True] * 4
    for per_page in (2, 3, 4, 5, 50):
        for number in range(1, 8):
            page = UncountedPage(events_for_list_page(office, filters), number, per_page)
            start = (page.number - 1) * per_page
            assert [event.pk for event in page] == expected[start:start + per_page], (per_page, number)
            assert page.has_next() == (start + per_page < len(expected))
