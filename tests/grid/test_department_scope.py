"""A department sees the events dispatched to it (its 承办 events), not every event of its township:
on the list and its search, the event page, its evidence files, the API, the map and the home page."""

import pytest
from django.urls import reverse

from governance.models import Attachment
from grid import services
from grid.access import scope
from grid.models import Department, Event, Role
from tests.api.conftest import api_as
from tests.conftest import photo
from tests.grid.test_event_pages import as_user, report_via_page, step

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def world(client, county, personas, category):
    """Three reports of 楼星村, escalated to 太平镇: one waits at the township office, one is dispatched
    to 农业农村办 (the `department` persona's), one to 城建办 (another user's)."""
    construction = Department.objects.create(name="城建办", region=county.taiping)
    builder, _ = services.ensure_user("chengjianban", password="x")
    services.create_post(user=builder, role=Role.objects.get(key="department"), region=county.taiping,
                         department=construction)
    events = {}
    for key, title in (("waiting", "村口违建"), ("ours", "秸秆焚烧"), ("theirs", "道路塌陷")):
        as_user(client, personas["grid_member"])
        report_via_page(client, county, category, idempotency_key=key, title=title)
        event = Event.objects.get(title=title)
        as_user(client, personas["grid_leader"])
        step(client, event, "handle", decision="escalate", reason="需村里协调")
        as_user(client, personas["village_cadre"])
        step(client, event, "handle", decision="escalate", reason="村里解决不了")
        events[key] = event
    as_user(client, personas["township_office"])
    for key, department in (("ours", county.agriculture), ("theirs", construction)):
        response = step(client, events[key], "handle", decision="dispatch", department=department.pk)
        assert response.status_code == 302
    for event in events.values():
        event.refresh_from_db()
    assert events["ours"].department == county.agriculture and events["theirs"].department == construction
    return events


def listed_titles(client, **params) -> set[str]:
    html = client.get(reverse("grid:events"), params).content.decode()
    return {title for title in ("村口违建", "秸秆焚烧", "道路塌陷") if title in html}


def test_the_department_lists_and_finds_only_the_events_dispatched_to_it(client, personas, world):
    as_user(client, personas["township_office"])
    assert listed_titles(client) == {"村口违建", "秸秆焚烧", "道路塌陷"}  # the township sees them all
    as_user(client, personas["department"])
    assert listed_titles(client) == {"秸秆焚烧"}
    assert listed_titles(client, q="道路") == set()
    assert listed_titles(client, q="秸秆") == {"秸秆焚烧"}
    menu = client.get(reverse("grid:events")).content.decode()
    assert reverse("grid:events") in menu and reverse("grid:map") not in menu
    assert client.get(reverse("grid:map")).status_code == 403


def test_another_events_page_and_evidence_are_missing_for_the_department(client, personas, world):
    as_user(client, personas["department"])
    for key, expected in (("ours", 200), ("waiting", 404), ("theirs", 404)):
        event = world[key]
        assert client.get(reverse("grid:event_detail", args=[event.pk])).status_code == expected, key
        attachment = Attachment.objects.get(owner_id=event.pk, owner_type__model="event")
        assert client.get(reverse("evidence", args=[attachment.pk])).status_code == expected, key
        assert client.get(reverse("evidence_thumb", args=[attachment.pk])).status_code == expected, key
        assert client.get(reverse("grid:event_process_chart", args=[event.pk])).status_code == expected, key


def test_the_api_gives_the_department_only_its_events(personas, world):
    api = api_as(personas["department"])
    listed = api.get(reverse("api:events"), HTTP_ACCEPT="application/json").json()
    assert [row["id"] for row in listed["results"]] == [world["ours"].pk]
    assert api.get(reverse("api:event_detail", args=[world["theirs"].pk]), HTTP_ACCEPT="application/json").status_code == 404
    assert api.get(reverse("api:event_detail", args=[world["ours"].pk]), HTTP_ACCEPT="application/json").status_code == 200


def test_the_department_keeps_what_it_resolved_and_loses_what_it_sent_back(client, personas, world):
    department = personas["department"]
    as_user(client, department)
    response = step(client, world["ours"], "department", decision="resolve", result="已清理", files=[photo()])
    assert response.status_code == 302
    world["ours"].refresh_from_db()
    assert world["ours"].status == Event.Status.VERIFYING
    assert listed_titles(client) == {"秸秆焚烧"}
    builder = services.ensure_user("chengjianban", password="x")[0]
    as_user(client, builder)
    assert listed_titles(client) == {"道路塌陷"}
    assert step(client, world["theirs"], "department", decision="send_back", reason="不属本部门职责").status_code == 302
    assert listed_titles(client) == set()
    assert client.get(reverse("grid:event_detail", args=[world["theirs"].pk])).status_code == 404


def test_a_post_ended_or_in_no_department_sees_nothing(personas, world):
    department = personas["department"]
    assert set(scope(department, Event.objects.all(), "grid.view_event")) == {world["ours"]}
    post = department.posts.get()
    post.department = None
    post.save()
    department = type(department).objects.get(pk=department.pk)
    assert not scope(department, Event.objects.all(), "grid.view_event").exists()
    assert not department.has_perm("grid.view_event", world["ours"])
