"""County inspection rounds (巡察): rounds, groups, targets, and mobile inspection (机动巡察).
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from governance import audit, charts
from grid.access import scope
from grid.models import Post, Region, parent_path, paths_from_root
from workflows.engine import StepUnavailable, complete_task, open_task
from workflows.flow_parts import artifact_lookup
from workflows.models import MobileInspectionProcess

from ..models import InspectionGroup, InspectionRound, MobileProposal, RoundTarget
from .focus_taxonomy import give_round_its_focus
from .mobile_inspection_flow import MobileInspectionFlow, notify_proposer_of_decision
from .mobile_rules import active as _active
from .mobile_rules import add_mobile_target, may_decide, mobile_deadline  # noqa: F401 (this module's API too)
from .onsite import OVERSEER_PERMS, reader_paths

ROLE_INSPECTION_GROUP = "inspection_group"
# Domain bounds of a round's and a group's numbers (the forms offer the same): a county runs a handful of
# rounds a term with one group per township; a township has at most a few hundred villages; the village
# choice falls in the first days on site.
MAX_ROUND_NUMBER = 99
MAX_GROUP_NUMBER = 99
MAX_VILLAGES = 999
MAX_MOBILE_DAYS = 365
CLASS_KEYS = [choice.value for choice in RoundTarget.VillageClass]

_ROUND_FIELDS = ["county", "term", "number", "name", "arrival_date", "withdrawal_date", "rectification_months"]
_GROUP_FIELDS = ["round", "number", "name", "township", "leader", "deputies", "members", "inspect_all_villages",
                 "fixed_villages", "mobile_villages", "mobile_days"]
_PROPOSAL_FIELDS = ["group", "village", "reason", "proposed_by", "proposed_on", "decision", "decided_by", "decided_at",
                    "decision_note"]


class RoundError(ValidationError):
    """A user mistake in setting up or running a round; the message is in Chinese."""


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _tier(region) -> str:
    return region.tier.key if isinstance(region, Region) else ""


def villages_of(township: Region) -> QuerySet:
    """The village-tier regions directly under a township, in tree order."""
    return Region.objects.get_children(township).filter(tier__key="village").order_by("path")


def is_village_of(village, township: Region) -> bool:
    return (isinstance(village, Region) and _tier(village) == "village"
            and village.path.startswith(township.path) and village.depth == township.depth + 1)


# ---------------------------------------------------------------- who belongs to a round


def membership_q(user, prefix: str = "") -> Q:
    """Groups the user leads, deputises or belongs to (prefix e.g. "groups__" from a round)."""
    return Q(**{f"{prefix}leader": user}) | Q(**{f"{prefix}deputies": user}) | Q(**{f"{prefix}members": user})


def _holds_group_post(user) -> bool:
    return Post.objects.active().filter(user=user, role__key=ROLE_INSPECTION_GROUP).exists()


def rounds_visible(user) -> QuerySet:
    """Rounds the user may open: the office and the leading group (grants at the county) see all
    rounds of their county; a group member (with an active inspection-group post) only their own."""
    if not _active(user):
        return InspectionRound.objects.none()
    overseen = scope(user, InspectionRound.objects.all(), "inspection.view_inspectionround")
    if user.is_superuser:
        return InspectionRound.objects.all()
    pks = set(overseen.values_list("pk", flat=True))
    if user.has_perm("inspection.view_roundtarget") and _holds_group_post(user):
        pks |= set(InspectionGroup.objects.filter(membership_q(user)).values_list("round_id", flat=True))
    return InspectionRound.objects.filter(pk__in=pks)


ROUND_VIEW_PERM = "inspection.view_inspectionround"


def township_targets_visible(user) -> QuerySet:
    """The committee targets of the townships the user reads as the inspected organisation (a township
    committee, not an overseer or a group): one row per round in which such a township is a target."""
    paths = reader_paths(user, ROUND_VIEW_PERM)
    if not paths:
        return RoundTarget.objects.none()
    condition = Q(pk__in=[])
    for prefix in paths:
        condition |= Q(organisation__path__startswith=prefix)
    return RoundTarget.objects.filter(condition, organisation__tier__key="township",
                                      organisation_id=F("group__township_id"))


def township_rounds_visible(user) -> QuerySet:
    """Rounds in which a township the user reads as the inspected organisation is a target."""
    return InspectionRound.objects.filter(pk__in=township_targets_visible(user).values("round_id"))


def reads_rounds_as_township_only(user) -> bool:
    """A township reader (the inspected organisation) who neither oversees rounds nor sits in a group:
    their 巡察轮次 are the township's page, never the office's."""
    return (bool(reader_paths(user, ROUND_VIEW_PERM)) and not user.is_superuser
            and not any(user.has_perm(perm) for perm in OVERSEER_PERMS) and not _holds_group_post(user))


def targets_visible(user) -> QuerySet:
    """Targets the user may see: all targets of the rounds in rounds_visible (a group member sees
    only the targets of the round they belong to, never another round's)."""
    if not _active(user):
        return RoundTarget.objects.none()
    if not user.is_superuser and not user.has_perm("inspection.view_roundtarget"):
        return RoundTarget.objects.none()
    return RoundTarget.objects.filter(round__in=rounds_visible(user).values("pk"))


def groups_visible(user) -> QuerySet:
    """Groups the user may open: the groups of the rounds in rounds_visible."""
    return InspectionGroup.objects.filter(round__in=rounds_visible(user).values("pk"))


def proposals_visible(user) -> QuerySet:
    """Mobile-inspection proposals the user may open: those of the rounds in rounds_visible (the
    villages a group means to add are the group's business until the leading group decides)."""
    return MobileProposal.objects.filter(group__round__in=rounds_visible(user).values("pk"))


def oversees(user, round: InspectionRound) -> bool:
    """The office or the leading group: a county-level grant over the round's county."""
    return _active(user) and user.has_perm("inspection.view_inspectionround", round.county)


def may_manage(user, round: InspectionRound) -> bool:
    return _active(user) and user.has_perm("inspection.manage_inspectionround", round.county)


def withdrawn(round: InspectionRound, today: datetime.date | None = None) -> bool:
    """The round's groups have left (its withdrawal date is past): its groups are then a record."""
    return round.withdrawal_date < (today or timezone.localdate())


def withdrawn_message(round: InspectionRound) -> str:
    return f"{round.name}已于{round.withdrawal_date:%Y-%m-%d}撤回，不能再组建巡察组。"


def may_add_group(user, round: InspectionRound) -> bool:
    """The office forms groups until the round withdraws."""
    return may_manage(user, round) and not withdrawn(round)


def may_propose(user, group: InspectionGroup) -> bool:
    """The group's leader or a deputy, still holding an inspection-group post over the township."""
    if not _active(user) or not user.has_perm("inspection.add_mobileproposal", group.township):
        return False
    return group.leader_id == user.pk or group.deputies.filter(pk=user.pk).exists()


def mobile_used(group: InspectionGroup) -> int:
    """Proposals that count against the group's limit: pending and approved."""
    return group.proposals.exclude(decision=MobileProposal.Decision.REJECTED).count()


# ---------------------------------------------------------------- rounds and groups


def create_round(
    *, by, county: Region, term: str, number: int, name: str, arrival_date: datetime.date,
    withdrawal_date: datetime.date, rectification_months: int | None = 1,
) -> InspectionRound:
    """The office opens a round of its county, with the focus taxonomy its problems are classified by."""
    if _tier(county) != "county":
        raise RoundError("请选择县。")
    if not _active(by) or not by.has_perm("inspection.manage_inspectionround", county):
        raise PermissionDenied("只有县委巡察办可以组织巡察轮次。")
    term, name = (term or "").strip(), (name or "").strip()
    errors = []
    if not term:
        errors.append("请填写届次（如：十五届）。")
    if not number or not 1 <= number <= MAX_ROUND_NUMBER:
        errors.append(f"轮次须为 1 至 {MAX_ROUND_NUMBER} 的整数。")
    if not name:
        errors.append("请填写轮次名称（如：十五届县委第二轮巡察）。")
    if arrival_date is None or withdrawal_date is None:
        errors.append("请填写进驻日期和撤回日期。")
    elif withdrawal_date <= arrival_date:
        errors.append(f"撤回日期（{withdrawal_date:%Y-%m-%d}）须晚于进驻日期（{arrival_date:%Y-%m-%d}）。")
    rectification_months = 1 if rectification_months is None else rectification_months
    if not 1 <= rectification_months <= 24:
        errors.append("集中整改期须为 1 至 24 个月。")
    if term and number and InspectionRound.objects.filter(county=county, term=term, number=number).exists():
        errors.append(f"{county.name}{term}第{number}轮巡察已存在。")
    if errors:
        raise RoundError(errors)
    with transaction.atomic():
        round = InspectionRound.objects.create(
            county=county, term=term, number=number, name=name, arrival_date=arrival_date,
            withdrawal_date=withdrawal_date, rectification_months=rectification_months, created_by=by,
        )
        audit.record("inspection_round.create", actor=by, obj=round, after=audit.snapshot(round, _ROUND_FIELDS))
        give_round_its_focus(round, by=by)
    return round


def group_post_covers(user, township: Region) -> bool:
    """An active inspection-group post at the township or above it (the office appoints posts elsewhere)."""
    return Post.objects.active().filter(user=user, role__key=ROLE_INSPECTION_GROUP,
                                        region__path__in=paths_from_root(township.path), user__is_active=True).exists()


def add_group(
    *, by, round: InspectionRound, number: int, name: str, township: Region, leader=None, deputies=(), members=(),
    inspect_all_villages: bool = False, fixed_villages: int = 6, mobile_villages: int = 6, mobile_days: int = 7,
) -> InspectionGroup:
    """Add a group for one township of the round's county; the township's committee becomes a target."""
    if not may_manage(by, round):
        raise PermissionDenied("只有县委巡察办可以组建巡察组。")
    if withdrawn(round):
        raise RoundError([withdrawn_message(round)])
    deputies, members = list(dict.fromkeys(deputies or [])), list(dict.fromkeys(members or []))
    name = (name or "").strip()
    errors = []
    if _tier(township) != "township" or not township.path.startswith(round.county.path):
        errors.append(f"巡察乡镇须为{round.county.name}的乡镇。")
    if not number or not 1 <= number <= MAX_GROUP_NUMBER:
        errors.append(f"组号须为 1 至 {MAX_GROUP_NUMBER} 的整数。")
    elif round.groups.filter(number=number).exists():
        errors.append(f"本轮已有第 {number} 组。")
    if not name:
        errors.append("请填写巡察组名称（如：第一巡察组）。")
    if isinstance(township, Region) and round.groups.filter(township=township).exists():
        errors.append(f"本轮已有巡察组负责{township.name}。")
    if not inspect_all_villages and (fixed_villages is None or fixed_villages < 0):
        errors.append("固定巡察村数不能为负数。")
    elif not inspect_all_villages and fixed_villages > MAX_VILLAGES:
        errors.append(f"固定巡察村数不能超过 {MAX_VILLAGES}。")
    if mobile_villages is None or mobile_villages < 0 or mobile_days is None or mobile_days < 0:
        errors.append("机动巡察村数和天数不能为负数。")
    elif mobile_villages > MAX_VILLAGES or mobile_days > MAX_MOBILE_DAYS:
        errors.append(f"机动巡察村数不能超过 {MAX_VILLAGES}，确定机动村的天数不能超过 {MAX_MOBILE_DAYS}。")
    people = [person for person in [leader, *deputies, *members] if person is not None]
    if leader is not None and (leader in deputies or leader in members):
        errors.append("组长不能同时为副组长或组员。")
    if set(deputies) & set(members):
        errors.append("副组长不能同时为组员。")
    if not errors:
        outsiders = [person for person in people if not group_post_covers(person, township)]
        if outsiders:
            names = "、".join(_name(person) for person in dict.fromkeys(outsiders))
            errors.append(f"{names} 没有覆盖{township.name}的在岗“巡察组”岗位，请先由巡察办为其设置岗位。")
    if errors:
        raise RoundError(errors)
    with transaction.atomic():
        group = InspectionGroup.objects.create(
            round=round, number=number, name=name, township=township, leader=leader,
            inspect_all_villages=inspect_all_villages, fixed_villages=fixed_villages or 0,
            mobile_villages=0 if inspect_all_villages else mobile_villages, mobile_days=mobile_days,
        )
        group.deputies.set(deputies)
        group.members.set(members)
        committee = RoundTarget.objects.create(round=round, group=group, organisation=township)
        if inspect_all_villages:
            RoundTarget.objects.bulk_create([
                RoundTarget(round=round, group=group, organisation=village) for village in villages_of(township)
            ])
        audit.record("inspection_group.create", actor=by, obj=group, after={
            **audit.snapshot(group, _GROUP_FIELDS), "committee_target": committee.pk,
            "targets": group.targets.count(),
        })
    return group


def set_targets(*, by, group: InspectionGroup, villages=(), classes: dict | None = None) -> list[RoundTarget]:
    """The office chooses the group's fixed villages with their class (重点/先进/一般); a group that
    inspects all villages gets all of them. Mobile targets and the committee are kept.

    `classes` maps a village (or its pk) to "key" / "advanced" / "ordinary" (or "" for unclassed).
    """
    round = group.round
    if not may_manage(by, round):
        raise PermissionDenied("只有县委巡察办可以确定巡察对象。")
    township = group.township
    classes = {getattr(key, "pk", key): value for key, value in (classes or {}).items()}
    villages = list(dict.fromkeys(villages or []))
    if group.inspect_all_villages:
        villages = list(villages_of(township))
    errors = []
    outside = [village for village in villages if not is_village_of(village, township)]
    if outside:
        names = "、".join(getattr(village, "name", str(village)) for village in outside)
        errors.append(f"{names} 不是{township.name}所辖的村（社区），不能作为{group.name}的巡察对象。")
    if not group.inspect_all_villages and len(villages) > group.fixed_villages:
        errors.append(f"{group.name}固定巡察 {group.fixed_villages} 个村，已选 {len(villages)} 个；"
                      f"其余村请进驻后通过机动巡察报领导小组批准。")
    wrong_class = sorted({value for value in classes.values() if value and value not in CLASS_KEYS})
    if wrong_class:
        errors.append("村分类须为重点村、先进村或一般村。")
    mobile_ids = set(group.targets.filter(is_mobile=True).values_list("organisation_id", flat=True))
    other_groups = RoundTarget.objects.filter(round=round, organisation__in=villages).exclude(group=group)
    if other_groups.exists():
        errors.append("、".join(t.organisation.name for t in other_groups.select_related("organisation"))
                      + " 已是本轮其他巡察组的巡察对象。")
    if errors:
        raise RoundError(errors)
    with transaction.atomic():
        before = sorted(group.targets.filter(is_mobile=False).exclude(organisation=township)
                        .values_list("organisation_id", "village_class"))
        chosen = {village.pk for village in villages}
        group.targets.filter(is_mobile=False).exclude(organisation=township).exclude(
            organisation_id__in=chosen).delete()
        existing = {target.organisation_id: target for target in group.targets.all()}
        result = []
        for village in villages:
            village_class = classes.get(village.pk, "")
            target = existing.get(village.pk)
            if target is None:
                target = RoundTarget.objects.create(round=round, group=group, organisation=village,
                                                    village_class=village_class)
            elif target.village_class != village_class and village.pk not in mobile_ids:
                target.village_class = village_class
                target.save(update_fields=["village_class"])
            result.append(target)
        after = sorted(group.targets.filter(is_mobile=False).exclude(organisation=township)
                       .values_list("organisation_id", "village_class"))
        audit.record("inspection_group.set_targets", actor=by, obj=group,
                     before={"villages": [list(row) for row in before]},
                     after={"villages": [list(row) for row in after]})
    return result


# ---------------------------------------------------------------- mobile inspection (机动巡察)


def propose_mobile(*, by, group: InspectionGroup, village: Region, reason: str) -> MobileProposal:
    """The group leader (or a deputy) proposes a village within `mobile_days` of arrival, within the
    group's limit; the leading group decides (MobileInspectionFlow)."""
    if not may_propose(by, group):
        raise PermissionDenied(f"只有{group.name}的组长、副组长可以提出机动巡察。")
    reason = (reason or "").strip()
    with transaction.atomic():
        group = InspectionGroup.objects.select_for_update().select_related("round", "township").get(pk=group.pk)
        today = timezone.localdate()
        deadline = mobile_deadline(group)
        errors = []
        if group.inspect_all_villages or group.mobile_villages == 0:
            errors.append(f"{group.name}本轮不开展机动巡察（{'巡察全部村' if group.inspect_all_villages else '未安排机动巡察村数'}）。")
        elif today > deadline:
            errors.append(f"机动巡察村须在进驻后 {group.mobile_days} 日内提出，截止日期为 {deadline:%Y-%m-%d}，"
                          f"已过期，不能再提出。")
        elif mobile_used(group) >= group.mobile_villages:
            errors.append(f"{group.name}机动巡察村数上限为 {group.mobile_villages} 个，待审批和已同意的已达 "
                          f"{mobile_used(group)} 个，不能再提出。")
        if not is_village_of(village, group.township):
            errors.append(f"{getattr(village, 'name', '所选对象')} 不是{group.township.name}所辖的村（社区）。")
        elif RoundTarget.objects.filter(round=group.round, organisation=village).exists():
            errors.append(f"{village.name}已是本轮巡察对象。")
        elif group.proposals.filter(village=village, decision=MobileProposal.Decision.PENDING).exists():
            errors.append(f"{village.name}已提出机动巡察，正在等待领导小组审批。")
        if not reason:
            errors.append("请填写提出机动巡察的理由。")
        if errors:
            raise RoundError(errors)
        proposal = MobileProposal.objects.create(group=group, village=village, reason=reason, proposed_by=by,
                                                 proposed_on=today)
        audit.record("mobile_proposal.propose", actor=by, obj=proposal,
                     after=audit.snapshot(proposal, _PROPOSAL_FIELDS))
        MobileInspectionFlow.start.run(proposal=proposal, proposer=by)
    return proposal


def decide_proposal(proposal: MobileProposal, *, by, approve: bool, note: str = "") -> MobileProposal:
    """The leading group approves (the village becomes a mobile target) or rejects (with a reason)."""
    with transaction.atomic():
        proposal = (MobileProposal.objects.select_for_update(of=("self",))
                    .select_related("group__round", "group__township", "village").get(pk=proposal.pk))
        if not may_decide(by, proposal):
            raise PermissionDenied("只有巡察工作领导小组可以审批机动巡察。")
        note = (note or "").strip()
        if proposal.decision != MobileProposal.Decision.PENDING:
            raise RoundError(f"该提议已审批（{proposal.get_decision_display()}），不能重复审批。")
        if not approve and not note:
            raise RoundError("不同意时须填写审批意见。")
        if approve and RoundTarget.objects.filter(round=proposal.group.round, organisation=proposal.village).exists():
            raise RoundError(f"{proposal.village.name}已是本轮巡察对象。")
        before = audit.snapshot(proposal, _PROPOSAL_FIELDS)
        proposal.decision = MobileProposal.Decision.APPROVED if approve else MobileProposal.Decision.REJECTED
        proposal.decided_by, proposal.decided_at, proposal.decision_note = by, timezone.now(), note
        proposal.save(update_fields=["decision", "decided_by", "decided_at", "decision_note"])
        _complete_decision(proposal, by=by)
        if approve and not RoundTarget.objects.filter(round=proposal.group.round, organisation=proposal.village).exists():
            add_mobile_target(proposal)  # a proposal made outside the flow (no process): add it here
        audit.record(f"mobile_proposal.{proposal.decision}", actor=by, obj=proposal, before=before,
                     after=audit.snapshot(proposal, _PROPOSAL_FIELDS))
        notify_proposer_of_decision(proposal)
    return proposal


def process_lookup(proposal: MobileProposal, prefix: str = "") -> dict:
    return artifact_lookup(MobileInspectionFlow, proposal, prefix)


def _complete_decision(proposal: MobileProposal, *, by) -> None:
    process = MobileInspectionProcess.objects.filter(**process_lookup(proposal)).order_by("-id").first()
    task = open_task(process, MobileInspectionFlow.decide) if process else None
    if task is None:
        return
    process.data = {**(process.data or {}), "decision": proposal.decision}
    process.save(update_fields=["data"])
    try:
        complete_task(task, by=by)
    except StepUnavailable as exc:
        raise RoundError(str(exc)) from exc


# ---------------------------------------------------------------- counts and coverage


CLASS_LABELS = dict(RoundTarget.VillageClass.choices)


def class_counts(round: InspectionRound) -> list[dict]:
    """Per township of the round: villages by class (重点/先进/一般/未分类), mobile ones, and the total."""
    rows = (
        RoundTarget.objects.filter(round=round).exclude(organisation_id__in=round.groups.values("township_id"))
        .values("group_id", "village_class", "is_mobile").annotate(n=Count("id"))
    )
    by_group: dict[int, dict] = {}
    for group in round.groups.select_related("township").order_by("number"):
        by_group[group.pk] = {"group": group, "township": group.township, "key": 0, "advanced": 0, "ordinary": 0,
                              "unclassed": 0, "mobile": 0, "total": 0}
    for row in rows:
        entry = by_group.get(row["group_id"])
        if entry is None:
            continue
        entry[row["village_class"] or "unclassed"] += row["n"]
        entry["total"] += row["n"]
        if row["is_mobile"]:
            entry["mobile"] += row["n"]
    return list(by_group.values())


@dataclass
class CoverageRound:
    round: InspectionRound
    townships: int = 0
    villages: int = 0


@dataclass
class TownshipCoverage:
    township: Region
    villages_total: int
    committee_rounds: list[str] = field(default_factory=list)
    villages_covered: int = 0
    villages: list[tuple[Region, list[str]]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.villages_covered / self.villages_total if self.villages_total else 0.0


@dataclass
class Coverage:
    term: str
    county: Region
    rounds: list[CoverageRound]
    townships: list[TownshipCoverage]

    @property
    def townships_total(self) -> int:
        return len(self.townships)

    @property
    def townships_covered(self) -> int:
        return sum(1 for row in self.townships if row.committee_rounds)

    @property
    def villages_total(self) -> int:
        return sum(row.villages_total for row in self.townships)

    @property
    def villages_covered(self) -> int:
        return sum(row.villages_covered for row in self.townships)

    @property
    def organisations_total(self) -> int:
        return self.townships_total + self.villages_total

    @property
    def organisations_covered(self) -> int:
        return self.townships_covered + self.villages_covered

    @property
    def share(self) -> float:
        return self.organisations_covered / self.organisations_total if self.organisations_total else 0.0


def terms(rounds: QuerySet) -> list[str]:
    return list(dict.fromkeys(rounds.order_by("-arrival_date").values_list("term", flat=True)))


def coverage(county: Region, term: str, rounds: QuerySet | None = None) -> Coverage:
    """Which township committees and villages of the county the term's rounds have inspected (全覆盖)."""
    rounds = (rounds if rounds is not None else InspectionRound.objects.all()).filter(
        county=county, term=term).order_by("number", "arrival_date")
    round_list = list(rounds)
    names = {round.pk: round.name for round in round_list}
    inspected: dict[int, list[str]] = {}
    per_round = {round.pk: CoverageRound(round) for round in round_list}
    targets = RoundTarget.objects.filter(round__in=round_list).select_related("organisation__tier").order_by("round__number")
    for target in targets:
        inspected.setdefault(target.organisation_id, []).append(names[target.round_id])
        tier = target.organisation.tier.key
        if tier == "township":
            per_round[target.round_id].townships += 1
        elif tier == "village":
            per_round[target.round_id].villages += 1
    rows = []
    townships = Region.objects.get_children(county).filter(tier__key="township").order_by("path")
    villages = Region.objects.filter(path__startswith=county.path, depth=county.depth + 2, tier__key="village").order_by("path")
    by_township: dict[str, list[Region]] = {}
    for village in villages:
        by_township.setdefault(parent_path(village.path), []).append(village)
    for township in townships:
        own = by_township.get(township.path, [])
        row = TownshipCoverage(township=township, villages_total=len(own),
                               committee_rounds=inspected.get(township.pk, []))
        for village in own:
            seen = inspected.get(village.pk, [])
            row.villages.append((village, seen))
            if seen:
                row.villages_covered += 1
        rows.append(row)
    return Coverage(term=term, county=county, rounds=list(per_round.values()), townships=rows)


def coverage_svg(data: Coverage) -> str:
    """A horizontal bar chart of the share of villages covered per township, and the county's total."""
    rows = [(row.township.name, row.villages_covered, row.villages_total, bool(row.committee_rounds))
            for row in data.townships]
    rows.append(("全县合计", data.organisations_covered, data.organisations_total, True))
    shares = [covered / total if total else 0.0 for _, covered, total, _ in rows]
    figure = charts.Figure(
        key="inspection-coverage", kind="hbar", title=f"{data.term}巡察覆盖情况（村级党组织）", unit="%",
        labels=[label for label, _, _, _ in rows], series=[charts.Series("覆盖率", [share * 100 for share in shares])],
        y_max=100, colours=["#2e7d32" if share >= 1 else "#f9a825" if share > 0 else "#bdbdbd" for share in shares],
        value_labels=[f"{covered}/{total} {share:.0%}{'' if committee else '（党委未巡）'}"
                      for (_, covered, total, committee), share in zip(rows, shares, strict=True)],
    )
    return charts.render_svg(figure, width=600)
