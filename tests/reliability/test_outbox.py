"""Redis down: pages keep working, queued work waits in the outbox and is sent once Redis is back.

The test runs its own redis-server on a free loopback port, points the Celery app at it (no worker:
the messages stay in Redis, where the test reads them), stops it mid-work and starts it again.
"""

from __future__ import annotations

import datetime
import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from governance import outbox
from governance.models import Notification, OutboxMessage
from grid.models import Event
from tests.conftest import photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def report_via_page(client, county, category, key):
    return client.post(reverse("grid:event_report"), {
        "idempotency_key": key, "region": county.grid1.pk, "category": category.pk, "title": f"村口违建{key}",
        "description": "村口新建棚舍占道",
        "occurred_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "urgency": "normal", "source": "patrol", "latitude": "30.123456", "longitude": "120.123456",
        "address": "楼星村村口", "files": [photo()],
    })


def queued(redis_server) -> list[dict]:
    """The task messages waiting in Redis' default queue, as (task name, task id, args)."""
    raw = redis_server.client().lrange("celery", 0, -1)
    messages = [json.loads(item) for item in raw]
    return [{"task": m["headers"]["task"], "id": m["headers"]["id"], "body": m["body"]} for m in messages]


def run_queued(app, redis_server) -> None:
    """What a worker would do with the queued messages (no worker runs in this test)."""
    import base64

    client = redis_server.client()
    while (item := client.rpop("celery")) is not None:
        message = json.loads(item)
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        app.tasks[message["headers"]["task"]].apply(args, kwargs, task_id=message["headers"]["id"])


def test_redis_down_pages_keep_working_and_nothing_is_lost(
    client, county, personas, category, redis_server, celery_on_redis, django_capture_on_commit_callbacks,
):
    client.force_login(personas["grid_member"])

    # Redis up: the report's 待办 task goes to the broker at once, and its outbox row is marked sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert report_via_page(client, county, category, "up-1").status_code == 302
    [first] = queued(redis_server)
    assert first["task"] == "workflows.tasks.notify_task_holders"
    assert OutboxMessage.objects.get(task_id=first["id"]).sent_at is not None

    # Redis goes down mid-work: reporting and the pages still answer, quickly.
    redis_server.stop()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        assert report_via_page(client, county, category, "down-1").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert report_via_page(client, county, category, "down-2").status_code == 302
    assert time.monotonic() - started < 15
    for url in ("/", reverse("grid:events"), reverse("inbox"), reverse("grid:event_detail", args=[
            Event.objects.get(idempotency_key="down-2").pk])):
        assert client.get(url).status_code == 200, url
    assert Event.objects.count() == 3
    pending = list(OutboxMessage.objects.filter(sent_at__isnull=True))
    assert [m.task_name for m in pending] == ["workflows.tasks.notify_task_holders"] * 2
    assert all(m.last_error for m in pending)
    with pytest.raises(CommandError, match="仍不可用"):
        call_command("flush_outbox")
    assert outbox.pending_count() == 2  # a failed flush keeps them

    # Redis is back (empty: it keeps nothing on disk): the flush sends each kept message exactly once.
    redis_server.start()
    call_command("flush_outbox")
    call_command("flush_outbox")  # a second flush finds nothing to send
    assert outbox.pending_count() == 0
    resent = queued(redis_server)
    assert sorted(m["id"] for m in resent) == sorted(m.task_id for m in pending)

    # A worker running them gives the grid leader one 待办 per report; nothing was lost or doubled.
    run_queued(celery_on_redis, redis_server)
    titles = list(Notification.objects.filter(recipient=personas["grid_leader"], kind="task").values_list("title", flat=True))
    assert sum("down-1" in t for t in titles) == 1 and sum("down-2" in t for t in titles) == 1


def test_a_later_publish_drains_the_backlog(county, personas, redis_server, celery_on_redis, settings):
    from governance.tasks import ping

    settings.TASK_OUTBOX_GRACE_SECONDS = 0
    redis_server.stop()
    kept = ping.delay()
    assert OutboxMessage.objects.get(task_id=kept.id).sent_at is None
    redis_server.start()
    fresh = ping.delay()  # the broker takes this one, and the waiting one goes out with it
    assert outbox.pending_count() == 0
    assert sorted(m["id"] for m in queued(redis_server)) == sorted([kept.id, fresh.id])


