"""What a user may do, derived from the permissions their posts grant (shown on the home page)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from grid.access import region_grants
from grid.models import Region


@dataclass(frozen=True)
class Capability:
    perm: str
    title: str
    url_name: str = ""


CAPABILITIES: tuple[Capability, ...] = (
    Capability("grid.add_event", "上报网格事件", "grid:event_report"),
    Capability("grid.triage_event", "网格研判：就地处置、合并、驳回或上报", "grid:my_tasks"),
    Capability("grid.handle_village_event", "村级处置或上报乡镇", "grid:my_tasks"),
    Capability("grid.dispatch_event", "乡镇派单（吹哨报到）或自行处置", "grid:my_tasks"),
    Capability("grid.centre_dispatch_event", "县级派单（镇呼县应）给县直部门", "grid:my_tasks"),
    Capability("grid.handle_dispatched_event", "部门办理派单事件", "grid:my_tasks"),
    Capability("grid.verify_event", "核实办理结果", "grid:my_tasks"),
    Capability("grid.view_event", "查看辖区网格事件", "grid:events"),
    Capability("grid.view_dispatched_event", "查看本部门承办的事件", "grid:events"),
    Capability("grid.export_event", "导出事件清单", "grid:events"),
    Capability("grid.add_patrollog", "记录巡查与工作日志", "grid:patrols"),
    Capability("grid.review_workdiary", "审核工作日志", "grid:diaries"),
    Capability("grid.view_patrollog", "查看巡查频次落实情况", "grid:compliance"),
    Capability("inspection.view_patrolcategory", "查看大巡查目录", "patrol:catalog"),
    Capability("inspection.view_supervisiongroup", "查看巡查督查组", "patrol:groups"),
    Capability("inspection.add_villagepatrol", "记录村级巡查台账", "patrol:ledger"),
    Capability("inspection.add_patrolreport", "向牵头部门上报目录问题", "patrol:report_new"),
    Capability("inspection.verify_patrolreport", "核实登记村级上报（加分）", "patrol:verify_queue"),
    Capability("inspection.review_patrolreport", "审核村级上报（流程策略要求乡镇审核时）", "patrol:review_queue"),
    Capability("inspection.add_supervisioncheck", "督查负责村（居）、记录督查情况", "patrol:checks"),
    Capability("inspection.add_patrolfinding", "录入巡查发现问题", "patrol:findings"),
    Capability("inspection.register_patrolfinding", "核实登记发现问题（扣分）", "patrol:findings"),
    Capability("inspection.confirm_month", "确认本部门月度考评", "patrol:oversight"),
    Capability("inspection.view_circular", "查看大巡查考评通报", "patrol:circulars"),
    Capability("inspection.publish_circular", "发布月度通报与季度考评", "patrol:circulars"),
    Capability("inspection.flag_patrol_fraud", "查处弄虚作假", "patrol:reports"),
    Capability("inspection.manage_inspectionround", "组织巡察轮次", "inspection:rounds"),
    Capability("inspection.add_inspectionfinding", "记录巡察问题底稿、谈话与线索", "inspection:rounds"),
    Capability("inspection.decide_mobileproposal", "审批机动巡察", "inspection:rounds"),
    Capability("inspection.view_inspectionletter", "查看巡察文书与回复期限", "inspection:letters"),
    Capability("rectification.view_rectificationitem", "查看整改事项与进度", "rectification:items"),
    Capability("rectification.add_progressentry", "报送整改进展、申请销号", "rectification:items"),
    Capability("rectification.verify_rectificationitem", "验收整改事项（销号）", "rectification:items"),
    Capability("rectification.add_progressnotice", "起草整改进展情况通报", "rectification:plans"),
    Capability("rectification.approve_notice", "审定并公开整改通报", "rectification:plans"),
    Capability("grid.view_region", "浏览区域与网格", "system:regions"),
    Capability("grid.add_region", "维护区域与部门", "system:regions"),
    Capability("grid.view_post", "查看岗位与人员", "system:posts"),
    Capability("grid.add_post", "任命与免去岗位", "system:posts"),
    Capability("governance.view_auditentry", "查看审计日志", "system:audit"),
)


@dataclass
class HeldCapability:
    title: str
    url: str
    regions: list[str]


def capabilities_of(user) -> list[HeldCapability]:
    """The capabilities the user holds, each with the regions (subtree roots) where they hold it."""
    grants = region_grants(user)
    wanted = [cap for cap in CAPABILITIES if grants.paths(cap.perm)]
    paths = {path for cap in wanted for path in grants.paths(cap.perm)}
    names = dict(Region.objects.filter(path__in=paths).values_list("path", "full_path"))
    held = []
    for cap in wanted:
        try:
            url = reverse(cap.url_name) if cap.url_name else ""
        except NoReverseMatch:
            url = ""
        held.append(HeldCapability(cap.title, url, [names.get(p, p) for p in grants.paths(cap.perm)]))
    return held
