"""Messages where officials read them: 企业微信/政务微信 group robots and an SMS gateway.

Each channel is optional. A message is a `ChannelMessage` row, written in the transaction of what it
tells (a 督办 batch, a 待办 notice) and sent after the commit by a Celery task queued through the
outbox (governance/outbox.py): nothing is lost while Redis is down. A send that fails (the gateway is
down, answers an error, or times out) is tried again later with a growing delay; the task retries
itself (its retry message goes through the outbox too) and the beat job `deliver_channel_messages`
sends whatever is due, so messages also go out after a worker restart. Each target is rate-limited
per minute (a group robot takes at most 20 messages a minute). Logs show phone numbers masked
(138****5678) and robot addresses without their key.

Exactly once: a row is claimed with one UPDATE before it is sent (two workers cannot both send it),
and one row exists per recipient and occasion (`dedupe_key`). Only a crash between the gateway's
answer and the UPDATE that marks the row sent can send it twice (after the claim's lease).
Design notes: docs/architecture/governance.md.
"""

from __future__ import annotations

import datetime
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from .models import ChannelMessage, MobileNumber

logger = logging.getLogger(__name__)

# A claimed row is not picked up again for this long (a send in progress, or a worker that died).
CLAIM_LEASE = datetime.timedelta(minutes=5)
RATE_WINDOW_SECONDS = 60
_ROBOT_OK = {0, "0"}
_SMS_OK = {0, "0", 200, "200", "OK", "ok", "Ok", "success", "SUCCESS"}


class ChannelError(Exception):
    """The gateway did not take the message; the text is kept as the row's last error."""


@dataclass
class Outgoing:
    """A message to store and send: `target` is a robot's webhook address or a phone number."""

    channel: str
    target: str
    text: str
    dedupe_key: str


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # over the rate limit: sent in a later minute
    given_up: int = 0  # failed CHANNEL_MAX_ATTEMPTS times


def sms_enabled() -> bool:
    return bool(settings.SMS_GATEWAY_URL)


def sms_text(title: str) -> str:
    """The SMS as the recipient reads it: the configured template with the signature and the title."""
    return settings.SMS_TEMPLATE.format(signature=settings.SMS_SIGNATURE, title=title)


def sms_for(recipients: Iterable[tuple[int, str, str]]) -> list[Outgoing]:
    """SMS for (user id, title, occasion key) of users with a mobile number who take SMS; one query."""
    recipients = list(recipients)
    if not sms_enabled() or not recipients:
        return []
    numbers = dict(MobileNumber.objects.filter(
        user_id__in={user_id for user_id, _, _ in recipients}, receives_sms=True, user__is_active=True,
    ).values_list("user_id", "number"))
    return [Outgoing(ChannelMessage.Channel.SMS, numbers[user_id], sms_text(title), f"{key}:sms")
            for user_id, title, key in recipients if user_id in numbers]


def queue(messages: list[Outgoing]) -> int:
    """Store the messages not stored yet and send them after the commit (through the outbox).
    Call it inside the transaction of what the messages tell; returns how many were new."""
    if not messages:
        return 0
    now = timezone.now()
    with transaction.atomic():
        known = set(ChannelMessage.objects.filter(dedupe_key__in=[m.dedupe_key for m in messages])
                    .values_list("dedupe_key", flat=True))
        fresh = {m.dedupe_key: m for m in messages if m.dedupe_key not in known}
        if not fresh:
            return 0
        ChannelMessage.objects.bulk_create(
            [ChannelMessage(channel=m.channel, target=m.target, text=m.text, dedupe_key=m.dedupe_key,
                            next_attempt_at=now) for m in fresh.values()],
            ignore_conflicts=True,  # a concurrent writer of the same occasion: its row stands
        )
        deliver_channel_messages_task.delay_on_commit(sorted(fresh))
    return len(fresh)


def deliver(keys: list[str] | None = None, *, now: datetime.datetime | None = None, limit: int = 500) -> DeliveryResult:
    """Send the due, unsent messages (those of `keys`, or all); each row is claimed before it is sent."""
    now = now or timezone.now()
    result = DeliveryResult()
    due = ChannelMessage.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now,
                                        attempts__lt=settings.CHANNEL_MAX_ATTEMPTS)
    if keys is not None:
        due = due.filter(dedupe_key__in=keys)
    for message in list(due.order_by("id")[:limit]):
        row = ChannelMessage.objects.filter(pk=message.pk)
        claimed = row.filter(sent_at__isnull=True, attempts=message.attempts, next_attempt_at__lte=now).update(
            attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE)
        if not claimed:
            continue  # another worker has it
        attempt = message.attempts + 1
        slot_at = _take_slot(message, now)
        if slot_at is not None:  # over the rate limit: wait for the next minute, not counted as an attempt
            row.update(attempts=F("attempts") - 1, next_attempt_at=slot_at)
            result.deferred += 1
            continue
        try:
            _send(message)
        except ChannelError as exc:
            delay = min(settings.CHANNEL_RETRY_SECONDS * 2 ** (attempt - 1), 3600)
            row.update(last_error=str(exc)[:500], next_attempt_at=now + datetime.timedelta(seconds=delay))
            if attempt >= settings.CHANNEL_MAX_ATTEMPTS:
                result.given_up += 1
                logger.error("%s message %s to %s given up after %d attempts: %s", message.channel, message.pk,
                             message.shown_target, attempt, exc)
            else:
                result.failed += 1
                logger.warning("%s message %s to %s failed (attempt %d, next in %d s): %s", message.channel,
                               message.pk, message.shown_target, attempt, delay, exc)
            continue
        row.update(sent_at=timezone.now(), last_error="")
        result.sent += 1
        logger.info("%s message %s sent to %s", message.channel, message.pk, message.shown_target)
    return result


