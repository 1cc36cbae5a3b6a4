"""The flows drawn as SVG (viewflow's layout), with one record's position highlighted, and as BPMN."""

from __future__ import annotations

from viewflow.workflow import chart
from viewflow.workflow.models import Task

from .flow_parts import artifact_lookup


def _mark_position(grid, flow_class, artifact) -> None:
    """Colour each node by its latest task; a node waiting now shows as current even if it ran before.

    viewflow's calc_cell_status keeps "done" for a node that is waiting again (escalation loops back
    to the same handle step), which would hide where the record is.
    """
    latest: dict = {}
    tasks = Task.objects.filter(**artifact_lookup(flow_class, artifact, "process__")).order_by("id")
    for task in tasks.only("flow_task", "status"):
        latest[task.flow_task] = task.status  # by id: the last task of a node wins
    for node in grid.nodes:
        if node in latest:
            grid[node].status = latest[node]


# viewflow captions an If gateway's two branches in English.
EDGE_CAPTIONS = {"yes": "是", "no": "否"}


def _layout(flow_class):
    grid = chart.calc_layout_data(flow_class)
    for edge in grid.edges:
        edge.label = EDGE_CAPTIONS.get(edge.label, edge.label)
    return grid


def flow_svg(flow_class, artifact=None) -> str:
    """The flow's chart; for one record (event, report, proposal, item), its steps so far coloured."""
    grid = _layout(flow_class)
    if artifact is not None:
        _mark_position(grid, flow_class, artifact)
    return chart.grid_to_svg(grid)


def flow_bpmn(flow_class) -> str:
    return chart.grid_to_bpmn(_layout(flow_class))
