"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2/) over the grid events.
Design notes: docs/architecture/api.md."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.evidence import EvidenceRejected
from governance.input_rules import printable, text_problem
from grid import boundaries
from grid.category_attributes import attributes_of
from grid.events import report_event
from grid.models import CategoryAttribute, Event, EventCategory, Region
from grid.public_events import public_coordinate, public_events, public_place

from .credentials import client_for_key
from .models import Open311Client, Open311Request
from .throttling import Open311PostThrottle

MAX_REQUESTS = 1000
DEFAULT_WINDOW = datetime.timedelta(days=90)

STATUS_NOTES = {
    Event.Status.REPORTED: "已受理，等待处置。",
    Event.Status.HANDLING: "已受理，正在由{tier}处置。",
    Event.Status.DISPATCHED: "已派单至职能部门办理。",
    Event.Status.VERIFYING: "已处置，正在核实办理结果。",
    Event.Status.CLOSED: "已办结。",
    Event.Status.REJECTED: "经核查不予立案。",
    Event.Status.MERGED: "与已受理的同一问题合并办理。",
}


class Open311Error(exceptions.APIException):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.status_code = code


# ---------------------------------------------------------------- XML


def _xml_value(parent, key: str, value) -> None:
    child = ElementTree.SubElement(parent, key)
    if isinstance(value, list):
        item_tag = {"attributes": "attribute", "values": "value", "keywords": "keyword", "endpoints": "endpoint",
                    "formats": "format"}.get(key, "item")
        for entry in value:
            if isinstance(entry, dict):
                node = ElementTree.SubElement(child, item_tag)
                for sub_key, sub_value in entry.items():
                    _xml_value(node, sub_key, sub_value)
            else:
                ElementTree.SubElement(child, item_tag).text = printable(str(entry))
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = printable(str(value))  # XML 1.0 cannot hold control characters, older rows may


class GeoReportXMLRenderer(renderers.BaseRenderer):
    """The GeoReport v2 XML shapes: <services><service>, <service_requests><request>, <errors><error>."""

    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view = (renderer_context or {}).get("view")
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            root_tag, item_tag = "errors", "error"
        else:
            root_tag, item_tag = getattr(view, "xml_root", ("service_requests", "request"))
        root = ElementTree.Element(root_tag)
        items = data if isinstance(data, list) else [data]
        for item in items:
            if root_tag in ("service_definition", "discovery"):
                for key, value in item.items():
                    _xml_value(root, key, value)
                continue
            node = ElementTree.SubElement(root, item_tag)
            for key, value in item.items():
                _xml_value(node, key, value)
        return b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(root, encoding="utf-8")


class _Open311View(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    renderer_classes = [renderers.JSONRenderer, GeoReportXMLRenderer]
    parser_classes = [FormParser, MultiPartParser, JSONParser]
    xml_root = ("service_requests", "request")

    def get_format_suffix(self, **kwargs):
        return kwargs.get("fmt")

    def handle_exception(self, exc):
        if isinstance(exc, Open311Error):
            code, text = exc.status_code, str(exc.detail)
        elif isinstance(exc, exceptions.Throttled):
            wait = int(exc.wait or 60)
            response = self._error(429, f"请求过于频繁，请在 {wait} 秒后重试。")
            response["Retry-After"] = str(wait)
            return response
        elif isinstance(exc, Http404 | exceptions.NotFound):
            code, text = 404, "不存在。"
        elif isinstance(exc, exceptions.APIException):
            code, text = exc.status_code, str(exc.detail)
        else:
            return super().handle_exception(exc)
        return self._error(code, text)

    def _error(self, code: int, description: str) -> Response:
        return Response([{"code": code, "description": description}], status=code)

    def finalize_response(self, request, response, *args, **kwargs):
        # The format is the URL's suffix (.json / .xml), whatever the Accept header says.
        fmt = kwargs.get("fmt", "json")
        renderer = GeoReportXMLRenderer() if fmt == "xml" else renderers.JSONRenderer()
        request.accepted_renderer = renderer
        request.accepted_media_type = renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        fmt = self.kwargs.get("fmt", "json")
        renderer = GeoReportXMLRenderer() if fmt == "xml" else renderers.JSONRenderer()
        return renderer, renderer.media_type


def _param(request, name: str) -> str:
    value = request.data.get(name) if hasattr(request.data, "get") else None
    if value in (None, ""):
        value = request.query_params.get(name)
    return str(value).strip() if value is not None else ""


# The free-text parameters of a new request; only the description may span lines.
TEXT_PARAMS = {"description": True, "address_string": False, "first_name": False, "last_name": False,
               "phone": False, "email": False, "device_id": False, "account_id": False}


def _check_texts(request) -> None:
    for name, long_text in TEXT_PARAMS.items():
        problem = text_problem(_param(request, name), long_text=long_text, max_length=10**9)
        if problem:
            raise Open311Error(400, f"{name}：{problem}")


def _jurisdiction_code(region: Region) -> str:
    return region.code or region.name


def _check_jurisdiction(request, client: Open311Client | None = None) -> Region | None:
    """The county named by jurisdiction_id (None when it is left out); 404 for an unknown one."""
    jurisdiction = _param(request, "jurisdiction_id")
    if not jurisdiction:
        return None
    if client is not None:
        if jurisdiction not in (client.jurisdiction.code, client.jurisdiction.name):
            raise Open311Error(404, f"jurisdiction_id“{jurisdiction}”不是该 API 密钥的辖区。")
        return client.jurisdiction
    county = (Region.objects.filter(depth=1, code=jurisdiction).first()
              or Region.objects.filter(depth=1, name=jurisdiction).first())
    if county is None:
        raise Open311Error(404, f"未知的 jurisdiction_id“{jurisdiction}”。")
    return county


def _optional_client(request) -> Open311Client | None:
    """The client of the api_key, None without one (public reads); 403 for a wrong or revoked key."""
    return _client(request) if _param(request, "api_key") else None


def _client(request) -> Open311Client:
    key = _param(request, "api_key")
    if not key:
        raise Open311Error(403, "缺少 api_key。")
    client = client_for_key(key)
    if client is None:
        raise Open311Error(403, "api_key 无效或已吊销。")
    return client


def _services():
    return EventCategory.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True).select_related(
        "parent").prefetch_related("attributes").order_by("parent__sort_order", "sort_order", "code")


