"""待办 notices: when an event reaches a step, whoever holds that step hears of it.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Task

from governance.models import Notification
from governance.notifications import notify

from . import access_cache
from .flow_policy import policy_of, step_name
from .message_channels import Relay
from .models import Event
from .region_memo import regions_by_id
from .task_holders import Holders, recipients_of_task

STEPS_BY_NODE = {"handle": "handle", "department_handle": "department", "verify": "verify"}


def notice_row(task_id: int):
    """The outbox row of the notice for `task_id`, unsaved, its publish arranged for after the commit
    (None when no row is kept: eager tasks, or no transaction); event intake inserts it with its rows."""
    return notify_task_holders_task.prepare_on_commit((task_id,))


def notify_task_holders(task_id: int) -> int:
    """Tell the holders of a still-open event task that it waits for them; returns notices sent."""
    task = Task.objects.select_related("process", "deadline").filter(pk=task_id).first()
    if task is None or task.finished is not None:
        return 0
    # The event's own row; its regions kept by the process (grid.region_memo) when this runs under an
    # access version (the queued task does: notify_task_holders_task).
    event = Event.objects.filter(pk=task.process.artifact_object_id).first()
    if event is None or not event.is_open:
        return 0
    regions = regions_by_id({event.region_id, event.handling_region_id})
    event.region, event.handling_region = regions[event.region_id], regions[event.handling_region_id]
    holding, _ = recipients_of_task(task, event, Holders(narrow=True), with_above=False)
    node_name = getattr(task.flow_task, "name", "")
    step = step_name(STEPS_BY_NODE.get(node_name, ""), event.handling_region.tier.key, policy_of(event)) or "办理"
    deadline = getattr(task, "deadline", None)
    due = f"，请于 {timezone.localtime(deadline.due_at):%Y-%m-%d %H:%M} 前办理" if deadline else ""
    if node_name == "verify":
        title = f"待核实：事件 #{event.pk}“{event.title}”已办理，请核实"
    else:
        title = f"新待办：事件 #{event.pk}“{event.title}”待{step}"
    department = f"·{event.department.name}" if event.department_id else ""
    body = f"{event.handling_region.place_name}{department}：{step}{due}。"
    url = reverse("grid:event_detail", args=[event.pk])
    sent = 0
    for user_id in holding:
        if notify(user_id, kind=Notification.Kind.TASK, title=title, body=body, url=url,
                  dedupe_key=f"task:{task.pk}:{user_id}"):
            sent += 1
    relay = Relay()  # the group robot and SMS (each once per task and recipient, however often this runs)
    relay.add(event, occasion=f"task:{task.pk}", title=title, body=body, url=url,
              recipients=[(user_id, title) for user_id in holding])
    relay.queue()
    return sent


def notify_reporter_of_result(event: Event, *, title: str, body: str = "") -> None:
    """An event ended without verification (rejected, merged): its reporter hears why."""
    url = reverse("grid:event_detail", args=[event.pk])
    reporter_id = event.reporter_id
    transaction.on_commit(lambda: notify(reporter_id, kind=Notification.Kind.RESULT, title=title, body=body,
                                         url=url, dedupe_key=f"result:{event.pk}:{event.status}"))


@shared_task(name="workflows.tasks.notify_task_holders", ignore_result=True, outbox_batchable=True,
             runs_in_background=True)
def notify_task_holders_task(task_id: int) -> int:
    """待办 notices for a task that just opened (queued after the step's commit).

    Nobody reads the results of this and the supervision batches: without ignore_result, every publish
    also subscribes to the result's channel in Redis (~0.4 ms of a ~1 ms publish, measured). Idempotent
    (dedupe key per task and user), so the outbox relay may send several in one message."""
    with access_cache.under_stored_version():
        return notify_task_holders(task_id)
