"""Supervision of overdue tasks (督办): the job Celery beat runs every few minutes.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from governance import audit
from governance.models import Notification
from grid.events import HANDLE_PERMISSION_BY_TIER
from grid.models import Event, Post, Region

from .event_flow import EventFlow
from .models import SLARule, TaskDeadline

logger = logging.getLogger(__name__)
BATCH_SIZE = 1000


@dataclass
class SupervisionResult:
    supervised: int = 0
    notices: int = 0
    escalated: int = 0  # automatic escalations queued (taken by the workers; eagerly in the embedded run)


def _claim_batch(now, batch_size: int) -> list[int]:
    """Take up to `batch_size` due deadlines for this scan; rows another scan holds are skipped."""
    if connection.vendor == "postgresql":
        # One statement: the due rows are locked (skipping those another scan holds) and marked.
        table = TaskDeadline._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET supervised_at = %s WHERE id IN ("
                f"SELECT id FROM {table} WHERE is_open AND supervised_at IS NULL AND due_at <= %s "
                "ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
                [now, now, batch_size],
            )
            return [row[0] for row in cursor.fetchall()]
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
    """Who holds a permission over a region (posts at the region or above), and the regions above,
    read once per scan however many events it meets."""

    def __init__(self):
        self._cache: dict[tuple, list[int]] = {}
        self._posts: dict[str, dict[str, list[tuple[int, int | None]]]] = {}
        self._regions: dict[str, Region] = {}
        self._committees: dict[int, list[int]] = {}

    def load_regions(self, paths) -> None:
        """Read the regions at `paths` and every region above them (one query for those not read yet)."""
        wanted = {prefix for path in paths for prefix in _ancestor_paths(path)} - self._regions.keys()
        if wanted:
            for region in Region.objects.filter(path__in=wanted).select_related("tier"):
                self._regions[region.path] = region

    def region(self, path: str) -> Region | None:
        if path not in self._regions:
            self.load_regions([path])
        return self._regions.get(path)

    def upper(self, region: Region) -> Region | None:
        """The next handling region above `region` (grid.events.next_handling_region, from the paths)."""
        if region.tier.key == "township":
            return None
        for path in reversed(_ancestor_paths(region.path)[:-1]):
            node = self.region(path)
            if node is not None and node.tier.key in HANDLE_PERMISSION_BY_TIER:
                return node
        return None

    def committee(self, region: Region) -> list[int]:
        """The township party committee, who supervise the township office."""
        if region.pk not in self._committees:
            self._committees[region.pk] = list(
                Post.objects.active().filter(region=region, role__key="township_committee", user__is_active=True)
                .values_list("user_id", flat=True))
        return self._committees[region.pk]

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
            above = holders.committee(region)
    elif task.flow_task == EventFlow.department_handle:
        holding = [task.owner_id] if task.owner_id else holders.of(
            "grid.handle_dispatched_event", region, department_id=event.department_id)
        above = holders.of("grid.dispatch_event", region, exact=True)
    else:  # verification: the reporter, and the grid leader above them
        holding = [event.reporter_id]
        above = holders.of("grid.verify_event", event.region)
    holding = [pk for pk in holding if pk]
    return holding, [pk for pk in above if pk not in holding]


def _rule_cache():
    """workflows.sla.rule_for for one scan, from every rule read once (a handful of rows)."""
    rules: dict[tuple, SLARule] | None = None

    def rule_for(event: Event) -> SLARule | None:
        nonlocal rules
        if rules is None:
            rules = {(r.tier_id, r.urgency, r.category_id): r for r in SLARule.objects.all()}
        key = (event.handling_region.tier_id, event.urgency)
        return rules.get((*key, event.category_id)) or rules.get((*key, None))

    return rule_for


def supervise_overdue(now=None, *, batch_size: int = BATCH_SIZE) -> SupervisionResult:
    """Claim every due deadline and supervise it (here when Celery is eager, else in the workers)."""
    from .tasks import supervise_batch as batch_task

    now = now or timezone.now()
    result = SupervisionResult()
    holders, rule_for = Holders(), _rule_cache()
    eager = batch_task.app.conf.task_always_eager
    while True:
        ids = _claim_batch(now, batch_size)
        if not ids:
            break
        if eager:
            _supervise_batch(ids, now, holders, rule_for, result)
        else:
            result.supervised += len(ids)  # claimed here, supervised by the worker that takes the batch
            batch_task.delay_on_commit(ids, now.isoformat())  # the outbox row commits with the claims
        if len(ids) < batch_size:
            break
    return result


def supervise_batch(deadline_ids: list[int], now) -> SupervisionResult:
    """The worker's half: supervise one batch of deadlines a scan claimed."""
    result = SupervisionResult()
    _supervise_batch(deadline_ids, now, Holders(), _rule_cache(), result)
    return result


@dataclass
class _DueTask:
    """The columns of a claimed deadline's task that the scan needs (no model instances)."""

    pk: int
    flow_task: object
    owner_id: int | None


