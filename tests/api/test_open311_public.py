"""An Open311 reader without a key (the GeoReport v2 client library `georeport`, against a live server)
sees the public requests of public categories with their public fields only; answers validate against
the GeoReport v2 shapes (http://wiki.open311.org/GeoReport_v2/), written down here as schemas."""

from __future__ import annotations

import datetime
import json
from xml.etree import ElementTree

import jsonschema
import pytest
import requests
from django.utils import timezone
from georeport import GeoReport

from api import credentials
from grid import boundaries
from grid.events import handle_event, report_event
from grid.models import CategoryAttribute, EventCategory
from tests.conftest import photo

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NULLABLE_TEXT = {"type": ["string", "null"]}
REQUEST_SCHEMA = {
    "type": "object",
    "required": ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                 "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                 "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"],
    "additionalProperties": False,
    "properties": {
        "service_request_id": {"type": "string", "pattern": "^[0-9]+$"},
        "status": {"enum": ["open", "closed"]},
        "status_notes": NULLABLE_TEXT, "service_name": {"type": "string"}, "service_code": {"type": "string"},
        "description": NULLABLE_TEXT, "agency_responsible": NULLABLE_TEXT, "service_notice": NULLABLE_TEXT,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": ["string", "null"], "format": "date-time"},
        "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
        "address": NULLABLE_TEXT, "address_id": NULLABLE_TEXT, "zipcode": NULLABLE_TEXT,
        "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "long": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "media_url": NULLABLE_TEXT,
    },
}
REQUESTS_SCHEMA = {"type": "array", "items": REQUEST_SCHEMA}
SERVICES_SCHEMA = {"type": "array", "items": {
    "type": "object", "additionalProperties": False,
    "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
    "properties": {"service_code": {"type": "string"}, "service_name": {"type": "string"},
                   "description": {"type": "string"}, "metadata": {"type": "boolean"},
                   "type": {"enum": ["realtime", "batch", "blackbox"]}, "keywords": {"type": "string"},
                   "group": {"type": "string"}}}}
DEFINITION_SCHEMA = {
    "type": "object", "required": ["service_code", "attributes"], "additionalProperties": False,
    "properties": {"service_code": {"type": "string"}, "attributes": {"type": "array", "items": {
        "type": "object", "additionalProperties": False,
        "required": ["variable", "code", "datatype", "required", "datatype_description", "order", "description"],
        "properties": {
            "variable": {"type": "boolean"}, "code": {"type": "string"},
            "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
            "required": {"type": "boolean"}, "datatype_description": {"type": "string"},
            "order": {"type": "integer", "minimum": 1}, "description": {"type": "string"},
            "values": {"type": "array", "items": {"type": "object", "required": ["key", "name"]}}}}}}}
DISCOVERY_SCHEMA = {
    "type": "object", "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {"endpoints": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["specification", "url", "changeset", "type", "formats"],
        "properties": {"type": {"enum": ["production", "test"]},
                       "formats": {"type": "array", "items": {"enum": ["text/xml", "application/json"]}}}}}}}
# The XML shapes: root element, item element, the item's children (as in the JSON objects).
XML_REQUEST_FIELDS = set(REQUEST_SCHEMA["required"])


def check_json(data, schema) -> None:
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())


def check_requests_xml(content: bytes) -> list[dict]:
    """<service_requests><request>…</request></service_requests>, each request with exactly the fields."""
    root = ElementTree.fromstring(content)
    assert root.tag == "service_requests"
    rows = []
    for node in root:
        assert node.tag == "request"
        assert {child.tag for child in node} == XML_REQUEST_FIELDS
        assert all(len(child) == 0 for child in node)  # flat values
        row = {child.tag: child.text for child in node}
        assert row["status"] in ("open", "closed") and row["service_request_id"].isdigit()
        datetime.datetime.fromisoformat(row["requested_datetime"])
        if row["lat"] is not None:
            assert -90 <= float(row["lat"]) <= 90 and -180 <= float(row["long"]) <= 180
        rows.append(row)
    return rows


@pytest.fixture
def published(county, personas):
    """Three events at 楼星村/第1网格: a public 环境卫生 one (closed, with an internal reason), an open
    public one at a micro-grid, and a 矛盾纠纷 one (a private category)."""
    public = EventCategory.objects.get(code="WS01")
    private = EventCategory.objects.get(code="AW01")
    assert public.is_public_service and not private.is_public_service  # the defaults of the migration
    CategoryAttribute.objects.create(category=public, code="households", name="涉及户数", datatype="number")
    when = timezone.now() - datetime.timedelta(hours=3)
    closed, _ = report_event(
        by=personas["grid_member"], region=county.grid1, category=public, title="河道垃圾",
        description="张三（13812345678）家门口堆放垃圾", occurred_at=when, idempotency_key="pub-1",
        latitude="30.123456", longitude="120.654321", address="楼星村张三家门口", files=[photo()],
    )
    handle_event(closed, by=personas["grid_leader"], decision="reject", reason="内部意见：系村民自家堆肥")
    open_, _ = report_event(
        by=personas["grid_member"], region=county.micro1, category=public, title="路边垃圾",
        description="李四反映路边垃圾", occurred_at=when, idempotency_key="pub-2",
        latitude="30.100049", longitude="120.100051", address="李四家东侧",
    )
    secret, _ = report_event(
        by=personas["grid_member"], region=county.grid1, category=private, title="邻里纠纷",
        description="王五与赵六因宅基地争执", occurred_at=when, idempotency_key="pri-1",
        latitude="30.1", longitude="120.1",
    )
    return {"closed": closed, "open": open_, "secret": secret}


