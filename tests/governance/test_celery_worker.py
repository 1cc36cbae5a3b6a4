"""Round trips through Redis and a real Celery worker (.ci/run starts one; skipped without REDIS_URL)."""

import pytest
from celery.result import EagerResult
from django.conf import settings
from django.core.management import call_command

from governance.celery import app as celery_app
from governance.tasks import ping

pytestmark = pytest.mark.celery_worker


def test_eager_mode_is_off_when_redis_is_configured():
    assert settings.REDIS_URL
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert celery_app.conf.task_always_eager is False
    assert celery_app.conf.broker_url.startswith("redis://")


def test_ping_goes_through_redis_and_the_worker():
    result = ping.delay()
    assert not isinstance(result, EagerResult)
    assert result.get(timeout=20) == "pong"
    assert result.successful()


def test_healthcheck_exits_zero_with_the_worker_running(db, capsys):
    call_command("healthcheck")
    out = capsys.readouterr().out
    assert "[正常] Redis：正常" in out
    assert "[正常] Celery worker：" in out and "worker 在线" in out
    assert "健康检查通过" in out


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_queries_the_test_database():
    """.ci/run points the worker at pytest-django's test database, so a task that reads tables
    (and data a transaction=True test committed) works in the worker."""
    from workflows.tasks import fire_due_timers

    assert fire_due_timers.delay().get(timeout=20) == 0