def _supervise_batch(ids, now, holders: Holders, rule_for, result: SupervisionResult) -> list[int]:
    """Notices, overdue marks and audit rows for one claimed batch; returns the task ids to escalate."""
    rows = list(TaskDeadline.objects.filter(pk__in=ids).values_list(
        "due_at", "task_id", "task__flow_task", "task__owner_id", "task__process__artifact_object_id"))
    columns = ("id", "title", "reporter_id", "region_id", "handling_region_id", "department_id", "urgency",
               "category_id", "status", "region__path", "handling_region__path")
    events: dict[int, Event] = {}
    paths: dict[int, tuple[str, str]] = {}
    for values in Event.objects.filter(pk__in={row[4] for row in rows}, status__in=Event.OPEN_STATUSES
                                       ).values_list(*columns):
        event = Event(**dict(zip(columns[:9], values[:9], strict=True)))
        events[event.pk], paths[event.pk] = event, values[9:]
    holders.load_regions(path for pair in paths.values() for path in pair)
    for pk, (region_path, handling_path) in paths.items():
        events[pk].region, events[pk].handling_region = holders.region(region_path), holders.region(handling_path)

    notices: list[Notification] = []
    supervised_events: dict[int, Event] = {}
    to_escalate: list[int] = []
    for due_at, task_id, flow_task, owner_id, event_id in rows:
        event = events.get(int(event_id)) if event_id is not None else None
        if event is None:
            continue
        task = _DueTask(task_id, flow_task, owner_id)
        supervised_events[event.pk] = event
        holding, above = recipients_of_task(task, event, holders)
        url = reverse("grid:event_detail", args=[event.pk])
        due = timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M")
        title = f"督办：事件 #{event.pk}“{event.title}”已超过办理时限"
        body = f"{event.handling_region.full_path}（{event.handling_region.tier.name}）应于 {due} 前办理，现已超期，请尽快办理。"
        for user_id in holding:
            notices.append(Notification(recipient_id=user_id, kind=Notification.Kind.SUPERVISION, title=title,
                                        body=body, url=url, dedupe_key=f"supervision:{task_id}:{user_id}"))
        for user_id in above:
            notices.append(Notification(recipient_id=user_id, kind=Notification.Kind.SUPERVISION,
                                        title=f"{title}（下级超期，请督促）", body=body, url=url,
                                        dedupe_key=f"supervision:{task_id}:{user_id}"))
        rule = rule_for(event)
        if flow_task == EventFlow.handle and rule is not None and rule.auto_escalate:
            to_escalate.append(task_id)
    with transaction.atomic():
        # Only the events this batch marks are audited: a batch job run again records nothing twice.
        marking = Event.objects.select_for_update().filter(pk__in=list(supervised_events), is_overdue=False)
        marked = set(marking.values_list("pk", flat=True))
        Event.objects.filter(pk__in=marked).update(is_overdue=True)
        sent = set(Notification.objects.filter(dedupe_key__in=[n.dedupe_key for n in notices])
                   .values_list("dedupe_key", flat=True))  # a batch delivered again sends nothing twice
        notices = [notice for notice in notices if notice.dedupe_key not in sent]
        created = Notification.objects.bulk_create(notices, batch_size=2000, ignore_conflicts=True)
        audit.record_many("event.supervised", [supervised_events[pk] for pk in sorted(marked)],
                          after={"supervised_at": now.isoformat()})
        _email_after_commit([notice.dedupe_key for notice in notices])
    result.supervised += len(supervised_events)
    result.notices += len(created)
    if to_escalate:
        _queue_escalations(to_escalate)
        result.escalated += len(to_escalate)
    return to_escalate


def _queue_escalations(task_ids: list[int]) -> None:
    """One message for the batch's escalations, sent once the batch has committed (at once when eager)."""
    from .tasks import escalate_overdue_tasks

    if escalate_overdue_tasks.app.conf.task_always_eager:
        escalate_overdue_tasks.delay(task_ids)
    else:
        escalate_overdue_tasks.delay_on_commit(task_ids)


def escalate_overdue_tasks(task_ids: list[int]) -> int:
    """Escalate the events whose overdue handle task is one of `task_ids` and still open.

    Idempotent: a task that is done (escalated already, or handled meanwhile) is skipped, so a
    redelivered message escalates nothing twice. One event's trouble does not stop the others.
    """
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from grid.events import escalate_overdue_event

    open_tasks = Task.objects.filter(pk__in=task_ids, status__in=[STATUS.NEW, STATUS.ASSIGNED], flow_task=EventFlow.handle)
    event_ids = [int(pk) for pk in open_tasks.values_list("process__artifact_object_id", flat=True) if pk is not None]
    escalated = 0
    for event in Event.objects.filter(pk__in=event_ids).order_by("pk"):
        try:
            if escalate_overdue_event(event):
                escalated += 1
        except Exception:
            logger.exception("automatic escalation of event %s failed", event.pk)
    return escalated


def _email_after_commit(dedupe_keys: list[str]) -> None:
    from governance.notifications import _send_email, email_enabled

    if not email_enabled() or not dedupe_keys:
        return

    def send():
        pending = Notification.objects.filter(dedupe_key__in=dedupe_keys, emailed_at__isnull=True).exclude(recipient__email="")
        for pk in pending.values_list("pk", flat=True):
            _send_email(pk)

    transaction.on_commit(send)
