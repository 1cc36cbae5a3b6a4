"""Supervision of overdue tasks (督办): the job Celery beat runs every few minutes.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

import datetime
import logging
from dataclasses import asdict, dataclass

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from governance import audit
from governance.models import AuditEntry, Notification
from governance.notifications import _send_email, email_enabled, forget_unread
from workflows.models import SLARule, TaskDeadline

from . import events as event_services
from .event_flow import EventFlow
from .flow_policy import deadline_rule, policy_of
from .message_channels import Relay
from .models import Event, FlowPolicyDeadline
from .task_holders import Holders, recipients_of_task

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


ESCALATING = (FlowPolicyDeadline.Action.ESCALATE, FlowPolicyDeadline.Action.ESCALATE_NOTIFY, "sla_escalate")


def timeout_action(event: Event, rule_for) -> str | None:
    """What an overdue step of `event` does: its policy version's rule for the tier and urgency, else
    the SLA rule's auto-escalation (督办 to the holders and their superior, as before policies)."""
    rule = deadline_rule(policy_of(event), event.handling_region.tier.key, event.urgency)
    if rule is not None:
        return rule.action
    sla_rule = rule_for(event)
    return "sla_escalate" if sla_rule is not None and sla_rule.auto_escalate else None


def supervise_overdue(now=None, *, batch_size: int = BATCH_SIZE) -> SupervisionResult:
    """Claim every due deadline and supervise it (here when Celery is eager, else in the workers)."""
    batch_task = supervise_batch_task
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
    """Notices and audit rows for one claimed batch; returns the task ids to escalate."""
    rows = list(TaskDeadline.objects.filter(pk__in=ids).values_list(
        "due_at", "task_id", "task__flow_task", "task__owner_id", "task__process__artifact_object_id"))
    fields = ("id", "title", "reporter_id", "region_id", "handling_region_id", "department_id", "urgency",
              "category_id", "status", "flow_policy_id", "disposed_by_id")
    events: dict[int, Event] = {}
    paths: dict[int, tuple[str, str]] = {}
    for values in Event.objects.filter(pk__in={row[4] for row in rows}, status__in=Event.OPEN_STATUSES
                                       ).values_list(*fields, "reporter__is_active", "region__path",
                                                     "handling_region__path"):
        event = Event(**dict(zip(fields, values, strict=False)))
        # Whether the reporter may still verify (grid.event_rules.verify_candidates), without a query each.
        event.reporter = get_user_model()(pk=event.reporter_id, is_active=values[len(fields)])
        events[event.pk], paths[event.pk] = event, values[len(fields) + 1:]
    holders.load_regions(path for pair in paths.values() for path in pair)
    for pk, (region_path, handling_path) in paths.items():
        events[pk].region, events[pk].handling_region = holders.region(region_path), holders.region(handling_path)

    notices: list[Notification] = []
    relay = Relay()
    supervised_events: dict[int, Event] = {}
    to_escalate: list[int] = []
    for due_at, task_id, flow_task, owner_id, event_id in rows:
        event = events.get(int(event_id)) if event_id is not None else None
        if event is None:
            continue
        task = _DueTask(task_id, flow_task, owner_id)
        supervised_events[event.pk] = event
        holding, above = recipients_of_task(task, event, holders)
        action = timeout_action(event, rule_for)
        if action == FlowPolicyDeadline.Action.SUPERVISE or action == FlowPolicyDeadline.Action.ESCALATE:
            above = []  # the policy's 督办 goes to the holders only; the superior hears of escalations only
        url = reverse("grid:event_detail", args=[event.pk])
        due = timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M")
        title = f"督办：事件 #{event.pk}“{event.title}”已超过办理时限"
        body = f"{event.handling_region.place_name}应于 {due} 前办理，现已超期，请尽快办理。"
        for user_id in holding:
            notices.append(Notification(recipient_id=user_id, kind=Notification.Kind.SUPERVISION, title=title,
                                        body=body, url=url, dedupe_key=f"supervision:{task_id}:{user_id}"))
        for user_id in above:
            notices.append(Notification(recipient_id=user_id, kind=Notification.Kind.SUPERVISION,
                                        title=f"{title}（下级超期，请督促）", body=body, url=url,
                                        dedupe_key=f"supervision:{task_id}:{user_id}"))
        relay.add(event, occasion=f"supervision:{task_id}", title=title, body=body, url=url,
                  recipients=[(user_id, title) for user_id in holding]
                  + [(user_id, f"{title}（下级超期，请督促）") for user_id in above])
        if flow_task == EventFlow.handle and action in ESCALATING:
            to_escalate.append(task_id)
    with transaction.atomic():
        # Whether an event is overdue is computed (grid.models.overdue_q); the scan only acts on it.
        # A batch delivered again audits nothing twice: its rows carry this scan's time, looked for
        # while the audit chain's head is held (every audit writer takes it first).
        audit.hold_head()
        audited = set(AuditEntry.objects.filter(
            action="event.supervised", object_type=Event._meta.label, object_id__in=[str(pk) for pk in supervised_events],
            after__supervised_at=now.isoformat()).values_list("object_id", flat=True))
        marked = [pk for pk in sorted(supervised_events) if str(pk) not in audited]
        sent = set(Notification.objects.filter(dedupe_key__in=[n.dedupe_key for n in notices])
                   .values_list("dedupe_key", flat=True))  # a batch delivered again sends nothing twice
        notices = [notice for notice in notices if notice.dedupe_key not in sent]
        created = Notification.objects.bulk_create(notices, batch_size=2000, ignore_conflicts=True)
        forget_unread(notice.recipient_id for notice in notices)
        relay.queue()  # group robots and SMS, each once per task and recipient, sent after this commit
        audit.record_many("event.supervised", [supervised_events[pk] for pk in marked],
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
    if escalate_overdue_tasks_task.app.conf.task_always_eager:
        escalate_overdue_tasks_task.delay(task_ids)
    else:
        escalate_overdue_tasks_task.delay_on_commit(task_ids)


def escalate_overdue_tasks(task_ids: list[int]) -> int:
    """Escalate the events whose overdue handle task is one of `task_ids` and still open.

    Idempotent: a task that is done (escalated already, or handled meanwhile) is skipped, so a
    redelivered message escalates nothing twice. One event's trouble does not stop the others.
    """
    open_tasks = Task.objects.filter(pk__in=task_ids, status__in=[STATUS.NEW, STATUS.ASSIGNED], flow_task=EventFlow.handle)
    event_ids = [int(pk) for pk in open_tasks.values_list("process__artifact_object_id", flat=True) if pk is not None]
    escalated = 0
    for event in Event.objects.filter(pk__in=event_ids).order_by("pk"):
        try:
            if event_services.escalate_overdue_event(event):
                escalated += 1
        except Exception:
            logger.exception("automatic escalation of event %s failed", event.pk)
    return escalated


def _email_after_commit(dedupe_keys: list[str]) -> None:
    if not email_enabled() or not dedupe_keys:
        return

    def send():
        pending = Notification.objects.filter(dedupe_key__in=dedupe_keys, emailed_at__isnull=True).exclude(recipient__email="")
        for pk in pending.values_list("pk", flat=True):
            _send_email(pk)

    transaction.on_commit(send)


# ---------------------------------------------------------------- the Celery tasks (beat and workers)


@shared_task(name="workflows.tasks.supervise_batch", ignore_result=True)
def supervise_batch_task(deadline_ids: list[int], now: str) -> dict:
    """One batch of due deadlines an overdue scan claimed: notices, audit, escalations."""
    return asdict(supervise_batch(deadline_ids, datetime.datetime.fromisoformat(now)))


@shared_task(name="workflows.tasks.escalate_overdue_tasks", ignore_result=True)
def escalate_overdue_tasks_task(task_ids: list[int]) -> int:
    """Automatic escalation of the overdue handle tasks one scan batch found (idempotent per task)."""
    return escalate_overdue_tasks(task_ids)
