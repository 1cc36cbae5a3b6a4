"""The chart is the configuration: a county's flow chart and BPMN show its policy, a case's chart its
own path; the BPMN is real BPMN 2.0 (bpmnlint's recommended rules, SpiffWorkflow loads it, DI kept)."""

from __future__ import annotations

import datetime
import itertools
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.utils import timezone

from grid import events, services
from grid.flow_chart import case_marks, policy_bpmn, policy_graph, routes
from grid.models import FlowPolicy

POLICIES = {
    "default": FlowPolicy(),
    "no_village_grid_dispatch": FlowPolicy(use_village=False, dispatch_at_grid=True, verifier="grid_leader"),
    "county_centre_callback": FlowPolicy(use_village=False, use_county=True, dispatch_at_township=False,
                                         dispatch_at_county=True, verifier="callback"),
    "every_tier_no_send_back": FlowPolicy(use_county=True, dispatch_at_county=True, department_may_send_back=False),
    "township_only": FlowPolicy(use_grid=False, use_village=False),
}
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}


def _names(xml: str) -> set[str]:
    root = ET.fromstring(xml.encode())
    return {element.get("name") for element in root.iter(f"{{{NS['bpmn']}}}userTask")}


def test_the_bpmn_of_each_policy_has_exactly_its_steps():
    assert _names(policy_bpmn(POLICIES["default"])) == {"网格处置", "村级处置", "乡镇处置", "部门办理", "核实办结"}
    assert _names(policy_bpmn(POLICIES["no_village_grid_dispatch"])) == {"网格处置", "乡镇处置", "部门办理", "核实办结"}
    assert _names(policy_bpmn(POLICIES["county_centre_callback"])) == {
        "网格处置", "乡镇处置", "县网格化中心派单", "部门办理", "中心回访核实"}
    assert _names(policy_bpmn(POLICIES["township_only"])) == {"乡镇处置", "部门办理", "核实办结"}


