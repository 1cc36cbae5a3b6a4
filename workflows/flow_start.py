"""A flow's start as rows in memory, for writing them with other rows in one statement (event intake).
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.utils.timezone import now
from viewflow import this
from viewflow.workflow.models import Process, Task
from viewflow.workflow.nodes.view import ViewActivation
from viewflow.workflow.signals import flow_started, task_finished, task_started
from viewflow.workflow.status import STATUS

# The ids a start draws, in the order `build` takes them.
MODELS = (Process, Task, Task, Task.previous.through)


@dataclass
class FlowStart:
    flow_class: type
    process: Process
    start_task: Task
    task: Task  # the first human step, waiting
    rows: list = field(default_factory=list)  # to insert, in this order

    def announce(self) -> None:
        """The signals viewflow's start node sends, once the rows are written."""
        task_started.send(sender=self.flow_class, process=self.process, task=self.start_task)
        task_finished.send(sender=self.flow_class, process=self.process, task=self.start_task)
        flow_started.send(sender=self.flow_class, process=self.process, task=self.start_task)


def build(flow_class, ids: Iterator[int], *, created_task_rows: Callable[[Task], list], **start_kwargs) -> FlowStart:
    """The start of `flow_class` with `start_kwargs` for its start function, ids taken from `ids` in
    MODELS order, then one per row `created_task_rows(task)` gives (what the next node's onCreate hook
    writes; it must list them in the same order every time)."""
    node = flow_class.start
    next_node = node._next
    if next_node is None or next_node.activation_class is not ViewActivation:
        raise ValueError(f"{flow_class.__name__}: only a start followed by a human step is built here")

    # StartHandle.run: the activation, its defaults, then the flow's start function.
    activation = node.activation_class.create(node, None, None)
    process, start_task = activation.process, activation.task
    process.parent_task, process.data, process.seed = None, {}, None
    start_task.data, start_task.seed = {}, None
    this.resolve(flow_class.instance, node._func)(activation, **start_kwargs)
    process.pk = next(ids)
    start_task.process = process  # the id is known only now
    # StartActivation.execute → complete(): the start task is done.
    start_task.pk = next(ids)
    start_task.finished, start_task.status = now(), STATUS.DONE
    start_task.flow_task_type = node.task_type

    # ViewActivation.create for the next node.
    task = flow_class.task_class(process=process, flow_task=next_node, token=start_task.token)
    task.data, task.seed = {}, None
    next_activation = next_node.activation_class(task)
    owner_permission = next_node.calc_owner_permission(next_activation)
    if owner_permission:
        task.owner_permission = owner_permission
        task.owner_permission_obj = next_node.calc_owner_permission_obj(next_activation)
    owner = next_node.calc_owner(next_activation)
    if owner:
        task.owner, task.status = owner, STATUS.ASSIGNED
    task.flow_task_type = next_node.task_type
    task.pk = next(ids)
    link = Task.previous.through(pk=next(ids), from_task=task, to_task=start_task)

    rows = [process, start_task, task, link]
    if next_node._on_create is not None:
        for row in created_task_rows(task):
            row.pk = next(ids)
            rows.append(row)
    return FlowStart(flow_class=flow_class, process=process, start_task=start_task, task=task, rows=rows)
