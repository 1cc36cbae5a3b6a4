"""Open311 GeoReport v2 contract tests: each endpoint's required fields per the specification
(http://wiki.open311.org/GeoReport_v2/), JSON and XML, errors, and the flow into grid events."""

from __future__ import annotations

import io
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from api import credentials
from api.models import Open311Request
from governance.models import AuditEntry
from grid import boundaries
from grid.events import handle_event
from grid.models import Event, EventCategory
from tests.conftest import photo

pytestmark = pytest.mark.django_db

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
                  "address", "address_id", "zipcode", "lat", "long", "media_url"}


def square(lon, lat, size):
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size],
                                                [lon, lat + size], [lon, lat]]]}


@pytest.fixture
def mapped(county, personas):
    """太平镇 covers 120.0–120.1 E, 30.0–30.1 N; its 第1网格 the corner 120.00–120.01, 30.00–30.01."""
    boundaries.set_boundary(county.taiping, square(120.0, 30.0, 0.1), by=personas["county_office"])
    boundaries.set_boundary(county.grid1, square(120.0, 30.0, 0.01), by=personas["county_office"])
    return county


@pytest.fixture
def service(db):
    parent = EventCategory.objects.create(code="SR", name="市容环境")
    return EventCategory.objects.create(code="SR01", name="占道经营", parent=parent)


@pytest.fixture
def api_key(mapped):
    client, key = credentials.create_open311_client(by=None, name="12345 热线", jurisdiction=mapped.county)
    return key


def post(data, fmt="json", **extra):
    return APIClient().post(reverse("open311:requests", kwargs={"fmt": fmt}), data, **extra)


def get(name, fmt="json", **kwargs):
    params = kwargs.pop("params", {})
    return APIClient().get(reverse(name, kwargs={"fmt": fmt, **kwargs}), params)


# ---------------------------------------------------------------- services


def test_services_json_has_the_required_fields(service):
    response = get("open311:services")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    row = next(r for r in response.json() if r["service_code"] == "SR01")
    assert SERVICE_FIELDS <= set(row)
    assert row["service_name"] == "占道经营" and row["group"] == "市容环境" and row["metadata"] is False
    assert row["type"] in ("realtime", "batch", "blackbox")
    assert all(r["service_code"] != "SR" for r in response.json())  # top-level categories are groups, not services