def test_reader_without_key_lists_only_public_requests_with_public_fields(live_server, published):
    reader = GeoReport(f"{live_server.url}/open311/v2")
    services = reader.get_service_list()
    check_json(services, SERVICES_SCHEMA)
    assert next(s for s in services if s["service_code"] == "WS01")["metadata"] is True
    definition = reader.get_service_definition("WS01")
    check_json(definition, DEFINITION_SCHEMA)
    assert definition["attributes"][0]["code"] == "households"

    rows = reader.get_service_requests()
    check_json(rows, REQUESTS_SCHEMA)
    listed = {row["service_request_id"] for row in rows}
    assert listed == {str(published["closed"].pk), str(published["open"].pk)}  # 矛盾纠纷 never appears
    text = json.dumps(rows, ensure_ascii=False)
    for secret in ("张三", "13812345678", "李四", "内部意见", "王五", "宅基地", "家门口", "attachments", "media/"):
        assert secret not in text
    closed = next(row for row in rows if row["service_request_id"] == str(published["closed"].pk))
    assert closed["status"] == "closed" and closed["status_notes"] == "经核查不予立案。"
    assert closed["address"] == "太平镇/楼星村/第1网格" and closed["description"] is None
    assert (closed["lat"], closed["long"]) == (30.123, 120.654)  # about a hundred metres
    open_row = next(row for row in rows if row["service_request_id"] == str(published["open"].pk))
    assert open_row["address"] == "太平镇/楼星村/第1网格"  # a micro-grid is named by its grid
    assert open_row["status"] == "open" and (open_row["lat"], open_row["long"]) == (30.1, 120.1)

    one = reader.get_service_request(str(published["open"].pk))
    check_json([one], REQUESTS_SCHEMA)
    assert one == open_row
    with pytest.raises(requests.HTTPError) as refused:
        reader.get_service_request(str(published["secret"].pk))
    assert refused.value.response.status_code == 404


def test_xml_answers_have_the_georeport_shapes(live_server, published):
    base = f"{live_server.url}/open311/v2"
    rows = check_requests_xml(requests.get(f"{base}/requests.xml", timeout=10).content)
    assert {row["service_request_id"] for row in rows} == {str(published["closed"].pk), str(published["open"].pk)}
    assert "张三" not in str(rows) and "王五" not in str(rows)
    single = check_requests_xml(requests.get(f"{base}/requests/{published['closed'].pk}.xml", timeout=10).content)
    assert single[0]["address"] == "太平镇/楼星村/第1网格"
    missing = requests.get(f"{base}/requests/{published['secret'].pk}.xml", timeout=10)
    assert missing.status_code == 404 and ElementTree.fromstring(missing.content).tag == "errors"
    reader = GeoReport(base, output_format="xml")
    assert reader.get_service_definition("WS01")["attributes"]["attribute"]["code"] == "households"
    discovery = ElementTree.fromstring(requests.get(f"{base}/discovery.xml", timeout=10).content)
    assert discovery.tag == "discovery"
    assert [f.text for f in discovery.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]
    document = requests.get(f"{base}/discovery.json", timeout=10).json()
    check_json(document, DISCOVERY_SCHEMA)
    assert document["endpoints"][0]["url"] == f"{base}/"


def test_spec_filters_and_jurisdiction_narrow_the_public_list(live_server, published, county):
    reader = GeoReport(f"{live_server.url}/open311/v2", jurisdiction="C")
    ids = {key: str(event.pk) for key, event in published.items()}
    assert [r["service_request_id"] for r in reader.get_service_requests(status="closed")] == [ids["closed"]]
    assert [r["service_request_id"] for r in reader.get_service_requests(status="open")] == [ids["open"]]
    assert [r["service_request_id"] for r in reader.get_service_requests(
        service_request_id=f"{ids['open']},{ids['secret']}")] == [ids["open"]]
    assert reader.get_service_requests(service_code="AW01") == []
    assert len(reader.get_service_requests(service_code="WS01,AW01")) == 2
    later = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    assert reader.get_service_requests(start_date=later) == []
    assert len(reader.get_service_requests(end_date=later)) == 2
    elsewhere = GeoReport(f"{live_server.url}/open311/v2", jurisdiction="别的县")
    with pytest.raises(requests.HTTPError) as unknown:
        elsewhere.get_service_requests()
    assert unknown.value.response.status_code == 404


def test_a_key_also_shows_the_clients_own_private_requests(live_server, published, county, personas):
    boundaries.set_boundary(county.grid1, {"type": "Polygon", "coordinates": [
        [[120.0, 30.0], [120.2, 30.0], [120.2, 30.2], [120.0, 30.2], [120.0, 30.0]]]}, by=None)
    _, key = credentials.create_open311_client(by=None, name="12345 热线", jurisdiction=county.county)
    base = f"{live_server.url}/open311/v2"
    created = requests.post(f"{base}/requests.json", data={
        "api_key": key, "service_code": "AW01", "lat": "30.05", "long": "120.05", "description": "楼下有人争吵"},
        timeout=10)
    assert created.status_code == 201, created.text
    mine = created.json()[0]["service_request_id"]
    with_key = requests.get(f"{base}/requests.json", params={"api_key": key}, timeout=10).json()
    check_json(with_key, REQUESTS_SCHEMA)
    by_id = {row["service_request_id"]: row for row in with_key}
    assert set(by_id) == {mine, str(published["closed"].pk), str(published["open"].pk)}
    assert by_id[mine]["description"] == "楼下有人争吵"  # its own request, in full
    assert by_id[str(published["closed"].pk)]["description"] is None  # others' only in public
    assert requests.get(f"{base}/requests/{mine}.json", timeout=10).status_code == 404  # not without the key
    assert requests.get(f"{base}/requests.json", params={"api_key": "o311_wrong"}, timeout=10).status_code == 403
