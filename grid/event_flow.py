"""EventFlow (网格事件): report → handle at the grid, escalating tier by tier (村呼镇应) →
township dispatch to the lead department (吹哨报到) → verification with the reporter → close.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views import View
from viewflow import this
from viewflow.workflow import flow

from workflows.flow_parts import artifact_of, decided
from workflows.locking import process_lock
from workflows.models import EventProcess, TaskDeadline
from workflows.sla import deadline_for, due_in_hours

from .event_rules import handle_permission_for, mark_closed, may_take_step
from .flow_policy import deadline_rule, policy_of
from .models import Event
from .task_notices import notice_row

_event = artifact_of
_decided = decided


def _handle_permission(activation) -> str:
    return handle_permission_for(_event(activation).handling_region)


class EventTaskRedirectView(View):
    """viewflow needs a view per human node; EventFlow's steps are taken on the event's own page."""

    def get(self, request, *args, process_pk=None, **kwargs):
        process = EventProcess.objects.filter(pk=process_pk).first()
        if process is None or process.artifact_object_id is None:
            return redirect("/")
        return redirect(f"/grid/events/{process.artifact_object_id}/")

    post = get


class EventTaskNode(flow.View):
    """A human step whose permission is decided by grid.event_rules.may_take_step, never a global grant.

    viewflow's default `can_assign` also accepts the permission held *anywhere*; with regions that
    would let a grid leader of one grid take another grid's event.
    """

    step: str = ""

    def __init__(self, *args, step: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step

    def can_assign(self, user, task):
        return not task.owner_id and user.is_authenticated and may_take_step(user, _event(task.process), self.step)

    def can_execute(self, user, task):
        return task.owner_id == user.pk and may_take_step(user, _event(task.process), self.step)


class EventFlow(flow.Flow):
    process_class = EventProcess
    lock_impl = process_lock
    process_title = _("网格事件")
    process_description = _("网格上报、逐级处置、派单、核实办结")

    start = flow.StartHandle(this.start_process).Annotation(title=_("上报事件")).Next(this.handle)

    handle = (
        EventTaskNode(EventTaskRedirectView.as_view(), step="handle")
        .Annotation(title=_("本级处置"), description=_("网格研判、村级处置或乡镇派单；处置不了的上报上一级"))
        .Permission(_handle_permission, obj=lambda process: _event(process).handling_region)
        .onCreate(this.task_created)
        .Next(this.after_handle)
    )
    after_handle = (
        flow.Switch()
        .Annotation(title=_("处置结果"))
        .Case(this.handle, _decided("escalate"))
        .Case(this.department_handle, _decided("dispatch"))
        .Case(this.verify, _decided("resolve"))
        .Default(this.end_unresolved)
    )

    department_handle = (
        EventTaskNode(EventTaskRedirectView.as_view(), step="department")
        .Annotation(title=_("部门办理"), description=_("牵头部门办理，或说明理由退回派单的层级"))
        .Permission("grid.handle_dispatched_event", obj=lambda process: _event(process).handling_region)
        .onCreate(this.task_created)
        .Next(this.after_department)
    )
    after_department = (
        flow.Switch()
        .Annotation(title=_("部门办理结果"))
        .Case(this.handle, _decided("send_back"))
        .Default(this.verify)
    )

    verify = (
        EventTaskNode(EventTaskRedirectView.as_view(), step="verify")
        .Annotation(title=_("核实办结"), description=_("上报人或网格长核实办理结果"))
        .Permission("grid.verify_event", obj=lambda process: _event(process).region)
        .onCreate(this.task_created)
        .Next(this.after_verify)
    )
    after_verify = (
        flow.Switch()
        .Annotation(title=_("核实结果"))
        .Case(this.close, _decided("satisfied"))
        .Case(this.department_handle, _decided("return_to_department"))
        .Default(this.handle)
    )

    close = flow.Function(this.close_event).Annotation(title=_("办结")).Next(this.end)
    end = flow.End().Annotation(title=_("已办结"))
    end_unresolved = flow.End().Annotation(title=_("驳回或合并"))

    def start_process(self, activation, event):
        activation.process.artifact = event
        activation.process.data = {"decision": None}
        return activation.process

    def task_created(self, activation):
        task = activation.task
        for row in self.rows_for_created_task(task):
            row.save()
        event = _event(task.process)
        Event.objects.filter(pk=event.pk).update(step_due_at=event.step_due_at)

    def rows_for_created_task(self, task) -> list:
        """What a step writes when it opens: its SLA deadline, and the outbox row of its 待办 notice
        (none when tasks run eagerly). Unsaved: event intake inserts them with its other rows.

        The event in memory takes the deadline as its `step_due_at` (event intake inserts the event
        after this; a later step's task_created writes it)."""
        event = _event(task.process)
        deadline = policy_deadline_for(task, event)
        event.step_due_at = deadline.due_at
        rows = [deadline]
        notice = notice_row(task.pk)
        if notice is not None:
            rows.append(notice)
        return rows

    def close_event(self, activation):
        mark_closed(_event(activation))


def policy_deadline_for(task, event) -> TaskDeadline:
    """The deadline of a step just opened: its policy version's hours for the tier and urgency, else
    the SLA rules (unsaved; event intake writes it with its other rows)."""
    rule = deadline_rule(policy_of(event), event.handling_region.tier.key, event.urgency)
    if rule is None:
        return deadline_for(task, event)
    return TaskDeadline(task=task, due_at=due_in_hours(rule.hours, working=rule.working_hours, start=task.created))
