"""Every /api/v1/ endpoint: a user outside the record's region gets 404 for it and never sees it in a list;
a user with no post at all is refused; and the schema lists exactly the endpoints tested here."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from governance.evidence import attachments_of
from tests.api.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(county, people, event, patrol_report, plan, published_notice):
    item = plan.items.get()
    from rectification import services as rect_services

    rect_services.update_item(item, by=people["township_committee"], responsible_leader="张书记", responsible_unit="党政办",
                              measures="逐户排查", deadline=timezone.localdate() + timezone.timedelta(days=30))
    return {"event": event, "report": patrol_report, "plan": plan, "item": item, "notice": published_notice}


@pytest.fixture
def progress_file(world, people):
    from rectification import services as rect_services
    from tests.conftest import photo

    entry = rect_services.report_progress(world["item"], by=people["township_committee"],
                                          reported_on=timezone.localdate(), text="已排查", files=[photo()])
    return attachments_of(entry).get()


# (list url name, detail url name, record key, a user who sees it, a user of another region with the same role)
SCOPED = [
    ("api:events", "api:event_detail", "event", "township_office", "zhaocun_office"),
    ("api:patrol_reports", "api:patrol_report_detail", "report", "township_office", "zhaocun_office"),
    ("api:plans", "api:plan_detail", "plan", "township_committee", "zhaocun_committee"),
    ("api:items", "api:item_detail", "item", "township_committee", "zhaocun_committee"),
]


@pytest.mark.parametrize(("list_name", "detail_name", "key", "insider", "outsider"), SCOPED)
def test_other_region_gets_404_and_an_empty_list(world, people, list_name, detail_name, key, insider, outsider):
    record = world[key]
    inside, outside = api_as(people[insider]), api_as(people[outsider])
    assert record.pk in [row["id"] for row in inside.get(reverse(list_name)).json()["results"]]
    assert inside.get(reverse(detail_name, args=[record.pk])).status_code == 200
    listed = outside.get(reverse(list_name))
    assert listed.status_code == 200 and record.pk not in [row["id"] for row in listed.json()["results"]]
    response = outside.get(reverse(detail_name, args=[record.pk]))
    assert response.status_code == 404 and response.json()["detail"] == "对象不存在或无权查看。"


@pytest.mark.parametrize("name", ["api:events", "api:patrol_reports", "api:plans", "api:items"])
def test_a_user_without_any_post_is_refused_lists(world, people, name):
    assert api_as(people["outsider"]).get(reverse(name)).status_code == 403


def test_my_tasks_of_another_grid_leader_do_not_show_the_event(world, people):
    assert world["event"].pk in [r["id"] for r in api_as(people["grid_leader"]).get(reverse("api:tasks")).json()["results"]]
    assert api_as(people["leader2"]).get(reverse("api:tasks")).json()["results"] == []
    assert api_as(people["outsider"]).get(reverse("api:tasks")).json()["results"] == []


@pytest.mark.parametrize("action", ["api:event_handle", "api:event_department", "api:event_verify", "api:event_rate"])
def test_event_actions_from_another_region_are_404_and_change_nothing(world, people, action):
    event = world["event"]
    response = api_as(people["zhaocun_office"]).post(reverse(action, args=[event.pk]), {"decision": "resolve"}, format="json")
    assert response.status_code == 404
    event.refresh_from_db()
    assert event.status == "handling"


@pytest.mark.parametrize("action", ["api:item_progress", "api:item_claim"])
def test_item_actions_from_another_region_are_404(world, people, action):
    response = api_as(people["zhaocun_committee"]).post(
        reverse(action, args=[world["item"].pk]), {"reported_on": timezone.localdate().isoformat(), "text": "x"},
        format="multipart")
    assert response.status_code == 404
    assert world["item"].progress.count() == 0


def test_attachments_of_records_outside_are_404(world, people):
    event, report = world["event"], world["report"]
    event_file = attachments_of(event).get()
    report_file = attachments_of(report).get()
    outside = api_as(people["zhaocun_office"])
    assert outside.get(reverse("api:event_attachment", args=[event.pk, event_file.pk])).status_code == 404
    assert outside.get(reverse("api:patrol_report_attachment", args=[report.pk, report_file.pk])).status_code == 404
    # Nor can a visible record be used to fetch another record's file.
    assert api_as(people["township_office"]).get(
        reverse("api:patrol_report_attachment", args=[report.pk, event_file.pk])).status_code == 404
    assert api_as(people["township_office"]).get(
        reverse("api:event_attachment", args=[event.pk, report_file.pk])).status_code == 404


def test_regions_outside_are_404_and_not_listed(world, county, people):
    outside = api_as(people["zhaocun_office"])
    ids = [row["id"] for row in outside.get(reverse("api:regions"), {"page_size": 200}).json()["results"]]
    assert county.zhaocun.pk in ids and county.taiping.pk not in ids and county.grid1.pk not in ids
    assert outside.get(reverse("api:region_detail", args=[county.grid1.pk])).status_code == 404


def test_public_notices_need_no_login_but_nothing_else_does(world):
    anonymous = APIClient()
    assert anonymous.get(reverse("api:notices")).status_code == 200
    for name, args in (("api:me", []), ("api:categories", []), ("api:regions", []), ("api:tasks", []),
                       ("api:patrol_scores", []), ("api:event_detail", [world["event"].pk]),
                       ("api:item_detail", [world["item"].pk])):
        assert anonymous.get(reverse(name, args=args)).status_code in (401, 403), name


def test_the_schema_exposes_no_inspection_findings_talks_or_clues(client):
    schema = client.get(reverse("api_schema"), {"format": "json"}).json()
    text = str(schema).lower()
    for word in ("clue", "finding", "talk", "线索", "谈话"):
        assert word not in text, word
    operations = {(path, method) for path, methods in schema["paths"].items() for method in methods}
    assert len(operations) == 26
    tested = {"/api/v1/events/", "/api/v1/events/{id}/", "/api/v1/patrol/reports/", "/api/v1/patrol/reports/{id}/",
              "/api/v1/rectification/plans/", "/api/v1/rectification/plans/{id}/", "/api/v1/rectification/items/",
              "/api/v1/rectification/items/{id}/", "/api/v1/regions/", "/api/v1/regions/{id}/", "/api/v1/tasks/"}
    assert tested <= set(schema["paths"])


def test_rectification_evidence_outside_is_404(world, people, progress_file):
    item = world["item"]
    url = reverse("api:item_attachment", args=[item.pk, progress_file.pk])
    assert api_as(people["township_committee"]).get(url).status_code == 200
    assert api_as(people["zhaocun_committee"]).get(url).status_code == 404
    detail = api_as(people["zhaocun_committee"]).get(reverse("api:item_detail", args=[item.pk]))
    assert detail.status_code == 404


def test_event_detail_of_another_grid_shows_nothing_to_its_leader(world, people):
    """The grid leader of 第2网格 (same village) may not see 第1网格's event: 404, and not in the list."""
    leader2 = api_as(people["leader2"])
    assert leader2.get(reverse("api:event_detail", args=[world["event"].pk])).status_code == 404
    assert world["event"].pk not in [r["id"] for r in leader2.get(reverse("api:events")).json()["results"]]