def _service(category: EventCategory) -> dict:
    return {
        "service_code": category.code, "service_name": category.name,
        "description": f"{category.parent.name}：{category.name}", "metadata": bool(attributes_of(category)),
        "type": "realtime", "keywords": "", "group": category.parent.name,
    }


DATATYPE_DESCRIPTIONS = {
    CategoryAttribute.DataType.NUMBER: "整数", CategoryAttribute.DataType.DATETIME: "ISO 8601 日期时间",
    CategoryAttribute.DataType.MULTI: "可多选：attribute[编码][]=值，可重复",
}


def _attribute(attribute: CategoryAttribute, order: int) -> dict:
    """One attribute of a service definition, in the GeoReport v2 shape."""
    return {
        "variable": True, "code": attribute.code, "datatype": attribute.datatype, "required": attribute.required,
        "datatype_description": DATATYPE_DESCRIPTIONS.get(attribute.datatype, ""), "order": order,
        "description": attribute.name + (f"：{attribute.description}" if attribute.description else ""),
        "values": [{"key": option, "name": option} for option in attribute.options],
    }


def _submitted_attributes(request) -> dict:
    """attribute[code] (and attribute[code][] for a multi-value list) from the form or the JSON body."""
    submitted: dict = {}
    for source in (request.query_params, request.data):
        if not hasattr(source, "keys"):
            continue
        for key in source.keys():
            if not (key.startswith("attribute[") and key.endswith("]")):
                continue
            many = key.endswith("][]")
            code = key[len("attribute["):-3 if many else -1]
            if hasattr(source, "getlist"):
                values = source.getlist(key)
            else:
                value = source.get(key)
                values = value if isinstance(value, list) else [value]
            submitted[code] = [str(v) for v in values] if many or len(values) > 1 else str(values[0])
    attribute = request.data.get("attribute") if hasattr(request.data, "get") else None
    if isinstance(attribute, dict):  # a JSON body may nest them: {"attribute": {"lamp_no": "LX-017"}}
        submitted.update(attribute)
    return submitted


