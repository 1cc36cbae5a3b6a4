"""Getting back in: password reset only where mail is configured, two-factor recovery codes, and the
device tokens shown (and revocable) after a password change."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from api import credentials
from api.models import DeviceToken
from governance.models import AuditEntry

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Test@2026pw"
NEW_PASSWORD = "Xin@2026mima!"


# ------------------------------------------------------------------ password reset


def test_without_mail_there_is_no_password_reset(client):
    assert settings.PASSWORD_RESET_ENABLED is False  # the tests run without EMAIL_URL
    with pytest.raises(NoReverseMatch):
        reverse("password_reset")
    assert client.get("/accounts/password_reset/").status_code == 404
    assert client.post("/accounts/password_reset/", {"email": "a@example.com"}).status_code == 404
    login_page = client.get("/accounts/login/").content.decode()
    assert "password_reset" not in login_page and "重置密码" not in login_page
    # Changing one's own password stays.
    assert reverse("password_change") == "/accounts/password_change/"


def test_the_reset_setting_follows_the_mail_setting(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    assert runpy.run_path(str(ROOT / "config" / "settings.py"))["PASSWORD_RESET_ENABLED"] is False
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://notice:secret@smtp.example.gov.cn:587")
    values = runpy.run_path(str(ROOT / "config" / "settings.py"))
    assert values["PASSWORD_RESET_ENABLED"] is True and values["EMAIL_HOST"] == "smtp.example.gov.cn"


SHOW_RESET = """
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
from django.urls import reverse
client = Client()
login = client.get("/accounts/login/").content.decode()
print(reverse("password_reset"), client.get("/accounts/password_reset/").status_code,
      'href="/accounts/password_reset/"' in login and "重置密码" in login and "Reset password" not in login)
"""


def test_with_mail_configured_the_login_page_offers_the_reset(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", TESTING="1", VAR_DIR=str(tmp_path),
               EMAIL_URL="smtp://smtp.example.gov.cn:25")
    result = subprocess.run([sys.executable, "-c", SHOW_RESET], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-3:] == ["/accounts/password_reset/", "200", "True"]


# ------------------------------------------------------------------ two-factor recovery codes


def code_for(device: TOTPDevice, *, step_offset: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + step_offset):06d}"


def enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    client.force_login(user)
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/accounts/two-factor/", {"action": "enrol", "token": code_for(device)})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    codes = [code for code in response.context["recovery_codes"]]
    for code in codes:
        assert code in response.content.decode()
    return device, codes


def password_login(client, user):
    client.logout()
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302


def verify(client, token):
    return client.post("/accounts/two-factor/verify/", {"token": token, "next": "/inbox/"})


def test_enrolling_shows_ten_recovery_codes_once(client, personas):
    user = personas["township_committee"]
    _, codes = enrol(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=user).count() == 10
    again = client.get("/accounts/two-factor/").content.decode()
    assert not any(code in again for code in codes)
    assert "还有 <strong>10</strong> 个未使用的恢复码" in again
    entry = AuditEntry.objects.get(action="two_factor.recovery_codes")
    assert not any(code.replace("-", "") in str(entry.after) for code in codes)


def test_a_recovery_code_opens_one_login_in_place_of_the_phone(client, personas):
    user = personas["county_office"]
    _, codes = enrol(client, user)
    password_login(client, user)
    assert client.get("/inbox/").status_code == 302  # the code is still owed

    used = verify(client, codes[3].upper())  # typed in capitals, with its dash
    assert used.status_code == 302 and used["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200
    assert StaticToken.objects.filter(device__user=user).count() == 9
    assert AuditEntry.objects.filter(action="two_factor.recovery_code_used", actor=user).exists()

    password_login(client, user)
    refused = verify(client, codes[3])  # used up
    assert refused.status_code == 422 and "恢复码不正确" in refused.content.decode()
    assert client.get("/inbox/").status_code == 302


def test_a_new_set_replaces_the_old_one_and_needs_a_code(client, personas):
    user = personas["township_office"]
    device, old_codes = enrol(client, user)
    refused = client.post("/accounts/two-factor/", {"action": "recovery_codes", "token": "000000x"})
    assert refused.status_code == 422 and "recovery_codes" not in (refused.context or {})
    response = client.post("/accounts/two-factor/",
                           {"action": "recovery_codes", "token": code_for(device, step_offset=1)})
    new_codes = response.context["recovery_codes"]
    assert response.status_code == 200 and len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    password_login(client, user)
    assert verify(client, old_codes[0]).status_code == 422
    StaticDevice.objects.get(user=user).throttle_reset()  # as if the wait after a wrong code had passed
    assert verify(client, new_codes[0]).status_code == 302


def test_with_the_phone_lost_a_recovery_code_turns_two_factor_off(client, personas):
    user = personas["discipline"]
    _, codes = enrol(client, user)
    password_login(client, user)
    assert verify(client, codes[0]).status_code == 302
    response = client.post("/accounts/two-factor/", {"action": "disable", "token": codes[1]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.filter(device__user=user).exists()


# ------------------------------------------------------------------ device tokens after a password change


def test_after_a_password_change_the_device_tokens_are_shown_and_can_be_revoked(client, personas):
    user = personas["grid_member"]
    phone, phone_key = credentials.create_device_token(by=user, name="张网格员的手机")
    script, _ = credentials.create_device_token(by=user, name="统计脚本")
    client.force_login(user)
    response = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    }, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "张网格员的手机" in page and "统计脚本" in page and "吊销全部令牌" in page

    client.post("/accounts/password_change/done/", {"token": phone.pk})
    phone.refresh_from_db()
    script.refresh_from_db()
    assert phone.revoked_at is not None and script.revoked_at is None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {phone_key}")
    assert api.get("/api/v1/events/").status_code == 401

    client.post("/accounts/password_change/done/", {"action": "revoke_all"})
    assert not DeviceToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action="api_token.revoke", actor=user).count() == 2


def test_one_cannot_revoke_someone_elses_token_from_that_page(client, personas):
    other, _ = credentials.create_device_token(by=personas["grid_leader"], name="他人的手机")
    client.force_login(personas["grid_member"])
    client.post("/accounts/password_change/done/", {"token": other.pk})
    other.refresh_from_db()
    assert other.revoked_at is None
