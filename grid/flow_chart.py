"""The grid event flow of a policy as a chart: BPMN 2.0 with its diagram (DI), and SVG from the same
layout. Steps the policy leaves out do not appear; a case's chart marks the steps it has taken so far.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from workflows.flow_parts import artifact_lookup

from .chart_routing import Box, Router
from .event_flow import EventFlow
from .flow_policy import DEFAULT_POLICY, STEP_NAME_BY_TIER, policy_for_user, step_name
from .models import Event, FlowPolicy, Region

TASK_W, TASK_H, GATE, EVENT = 110, 60, 44, 36
COL, ROW = 170, 150


@dataclass
class Node:
    id: str
    kind: str  # startEvent, endEvent, userTask, exclusiveGateway
    name: str
    col: float
    row: float

    @property
    def size(self) -> tuple[int, int]:
        if self.kind == "userTask":
            return TASK_W, TASK_H
        if self.kind == "exclusiveGateway":
            return GATE, GATE
        return EVENT, EVENT

    @property
    def bounds(self) -> tuple[float, float, int, int]:
        width, height = self.size
        cx, cy = 60 + self.col * COL, 80 + self.row * ROW
        return cx - width / 2, cy - height / 2, width, height

    @property
    def centre(self) -> tuple[float, float]:
        x, y, width, height = self.bounds
        return x + width / 2, y + height / 2


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str = ""


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def node(self, id: str, kind: str, name: str, col: float, row: float) -> str:
        self.nodes[id] = Node(id, kind, name, col, row)
        return id

    def flow(self, source: str, target: str, name: str = "", condition: str = "") -> None:
        self.flows.append(Flow(f"flow_{next(self._numbers)}", source, target, name, condition))


def _tier_task(tier: str) -> str:
    return f"handle_{tier}"


def policy_graph(policy: FlowPolicy) -> Graph:
    """The nodes and flows of the event flow under `policy`, laid out: the chain left to right, the
    department below, verification at the bottom. A step reached from several places gets its own
    merging gateway (no implicit joins); every decision's outgoing flow carries its condition."""
    graph = Graph()
    chain = policy.chain
    dispatching = [tier for tier in chain if policy.dispatches_at(tier)]
    resolving = [tier for tier in chain if tier != "county"]
    graph.node("start", "startEvent", "上报事件", 0, 0)
    for index, tier in enumerate(chain):
        col = 1.5 + index * 2.2
        graph.node(_tier_task(tier), "userTask", STEP_NAME_BY_TIER[tier], col, 0)
        graph.node(f"decide_{tier}", "exclusiveGateway", f"{STEP_NAME_BY_TIER[tier]}结果", col + 1, 0)
        graph.flow(_tier_task(tier), f"decide_{tier}")
    dept_col = 1.5 + chain.index(dispatching[-1]) * 2.2 if dispatching else 0
    if dispatching:
        graph.node("department", "userTask", "部门办理", dept_col, 1)
        graph.node("decide_department", "exclusiveGateway", "部门办理结果", dept_col + 1, 1)
        graph.flow("department", "decide_department")
    verifier_name = step_name("verify", policy=policy)
    graph.node("verify", "userTask", verifier_name, 1.5, 2)
    graph.node("decide_verify", "exclusiveGateway", "核实结果", 2.5, 2)
    graph.flow("verify", "decide_verify")
    graph.node("closed", "endEvent", "已办结", 3.5, 2)
    graph.flow("decide_verify", "closed", "核实满意", "${decision == 'satisfied'}")
    if chain and chain[0] != "county":
        graph.node("unresolved", "endEvent", "驳回或合并", 1.5 + 1.6, -0.7)

    graph.flow("start", _tier_task(chain[0]))
    for index, tier in enumerate(chain):
        gate = f"decide_{tier}"
        if tier in resolving:
            graph.flow(gate, "verify", "办结", "${decision == 'resolve'}")
        if index < len(chain) - 1:
            graph.flow(gate, _tier_task(chain[index + 1]), "上报上一级", "${decision == 'escalate'}")
        if tier in dispatching:
            graph.flow(gate, "department", "派单至部门", "${decision == 'dispatch'}")
        if index == 0 and tier != "county":
            graph.flow(gate, "unresolved", "合并或驳回", "${decision == 'merge' or decision == 'reject'}")
    if dispatching:
        graph.flow("decide_department", "verify", "部门办结", "${decision == 'resolve'}")
        if policy.department_may_send_back:
            for tier in dispatching:
                condition = "${decision == 'send_back'" + (f" and dispatched_at == '{tier}'}}" if len(dispatching) > 1 else "}")
                graph.flow("decide_department", _tier_task(tier), "退回", condition)
        graph.flow("decide_verify", "department", "核实不满意退回部门", "${decision == 'return_to_department'}")
    for tier in resolving:
        condition = "${decision == 'return'" + (f" and handled_at == '{tier}'}}" if len(chain) > 1 else "}")
        graph.flow("decide_verify", _tier_task(tier), f"退回{STEP_NAME_BY_TIER[tier]}", condition)
    if not resolving and not dispatching:  # pragma: no cover - a validated policy always has one
        graph.flow("decide_verify", "closed")
    _drop_single_way_decisions(graph)
    _insert_merges(graph)
    return graph