def test_the_beat_job_flushes_and_forgets_old_sent_rows(county, redis_server, celery_on_redis, settings):
    from governance.tasks import flush_outbox, ping

    settings.TASK_OUTBOX_GRACE_SECONDS = 0
    redis_server.stop()
    kept = ping.delay()
    old = OutboxMessage.objects.create(task_id="old", task_name="governance.tasks.ping",
                                       sent_at=timezone.now() - datetime.timedelta(days=30))
    redis_server.start()
    result = flush_outbox.run()
    assert result["sent"] == 1 and result["pending"] == 0 and result["deleted"] == 1
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
    assert [m["id"] for m in queued(redis_server)] == [kept.id]


def test_two_flushers_do_not_send_a_row_twice(county, redis_server, celery_on_redis, settings):
    from governance.tasks import ping

    settings.TASK_OUTBOX_GRACE_SECONDS = 0
    redis_server.stop()
    ping.delay()
    redis_server.start()
    message = OutboxMessage.objects.get()
    stale = OutboxMessage.objects.get(pk=message.pk)
    assert outbox.flush().sent == 1
    # A second flusher that read the row before the first one claimed it loses the claim.
    claimed = OutboxMessage.objects.filter(pk=stale.pk, sent_at__isnull=True, attempts=stale.attempts).update(attempts=9)
    assert claimed == 0
    assert outbox.flush().sent == 0
    assert len(queued(redis_server)) == 1


def test_countdown_is_kept_as_the_original_due_time(county, redis_server, celery_on_redis):
    from governance.tasks import ping

    redis_server.stop()
    before = timezone.now()
    ping.apply_async(countdown=600)
    eta = datetime.datetime.fromisoformat(OutboxMessage.objects.get().options["eta"])
    assert before + datetime.timedelta(seconds=590) < eta < timezone.now() + datetime.timedelta(seconds=610)


def test_eager_runs_do_not_use_the_outbox(county, personas, category, django_capture_on_commit_callbacks):
    from grid import events

    with django_capture_on_commit_callbacks(execute=True):
        events.report_event(by=personas["grid_member"], region=county.grid1, category=category, title="t",
                            description="d", occurred_at=timezone.now(), idempotency_key="eager")
    assert not OutboxMessage.objects.exists()
    assert Notification.objects.filter(recipient=personas["grid_leader"], kind="task").count() == 1


def test_the_app_task_class_is_the_outbox_one():
    from governance.celery import app
    from grid.tasks import notify_task_holders

    assert isinstance(notify_task_holders, outbox.OutboxTask)
    assert app.conf.beat_schedule["flush-task-outbox"]["task"] == "governance.tasks.flush_outbox"


def test_the_cache_fails_soft_while_redis_is_down(redis_server, settings, client, county, personas):
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "governance.cache.FailSoftRedisCache", "LOCATION": redis_server.url,
                                   "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5}}}
    cache = caches.create_connection("default")
    cache.set("k", "v")
    assert cache.get("k") == "v"
    redis_server.stop()
    started = time.monotonic()
    assert cache.get("k", "miss") == "miss" and cache.get_many(["k"]) == {}
    cache.set("k", "w")
    assert cache.add("x", 1) is False and cache.delete("k") is False
    assert time.monotonic() - started < 5
    redis_server.start()
    cache.set("k", "back")
    assert cache.get("k") == "back"


def test_delay_on_commit_writes_its_row_with_the_change_and_publishes_after_the_commit(
    county, redis_server, celery_on_redis, django_capture_on_commit_callbacks,
):
    """The outbox row belongs to the caller's transaction: no instant after the commit without it."""
    from django.db import transaction

    from governance.tasks import ping

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            ping.delay_on_commit()
            [row] = OutboxMessage.objects.all()  # written before the commit, not yet sent
            assert row.sent_at is None and queued(redis_server) == []
    row.refresh_from_db()
    assert row.sent_at is not None
    assert [m["id"] for m in queued(redis_server)] == [row.task_id]


def test_delay_on_commit_in_a_rolled_back_transaction_leaves_nothing(
    county, redis_server, celery_on_redis, django_capture_on_commit_callbacks,
):
    from django.db import transaction

    from governance.tasks import ping

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                ping.delay_on_commit()
                raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    assert queued(redis_server) == []


def test_delay_on_commit_with_redis_down_keeps_the_row_for_the_flush(
    county, redis_server, celery_on_redis, django_capture_on_commit_callbacks,
):
    from django.db import transaction

    from governance.tasks import ping

    redis_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            ping.delay_on_commit()
    [row] = OutboxMessage.objects.all()
    assert row.sent_at is None and row.last_error
    redis_server.start()
    call_command("flush_outbox")
    assert [m["id"] for m in queued(redis_server)] == [row.task_id]
