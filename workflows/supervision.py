"""Supervision of overdue tasks (督办): the job Celery beat runs every few minutes.

It finds due deadlines through the partial index (open, not yet supervised, due_at ≤ now), claims
them in batches with one conditional UPDATE (so two scans at once never both take a row), marks
the events overdue, sends a 督办 notice to whoever holds the step and to the person above, writes
the audit trail, and where the SLA rule says so escalates the event one tier by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from governance import audit
from governance.models import Notification
from grid.events import HANDLE_PERMISSION_BY_TIER, escalate_overdue_event, next_handling_region
from grid.models import Event, Post, Region

from .event_flow import EventFlow
from .models import SLARule, TaskDeadline
from .sla import rule_for as sla_rule_for

logger = logging.getLogger(__name__)
BATCH_SIZE = 500


@dataclass
class SupervisionResult:
    supervised: int = 0
    notices: int = 0
    escalated: int = 0


def _claim_batch(now, batch_size: int) -> list[int]:
    """Take up to `batch_size` due deadlines for this scan; rows another scan holds are skipped."""
    with transaction.atomic():
        due = TaskDeadline.objects.filter(is_open=True, supervised_at__isnull=True, due_at__lte=now).order_by("due_at")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return []
        TaskDeadline.objects.filter(pk__in=ids, supervised_at__isnull=True).update(supervised_at=now)
    return ids


def _ancestor_paths(path: str) -> list[str]:
    step = Region.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


class Holders:
    """Who holds a permission over a region (posts at the region or above), cached for one scan."""

    def __init__(self):
        self._cache: dict[tuple, list[int]] = {}
        self._posts: dict[str, dict[str, list[tuple[int, int | None]]]] = {}
        self._upper: dict[int, Region | None] = {}

    def upper(self, region: Region) -> Region | None:
        """The next handling region above `region` (two queries per region, so once per scan)."""
        if region.pk not in self._upper:
            self._upper[region.pk] = next_handling_region(region)
        return self._upper[region.pk]

    def of(self, perm: str, region: Region, *, exact: bool = False, department_id: int | None = None) -> list[int]:
        key = (perm, region.pk, exact, department_id)
        if key not in self._cache:
            by_path = self._holders_by_path(perm)
            paths = [region.path] if exact else _ancestor_paths(region.path)
            self._cache[key] = sorted({
                user_id for path in paths for user_id, post_department in by_path.get(path, ())
                if not department_id or post_department == department_id
            })
        return self._cache[key]

    def _holders_by_path(self, perm: str) -> dict[str, list[tuple[int, int | None]]]:
        """Every active holder of `perm` by the path of their post's region: one query per permission
        and scan, however many regions the scan meets."""
        if perm not in self._posts:
            app_label, codename = perm.split(".", 1)
            rows = Post.objects.active().filter(
                role__permissions__codename=codename, role__permissions__content_type__app_label=app_label,
                user__is_active=True,
            ).values_list("region__path", "user_id", "department_id")
            by_path: dict[str, list[tuple[int, int | None]]] = {}
            for path, user_id, department_id in rows:
                by_path.setdefault(path, []).append((user_id, department_id))
            self._posts[perm] = by_path
        return self._posts[perm]


def recipients_of_task(task, event: Event, holders: Holders) -> tuple[list[int], list[int]]:
    """(who holds the step, who is above them) for the task of an event."""
    region = event.handling_region
    if task.flow_task == EventFlow.handle:
        tier = region.tier.key
        holding = [task.owner_id] if task.owner_id else holders.of(HANDLE_PERMISSION_BY_TIER.get(tier, "grid.dispatch_event"), region)
        upper = holders.upper(region)
        if upper is not None:
            above = holders.of(HANDLE_PERMISSION_BY_TIER.get(upper.tier.key, "grid.dispatch_event"), upper, exact=True)
        else:  # the township office is supervised by the township party committee
            above = _committee_members(region)
    elif task.flow_task == EventFlow.department_handle:
        holding = [task.owner_id] if task.owner_id else holders.of(
            "grid.handle_dispatched_event", region, department_id=event.department_id)
        above = holders.of("grid.dispatch_event", region, exact=True)
    else:  # verification: the reporter, and the grid leader above them
        holding = [event.reporter_id]
        above = holders.of("grid.verify_event", event.region)
    holding = [pk for pk in holding if pk]
    return holding, [pk for pk in above if pk not in holding]


def _committee_members(region: Region) -> list[int]:
    return list(Post.objects.active().filter(region=region, role__key="township_committee").values_list("user_id", flat=True))


def _rule_cache():
    cache: dict[tuple, SLARule | None] = {}

    def rule_for(event: Event) -> SLARule | None:
        key = (event.handling_region.tier_id, event.urgency, event.category_id)
        if key not in cache:
            cache[key] = sla_rule_for(event)
        return cache[key]

    return rule_for


def supervise_overdue(now=None, *, batch_size: int = BATCH_SIZE) -> SupervisionResult:
    now = now or timezone.now()
    result = SupervisionResult()
    holders, rule_for = Holders(), _rule_cache()
    while True:
        ids = _claim_batch(now, batch_size)
        if not ids:
            break
        to_escalate = _supervise_batch(ids, now, holders, rule_for, result)
        for event in to_escalate:
            try:
                if escalate_overdue_event(event):
                    result.escalated += 1
            except Exception:  # one event's trouble must not stop the supervision of the others
                logger.exception("automatic escalation of event %s failed", event.pk)
        if len(ids) < batch_size:
            break
    return result


def _supervise_batch(ids, now, holders, rule_for, result: SupervisionResult) -> list[Event]:
    deadlines = list(TaskDeadline.objects.filter(pk__in=ids).select_related("task__process"))
    event_ids = {d.task.process.artifact_object_id for d in deadlines}
    events = Event.objects.select_related("handling_region__tier", "region", "category").in_bulk(event_ids)
    notices: list[Notification] = []
    supervised_events: dict[int, Event] = {}
    to_escalate: list[Event] = []
    for deadline in deadlines:
        task, event = deadline.task, events.get(deadline.task.process.artifact_object_id)
        if event is None or not event.is_open:
            continue
        supervised_events[event.pk] = event
        holding, above = recipients_of_task(task, event, holders)
        url = reverse("grid:event_detail", args=[event.pk])
        due = timezone.localtime(deadline.due_at).strftime("%Y-%m-%d %H:%M")
        title = f"督办：事件 #{event.pk}“{event.title}”已超过办理时限"
        body = f"{event.handling_region.full_path}（{event.handling_region.tier.name}）应于 {due} 前办理，现已超期，请尽快办理。"
        for user_id in holding:
            notices.append(Notification(recipient_id=user_id, kind=Notification.Kind.SUPERVISION, title=title,
                                        body=body, url=url, dedupe_key=f"supervision:{task.pk}:{user_id}"))
        for user_id in above:
            notices.append(Notification(recipient_id=user_id, kind=Notification.Kind.SUPERVISION,
                                        title=f"{title}（下级超期，请督促）", body=body, url=url,
                                        dedupe_key=f"supervision:{task.pk}:{user_id}"))
        rule = rule_for(event)
        if task.flow_task == EventFlow.handle and rule is not None and rule.auto_escalate:
            to_escalate.append(event)
    with transaction.atomic():
        Event.objects.filter(pk__in=list(supervised_events)).update(is_overdue=True)
        created = Notification.objects.bulk_create(notices, batch_size=1000, ignore_conflicts=True)
        audit.record_many("event.supervised", list(supervised_events.values()), after={"supervised_at": now.isoformat()})
        _email_after_commit([notice.dedupe_key for notice in notices])
    result.supervised += len(supervised_events)
    result.notices += len(created)
    return to_escalate


def _email_after_commit(dedupe_keys: list[str]) -> None:
    from governance.notifications import _send_email, email_enabled

    if not email_enabled() or not dedupe_keys:
        return

    def send():
        pending = Notification.objects.filter(dedupe_key__in=dedupe_keys, emailed_at__isnull=True).exclude(recipient__email="")
        for pk in pending.values_list("pk", flat=True):
            _send_email(pk)

    transaction.on_commit(send)
