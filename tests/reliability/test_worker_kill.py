"""A worker process killed (SIGKILL) mid-task: the message goes back to the queue (acks_late,
reject_on_worker_lost), the task runs again, and every holder has exactly one 待办 notice.

Runs its own redis-server and its own Celery worker (prefork, one child) against the test database,
so it needs PostgreSQL (the worker is another process): pass 2 of .ci/run.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from governance.models import Notification
from grid import events, services
from grid.models import EventCategory, Role

from .waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(redis_server):
    if connection.vendor != "postgresql":
        pytest.skip("worker 是另一个进程，需要 PostgreSQL 测试库（.ci/run 第二遍）")
    settings = connection.settings_dict
    database_url = f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_server.url, TESTING="1")
    log = open(redis_server.dir / "worker.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "governance", "worker", "--pool=prefork", "--concurrency=1",
         "-I", "tests.reliability.worker_tasks", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"reliability-{redis_server.port}@%h", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.close()


def test_a_worker_killed_mid_task_redelivers_it_and_nothing_is_doubled(
        county, personas, redis_server, celery_on_redis, worker, monkeypatch):
    from viewflow.workflow.models import Task

    from tests.reliability.worker_tasks import notices_killed_halfway

    second, _ = services.ensure_user("leader_b", password="x")
    services.create_post(user=second, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    with monkeypatch.context() as patch:  # the report's own notices are sent in-process, then forgotten
        patch.setitem(celery_on_redis.conf, "task_always_eager", True)
        events.report_event(by=personas["grid_member"], region=county.grid1, category=category, title="违建",
                            description="村口棚舍", occurred_at=timezone.now() - datetime.timedelta(hours=1),
                            idempotency_key="kill")
    Notification.objects.all().delete()
    task = Task.objects.filter(finished__isnull=True).exclude(flow_task_type="START").latest("id")

    notices_killed_halfway.delay(task.pk, redis_server.url)
    client = redis_server.client()
    pid = int(wait_for(lambda: client.get("pid"), 60, "the worker to start the task"))
    assert Notification.objects.filter(kind="task").count() == 1  # halfway: one holder has heard
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: Notification.objects.filter(kind="task").count() >= 2, 60, "the redelivered task")
    wait_for(lambda: int(client.get("attempts") or 0) >= 2, 10, "the second attempt")
    time.sleep(1)
    for leader in (personas["grid_leader"], second):
        assert Notification.objects.filter(recipient=leader, kind="task").count() == 1
    assert worker.poll() is None  # the worker itself lives on: only its child was killed
