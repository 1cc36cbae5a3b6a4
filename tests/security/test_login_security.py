"""Login throttling (django-axes), password strength, session and cookie settings, `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from grid import services

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Test@2026pw"

pytestmark = pytest.mark.django_db

# The test settings switch axes off (Django's Client.login() authenticates without a request, which
# axes refuses); these tests switch it on as production has it.
axes_on = override_settings(AXES_ENABLED=True)


@pytest.fixture
def user(db):
    user, _ = services.ensure_user("zhangsan", password=PASSWORD)
    return user


def login(client, username, password, ip="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@axes_on
def test_five_wrong_passwords_lock_the_account_from_that_address(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = login(client, "zhangsan", "wrong-password")
        assert response.status_code == 200 and not signed_in(client)
    locked = login(client, "zhangsan", "wrong-password")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode()

    # Even the right password is refused while locked.
    again = login(client, "zhangsan", PASSWORD)
    assert again.status_code == 429 and not signed_in(client)


@axes_on
def test_the_lock_is_per_account_and_address(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "zhangsan", "wrong-password", ip="10.0.0.1")
    # Someone guessing from one address does not lock the real user out everywhere.
    response = login(client, "zhangsan", PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302 and signed_in(client)


@axes_on
def test_a_correct_password_resets_the_count(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "zhangsan", "wrong-password")
    assert login(client, "zhangsan", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "zhangsan", "wrong-password")
    assert login(client, "zhangsan", PASSWORD).status_code == 302


@axes_on
def test_an_administrator_can_lift_the_lock(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "zhangsan", "wrong-password")
    assert AccessAttempt.objects.filter(username="zhangsan").exists()
    call_command("axes_reset_username", "zhangsan", stdout=open(os.devnull, "w"))
    assert login(client, "zhangsan", PASSWORD).status_code == 302


def test_axes_is_configured_for_production():
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE
    assert settings.AXES_FAILURE_LIMIT <= 10 and settings.AXES_COOLOFF_TIME


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize("weak, reason", [
    ("Ab1@xyz", "太短"),
    ("abcdefghijkl", "只有小写字母"),
    ("abcdefgh1234", "只有小写字母和数字"),
    ("12345678901234", "全是数字"),
    ("Password123", "常见密码"),
])
def test_weak_passwords_are_refused_when_changing_the_password(client, user, weak, reason):
    client.force_login(user)
    response = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": weak, "new_password2": weak})
    assert response.status_code == 200, reason  # the form again, with the reason
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_strong_password_is_accepted(client, user):
    client.force_login(user)
    response = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": "Qiang#2027mima", "new_password2": "Qiang#2027mima"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Qiang#2027mima")


def test_the_character_class_rule_speaks_chinese():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        validate_password("abcdefghijkl")
    assert any("至少 3 类" in message for message in excinfo.value.messages)


# ---------------------------------------------------------------- sessions, cookies, headers


def test_session_cookie_is_http_only_and_expires(client, user):
    response = login(client, "zhangsan", PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    # Outside DEBUG (the test settings too) the cookies are sent over HTTPS only.
    assert cookie["secure"]
    assert settings.CSRF_COOKIE_SECURE


def test_pages_send_hsts_nosniff_and_frame_denial_over_https(client, user):
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_post_without_csrf_token_is_refused(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "zhangsan", "password": PASSWORD})
    assert response.status_code == 403
    client.force_login(user)
    assert client.post("/inbox/", {}).status_code == 403


# ---------------------------------------------------------------- check --deploy


def production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY=secrets.token_urlsafe(60),
               ALLOWED_HOSTS="gov.example.cn", **extra)
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=production_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_hardening_is_turned_off():
    """The clean check above can fail: switching HSTS off is reported."""
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=production_env(SECURE_HSTS_SECONDS="0"), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "security.W004" in result.stderr
