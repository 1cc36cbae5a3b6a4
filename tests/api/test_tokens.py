"""The token page: a signed-in user creates a device token (shown once), lists and revokes it; both audited.
The doc page and the OpenAPI schema."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.credentials import digest
from api.models import DeviceToken
from governance.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_token_page_needs_login(client):
    response = client.get(reverse("api_tokens"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_create_shows_the_key_once_and_stores_only_its_digest(client, county, personas):
    user = personas["grid_member"]
    client.force_login(user)
    response = client.post(reverse("api_tokens"), {"name": "张网格员的手机"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = re.search(r'id="new-token"[^>]*>(gv_[\w-]+)<', response.content.decode()).group(1)
    token = DeviceToken.objects.get(user=user)
    assert token.key_hash == digest(key) and key not in str(DeviceToken.objects.values().get())
    assert token.name == "张网格员的手机" and token.prefix == key[:8]
    entry = AuditEntry.objects.get(action="api_token.create")
    assert entry.actor == user and key not in str(entry.after)
    again = client.get(reverse("api_tokens")).content.decode()
    assert key not in again and "张网格员的手机" in again and f"{key[:8]}…" in again

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(reverse("api:me")).json()["username"] == user.username
    token.refresh_from_db()
    assert token.last_used_at is not None

    revoke = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert revoke.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and AuditEntry.objects.filter(action="api_token.revoke").count() == 1
    assert api.get(reverse("api:me")).status_code == 401


def test_blank_name_is_refused_with_a_reason(client, county, personas):
    client.force_login(personas["grid_member"])
    response = client.post(reverse("api_tokens"), {"name": "  "})
    assert response.status_code == 422 and "请填写设备名称" in response.content.decode()
    assert DeviceToken.objects.count() == 0


def test_nobody_can_revoke_another_users_token(client, county, personas):
    from api.credentials import create_device_token

    token, _ = create_device_token(by=personas["grid_leader"], name="李网格长的手机")
    client.force_login(personas["grid_member"])
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_doc_page_lists_every_operation_without_external_scripts(client):
    response = client.get(reverse("api_docs"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "/api/v1/events/" in html and "上报事件" in html and "/api/schema/" in html
    assert "cdn" not in html.lower() and "<script src=\"http" not in html


def test_schema_is_valid_openapi_with_token_and_session_auth(client):
    from drf_spectacular.validation import validate_schema

    schema = client.get(reverse("api_schema"), {"format": "json"}).json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.") and set(schema["components"]["securitySchemes"]) >= {"tokenAuth", "cookieAuth"}
    create = schema["paths"]["/api/v1/events/"]["post"]
    assert {"multipart/form-data", "application/json"} <= set(create["requestBody"]["content"])
    assert set(create["responses"]) >= {"200", "201", "400", "403", "429"}
    urgency = schema["components"]["schemas"]["UrgencyEnum"]["enum"]
    assert urgency == ["normal", "urgent", "critical"]
    listing = schema["paths"]["/api/v1/events/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "category", "tier", "source", "overdue", "q", "page"}