def next_due(keys: list[str]) -> datetime.datetime | None:
    """When the earliest of these messages that are still to be sent is due (None: nothing left)."""
    return ChannelMessage.objects.filter(dedupe_key__in=keys, sent_at__isnull=True,
                                         attempts__lt=settings.CHANNEL_MAX_ATTEMPTS
                                         ).aggregate(due=Min("next_attempt_at"))["due"]


def _take_slot(message: ChannelMessage, now: datetime.datetime) -> datetime.datetime | None:
    """Count this send against its target's limit for the current minute; None when it may go now,
    else the start of the next minute. The counters live in the cache (Redis in production: shared by
    every worker)."""
    if message.channel == ChannelMessage.Channel.SMS:
        limit, bucket = settings.SMS_PER_MINUTE, "sms"  # the gateway account's limit, whoever the recipient
    else:
        limit, bucket = settings.ROBOT_PER_MINUTE, f"robot:{message.target}"
    window = int(now.timestamp()) // RATE_WINDOW_SECONDS
    key = f"channels:rate:{bucket}:{window}"
    cache.add(key, 0, timeout=RATE_WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=RATE_WINDOW_SECONDS * 2)
        count = 1
    if count <= limit:
        return None
    return datetime.datetime.fromtimestamp((window + 1) * RATE_WINDOW_SECONDS, tz=datetime.UTC)


def _send(message: ChannelMessage) -> None:
    if message.channel == ChannelMessage.Channel.ROBOT:
        answer = _post_json(message.target, {"msgtype": "text", "text": {"content": message.text}}, {})
        answer = answer if isinstance(answer, dict) else {}
        code = answer.get("errcode", 0)
        if code not in _ROBOT_OK:  # e.g. 45009: the robot's own limit of 20 a minute
            raise ChannelError(f"群机器人返回错误 {code}：{answer.get('errmsg', '')}")
        return
    if not sms_enabled():
        raise ChannelError("未配置短信网关（SMS_GATEWAY_URL）")
    payload = {"phone": message.target, "sign_name": settings.SMS_SIGNATURE, "content": message.text,
               "template_id": settings.SMS_TEMPLATE_ID, "template_params": {"content": message.text}}
    headers = {"Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"} if settings.SMS_GATEWAY_TOKEN else {}
    answer = _post_json(settings.SMS_GATEWAY_URL, payload, headers)
    answer = answer if isinstance(answer, dict) else {}
    code = answer.get("code", 0)
    if code not in _SMS_OK:
        raise ChannelError(f"短信网关返回错误 {code}：{answer.get('message', '') or answer.get('msg', '')}")


def _post_json(url: str, payload: dict, headers: dict):
    """POST `payload` as JSON; the decoded JSON answer (None for a non-JSON 2xx answer)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.CHANNEL_TIMEOUT_SECONDS) as response:
            body = response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise ChannelError(f"无法连接：{exc.reason}") from None
    except (OSError, ValueError) as exc:  # timeouts, resets, a malformed address
        raise ChannelError(f"发送失败：{type(exc).__name__}") from None
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


@shared_task(name="governance.tasks.deliver_channel_messages", bind=True, ignore_result=True, max_retries=None,
             runs_in_background=True)
def deliver_channel_messages_task(self, keys: list[str]) -> dict:
    """Send the messages one transaction stored; while some wait (failed, or over the rate limit), the
    task retries itself when the earliest is due (eager runs leave them to the beat job)."""
    result = deliver(keys)
    due = next_due(keys)
    if due is not None and not self.request.is_eager:
        raise self.retry(countdown=max(1, int((due - timezone.now()).total_seconds()) + 1))
    return asdict(result)


@shared_task(name="governance.tasks.deliver_due_channel_messages", ignore_result=True)
def deliver_due_channel_messages() -> dict:
    """Beat, every minute: whatever is due (retries after a worker restart; the embedded run's retries)."""
    return asdict(deliver())
