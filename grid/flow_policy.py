"""Flow policies of grid events: which version governs a region, its rules checked before it is saved,
and how its handling chain moves an event between regions (村呼镇应, 镇呼县应).
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from django.utils import timezone

from governance.process_cache import ProcessCache

from .access import region_grants
from .models import FlowPolicy, FlowPolicyDeadline, Region, paths_from_root

# The flow as it ran before policies: grid → village → township, the township dispatches,
# the reporter or the grid leader verifies. Events without a policy version run under it.
DEFAULT_POLICY = FlowPolicy(
    pk=None, version=0, use_grid=True, use_village=True, use_township=True, use_county=False,
    dispatch_at_township=True, verifier=FlowPolicy.Verifier.REPORTER_OR_GRID_LEADER,
)
DEFAULT_POLICY.prefetched_deadlines = {}

# The step's name by the tier that holds it (task lists, case history, notices, the chart).
STEP_NAME_BY_TIER = {"grid": "网格处置", "village": "村级处置", "township": "乡镇处置", "county": "县网格化中心派单"}
DEPARTMENT_STEP_NAME = "部门办理"
VERIFY_STEP_NAME = "核实办结"
CALLBACK_STEP_NAME = "中心回访核实"


def _policies_with_deadlines() -> dict[int, FlowPolicy]:
    by_pk = {policy.pk: policy for policy in FlowPolicy.objects.select_related("region")}
    for policy in by_pk.values():
        policy.prefetched_deadlines = {}
    for deadline in FlowPolicyDeadline.objects.all():
        if deadline.policy_id in by_pk:
            by_pk[deadline.policy_id].prefetched_deadlines[(deadline.tier, deadline.urgency)] = deadline
    return by_pk


# Every policy version with its deadlines (a few rows per county), so that event intake finds its version
# without a query. A version in force is never edited, so a kept one cannot be stale; a new version is
# seen by other processes within the interval, and by this one at once.
policy_cache = ProcessCache(_policies_with_deadlines, seconds_setting="FLOW_POLICY_CACHE_SECONDS",
                            models=[FlowPolicy, FlowPolicyDeadline])


def policy_in_force(region: Region, on=None) -> FlowPolicy | None:
    """The version governing events reported at `region` on `on` (today): the township's own policy
    if it has one in force, else the county's; the latest effective date wins, then the highest version.
    None means the built-in default (DEFAULT_POLICY)."""
    day = on or timezone.localdate()
    best, best_key = None, None
    for policy in policy_cache.get().values():
        if policy.effective_from > day or not region.path.startswith(policy.region.path):
            continue
        key = (len(policy.region.path), policy.effective_from, policy.version)
        if best_key is None or key > best_key:
            best, best_key = policy, key
    return best


def policy_for_user(user) -> FlowPolicy | None:
    """The version in force where `user` sees events (the highest region of their view grant)."""
    paths = sorted(region_grants(user).paths("grid.view_event"), key=len)
    if not paths:
        return None
    region = Region.objects.filter(path=paths[0]).first()
    return policy_in_force(region) if region is not None else None


def policy_version(policy_id: int | None) -> FlowPolicy:
    """The version with this id (kept by a case when it started), or the built-in default for none."""
    if not policy_id:
        return DEFAULT_POLICY
    policy = policy_cache.get().get(policy_id)
    if policy is None:  # saved after this process read the cache
        policy_cache.clear()
        policy = policy_cache.get().get(policy_id, DEFAULT_POLICY)
    return policy


def policy_of(event) -> FlowPolicy:
    """The version an event runs under (kept from its report), or the built-in default."""
    return policy_version(event.flow_policy_id)


def deadline_rule(policy: FlowPolicy, tier_key: str, urgency: str) -> FlowPolicyDeadline | None:
    return getattr(policy, "prefetched_deadlines", {}).get((tier_key, urgency))


# ---------------------------------------------------------------- moving along the chain


def _ancestors_or_self(region: Region) -> list[Region]:
    """`region` and the regions above it, nearest first (one query)."""
    paths = paths_from_root(region.path)
    nodes = {node.path: node for node in Region.objects.filter(path__in=paths).select_related("tier")}
    return [nodes[path] for path in reversed(paths) if path in nodes]


def start_region(region: Region, policy: FlowPolicy) -> Region:
    """The region whose tier first handles an event reported at `region`: the lowest at or above it
    whose tier is in the chain (the grid above a micro-grid; the village when the grid is left out)."""
    chain = policy.chain
    node = region
    while node.tier.key not in chain:  # parent by parent, as treebeard caches them (no query on intake's usual path)
        node = Region.objects.get_parent(node)
        if node is None:
            return region
    return node


def upper_region(region: Region, policy: FlowPolicy) -> Region | None:
    """One tier up the chain (村呼镇应, 镇呼县应), or None at the top of the chain."""
    chain = policy.chain
    if region.tier.key not in chain or chain.index(region.tier.key) == len(chain) - 1:
        return None
    for node in _ancestors_or_self(region)[1:]:
        if node.tier.key in chain:
            return node
    return None


def dispatch_region(region: Region) -> Region:
    """Whose departments an event handled at `region` is dispatched to: the county's at the county
    centre, else the township's (the township itself, or the one above a village or grid)."""
    if region.tier.key in ("county", "township"):
        return region
    for node in _ancestors_or_self(region)[1:]:
        if node.tier.key == "township":
            return node
    return region


