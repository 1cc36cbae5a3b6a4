"""Extra fields of a category (路灯编号, 隐患类型, 涉及户数): declared once, shown as Open311 service
attributes, checked the same way on Open311 POST, the web report form and the REST API, shown on the case."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api import credentials
from governance.models import AuditEntry
from grid import boundaries
from grid.models import CategoryAttribute, Event, EventCategory
from tests.api.conftest import api_as

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def lamp(db):
    parent = EventCategory.objects.create(code="SS", name="市政设施", is_public=True)
    category = EventCategory.objects.create(code="SS01", name="路灯损坏", parent=parent, is_public=True)
    CategoryAttribute.objects.create(category=category, code="lamp_no", name="路灯编号", sort_order=1,
                                     description="灯杆上的编号")
    CategoryAttribute.objects.create(category=category, code="hazard", name="隐患类型", datatype="singlevaluelist",
                                     required=True, choices="不亮\n倒伏\n漏电", sort_order=2)
    CategoryAttribute.objects.create(category=category, code="households", name="涉及户数", datatype="number",
                                     sort_order=3)
    CategoryAttribute.objects.create(category=category, code="times", name="时段", datatype="multivaluelist",
                                     choices="白天\n夜间", sort_order=4)
    return category


@pytest.fixture
def api_key(county):
    boundaries.set_boundary(county.grid1, {"type": "Polygon", "coordinates": [
        [[120.0, 30.0], [120.01, 30.0], [120.01, 30.01], [120.0, 30.01], [120.0, 30.0]]]}, by=None)
    _, key = credentials.create_open311_client(by=None, name="12345 热线", jurisdiction=county.county)
    return key


def open311_post(key, **data):
    body = {"api_key": key, "service_code": "SS01", "lat": "30.005", "long": "120.005", **data}
    return APIClient().post(reverse("open311:requests", kwargs={"fmt": "json"}), body)


def test_service_definition_lists_the_attributes_in_order(lamp):
    services = APIClient().get(reverse("open311:services", kwargs={"fmt": "json"})).json()
    assert next(s for s in services if s["service_code"] == "SS01")["metadata"] is True
    assert next(s for s in services if s["service_code"] == "AW01")["metadata"] is False
    definition = APIClient().get(reverse("open311:service_definition", kwargs={"fmt": "json", "code": "SS01"})).json()
    attributes = definition["attributes"]
    assert [a["code"] for a in attributes] == ["lamp_no", "hazard", "households", "times"]
    assert [a["order"] for a in attributes] == [1, 2, 3, 4]
    hazard = attributes[1]
    assert hazard["required"] is True and hazard["datatype"] == "singlevaluelist" and hazard["variable"] is True
    assert hazard["values"] == [{"key": "不亮", "name": "不亮"}, {"key": "倒伏", "name": "倒伏"}, {"key": "漏电", "name": "漏电"}]
    assert attributes[0]["description"] == "路灯编号：灯杆上的编号"


@pytest.mark.parametrize(("data", "message"), [
    ({}, "请填写隐患类型。"),
    ({"attribute[hazard]": "冒烟"}, "隐患类型：“冒烟”不是可选的值"),
    ({"attribute[hazard]": "不亮", "attribute[households]": "三户"}, "涉及户数须为整数。"),
    ({"attribute[hazard]": "不亮", "attribute[colour]": "红"}, "没有附加字段“colour”"),
    ({"attribute[hazard]": "不亮", "attribute[times][]": ["白天", "凌晨"]}, "时段：“凌晨”不是可选的值"),
])
def test_open311_post_checks_the_attributes(lamp, api_key, data, message):
    response = open311_post(api_key, **data)
    assert response.status_code == 400 and message in response.json()[0]["description"]
    assert not Event.objects.exists()


def test_open311_post_stores_the_attributes_and_the_case_shows_them(lamp, api_key, client, personas):
    response = open311_post(api_key, **{"attribute[hazard]": "倒伏", "attribute[lamp_no]": "LX-017",
                                        "attribute[households]": "12", "attribute[times][]": ["白天", "夜间"]})
    assert response.status_code == 201, response.content
    event = Event.objects.get()
    assert event.attributes == {"lamp_no": "LX-017", "hazard": "倒伏", "households": 12, "times": ["白天", "夜间"]}
    entry = AuditEntry.objects.get(action="event.report", object_id=str(event.pk))
    assert entry.after["attributes"]["lamp_no"] == "LX-017"
    client.force_login(personas["grid_leader"])
    page = client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    assert "路灯编号" in page and "LX-017" in page and "白天、夜间" in page


def test_web_form_requires_the_chosen_categorys_fields_only(lamp, county, client, personas):
    other = EventCategory.objects.get(code="WS01")
    client.force_login(personas["grid_member"])
    page = client.get(reverse("grid:event_report")).content.decode()
    assert "隐患类型（路灯损坏）" in page and f'data-attribute-of="{lamp.pk}"' in page
    data = {"idempotency_key": "k-1", "region": county.grid1.pk, "category": lamp.pk, "title": "路灯倒伏",
            "description": "村口路灯倒伏", "urgency": "normal", "source": "patrol",
            "occurred_at": (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    missing = client.post(reverse("grid:event_report"), data)
    assert missing.status_code == 422 and "请填写隐患类型。" in missing.content.decode()
    wrong = client.post(reverse("grid:event_report"), {**data, f"attribute_{lamp.pk}_hazard": "不亮",
                                                       f"attribute_{lamp.pk}_households": "-3"})
    assert wrong.status_code == 422 and "涉及户数须为 0 到" in wrong.content.decode()
    assert not Event.objects.exists()
    done = client.post(reverse("grid:event_report"), {**data, f"attribute_{lamp.pk}_hazard": "不亮",
                                                      f"attribute_{lamp.pk}_lamp_no": "LX-001"})
    assert done.status_code == 302
    assert Event.objects.get().attributes == {"hazard": "不亮", "lamp_no": "LX-001"}
    # A category without extra fields ignores what was typed into another category's fields.
    plain = client.post(reverse("grid:event_report"), {**data, "idempotency_key": "k-2", "category": other.pk,
                                                       f"attribute_{lamp.pk}_hazard": "漏电"})
    assert plain.status_code == 302
    assert Event.objects.get(idempotency_key="k-2").attributes == {}


def test_rest_api_checks_and_returns_the_attributes(lamp, county, personas):
    api = api_as(personas["grid_member"])
    data = {"region": county.grid1.pk, "category": lamp.pk, "title": "路灯不亮", "description": "村口路灯不亮",
            "occurred_at": (timezone.now() - datetime.timedelta(hours=1)).isoformat(), "idempotency_key": "api-1"}
    refused = api.post(reverse("api:events"), data, format="json")
    assert refused.status_code == 400 and "请填写隐患类型。" in str(refused.json())
    created = api.post(reverse("api:events"), {**data, "attributes": {"hazard": "不亮"}}, format="json")
    assert created.status_code == 201 and created.json()["attributes"] == {"hazard": "不亮"}


def test_phone_page_shows_the_extra_fields_and_reports_with_them(lamp, county, client, personas):
    client.force_login(personas["grid_member"])
    page = client.get(reverse("grid:mobile")).content.decode()
    assert f'name="attribute_{lamp.pk}_hazard"' in page and "grid/event_attributes.js" in page
    data = {"idempotency_key": "m-1", "region": county.grid1.pk, "category": lamp.pk, "title": "路灯倒伏",
            "description": "村口路灯倒伏", "urgency": "normal", "source": "patrol",
            "occurred_at": (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            f"attribute_{lamp.pk}_hazard": "倒伏"}
    assert client.post(reverse("grid:mobile_report"), data).status_code == 302
    assert Event.objects.get().attributes == {"hazard": "倒伏"}