def test_services_xml_has_the_same_services(service):
    response = get("open311:services", fmt="xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "services"
    node = next(n for n in root.findall("service") if n.findtext("service_code") == "SR01")
    assert {child.tag for child in node} >= SERVICE_FIELDS and node.findtext("metadata") == "false"


def test_service_definition_and_unknown_code(service):
    definition = get("open311:service_definition", code="SR01").json()
    assert definition == {"service_code": "SR01", "attributes": []}
    xml = ElementTree.fromstring(get("open311:service_definition", fmt="xml", code="SR01").content)
    assert xml.tag == "service_definition" and xml.findtext("service_code") == "SR01"
    missing = get("open311:service_definition", code="NOPE")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404 and missing.json()[0]["description"]


def test_unknown_jurisdiction_is_404(service, county):
    assert get("open311:services", params={"jurisdiction_id": "别的县"}).status_code == 404
    assert get("open311:services", params={"jurisdiction_id": "C"}).status_code == 200  # the county's code


# ---------------------------------------------------------------- POST requests


def test_post_creates_an_event_at_the_grid_containing_the_point(api_key, service, mapped, personas):
    response = post({"api_key": api_key, "service_code": "SR01", "lat": "30.005", "long": "120.005",
                     "description": "早市摊贩占用人行道", "address_string": "楼星村村口", "jurisdiction_id": "C",
                     "first_name": "王", "phone": "13800000000", "media": photo()}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body, list) and {"service_request_id", "service_notice", "account_id"} <= set(body[0])
    event = Event.objects.get(pk=int(body[0]["service_request_id"]))
    assert event.region == mapped.grid1 and event.handling_region == mapped.grid1
    assert event.source == Event.Source.PUBLIC and event.category == service and event.address == "楼星村村口"
    assert str(event.latitude) == "30.005000" and event.description == "早市摊贩占用人行道"
    assert AuditEntry.objects.filter(action="event.report", object_id=str(event.pk)).exists()
    assert Open311Request.objects.get(event=event).contact == "王 13800000000"
    assert event.reporter.has_usable_password() is False
    # The grid leader has it in "my tasks", as any reported event.
    from grid.event_lists import my_tasks

    assert list(my_tasks(personas["grid_leader"])) == [event]


def test_post_outside_every_grid_lands_at_the_township(api_key, service, mapped):
    response = post({"api_key": api_key, "service_code": "SR01", "lat": "30.05", "long": "120.05"})
    assert response.status_code == 201
    event = Event.objects.get()
    assert event.region == mapped.taiping and event.handling_region == mapped.taiping
    assert event.description == "群众反映：占道经营"


def test_post_xml_answers_in_xml(api_key, service, mapped):
    response = post({"api_key": api_key, "service_code": "SR01", "lat": "30.005", "long": "120.005"}, fmt="xml")
    root = ElementTree.fromstring(response.content)
    assert response.status_code == 201 and root.tag == "service_requests"
    assert root.find("request").findtext("service_request_id") == str(Event.objects.get().pk)


@pytest.mark.parametrize(("data", "code", "text"), [
    ({"service_code": "SR01", "lat": "30.005", "long": "120.005"}, 403, "缺少 api_key。"),
    ({"api_key": "o311_wrong", "service_code": "SR01", "lat": "30.005", "long": "120.005"}, 403, "api_key 无效或已吊销。"),
    ({"lat": "30.005", "long": "120.005"}, 400, "缺少 service_code。"),
    ({"service_code": "NOPE", "lat": "30.005", "long": "120.005"}, 404, "未知的 service_code“NOPE”。"),
    ({"service_code": "SR01", "address_string": "楼星村"}, 400, "缺少位置"),
    ({"service_code": "SR01", "lat": "31.5", "long": "121.5"}, 400, "该位置不在本县已划定边界的网格或乡镇内。"),
    ({"service_code": "SR01", "lat": "91", "long": "120"}, 400, "lat 超出范围"),
    ({"service_code": "SR01", "lat": "abc", "long": "120"}, 400, "lat 必须是数字。"),
    ({"service_code": "SR01", "lat": "30.005", "long": "120.005", "jurisdiction_id": "别的县"}, 404, "不是该 API 密钥的辖区"),
])
def test_post_errors_follow_the_specification(api_key, service, mapped, data, code, text):
    if data.get("api_key") is None and code != 403:
        data = {**data, "api_key": api_key}
    response = post(data)
    assert response.status_code == code
    error = response.json()[0]
    assert error["code"] == code and text in error["description"]
    assert Event.objects.count() == 0
    xml = ElementTree.fromstring(post(data, fmt="xml").content)
    assert xml.tag == "errors" and xml.find("error").findtext("code") == str(code)


def test_revoked_key_cannot_post(api_key, service, mapped):
    from api.models import Open311Client

    credentials.revoke_open311_client(Open311Client.objects.get(), by=None)
    assert post({"api_key": api_key, "service_code": "SR01", "lat": "30.005", "long": "120.005"}).status_code == 403


def test_posts_are_limited_per_key_and_address(api_key, service, mapped):
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "open311_post": "2/min"}
    try:
        data = {"api_key": api_key, "service_code": "SR01", "lat": "30.005", "long": "120.005"}
        assert [post(data).status_code for _ in range(3)] == [201, 201, 429]
        limited = post(data)
        assert limited.json()[0]["code"] == 429 and "请求过于频繁" in limited.json()[0]["description"]
        assert int(limited["Retry-After"]) > 0
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


# ---------------------------------------------------------------- GET requests


