"""Extreme input never answers 500: far dates, NaN coordinates, huge page numbers, far periods.

A form shows a Chinese error beside the field (and keeps the input); a list ignores the bad filter;
the API answers in its JSON error shape, also with DEBUG off.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from grid.models import Event
from inspection.models import CatalogItem, PatrolCategory, PatrolReport

FAR_DATES = ("0001-01-01", "9999-12-31")


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def photo():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(buffer, "JPEG")
    return SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")


def event_form(county, category, **changes):
    data = {
        "idempotency_key": "key-x", "region": county.grid1.pk, "category": category.pk, "title": "村口违建",
        "description": "村口新建棚舍占道",
        "occurred_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "urgency": "normal", "source": "patrol", "latitude": "30.1", "longitude": "120.1", "address": "村口",
        "files": [photo()],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"occurred_at": "0001-01-01T00:00"}, "不能早于 2000年01月01日"),
    ({"occurred_at": "9999-12-31T23:59"}, "不能晚于"),
    ({"latitude": "NaN"}, "纬度超出范围"),
    ({"latitude": "sNaN"}, "纬度"),
    ({"longitude": "Infinity"}, "经度"),
])
def test_event_report_form_answers_extreme_values_with_a_chinese_error(client, county, personas, category, changes,
                                                                        message):
    client.force_login(personas["grid_member"])
    response = client.post(reverse("grid:event_report"), event_form(county, category, **changes))
    assert response.status_code in (200, 422)
    assert message in response.content.decode()
    assert not Event.objects.exists()


@pytest.mark.parametrize("name", ["grid:events", "grid:event_export", "system:audit", "system:audit_export"])
@pytest.mark.parametrize("day", FAR_DATES)
def test_lists_and_exports_ignore_a_date_filter_out_of_range(client, personas, name, day):
    client.force_login(personas["county_office"])
    response = client.get(reverse(name), {"date_from": day, "date_to": day})
    assert response.status_code == 200


@pytest.mark.parametrize("day", FAR_DATES)
def test_api_answers_a_far_date_filter_in_its_error_shape_or_ignores_it(client, personas, day):
    client.force_login(personas["county_office"])
    response = client.get(reverse("api:events"), {"date_from": day, "date_to": day})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert set(response.json()) == {"detail", "errors"}


@pytest.mark.parametrize("name", ["grid:events", "system:audit", "grid:my_tasks", "grid:patrols", "patrol:reports"])
def test_a_huge_page_number_is_not_an_error(client, personas, name):
    client.force_login(personas["county_office"])
    response = client.get(reverse(name), {"page": "99999999999999999999"})
    assert response.status_code in (200, 404)


def test_api_huge_page_number_is_a_json_404(client, personas):
    client.force_login(personas["county_office"])
    response = client.get(reverse("api:events"), {"page": "99999999999999999999"})
    assert response.status_code == 404 and set(response.json()) == {"detail", "errors"}


@pytest.mark.parametrize(("query", "message"), [
    ({"kind": "quarter", "quarter": "9999Q4"}, "季度"),
    ({"kind": "month", "month": "0001-01"}, "月份"),
    ({"kind": "month", "month": "9999-12"}, "月份"),
])
def test_circular_periods_out_of_range_get_a_chinese_form_error(client, county, personas, query, message):
    client.force_login(personas["township_office"])
    query = {"township": county.taiping.pk, **query}
    page = client.get(reverse("patrol:circulars"), query)
    assert page.status_code in (200, 422) and message in page.content.decode()
    publish = client.post(reverse("patrol:circular_publish"), query)
    assert publish.status_code in (200, 302, 400, 422)
    for fmt in ("pdf", "xlsx", "docx"):
        assert client.get(reverse("patrol:circular_download", args=[fmt]), query).status_code in (200, 400, 404, 422)


def test_api_scores_for_a_far_quarter_is_a_json_400(client, county, personas):
    client.force_login(personas["township_office"])
    response = client.get(reverse("api:patrol_scores"), {"township": county.taiping.pk, "quarter": "9999Q4"})
    assert response.status_code == 400 and "季度" in response.json()["detail"]


def test_patrol_report_with_occurred_at_year_one_gets_a_form_error(client, county, personas):
    category = PatrolCategory.objects.create(township=county.taiping, name="农业类", lead_department=county.agriculture)
    item = CatalogItem.objects.create(township=county.taiping, code="A01", name="违法占用宅基地", category=category,
                                      lead_department=county.agriculture, points=Decimal("3"))
    client.force_login(personas["village_cadre"])
    response = client.post(reverse("patrol:report_new"), {
        "idempotency_key": "k-1", "village": county.louxing.pk, "item": item.pk, "occurred_at": "0001-01-01T00:00",
        "location": "村道旁", "description": "新建住宅地基", "patrol": "", "files": [photo()]})
    assert response.status_code in (200, 422) and "不能早于" in response.content.decode()
    assert not PatrolReport.objects.exists()


def test_api_answers_an_unexpected_error_in_its_json_shape_with_debug_off(county, personas, settings, monkeypatch):
    settings.DEBUG = False
    from api import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeView, "get", broken)
    client = Client(raise_request_exception=False)
    client.force_login(personas["county_office"])
    response = client.get(reverse("api:me"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"} and "服务器" in body["detail"] and "boom" not in body["detail"]


def test_an_unknown_api_address_answers_in_the_json_error_shape(client, personas):
    client.force_login(personas["county_office"])
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json() == {"detail": "接口地址不存在。", "errors": ["接口地址不存在。"]}
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
