"""EventFlow drawn as SVG (viewflow's layout), with one event's position highlighted, and as BPMN."""

from __future__ import annotations

from viewflow.workflow import chart
from viewflow.workflow.models import Task

from grid.events import process_lookup

from .event_flow import EventFlow


def _mark_event_position(grid, event) -> None:
    """Colour each node by its latest task; a node waiting now shows as current even if it ran before.

    viewflow's calc_cell_status keeps "done" for a node that is waiting again (escalation loops back
    to the same handle step), which would hide where the event is.
    """
    latest: dict = {}
    tasks = Task.objects.filter(**process_lookup(event, "process__")).order_by("id")
    for task in tasks.only("flow_task", "status"):
        latest[task.flow_task] = task.status  # by id: the last task of a node wins
    for node in grid.nodes:
        if node in latest:
            grid[node].status = latest[node]


def event_flow_svg(event=None) -> str:
    grid = chart.calc_layout_data(EventFlow)
    if event is not None:
        _mark_event_position(grid, event)
    return chart.grid_to_svg(grid)


def event_flow_bpmn() -> str:
    return chart.grid_to_bpmn(chart.calc_layout_data(EventFlow))