def decisions_at(tier_key: str, policy: FlowPolicy) -> set[str]:
    """What the handle step may decide at a tier under a policy."""
    chain = policy.chain
    if tier_key not in chain:
        return set()
    decisions = set()
    if tier_key != "county":  # the county centre only dispatches
        decisions.add("resolve")
    if chain.index(tier_key) < len(chain) - 1:
        decisions.add("escalate")
    if policy.dispatches_at(tier_key):
        decisions.add("dispatch")
    if tier_key == chain[0] and tier_key != "county":  # whoever first receives a report triages it
        decisions |= {"merge", "reject"}
    return decisions


def step_name(step: str, tier_key: str = "", policy: FlowPolicy | None = None) -> str:
    """The name of a step as users read it: 网格处置 … 县网格化中心派单, 部门办理, 核实办结."""
    if step == "handle":
        return STEP_NAME_BY_TIER.get(tier_key, "本级处置")
    if step == "department":
        return DEPARTMENT_STEP_NAME
    if step == "verify":
        if policy is not None and policy.verifier == FlowPolicy.Verifier.CALLBACK:
            return CALLBACK_STEP_NAME
        return VERIFY_STEP_NAME
    return step


# ---------------------------------------------------------------- checking a policy


def policy_problems(policy: FlowPolicy) -> list[str]:
    """Why `policy` cannot be saved, in Chinese; empty when it is sound."""
    problems = []
    chain = policy.chain
    names = FlowPolicy.TIER_NAMES
    if policy.region_id and policy.region.tier.key not in ("county", "township"):
        problems.append("流程策略只能设在县或乡镇（街道）。")
    if not chain:
        problems.append("处置链不能为空：至少保留一个处置层级。")
    for key in FlowPolicy.TIER_ORDER:
        if getattr(policy, f"dispatch_at_{key}", False) and key not in chain:
            problems.append(f"{names[key]}不在处置链中，不能在该层级派单。")
    if policy.use_county and not policy.dispatch_at_county:
        problems.append("处置链包含县网格化服务中心时，须允许中心派单给县直部门。")
    verifier = policy.verifier
    if verifier == FlowPolicy.Verifier.GRID_LEADER and "grid" not in chain:
        problems.append("核实人为网格长，但处置链未包含网格层级。")
    if verifier == FlowPolicy.Verifier.CALLBACK and "county" not in chain:
        problems.append("核实方式为县网格化服务中心回访，但处置链未包含县网格化服务中心。")
    if verifier not in FlowPolicy.Verifier.values:
        problems.append("核实人无效。")
    if not policy.department_may_send_back and policy.send_back_limit:
        problems.append("部门不可退回时不能设置退回次数上限。")
    if policy.pk:
        stored = FlowPolicy.objects.filter(pk=policy.pk).values_list("effective_from", flat=True).first()
        if stored is not None and stored <= timezone.localdate():
            problems.append("该版本已生效，不能修改；请新增一个版本（在办事件继续按原版本办结）。")
    elif policy.effective_from and policy.effective_from < timezone.localdate():
        problems.append("生效日期不能早于今天。")
    return problems


def deadline_problems(policy: FlowPolicy, deadlines) -> list[str]:
    """Why a policy's deadline rows cannot be saved with it, in Chinese."""
    problems = []
    chain = policy.chain
    names = FlowPolicy.TIER_NAMES
    for deadline in deadlines:
        if deadline.tier not in chain:
            problems.append(f"时限设置中的“{names.get(deadline.tier, deadline.tier)}”不在处置链中。")
        if not deadline.hours:
            problems.append("时限（小时）须大于 0。")
        if deadline.action != FlowPolicyDeadline.Action.SUPERVISE and deadline.tier == (chain[-1] if chain else None):
            problems.append(f"“{names.get(deadline.tier, deadline.tier)}”已是处置链最高层级，超期只能督办，不能自动上报。")
    return problems


def next_version(region: Region) -> int:
    last = FlowPolicy.objects.filter(region=region).order_by("-version").values_list("version", flat=True).first()
    return (last or 0) + 1
