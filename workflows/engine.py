"""Driving human flow tasks from services.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

from django.db import transaction
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from . import sla


class StepUnavailable(Exception):
    """The step is not open any more (someone else completed it, or the event moved on)."""


def open_task(process, flow_task) -> Task | None:
    """The waiting task of `flow_task` in the process, if there is one."""
    return (
        Task.objects.filter(process=process, flow_task=flow_task, status__in=[STATUS.NEW, STATUS.ASSIGNED])
        .order_by("-id")
        .first()
    )


def complete_task(task: Task, *, by) -> None:
    """Assign (if needed), start and execute a human task as `by`, inside the caller's transaction."""
    with transaction.atomic():
        locked = Task.objects.select_for_update().filter(pk=task.pk).first()
        if locked is None or locked.status not in (STATUS.NEW, STATUS.ASSIGNED):
            raise StepUnavailable("该环节已由他人办理或已结束，请刷新后查看最新状态。")
        if locked.owner_id and locked.owner_id != getattr(by, "pk", None):
            # Assigned to someone else (e.g. claimed): only the owner may finish it; services may take it over.
            locked.owner = by
            locked.save(update_fields=["owner"])
        with locked.activation() as activation:
            if locked.status == STATUS.NEW:
                activation.assign(by)
            activation.start(None)
            activation.execute()

        sla.close_deadline(locked)
