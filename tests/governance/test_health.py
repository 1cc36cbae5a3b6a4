import json
import socket
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from governance import health
from governance.celery import app as celery_app

LOCMEM_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def closed_port() -> int:
    """A loopback port nothing listens on (bound once by us, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def embedded(monkeypatch):
    """The `make run` setup whatever the environment says: no Redis, eager Celery, local-memory cache."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    with override_settings(REDIS_URL="", CELERY_TASK_ALWAYS_EAGER=True, CACHES=LOCMEM_CACHE):
        yield


@pytest.fixture
def redis_down(monkeypatch):
    """REDIS_URL (broker, results, cache) points at a closed port; Celery is not eager."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", url)
    monkeypatch.setitem(celery_app.conf, "result_backend", url)
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    with override_settings(REDIS_URL=url, CELERY_TASK_ALWAYS_EAGER=False, CACHES=caches):
        yield url


TOKEN = "probe-token-0123456789"


@pytest.fixture
def monitor(settings):
    """A monitor that sends the configured token: it sees every check."""
    settings.HEALTHZ_TOKEN = TOKEN
    return {"HTTP_X_HEALTHZ_TOKEN": TOKEN}


def test_healthz_is_ok_with_the_database_in_the_embedded_setup(client, db, embedded, monitor):
    response = client.get("/healthz", **monitor)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    database = body["checks"]["database"]
    assert (database["name"], database["ok"], database["configured"]) == ("数据库", True, True)
    assert database["detail"].endswith("正常")
    assert body["checks"]["redis"]["configured"] is False
    assert body["checks"]["celery_worker"]["detail"] == "未配置（任务同步执行）"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_answers_head_requests_for_load_balancers(client, db, embedded):
    assert client.head("/healthz").status_code == 200


def test_healthcheck_command_exits_zero_when_the_configured_services_are_up(db, embedded, capsys):
    call_command("healthcheck")
    out = capsys.readouterr().out
    assert "[正常] 数据库" in out
    assert "[未配置] Celery worker：未配置（任务同步执行）" in out
    assert "健康检查通过" in out


def test_healthcheck_command_can_print_json(db, embedded, capsys):
    call_command("healthcheck", "--json")
    body = json.loads(capsys.readouterr().out)
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "celery_worker", "celery_beat"}


def test_healthz_is_503_quickly_when_redis_is_down(client, db, redis_down, monitor):
    started = time.monotonic()
    response = client.get("/healthz", **monitor)
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {
        "name": "Redis",
        "ok": False,
        "configured": True,
        "detail": "无法连接 Redis",
    }
    assert body["checks"]["celery_worker"]["ok"] is False
    # The raw error names hosts and ports: it goes to the operator's command, not to the public probe.
    assert "127.0.0.1" not in response.content.decode()


def test_healthcheck_command_exits_non_zero_quickly_when_redis_is_down(db, redis_down, capsys):
    started = time.monotonic()
    with pytest.raises(CommandError, match="健康检查未通过：Redis、Celery worker"):
        call_command("healthcheck")
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "[故障] Redis：无法连接 Redis" in out
    assert "Connection refused" in out or "Error" in out


def test_worker_check_fails_quickly_on_its_own_when_the_broker_is_down(redis_down):
    started = time.monotonic()
    result = health.check_celery_worker()
    assert time.monotonic() - started < 5
    assert (result.ok, result.configured) == (False, True)
    assert result.detail == "无法连接任务队列（broker）"


def test_beat_check_is_informational_until_a_heartbeat_is_seen(settings):
    from django.core.cache import cache

    from governance.tasks import BEAT_HEARTBEAT_KEY

    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.CACHES = LOCMEM_CACHE
    cache.delete(BEAT_HEARTBEAT_KEY)  # a periodic task run by an earlier test in this process beats too
    result = health.check_beat()
    assert (result.ok, result.configured, result.failing) == (True, False, False)


def test_beat_check_reports_the_last_heartbeat_and_fails_when_it_is_stale(settings):
    from django.core.cache import cache

    from governance.tasks import BEAT_HEARTBEAT_KEY, beat_heartbeat

    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.CACHES = LOCMEM_CACHE
    beat_heartbeat()
    fresh = health.check_beat()
    assert (fresh.ok, fresh.configured) == (True, True)
    assert fresh.detail.startswith("最近一次心跳 ")

    stale = health.check_beat(now=timezone.now() + timedelta(minutes=10))
    assert stale.failing
    assert "beat 已停止" in stale.detail
    assert "10 分钟前" in stale.detail
    cache.delete(BEAT_HEARTBEAT_KEY)


# ------------------------------------------------------------------ what the public probe tells


WORKER_UP = health.CheckResult("Celery worker", ok=True, configured=True, detail="2 个 worker 在线：w1@node-a、w2@node-b")


@pytest.fixture
def deployed(monkeypatch, settings):
    """A deployment with Redis and two workers (the network calls replaced), counting worker pings."""
    settings.CACHES = LOCMEM_CACHE
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    from django.core.cache import cache

    cache.delete(health.WORKER_PING_CACHE_KEY)
    pings = []
    monkeypatch.setattr(health, "check_redis", lambda: health.CheckResult("Redis", ok=True, configured=True, detail="正常"))
    monkeypatch.setattr(health, "check_beat", lambda: health.CheckResult("Celery beat", ok=True, configured=False, detail="-"))
    monkeypatch.setattr(health, "check_celery_worker", lambda: pings.append(1) or WORKER_UP)
    yield pings
    cache.delete(health.WORKER_PING_CACHE_KEY)


def test_the_public_probe_says_only_ok_and_names_no_host(client, db, deployed):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "node-a" not in response.content.decode()


def test_the_public_probe_says_degraded_without_saying_what(client, db, redis_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}


def test_a_monitor_with_the_token_and_staff_see_each_check(client, db, deployed, monitor, personas):
    body = client.get("/healthz", **monitor).json()
    assert body["checks"]["celery_worker"]["detail"] == WORKER_UP.detail
    assert "checks" not in client.get("/healthz", HTTP_X_HEALTHZ_TOKEN="wrong").json()

    officer = personas["county_office"]
    client.force_login(officer)
    assert "checks" not in client.get("/healthz").json()  # a post holder who is not staff
    officer.is_staff = True
    officer.save(update_fields=["is_staff"])
    assert client.get("/healthz").json()["checks"]["database"]["ok"] is True


def test_staff_owing_the_two_factor_code_see_only_the_status(client, db, deployed, personas):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    officer = personas["county_office"]
    officer.is_staff = True
    officer.save(update_fields=["is_staff"])
    TOTPDevice.objects.create(user=officer, name="手机验证器", confirmed=True)
    client.force_login(officer)  # the password step only
    assert client.get("/healthz").json() == {"status": "ok"}


def test_no_token_configured_accepts_no_token(client, db, deployed, settings):
    settings.HEALTHZ_TOKEN = ""
    assert "checks" not in client.get("/healthz", HTTP_X_HEALTHZ_TOKEN="").json()


def test_frequent_probes_ping_the_workers_once_per_cache_period(client, db, deployed, monitor, settings):
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/healthz", **monitor).json()["checks"]["celery_worker"]["detail"] == WORKER_UP.detail
    assert len(deployed) == 1
    settings.HEALTHZ_WORKER_PING_SECONDS = 0
    client.get("/healthz")
    client.get("/healthz")
    assert len(deployed) == 3


def test_a_failing_worker_answer_is_kept_only_seconds(client, db, deployed, monkeypatch, settings):
    """After a worker (or Redis) restart the probe is back to ok within seconds, not the whole period."""
    import time

    down = health.CheckResult("Celery worker", ok=False, configured=True, detail="1.5 秒内没有 worker 应答，任务将积压")
    answers = [down, WORKER_UP]
    monkeypatch.setattr(health, "check_celery_worker", lambda: deployed.append(1) or answers.pop(0))
    real_time, later = time.time, [0.0]
    monkeypatch.setattr(time, "time", lambda: real_time() + later[0])  # the cache's clock
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").status_code == 503  # kept
    later[0] = health.FAILING_PING_SECONDS + 1
    assert client.get("/healthz").status_code == 200  # asked again: the worker is back
    later[0] += health.FAILING_PING_SECONDS + 1
    assert client.get("/healthz").status_code == 200
    assert len(deployed) == 2  # an ok answer is kept the whole period
    assert settings.HEALTHZ_WORKER_PING_SECONDS > 2 * (health.FAILING_PING_SECONDS + 1)


def test_the_operator_command_always_pings_afresh(db, deployed, capsys):
    call_command("healthcheck")
    call_command("healthcheck")
    assert len(deployed) == 2
    assert "w1@node-a" in capsys.readouterr().out