def _w3c(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _request_row(row: Open311Request) -> dict:
    event = row.event
    note = STATUS_NOTES.get(event.status, "").format(tier=event.handling_region.tier.name)
    if event.status == Event.Status.DISPATCHED and event.department_id:
        agency = event.department.name
    else:
        agency = event.handling_region.full_path.split("/", 1)[-1]
    return {
        "service_request_id": str(event.pk),
        "status": "open" if event.is_open else "closed",
        "status_notes": note,
        "service_name": event.category.name,
        "service_code": event.category.code,
        "description": event.description,
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": _w3c(event.created_at),
        "updated_datetime": _w3c(event.updated_at),
        "expected_datetime": None,
        "address": event.address,
        "address_id": None,
        "zipcode": None,
        "lat": float(event.latitude) if event.latitude is not None else None,
        "long": float(event.longitude) if event.longitude is not None else None,
        "media_url": None,
    }


def _public_row(event: Event) -> dict:
    """What anyone may read of an event of a public category (grid.public_events)."""
    note = STATUS_NOTES.get(event.status, "").format(tier=event.handling_region.tier.name)
    return {
        "service_request_id": str(event.pk),
        "status": "open" if event.is_open else "closed",
        "status_notes": note,
        "service_name": event.category.name,
        "service_code": event.category.code,
        "description": None,
        "agency_responsible": None,
        "service_notice": "",
        "requested_datetime": _w3c(event.created_at),
        "updated_datetime": _w3c(event.updated_at),
        "expected_datetime": None,
        "address": public_place(event),
        "address_id": None,
        "zipcode": None,
        "lat": public_coordinate(event.latitude),
        "long": public_coordinate(event.longitude),
        "media_url": None,
    }


EVENT_RELATIONS = ("category__parent", "region__tier", "handling_region__tier", "department", "open311")


def _readable_events(client: Open311Client | None, county: Region | None):
    """Events of public categories, and with a key also the client's own requests; with their rows."""
    public = public_events(county)
    if client is None:
        return public
    return Event.objects.filter(Q(pk__in=public.values("pk")) | Q(open311__client=client))


def _row(event: Event, client: Open311Client | None) -> dict:
    request_row = getattr(event, "open311", None)  # the reverse one-to-one: None for other events
    own = client is not None and request_row is not None and request_row.client_id == client.pk
    return _request_row(request_row) if own else _public_row(event)


# ---------------------------------------------------------------- views

# When this interface last changed (the discovery document's changeset).
CHANGESET = "2026-12-06T00:00:00+08:00"


@extend_schema(exclude=True)
class DiscoveryView(_Open311View):
    """The GeoReport v2 discovery document: where the endpoint is and how to get a key.

    Requests are never queued (a POST answers with its service_request_id at once), so there is no
    tokens/<token> endpoint."""

    xml_root = ("discovery", None)

    def get(self, request, fmt="json"):
        base = request.build_absolute_uri(reverse("open311:services", kwargs={"fmt": "json"})).rsplit("/", 1)[0] + "/"
        return Response({
            "changeset": CHANGESET,
            "contact": "县网格化服务管理中心（负责本系统的运维人员）",
            "key_service": "上报需要 API 密钥，由县网格化服务管理中心用 open311_client 命令发放；查询公开请求不需要密钥。",
            "endpoints": [{
                "specification": "http://wiki.open311.org/GeoReport_v2", "url": base, "changeset": CHANGESET,
                "type": "production", "formats": ["text/xml", "application/json"],
            }],
        })


@extend_schema(exclude=True)
class ServiceListView(_Open311View):
    xml_root = ("services", "service")

    def get(self, request, fmt="json"):
        _check_jurisdiction(request)
        return Response([_service(category) for category in _services()])


@extend_schema(exclude=True)
class ServiceDefinitionView(_Open311View):
    xml_root = ("service_definition", None)

    def get(self, request, code: str, fmt="json"):
        _check_jurisdiction(request)
        category = _services().filter(code=code).first()
        if category is None:
            raise Open311Error(404, f"未知的 service_code“{code}”。")
        return Response({"service_code": category.code, "attributes": [
            _attribute(attribute, order) for order, attribute in enumerate(attributes_of(category), start=1)]})


def _decimal(value: str, name: str, limit: int) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise Open311Error(400, f"{name} 必须是数字。") from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise Open311Error(400, f"{name} 超出范围（-{limit} 到 {limit}）。")
    return number.quantize(Decimal("0.000001"))


def _dt_param(request, name: str) -> datetime.datetime | None:
    value = _param(request, name)
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} 须为 ISO 8601 时间，如 2026-03-01T00:00:00+08:00。") from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@extend_schema(exclude=True)
class RequestListView(_Open311View):
    def get_throttles(self):
        return [Open311PostThrottle()] if self.request.method == "POST" else []

    def get(self, request, fmt="json"):
        client = _optional_client(request)
        county = _check_jurisdiction(request, client)
        rows = _readable_events(client, county)
        ids = _param(request, "service_request_id")
        if ids:
            wanted = [part.strip() for part in ids.split(",") if part.strip()]
            if not all(part.isdigit() and len(part) < 19 for part in wanted):
                raise Open311Error(400, "service_request_id 须为逗号分隔的编号。")
            rows = rows.filter(pk__in=[int(part) for part in wanted[:MAX_REQUESTS]])
        else:
            codes = [code.strip() for code in _param(request, "service_code").split(",") if code.strip()]
            if codes:
                rows = rows.filter(category__code__in=codes)
            start, end = _dt_param(request, "start_date"), _dt_param(request, "end_date")
            if start is None and end is None:
                start = timezone.now() - DEFAULT_WINDOW
            if start is not None and end is not None and start > end:
                raise Open311Error(400, "start_date 不能晚于 end_date。")
            if start is not None:
                rows = rows.filter(created_at__gte=start)
            if end is not None:
                rows = rows.filter(created_at__lte=end)
            wanted_status = {value.strip() for value in _param(request, "status").split(",") if value.strip()}
            if wanted_status - {"open", "closed"}:
                raise Open311Error(400, "status 只能是 open 或 closed。")
            if wanted_status == {"open"}:
                rows = rows.filter(status__in=Event.OPEN_STATUSES)
            elif wanted_status == {"closed"}:
                rows = rows.exclude(status__in=Event.OPEN_STATUSES)
        events = rows.select_related(*EVENT_RELATIONS).order_by("-created_at", "-id")[:MAX_REQUESTS]
        return Response([_row(event, client) for event in events])

    def post(self, request, fmt="json"):
        client = _client(request)
        _check_jurisdiction(request, client)
        code = _param(request, "service_code")
        if not code:
            raise Open311Error(400, "缺少 service_code。")
        category = _services().filter(code=code).first()
        if category is None:
            raise Open311Error(404, f"未知的 service_code“{code}”。")
        _check_texts(request)
        submitted = _submitted_attributes(request)
        lat_text, long_text = _param(request, "lat"), _param(request, "long")
        if not lat_text or not long_text:
            raise Open311Error(400, "缺少位置：本系统按经纬度确定所在网格，请提供 lat 与 long（WGS-84）。")
        latitude, longitude = _decimal(lat_text, "lat", 90), _decimal(long_text, "long", 180)
        region = boundaries.region_at(client.jurisdiction, longitude, latitude, tiers=("microgrid", "grid"))
        region = region or boundaries.region_at(client.jurisdiction, longitude, latitude, tiers=("township",))
        if region is None:
            raise Open311Error(400, "该位置不在本县已划定边界的网格或乡镇内。")
        description = _param(request, "description")[:2000] or f"群众反映：{category.name}"
        title = (description.splitlines()[0] if description else category.name)[:30]
        contact = " ".join(part for part in (_param(request, "first_name"), _param(request, "last_name"),
                                             _param(request, "phone"), _param(request, "email")) if part)[:200]
        key = (request.headers.get("Idempotency-Key") or "")[:48]
        idempotency_key = f"open311-{key}" if key else f"open311-{uuid.uuid4().hex}"
        files = request.FILES.getlist("media")
        try:
            with transaction.atomic():
                event, created = report_event(
                    by=client.reporter, region=region, category=category, title=title, description=description,
                    occurred_at=timezone.now(), idempotency_key=idempotency_key, urgency=Event.Urgency.NORMAL,
                    source=Event.Source.PUBLIC, latitude=latitude, longitude=longitude,
                    address=_param(request, "address_string")[:200], files=files, attributes=submitted,
                )
                Open311Request.objects.get_or_create(event=event, defaults={
                    "client": client, "device_id": _param(request, "device_id")[:100],
                    "account_id": _param(request, "account_id")[:100], "contact": contact,
                })
        except PermissionDenied:
            raise Open311Error(403, "该 API 密钥的上报账号没有在此辖区上报的权限。") from None
        except (ValidationError, EvidenceRejected) as exc:
            raise Open311Error(400, "；".join(exc.messages)) from None
        notice = f"已受理，由{event.handling_region.full_path.split('/', 1)[-1]}处置。"
        return Response([{"service_request_id": str(event.pk), "service_notice": notice,
                          "account_id": _param(request, "account_id")[:100] or None}],
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(exclude=True)
class RequestDetailView(_Open311View):
    def get(self, request, request_id: str, fmt="json"):
        client = _optional_client(request)
        county = _check_jurisdiction(request, client)
        if not request_id.isdigit() or len(request_id) > 18:
            raise Open311Error(404, "服务请求不存在。")
        event = _readable_events(client, county).filter(pk=int(request_id)).select_related(*EVENT_RELATIONS).first()
        if event is None:
            raise Open311Error(404, "服务请求不存在。")
        return Response([_row(event, client)])
