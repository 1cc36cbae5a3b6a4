"""Health of the database, Redis, the Celery worker and Celery beat.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_otp import user_has_device

from governance.celery import app
from governance.tasks import BEAT_HEARTBEAT_KEY

# Seconds to wait for Redis to accept a connection or answer, and for workers to answer a ping.
CONNECT_TIMEOUT = 2.0
WORKER_PING_TIMEOUT = 1.5
# Beat runs the heartbeat every 60 s (governance/celery.py); five missed beats mean beat has stopped.
BEAT_STALE_AFTER = timedelta(minutes=5)
WORKER_PING_CACHE_KEY = "health:celery_worker"
TOKEN_HEADER = "X-Healthz-Token"


@dataclass(frozen=True)
class CheckResult:
    name: str  # Chinese label shown to operators
    ok: bool
    configured: bool  # False: this deployment does not use the service; it cannot fail the whole
    detail: str  # Chinese, safe to show on /healthz
    error: str = ""  # the raw error, for the operator's command only (may name hosts and ports)

    @property
    def failing(self) -> bool:
        return self.configured and not self.ok

    def as_json(self) -> dict:
        data = asdict(self)
        del data["error"]
        return data


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def check_database() -> CheckResult:
    name = "数据库"
    connection = connections["default"]
    vendor = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(connection.vendor, connection.vendor)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return CheckResult(
            name, ok=False, configured=True, detail=f"{vendor} 无法连接或查询", error=_error_text(exc)
        )
    return CheckResult(name, ok=True, configured=True, detail=f"{vendor} 正常")


def check_redis() -> CheckResult:
    name = "Redis"
    if not settings.REDIS_URL:
        return CheckResult(name, ok=True, configured=False, detail="未配置（缓存使用进程内存，任务同步执行）")
    # Deferred: redis is loaded only when a Redis URL is configured
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
    )
    try:
        client.ping()
    except Exception as exc:
        return CheckResult(name, ok=False, configured=True, detail="无法连接 Redis", error=_error_text(exc))
    finally:
        client.close()
    return CheckResult(name, ok=True, configured=True, detail="正常")


def check_celery_worker() -> CheckResult:
    name = "Celery worker"

    if not settings.REDIS_URL or app.conf.task_always_eager:
        return CheckResult(name, ok=True, configured=False, detail="未配置（任务同步执行）")
    connection = app.connection_for_write(
        transport_options={"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": CONNECT_TIMEOUT}
    )
    try:
        # One attempt, no retries: control.ping alone would keep retrying a dead broker.
        connection.ensure_connection(max_retries=0)
        replies = app.control.ping(timeout=WORKER_PING_TIMEOUT, connection=connection)
    except Exception as exc:
        return CheckResult(
            name, ok=False, configured=True, detail="无法连接任务队列（broker）", error=_error_text(exc)
        )
    finally:
        connection.release()
    workers = sorted(hostname for reply in replies or [] for hostname in reply)
    if not workers:
        return CheckResult(
            name,
            ok=False,
            configured=True,
            detail=f"{WORKER_PING_TIMEOUT:g} 秒内没有 worker 应答，任务将积压",
        )
    return CheckResult(
        name, ok=True, configured=True, detail=f"{len(workers)} 个 worker 在线：{'、'.join(workers)}"
    )


# A failing worker answer is kept only this long (at most): after a routine restart of the worker or
# of Redis the probe says "ok" again within seconds, not after the whole period, and a probe polled
# during an outage still pings (and waits WORKER_PING_TIMEOUT) at most this often.
FAILING_PING_SECONDS = 5


def cached_check_celery_worker() -> CheckResult:
    """The worker check, answered from the cache for HEALTHZ_WORKER_PING_SECONDS after a real ping
    (FAILING_PING_SECONDS when the ping failed)."""
    seconds = settings.HEALTHZ_WORKER_PING_SECONDS
    if seconds > 0:
        stored = cache.get(WORKER_PING_CACHE_KEY)
        if isinstance(stored, dict):
            try:
                return CheckResult(**stored)
            except TypeError:
                pass
    result = check_celery_worker()
    if seconds > 0 and result.configured:
        cache.set(WORKER_PING_CACHE_KEY, asdict(result), seconds if result.ok else min(seconds, FAILING_PING_SECONDS))
    return result


def check_beat(*, now: datetime | None = None) -> CheckResult:
    """Beat writes a heartbeat each minute. Never seen → informational (beat may not be deployed);
    seen but stale → beat has stopped, which fails the check."""
    name = "Celery beat"

    if not settings.REDIS_URL:
        return CheckResult(name, ok=True, configured=False, detail="未配置（嵌入式运行不启动定时任务）")
    try:
        last = cache.get(BEAT_HEARTBEAT_KEY)
    except Exception as exc:
        return CheckResult(
            name, ok=False, configured=False, detail="无法读取 beat 心跳", error=_error_text(exc)
        )
    if not last:
        return CheckResult(
            name, ok=True, configured=False, detail="尚未收到 beat 心跳（未部署 beat 时可忽略）"
        )
    try:
        last_at = datetime.fromisoformat(last)
    except (TypeError, ValueError):
        return CheckResult(
            name, ok=False, configured=True, detail="beat 心跳格式无法识别", error=repr(last)[:300]
        )
    age = (now or timezone.now()) - last_at
    shown = timezone.localtime(last_at).strftime("%Y-%m-%d %H:%M:%S")
    minutes = max(int(age.total_seconds() // 60), 0)
    if age > BEAT_STALE_AFTER:
        return CheckResult(
            name, ok=False, configured=True, detail=f"beat 已停止：最近一次心跳 {shown}（{minutes} 分钟前）"
        )
    return CheckResult(name, ok=True, configured=True, detail=f"最近一次心跳 {shown}")


def run_checks(*, fresh: bool = True) -> dict[str, CheckResult]:
    """Every check. `fresh=False` (the public probe) may answer the worker check from the cache."""
    results = {"database": check_database(), "redis": check_redis()}
    if results["redis"].failing:
        # The worker and beat are reached through Redis: say so at once instead of timing out twice more.
        results["celery_worker"] = CheckResult(
            "Celery worker", ok=False, configured=True, detail="Redis 不可达，无法询问 worker"
        )
        results["celery_beat"] = CheckResult(
            "Celery beat", ok=False, configured=False, detail="Redis 不可达，无法读取 beat 心跳"
        )
    else:
        results["celery_worker"] = check_celery_worker() if fresh else cached_check_celery_worker()
        results["celery_beat"] = check_beat()
    return results


def overall_ok(results: dict[str, CheckResult]) -> bool:
    return not any(result.failing for result in results.values())


def may_see_details(request: HttpRequest) -> bool:
    """Staff users, and a monitor sending the configured token, see each check; others the status only."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active and user.is_staff:
        # A staff user who still owes the two-factor code (/healthz is open to them) counts only once verified.
        verified = getattr(user, "is_verified", lambda: False)()
        if verified or not user_has_device(user):
            return True
    token = settings.HEALTHZ_TOKEN
    sent = request.headers.get(TOKEN_HEADER, "")
    return bool(token) and hmac.compare_digest(sent.encode(), token.encode())


@never_cache
@require_safe
def healthz_view(request: HttpRequest) -> JsonResponse:
    results = run_checks(fresh=False)
    ok = overall_ok(results)
    body: dict = {"status": "ok" if ok else "degraded"}
    if may_see_details(request):
        body["checks"] = {key: result.as_json() for key, result in results.items()}
    return JsonResponse(body, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False})
