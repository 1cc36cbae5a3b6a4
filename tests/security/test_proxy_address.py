"""Behind a reverse proxy: the login lockout and the API rate limits count the real client.

TRUSTED_PROXY_COUNT says how many proxies of ours append to X-Forwarded-For. A client can write
anything into that header itself: it must neither escape a limit by changing it nor get someone
else's address locked or throttled by writing that address.
"""

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.throttling import WriteIPThrottle
from grid import services

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(settings.BASE_DIR) / "config" / "settings.py"
PASSWORD = "Test@2026pw"
PROXY = "10.9.9.9"  # the address every request comes from when a proxy stands in front
ATTACKER = "203.0.113.5"
VICTIM = "198.51.100.7"


def proxy_settings(monkeypatch, count: int) -> dict:
    """The address settings that config/settings.py derives from TRUSTED_PROXY_COUNT=count."""
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", str(count))
    values = runpy.run_path(str(SETTINGS_FILE))
    names = [name for name in values if name.startswith(("AXES_IPWARE_", "IPWARE_"))]
    derived = {name: values[name] for name in names}
    derived["REST_FRAMEWORK"] = {**settings.REST_FRAMEWORK, "NUM_PROXIES": values["REST_FRAMEWORK"]["NUM_PROXIES"]}
    return derived


def arriving(client_address: str, spoofed: str | None, proxies: int) -> dict:
    """The request's META as the application sees it: the client's own header, then each proxy's entry."""
    if proxies == 0:
        return {"REMOTE_ADDR": client_address, **({"HTTP_X_FORWARDED_FOR": spoofed} if spoofed else {})}
    chain = ([spoofed] if spoofed else []) + [client_address] + [PROXY] * (proxies - 1)
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": ", ".join(chain)}


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def victim(db):
    user, _ = services.ensure_user("zhangsan", password=PASSWORD)
    return user


def login(client, password, meta):
    return client.post("/accounts/login/", {"username": "zhangsan", "password": password}, **meta)


@pytest.mark.parametrize("proxies", [0, 1, 2])
def test_a_spoofed_forwarded_for_neither_escapes_the_lockout_nor_locks_out_the_real_user(
    client, victim, monkeypatch, proxies
):
    with override_settings(AXES_ENABLED=True, **proxy_settings(monkeypatch, proxies)):
        # The attacker writes a new address into the header at every attempt ...
        answers = [login(client, "wrong-password", arriving(ATTACKER, f"192.0.2.{n}", proxies)).status_code
                   for n in range(settings.AXES_FAILURE_LIMIT + 1)]
        assert answers[-1] == 429, answers  # ... and is locked all the same.
        # Guessing while claiming the victim's address locks only the attacker.
        for _ in range(settings.AXES_FAILURE_LIMIT):
            login(client, "wrong-password", arriving(ATTACKER, VICTIM, proxies))
        assert login(client, PASSWORD, arriving(VICTIM, None, proxies)).status_code == 302


def throttled_after(meta_of_attempts, rate="2/min") -> list[bool]:
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "write_ip": rate}
    try:
        factory = RequestFactory()
        return [WriteIPThrottle().allow_request(Request(factory.post("/api/v1/events/", **meta)), None)
                for meta in meta_of_attempts]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


@pytest.mark.parametrize("proxies", [0, 1, 2])
def test_a_spoofed_forwarded_for_neither_escapes_the_api_limit_nor_throttles_someone_else(monkeypatch, proxies):
    with override_settings(**proxy_settings(monkeypatch, proxies)):
        spoofing = [arriving(ATTACKER, f"192.0.2.{n}", proxies) for n in range(3)]
        assert throttled_after(spoofing) == [True, True, False]
        cache.clear()
        claiming_the_victim = [arriving(ATTACKER, VICTIM, proxies) for _ in range(3)]
        assert throttled_after(claiming_the_victim + [arriving(VICTIM, None, proxies)]) == [True, True, False, True]


def test_one_setting_drives_both_the_lockout_and_the_rate_limits(monkeypatch):
    direct, behind_one = proxy_settings(monkeypatch, 0), proxy_settings(monkeypatch, 1)
    assert direct["REST_FRAMEWORK"]["NUM_PROXIES"] == 0 and behind_one["REST_FRAMEWORK"]["NUM_PROXIES"] == 1
    assert direct["AXES_IPWARE_META_PRECEDENCE_ORDER"] == ["REMOTE_ADDR"]  # the header is ignored
    assert behind_one["AXES_IPWARE_META_PRECEDENCE_ORDER"][0] == "HTTP_X_FORWARDED_FOR"


def test_check_deploy_is_clean_with_a_proxy_mail_and_a_health_token():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY=secrets.token_urlsafe(60),
               ALLOWED_HOSTS="gov.example.cn", TRUSTED_PROXY_COUNT="1", HEALTHZ_TOKEN=secrets.token_urlsafe(32),
               EMAIL_URL="smtp+tls://notice:secret@smtp.example.gov.cn:587")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