@pytest.mark.parametrize("key", list(POLICIES))
def test_the_bpmn_keeps_its_diagram_and_every_decision_has_conditions(key):
    root = ET.fromstring(policy_bpmn(POLICIES[key]).encode())
    process = root.find("bpmn:process", NS)
    elements = {element.get("id") for element in process if element.get("id")}
    shapes = {shape.get("bpmnElement") for shape in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {edge.get("bpmnElement") for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    flows = process.findall("bpmn:sequenceFlow", NS)
    assert shapes | edges == elements
    splits = {gateway.get("id") for gateway in process.findall("bpmn:exclusiveGateway", NS)
              if len(gateway.findall("bpmn:outgoing", NS)) > 1}
    for flow in flows:
        if flow.get("sourceRef") in splits:
            assert flow.find("bpmn:conditionExpression", NS) is not None, flow.get("id")
    assert not process.findall("bpmn:scriptTask", NS)


# scripts/setup.sh installs the pinned bpmnlint here (var/ is not in git).
LOCAL_BPMNLINT = Path(__file__).resolve().parents[2] / "var" / "node" / "node_modules" / ".bin" / "bpmnlint"


def _segments(points):
    return list(itertools.pairwise(points))


def _crosses_box(segment, box) -> bool:
    """Whether an axis-parallel segment passes through the inside of a node's box."""
    (ax, ay), (bx, by) = segment
    x, y, width, height = box
    if abs(ay - by) < 1e-6:
        return y < ay < y + height and min(ax, bx) < x + width and max(ax, bx) > x
    return x < ax < x + width and min(ay, by) < y + height and max(ay, by) > y


def _overlap(one, other) -> bool:
    """Whether two axis-parallel segments run along each other for some length."""
    (ax, ay), (bx, by) = one
    (cx, cy), (dx, dy) = other
    if abs(ay - by) < 1e-6 and abs(cy - dy) < 1e-6 and abs(ay - cy) < 1e-6:
        return min(max(ax, bx), max(cx, dx)) - max(min(ax, bx), min(cx, dx)) > 1e-6
    if abs(ax - bx) < 1e-6 and abs(cx - dx) < 1e-6 and abs(ax - cx) < 1e-6:
        return min(max(ay, by), max(cy, dy)) - max(min(ay, by), min(cy, dy)) > 1e-6
    return False


@pytest.mark.parametrize("key", list(POLICIES))
def test_no_flow_crosses_a_node_or_runs_along_another_flow(key):
    graph = policy_graph(POLICIES[key])
    paths = routes(graph)
    for flow in graph.flows:
        points = paths[flow.id]
        assert len(points) >= 2
        for (ax, ay), (bx, by) in _segments(points):
            assert abs(ax - bx) < 1e-6 or abs(ay - by) < 1e-6, f"{flow.id} is not orthogonal"
        for node in graph.nodes.values():
            # the ends touch their own nodes' outlines; nothing passes through any node's box
            inner = _segments(points)[1:-1] if node.id in (flow.source, flow.target) else _segments(points)
            assert not any(_crosses_box(segment, node.bounds) for segment in inner), (flow.id, node.id)
    for one, other in itertools.combinations(graph.flows, 2):
        for first in _segments(paths[one.id]):
            for second in _segments(paths[other.id]):
                assert not _overlap(first, second), (one.id, other.id)


def _bpmnlint() -> str | None:
    """The BPMNLINT environment variable, else the copy scripts/setup.sh installed, else one on PATH."""
    if os.environ.get("BPMNLINT"):
        return os.environ["BPMNLINT"]
    if LOCAL_BPMNLINT.exists():
        return str(LOCAL_BPMNLINT)
    return shutil.which("bpmnlint")


@pytest.mark.skipif(_bpmnlint() is None,
                    reason="需要 bpmnlint（运行 scripts/setup.sh 安装到 var/node；或以 BPMNLINT 指定其路径）")
@pytest.mark.parametrize("key", list(POLICIES))
def test_the_bpmn_passes_bpmnlint_recommended(key, tmp_path):
    (tmp_path / ".bpmnlintrc").write_text('{"extends": "bpmnlint:recommended"}')
    (tmp_path / "flow.bpmn").write_text(policy_bpmn(POLICIES[key]), encoding="utf-8")
    result = subprocess.run([_bpmnlint(), "flow.bpmn"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "error" not in result.stdout and "warning" not in result.stdout, result.stdout


@pytest.mark.parametrize("key", list(POLICIES))
def test_the_bpmn_loads_in_spiffworkflow(key, tmp_path):
    parser_module = pytest.importorskip("SpiffWorkflow.bpmn.parser")
    path = tmp_path / "flow.bpmn"
    path.write_text(policy_bpmn(POLICIES[key]), encoding="utf-8")
    parser = parser_module.BpmnParser()
    parser.add_bpmn_file(str(path))
    spec = parser.get_spec("EventFlow")
    names = {task.bpmn_name for task in spec.task_specs.values() if getattr(task, "bpmn_name", None)}
    assert "部门办理" in names or key == "township_only"


def test_a_county_chart_shows_its_policy_and_a_case_chart_its_path(county, personas, category, client):
    services.create_flow_policy(by=None, region=county.county, use_village=False, use_county=True,
                                dispatch_at_county=True)
    client.force_login(personas["township_office"])
    bpmn = client.get("/grid/events/chart/?format=bpmn").content.decode()
    assert "县网格化中心派单" in bpmn and "村级处置" not in bpmn
    assert "县网格化中心派单" in client.get("/flows/event.bpmn").content.decode()

    event, _ = events.report_event(
        by=personas["grid_member"], region=county.micro1, category=category, title="违建", description="棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="k1")
    events.handle_event(event, by=personas["grid_leader"], decision="escalate", reason="需乡镇处置")
    assert case_marks(event) == ({"start", "handle_grid"}, "handle_township")
    svg = client.get(f"/grid/events/{event.pk}/chart/?format=svg").content.decode()
    assert "#fff3cd" in svg and "#d4edda" in svg  # where it waits, and the steps it has taken
    client.force_login(personas["outsider"])
    assert client.get(f"/grid/events/{event.pk}/chart/?format=svg").status_code in (403, 404)
