"""待办 and 督办 reach the township's 企业微信/政务微信 group robot and the holders' phones by SMS, exactly
once, through a local HTTP server standing in for the robot and the SMS gateway."""

from __future__ import annotations

import datetime
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.utils import timezone

from governance import channels
from governance.models import ChannelMessage, MobileNumber
from grid import events
from grid.models import EventCategory, GroupRobot
from grid.supervision import supervise_overdue
from workflows.models import SLARule

PHONES = {"grid_leader": "13800001111", "grid_instructor": "13800002222", "village_cadre": "13800003333"}


class Gateway:
    """A stand-in for the robot and the SMS gateway: records each request; the first `failures[path]`
    requests to a path answer 500 (the gateway is down), later ones succeed."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = self.path.split("?", 1)[0]
                with gateway.lock:
                    failing = gateway.failures.get(path, 0) > 0
                    if failing:
                        gateway.failures[path] -= 1
                    else:
                        gateway.requests.append((self.path, body))
                if failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                answer = {"errcode": 0, "errmsg": "ok"} if path.startswith("/cgi-bin") else {"code": 0}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def to(self, prefix: str) -> list[dict]:
        return [body for path, body in self.requests if path.startswith(prefix)]


@pytest.fixture
def gateway(settings):
    stand_in = Gateway()
    stand_in.thread.start()
    settings.SMS_GATEWAY_URL = f"{stand_in.url}/sms/send"
    settings.SMS_SIGNATURE = "某县社会治理"
    settings.SMS_GATEWAY_TOKEN = "t0ken"
    settings.SITE_URL = "https://wg.example.gov.cn"
    cache.clear()  # the rate-limit counters
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture
def robot(county, gateway):
    return GroupRobot.objects.create(name="太平镇网格工作群", region=county.taiping,
                                     webhook_url=f"{gateway.url}/cgi-bin/webhook/send?key=secret-key")


@pytest.fixture
def phones(personas):
    for username, number in PHONES.items():
        MobileNumber.objects.create(user=personas[username], number=number)


@pytest.fixture
def overdue_event(county, personas, phones, robot, django_capture_on_commit_callbacks):
    SLARule.objects.filter(tier__key="grid").update(auto_escalate=False)
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    with django_capture_on_commit_callbacks(execute=True):  # the 待办 of the new task goes out after the commit
        event, _ = events.report_event(
            by=personas["grid_member"], region=county.grid1, category=category, title="违建", description="村口棚舍",
            occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="k1",
        )
    return event


def later(hours):
    return timezone.now() + datetime.timedelta(hours=hours)


def supervise(django_capture_on_commit_callbacks, hours=25):
    with django_capture_on_commit_callbacks(execute=True):
        return supervise_overdue(now=later(hours))


def supervision_messages(gateway, prefix):
    return [body for body in gateway.to(prefix) if "督办" in json.dumps(body, ensure_ascii=False)]


def test_supervision_reaches_the_township_robot_and_each_phone_exactly_once(
        overdue_event, gateway, django_capture_on_commit_callbacks):
    gateway.requests.clear()  # the 待办 of the new event went out too
    supervise(django_capture_on_commit_callbacks)
    supervise(django_capture_on_commit_callbacks, hours=30)  # a second scan sends nothing again
    channels.deliver(now=later(40))

    [post] = supervision_messages(gateway, "/cgi-bin/webhook/send")
    assert post["msgtype"] == "text"
    assert f"督办：事件 #{overdue_event.pk}“违建”已超过办理时限" in post["text"]["content"]
    assert f"https://wg.example.gov.cn/grid/events/{overdue_event.pk}/" in post["text"]["content"]
    sms = supervision_messages(gateway, "/sms/send")
    assert sorted(body["phone"] for body in sms) == sorted(PHONES.values())
    assert all(body["sign_name"] == "某县社会治理" and body["content"].startswith("【某县社会治理】督办") for body in sms)
    assert not ChannelMessage.objects.filter(sent_at__isnull=True).exists()


def test_the_new_task_notice_reaches_the_robot_and_the_holder(overdue_event, gateway):
    [post] = gateway.to("/cgi-bin/webhook/send")
    assert post["text"]["content"].startswith(f"新待办：事件 #{overdue_event.pk}“违建”待网格处置")
    assert [body["phone"] for body in gateway.to("/sms/send")] == [PHONES["grid_leader"]]


def test_a_failing_gateway_is_retried_and_each_message_still_arrives_once(
        overdue_event, gateway, settings, django_capture_on_commit_callbacks, caplog):
    gateway.requests.clear()
    gateway.failures = {"/sms/send": 1, "/cgi-bin/webhook/send": 2}
    with caplog.at_level(logging.WARNING, logger="governance.channels"):
        supervise(django_capture_on_commit_callbacks)
    waiting = ChannelMessage.objects.filter(sent_at__isnull=True, dedupe_key__startswith="supervision:")
    assert waiting.count() == 2 and all(m.last_error == "HTTP 500" for m in waiting)  # robot + first SMS
    assert len(supervision_messages(gateway, "/sms/send")) == 2

    def in_seconds(seconds):
        return timezone.now() + datetime.timedelta(seconds=seconds)

    assert channels.deliver(now=in_seconds(5)).sent == 0  # too early for the retry (30 s)
    assert len(supervision_messages(gateway, "/sms/send")) == 2
    retried = channels.deliver(now=in_seconds(31))  # the SMS gateway has recovered, the robot fails once more
    assert (retried.sent, retried.failed) == (1, 1)
    assert channels.deliver(now=in_seconds(31 + 61)).sent == 1  # the robot's second retry (60 s later)
    assert channels.deliver(now=in_seconds(3600)).sent == 0  # nothing left

    assert len(supervision_messages(gateway, "/cgi-bin/webhook/send")) == 1
    assert sorted(body["phone"] for body in supervision_messages(gateway, "/sms/send")) == sorted(PHONES.values())
    assert not waiting.all().exists()
    assert ChannelMessage.objects.get(dedupe_key__endswith=f":robot:{GroupRobot.objects.get().pk}",
                                      dedupe_key__startswith="supervision:").attempts == 3
    # The logs name the masked phone and the robot without its key.
    logged = caplog.text
    assert "failed" in logged and "HTTP 500" in logged
    assert not any(number in logged for number in PHONES.values())
    assert "138****1111" in logged and "/cgi-bin/webhook/send" in logged
    assert "secret-key" not in logged


def test_the_task_retries_through_the_outbox_when_a_worker_runs_it(overdue_event, gateway, monkeypatch):
    """Outside eager runs the delivery task retries itself when the first send failed."""
    gateway.failures = {"/sms/send": 1}
    [message] = channels.sms_for([(overdue_event.reporter_id, "标题", "probe")]) or [None]
    assert message is None  # the reporter has no mobile number
    ChannelMessage.objects.create(channel="sms", target=PHONES["grid_leader"], text="【某县社会治理】测试",
                                  dedupe_key="probe:1", next_attempt_at=timezone.now())
    retried = []
    monkeypatch.setattr(channels.deliver_channel_messages_task, "retry",
                        lambda countdown: retried.append(countdown) or RuntimeError("retry"))
    with pytest.raises(RuntimeError, match="retry"):
        channels.deliver_channel_messages_task.run(["probe:1"])
    assert retried and 1 <= retried[0] <= 32  # when the failed SMS is due again
    assert len(gateway.to("/sms/send")) == 1  # the 待办 of the new task; the probe failed once


def test_rate_limit_of_a_robot_is_respected(county, gateway, settings):
    settings.ROBOT_PER_MINUTE = 2
    url = f"{gateway.url}/cgi-bin/webhook/send?key=k"
    now = timezone.now().replace(second=10)
    for number in range(5):
        ChannelMessage.objects.create(channel="robot", target=url, text=f"消息 {number}", dedupe_key=f"r:{number}",
                                      next_attempt_at=now)
    first = channels.deliver(now=now)
    assert (first.sent, first.deferred) == (2, 3)
    assert channels.deliver(now=now + datetime.timedelta(seconds=20)).sent == 0  # same minute: still waiting
    second = channels.deliver(now=now + datetime.timedelta(minutes=1))
    assert (second.sent, second.deferred) == (2, 1)
    assert channels.deliver(now=now + datetime.timedelta(minutes=2)).sent == 1
    assert len(gateway.to("/cgi-bin/webhook/send")) == 5
    assert all(m.attempts == 1 for m in ChannelMessage.objects.all())  # waiting is not a failed attempt


def test_without_robot_or_gateway_no_message_is_stored(county, personas, settings):
    settings.SMS_GATEWAY_URL = ""
    MobileNumber.objects.create(user=personas["grid_leader"], number=PHONES["grid_leader"])
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)
    events.report_event(by=personas["grid_member"], region=county.grid1, category=category, title="违建",
                        description="村口棚舍", occurred_at=timezone.now() - datetime.timedelta(hours=1),
                        idempotency_key="k1")
    assert not ChannelMessage.objects.exists()


def test_a_department_case_goes_to_the_department_robot(county, personas, gateway):
    from grid.message_channels import RobotDirectory
    from grid.models import Event

    township = GroupRobot.objects.create(name="镇群", region=county.taiping, webhook_url=f"{gateway.url}/a")
    department = GroupRobot.objects.create(name="农业办群", region=county.taiping, department=county.agriculture,
                                           webhook_url=f"{gateway.url}/b")
    directory = RobotDirectory()
    assert directory.robot_for(Event(handling_region=county.grid1)) == township
    assert directory.robot_for(Event(handling_region=county.taiping, department=county.agriculture)) == department
    assert directory.robot_for(Event(handling_region=county.henan)) is None  # 赵村镇 has no robot


def test_a_queued_notice_reads_robots_and_regions_once_per_process_until_one_changes(
        overdue_event, robot, gateway, county, personas):
    """The worker keeps the group robots (like the other small tables) and the regions (under the access
    version, as pages do): a notice run again reads neither, and a robot's new address or a region's
    new name reaches the very next notice."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from viewflow.workflow.models import Task

    from governance.models import Notification
    from grid import services
    from grid.task_notices import notify_task_holders_task

    task = Task.objects.filter(finished__isnull=True).exclude(flow_task_type="START").latest("id")

    def notice_again() -> tuple[list[str], Notification, ChannelMessage]:
        Notification.objects.filter(kind=Notification.Kind.TASK).delete()  # (each is sent once per task)
        ChannelMessage.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            assert notify_task_holders_task(task.pk) == 1
        return ([query["sql"] for query in queries.captured_queries], Notification.objects.get(kind=Notification.Kind.TASK),
                ChannelMessage.objects.get(channel=ChannelMessage.Channel.ROBOT))

    notice_again()  # this process reads and keeps them
    statements, notice, message = notice_again()
    assert not [sql for sql in statements if 'FROM "grid_region"' in sql or 'FROM "grid_grouprobot"' in sql]
    assert notice.body.startswith("某县太平镇楼星村第1网格：网格处置")
    assert message.target.endswith("key=secret-key")

    robot.webhook_url = f"{gateway.url}/cgi-bin/webhook/send?key=new-key"
    robot.save()
    _, notice, message = notice_again()
    assert message.target.endswith("key=new-key")

    services.update_region(county.grid1, by=personas["county_office"], name="幸福网格")
    _, notice, message = notice_again()
    assert notice.body.startswith("某县太平镇楼星村幸福网格：网格处置")