def test_client_follows_its_request_to_closed(api_key, service, mapped, personas):
    created = post({"api_key": api_key, "service_code": "SR01", "lat": "30.005", "long": "120.005"}).json()
    request_id = created[0]["service_request_id"]
    detail = get("open311:request_detail", request_id=request_id, params={"api_key": api_key})
    assert detail.status_code == 200
    row = detail.json()[0]
    assert REQUEST_FIELDS <= set(row)
    assert row["status"] == "open" and row["status_notes"] == "已受理，正在由网格处置。"
    assert row["service_code"] == "SR01" and row["lat"] == 30.005 and row["long"] == 120.005
    assert row["requested_datetime"].endswith("+08:00")

    event = Event.objects.get(pk=int(request_id))
    handle_event(event, by=personas["grid_leader"], decision="reject", reason="经核查无此情况")
    row = get("open311:request_detail", request_id=request_id, params={"api_key": api_key}).json()[0]
    assert row["status"] == "closed" and row["status_notes"] == "经核查不予立案。"
    assert "经核查无此情况" not in str(row)  # internal handling notes stay inside

    listed = get("open311:requests", params={"api_key": api_key, "status": "closed"}).json()
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert get("open311:requests", params={"api_key": api_key, "status": "open"}).json() == []
    assert [r["service_request_id"] for r in get("open311:requests", params={
        "api_key": api_key, "service_request_id": f"{request_id},999999"}).json()] == [request_id]
    xml = ElementTree.fromstring(get("open311:requests", fmt="xml", params={"api_key": api_key}).content)
    assert xml.tag == "service_requests" and {c.tag for c in xml.find("request")} >= REQUEST_FIELDS


def test_a_client_sees_only_its_own_requests_and_no_other_events(api_key, service, mapped, personas):
    from grid.events import report_event

    post({"api_key": api_key, "service_code": "SR01", "lat": "30.005", "long": "120.005"})
    internal, _ = report_event(by=personas["grid_member"], region=mapped.grid1, category=service, title="内部上报",
                               description="网格员上报", occurred_at=Event.objects.get().created_at, idempotency_key="in-1")
    _, other_key = credentials.create_open311_client(by=None, name="另一接入方", jurisdiction=mapped.county)
    assert get("open311:requests", params={"api_key": other_key}).json() == []
    mine = get("open311:requests", params={"api_key": api_key}).json()
    assert str(internal.pk) not in [r["service_request_id"] for r in mine] and len(mine) == 1
    assert get("open311:request_detail", request_id=str(internal.pk), params={"api_key": api_key}).status_code == 404
    assert get("open311:requests").json() == []  # no key: only public categories, and SR01 is private
    assert get("open311:requests", params={"api_key": api_key, "status": "maybe"}).status_code == 400


def test_open311_client_command_prints_the_key_once(county, service):
    out = io.StringIO()
    call_command("open311_client", "--create", "便民平台", "--jurisdiction", "某县", stdout=out)
    key = out.getvalue().split("：")[-1].strip()
    assert key.startswith("o311_") and credentials.client_for_key(key).name == "便民平台"
    listing = io.StringIO()
    call_command("open311_client", stdout=listing)
    assert "便民平台" in listing.getvalue() and key not in listing.getvalue()


def test_region_boundary_command_validates_and_audits(county, tmp_path):
    import json

    from django.core.management.base import CommandError

    good = tmp_path / "grid.geojson"
    good.write_text(json.dumps({"type": "Feature", "geometry": square(120.0, 30.0, 0.01)}), encoding="utf-8")
    call_command("set_region_boundary", "太平镇/楼星村/第1网格", str(good), stdout=io.StringIO())
    county.grid1.refresh_from_db()
    assert boundaries.contains(county.grid1.boundary, (120.005, 30.005))
    assert AuditEntry.objects.filter(action="region.boundary", object_id=str(county.grid1.pk)).exists()
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "Polygon", "coordinates": [[[120, 30], [121, 30], [120, 30]]]}), encoding="utf-8")
    with pytest.raises(CommandError, match="至少 4 个点"):
        call_command("set_region_boundary", "太平镇/楼星村/第1网格", str(bad))


def test_point_in_polygon_respects_holes_and_multipolygons():
    ring = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    polygon = {"type": "Polygon", "coordinates": [ring, hole]}
    assert boundaries.contains(polygon, (1, 1)) and not boundaries.contains(polygon, (5, 5))
    assert not boundaries.contains(polygon, (11, 5))
    multi = {"type": "MultiPolygon", "coordinates": [[ring], [[[20, 20], [30, 20], [25, 30], [20, 20]]]]}
    assert boundaries.contains(multi, (25, 22)) and not boundaries.contains(multi, (15, 15))
    concave = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [5, 5], [0, 10], [0, 0]]]}
    assert boundaries.contains(concave, (5, 2)) and not boundaries.contains(concave, (5, 8))