def _drop_single_way_decisions(graph: Graph) -> None:
    """A decision with one way out under this policy (the county centre only dispatches; a department
    that may not send back) is no decision: its step leads straight on."""
    for gate in [node.id for node in graph.nodes.values() if node.id.startswith("decide_")]:
        out = [flow for flow in graph.flows if flow.source == gate]
        if len(out) != 1:
            continue
        for flow in graph.flows:
            if flow.target == gate:
                flow.target, flow.name, flow.condition = out[0].target, "", ""
        graph.flows.remove(out[0])
        del graph.nodes[gate]


def _insert_merges(graph: Graph) -> None:
    """A node with several incoming flows gets an exclusive merging gateway just before it."""
    incoming: dict[str, list[Flow]] = {}
    for flow in graph.flows:
        incoming.setdefault(flow.target, []).append(flow)
    for target, flows in incoming.items():
        node = graph.nodes[target]
        if len(flows) < 2 or node.kind == "exclusiveGateway":
            continue
        merge = graph.node(f"merge_{target}", "exclusiveGateway", f"汇合：{node.name}", node.col - 0.5, node.row + 0.45)
        for flow in flows:
            flow.target = merge
        graph.flow(merge, target)


# ---------------------------------------------------------------- BPMN 2.0 with DI


def policy_bpmn(policy: FlowPolicy) -> str:
    graph = policy_graph(policy)
    process_id = "EventFlow"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'id="Definitions_EventFlow" targetNamespace="http://bpmn.io/schema/bpmn">',
        f'  <bpmn:process id="{process_id}" name={quoteattr(_title(policy))} isExecutable="true">',
    ]
    outgoing: dict[str, list[str]] = {}
    incoming: dict[str, list[str]] = {}
    for flow in graph.flows:
        outgoing.setdefault(flow.source, []).append(flow.id)
        incoming.setdefault(flow.target, []).append(flow.id)
    for node in graph.nodes.values():
        lines.append(f'    <bpmn:{node.kind} id="{node.id}" name={quoteattr(node.name)}>')
        lines += [f"      <bpmn:incoming>{flow}</bpmn:incoming>" for flow in incoming.get(node.id, [])]
        lines += [f"      <bpmn:outgoing>{flow}</bpmn:outgoing>" for flow in outgoing.get(node.id, [])]
        lines.append(f"    </bpmn:{node.kind}>")
    for flow in graph.flows:
        name = f" name={quoteattr(flow.name)}" if flow.name else ""
        head = f'    <bpmn:sequenceFlow id="{flow.id}" sourceRef="{flow.source}" targetRef="{flow.target}"{name}'
        if flow.condition:
            expression = escape(flow.condition[2:-1])  # the engine's expression, without ${ }
            lines.append(f'{head}>\n      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                         f"{expression}</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>")
        else:
            lines.append(f"{head} />")
    lines.append("  </bpmn:process>")
    lines.append('  <bpmndi:BPMNDiagram id="Diagram_EventFlow">')
    lines.append(f'    <bpmndi:BPMNPlane id="Plane_EventFlow" bpmnElement="{process_id}">')
    for node in graph.nodes.values():
        x, y, width, height = node.bounds
        lines.append(f'      <bpmndi:BPMNShape id="{node.id}_di" bpmnElement="{node.id}">'
                     f'<dc:Bounds x="{x:g}" y="{y:g}" width="{width}" height="{height}" /></bpmndi:BPMNShape>')
    paths = routes(graph)
    for flow in graph.flows:
        points = paths[flow.id]
        waypoints = "".join(f'<di:waypoint x="{px:g}" y="{py:g}" />' for px, py in points)
        lines.append(f'      <bpmndi:BPMNEdge id="{flow.id}_di" bpmnElement="{flow.id}">{waypoints}</bpmndi:BPMNEdge>')
    lines += ["    </bpmndi:BPMNPlane>", "  </bpmndi:BPMNDiagram>", "</bpmn:definitions>", ""]
    return "\n".join(lines)


SHAPES = {"userTask": "rect", "exclusiveGateway": "diamond", "startEvent": "circle", "endEvent": "circle"}


def routes(graph: Graph) -> dict[str, list[tuple[float, float]]]:
    """Each flow's points, routed around the nodes without running along another flow (chart_routing);
    the shortest flows are routed first, so that neighbours get straight lines."""
    nodes = tuple((node.id, SHAPES[node.kind], *node.bounds) for node in graph.nodes.values())
    flows = tuple((flow.id, flow.source, flow.target) for flow in graph.flows)
    return {flow_id: list(points) for flow_id, points in _routed(nodes, flows)}


@functools.lru_cache(maxsize=64)
def _routed(nodes: tuple, flows: tuple) -> tuple:
    router = Router([Box(*node) for node in nodes])
    centres = {box.id: box.centre for box in router.boxes.values()}

    def length(flow) -> float:
        (sx, sy), (tx, ty) = centres[flow[1]], centres[flow[2]]
        return abs(sx - tx) + abs(sy - ty)

    routed = {flow_id: tuple(router.route(source, target)) for flow_id, source, target in sorted(flows, key=length)}
    return tuple((flow_id, routed[flow_id]) for flow_id, _source, _target in flows)


def _title(policy: FlowPolicy) -> str:
    if policy.pk is None:
        return "网格事件（默认流程）"
    return f"网格事件（{policy.region.name}流程策略第{policy.version}版）"


# ---------------------------------------------------------------- SVG


def case_marks(event: Event) -> tuple[set[str], str | None]:
    """(the steps a case has taken, the step waiting now), as node ids of its policy's graph."""
    tasks = Task.objects.filter(**artifact_lookup(EventFlow, event, "process__")).order_by("id").values_list(
        "flow_task", "status", "owner_permission_obj_pk")
    rows = list(tasks)
    tiers = dict(Region.objects.filter(pk__in={int(pk) for _, _, pk in rows if pk and str(pk).isdigit()})
                 .values_list("pk", "tier__key"))
    done, current = {"start"}, None
    for flow_task, status, region_pk in rows:
        name = getattr(flow_task, "name", str(flow_task).rsplit(".", 1)[-1])
        if name == "handle":
            node = _tier_task(tiers.get(int(region_pk), "") if region_pk and str(region_pk).isdigit() else "")
        elif name == "department_handle":
            node = "department"
        elif name == "verify":
            node = "verify"
        else:
            continue
        if status in (STATUS.NEW, STATUS.ASSIGNED):
            current = node
        else:
            done.add(node)
    if event.status == Event.Status.CLOSED:
        done.add("closed")
    elif event.status in (Event.Status.REJECTED, Event.Status.MERGED):
        done.add("unresolved")
    return done, current


def policy_svg(policy: FlowPolicy, event: Event | None = None) -> str:
    graph = policy_graph(policy)
    done, current = case_marks(event) if event is not None else (set(), None)
    paths = routes(graph)
    xs = [x for n in graph.nodes.values() for x in (n.bounds[0], n.bounds[0] + n.bounds[2])]
    ys = [y for n in graph.nodes.values() for y in (n.bounds[1], n.bounds[1] + n.bounds[3] + 20)]
    xs += [x for points in paths.values() for x, _ in points]
    ys += [y for points in paths.values() for _, y in points]
    left, top, width, height = min(xs) - 40, min(ys) - 20, max(xs) - min(xs) + 80, max(ys) - min(ys) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:g} {top:g} {width:g} {height:g}" '
             f'width="{width:g}" height="{height:g}" font-family="sans-serif" font-size="12">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for flow in graph.flows:
        path = " ".join(f"{x:g},{y:g}" for x, y in paths[flow.id])
        label = f"<title>{escape(flow.name)}</title>" if flow.name else ""
        parts.append(f'<polyline points="{path}" fill="none" stroke="#888" marker-end="url(#arrow)">{label}</polyline>')
    for node in graph.nodes.values():
        x, y, w, h = node.bounds
        cx, cy = node.centre
        colour = "#fff3cd" if node.id == current else "#d4edda" if node.id in done else "#ffffff"
        stroke = "#e0a800" if node.id == current else "#28a745" if node.id in done else "#555"
        state = "current" if node.id == current else "done" if node.id in done else "waiting"
        parts.append(f'<g id="{node.id}" class="{state}"><title>{escape(node.name)}</title>')
        if node.kind == "userTask":
            parts.append(f'<rect x="{x:g}" y="{y:g}" width="{w}" height="{h}" rx="8" fill="{colour}" stroke="{stroke}"/>')
            parts.append(f'<text x="{cx:g}" y="{cy + 4:g}" text-anchor="middle">{escape(node.name)}</text>')
        elif node.kind == "exclusiveGateway":
            parts.append(f'<polygon points="{cx:g},{y:g} {x + w:g},{cy:g} {cx:g},{y + h:g} {x:g},{cy:g}" '
                         f'fill="{colour}" stroke="{stroke}"/>')
        else:
            thick = 3 if node.kind == "endEvent" else 1
            parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{w / 2:g}" fill="{colour}" stroke="{stroke}" '
                         f'stroke-width="{thick}"/>')
            parts.append(f'<text x="{cx:g}" y="{y + h + 14:g}" text-anchor="middle">{escape(node.name)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def user_flow_svg(user) -> str:
    """The event flow chart of the policy in force where `user` works."""
    return policy_svg(policy_for_user(user) or DEFAULT_POLICY)


def user_flow_bpmn(user) -> str:
    return policy_bpmn(policy_for_user(user) or DEFAULT_POLICY)