def test_phone_numbers_are_masked():
    from governance.models import mask_phone

    assert mask_phone("13812345678") == "138****5678"
    assert ChannelMessage(channel="sms", target="13812345678").shown_target == "138****5678"
    assert ChannelMessage(channel="robot", target="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
                          ).shown_target == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"


def test_robots_are_configured_by_county_wide_admins_only_and_audited_without_their_key(client, county, personas):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from governance.models import AuditEntry

    office = personas["township_office"]  # posted at 太平镇: not a county-wide administrator
    office.is_staff = True
    office.save()
    client.force_login(office)
    assert client.get(reverse("admin:grid_grouprobot_changelist")).status_code == 403
    assert client.get(reverse("admin:governance_mobilenumber_changelist")).status_code == 403

    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.com", "Admin@2026pw"))
    response = client.post(reverse("admin:grid_grouprobot_add"), {
        "name": "太平镇网格工作群", "region": county.taiping.pk, "department": "", "enabled": "on",
        "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.filter(action__endswith="grouprobot.create").latest("id")
    assert entry.after["webhook_url"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    response = client.post(reverse("admin:governance_mobilenumber_add"),
                           {"user": personas["grid_leader"].pk, "number": "13800001111", "receives_sms": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.filter(action__endswith="mobilenumber.create").latest("id")
    assert entry.after["number"] == "138****1111" and "13800001111" not in entry.object_repr
    bad = client.post(reverse("admin:governance_mobilenumber_add"),
                      {"user": personas["grid_member"].pk, "number": "12345", "receives_sms": "on"})
    assert "请输入 11 位手机号" in bad.content.decode()
