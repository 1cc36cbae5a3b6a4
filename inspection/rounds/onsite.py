"""Work on site during a county inspection round (巡察): working papers, talks, clues, look-back.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance import audit, evidence
from grid.access import region_grants
from grid.access_cache import user_fact
from grid.models import Region, parent_path

from ..models import (
    FocusCategory,
    InspectionFinding,
    InspectionGroup,
    LookBack,
    ProblemClue,
    RoundTarget,
    TalkRecord,
)

# Permissions that mark a post as overseeing rounds in its region (office, leading group, discipline).
OVERSEER_PERMS = ("inspection.manage_inspectionround", "inspection.decide_mobileproposal", "inspection.view_problemclue")
# A post of the group role: it sees rounds through group membership only, never through its region.
GROUP_ROLE_PERM = "inspection.add_inspectionfinding"


class OnsiteError(ValidationError):
    """A user mistake in on-site work; the message is in Chinese."""


# ---------------------------------------------------------------- who is who


def _active(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def in_group(user, group: InspectionGroup) -> bool:
    """Whether `user` is the leader, a deputy or a member of `group`."""
    if not _active(user) or group is None:
        return False
    if group.leader_id == user.pk:
        return True
    return group.deputies.filter(pk=user.pk).exists() or group.members.filter(pk=user.pk).exists()


def groups_of(user) -> QuerySet:
    """The groups `user` leads, deputises in or belongs to."""
    if not _active(user):
        return InspectionGroup.objects.none()
    return InspectionGroup.objects.filter(Q(leader=user) | Q(deputies=user) | Q(members=user)).distinct()


def member_round_ids(user) -> QuerySet:
    """The rounds of the user's groups, as a subquery (`round_id__in=`): no query of its own."""
    return groups_of(user).values("round_id")


def _covered(path: str, prefixes) -> bool:
    return any(path.startswith(prefix) for prefix in prefixes)


def reader_paths(user, perm: str) -> list[str]:
    """Region paths where `user` holds `perm` as the inspected organisation (a township committee): not
    through an overseeing post nor through the group role."""
    if not _active(user):
        return []
    grants = region_grants(user)
    excluded = [path for name in (*OVERSEER_PERMS, GROUP_ROLE_PERM) for path in grants.paths(name)]
    return [path for path in grants.paths(perm) if not _covered(path, excluded)]


def _paths_q(lookup: str, paths) -> Q:
    condition = Q(pk__in=[])
    for prefix in paths:
        condition |= Q(**{f"{lookup}__startswith": prefix})
    return condition


def _overseer_condition(user, perm: str, lookup: str) -> Q:
    """Full visibility under the overseer's regions (the office and leading group at the county: all)."""
    grants = region_grants(user)
    overseeing = [path for name in OVERSEER_PERMS for path in grants.paths(name)]
    # Only where the user also holds the view permission itself (discipline has no view_talkrecord).
    paths = [path for path in grants.paths(perm) if _covered(path, overseeing)]
    paths += [path for path in overseeing if _covered(path, grants.paths(perm))]
    return _paths_q(lookup, set(paths))


# ---------------------------------------------------------------- visibility


# What the group records for the office and the secretary's meeting, not for the inspected organisation:
# shown only where the finding is seen in full (findings_in_full), never to the township committee.
INTERNAL_FINDING_FIELDS = ("people_involved", "suggestion", "for_secretary_meeting", "recorded_by")


def _in_full_condition(user, path: str = "target__organisation__path") -> Q:
    """The rule of findings_in_full, on a finding (`path`: its target's) or on a group (its township's)."""
    perm = "inspection.view_inspectionfinding"
    return Q(round_id__in=member_round_ids(user)) | _overseer_condition(user, perm, path)


def findings_in_full(user) -> QuerySet:
    """Findings `user` sees with their internal fields (INTERNAL_FINDING_FIELDS): as a group member (the
    round's), the office, the leading group or discipline — not as the inspected organisation, which reads
    the fed-back problem itself (visible_findings) without who is involved, the suggested handling, the
    secretary's-meeting mark and the recorder."""
    queryset = InspectionFinding.objects.all()
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(_in_full_condition(user))


def groups_in_full(user) -> QuerySet:
    """The groups all of whose findings `user` sees in full, recorded yet or not: the rule of findings_in_full
    read on the group (its round; its township, under which lie all its targets). The group's documents that
    carry its findings ask this (group_reports.may_view_findings): a post of the group role at the township
    alone does not make a user one of the round's groups, nor does the inspected township read them."""
    queryset = InspectionGroup.objects.all()
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(_in_full_condition(user, "township__path"))


def visible_findings(user) -> QuerySet:
    """Findings `user` may see: group members their round's; the office, leading group and discipline all
    in their regions; a township committee only its own (and its villages') findings once fed back (and
    those without their internal fields: findings_in_full)."""
    queryset = InspectionFinding.objects.all()
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    perm = "inspection.view_inspectionfinding"
    condition = _in_full_condition(user)
    readers = reader_paths(user, perm)
    if readers:
        condition |= Q(fed_back_at__isnull=False) & (
            _paths_q("target__organisation__path", readers) | _paths_q("village__path", readers))
    return queryset.filter(condition)


def talk_groups(user) -> QuerySet:
    """The groups whose talk records `user` may see: a leader, deputy or member only his own groups (not the
    other groups of their rounds, nor another round's group of the same township); the office and the
    leading group every group in their regions; townships and discipline none."""
    queryset = InspectionGroup.objects.all()
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    condition = Q(pk__in=groups_of(user).values("pk")) | _overseer_condition(
        user, "inspection.view_talkrecord", "township__path")
    return queryset.filter(condition)


def visible_talks(user) -> QuerySet:
    """Talk records: those of the groups in `talk_groups` (lists, exports, documents, the audit log, home)."""
    queryset = TalkRecord.objects.all()
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(group__in=talk_groups(user).values("pk"))


def visible_clues(user) -> QuerySet:
    """Problem clues: ONLY holders of inspection.view_problemclue over the clue's target (the office, discipline)
    and the leader of the clue's group. Deputies, members, the leading group, townships and superusers without
    such a post see none — in lists, pages, search, exports and the admin."""
    queryset = ProblemClue.objects.all()
    if not _active(user):
        return queryset.none()
    condition = _paths_q("target__organisation__path", region_grants(user).paths("inspection.view_problemclue"))
    condition |= Q(group__leader=user)
    return queryset.filter(condition)


def may_see_clues(user) -> bool:
    """Whether any clue could be shown to `user` (for the menu): a clue-viewing post or a group to lead."""
    if not _active(user):
        return False
    return bool(region_grants(user).paths("inspection.view_problemclue")) or user_fact(user, LEADS_A_GROUP)


LEADS_A_GROUP = "inspection.leads_a_group"
IN_A_GROUP = "inspection.in_a_group"


def in_a_group(user) -> bool:
    """Whether the user leads, deputises in or belongs to any inspection group (kept with the user's
    cached access: every home page asks)."""
    return groups_of(user).exists()


def leads_a_group(user) -> bool:
    """Whether the user leads an inspection group (kept with the user's cached access: the menu asks
    on every page; grid.access_cache)."""
    return InspectionGroup.objects.filter(leader=user).exists()


def visible_look_backs(user) -> QuerySet:
    queryset = LookBack.objects.all()
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    perm = "inspection.view_lookback"
    condition = (Q(round_id__in=member_round_ids(user)) | _overseer_condition(user, perm, "target__organisation__path")
                 | _paths_q("target__organisation__path", reader_paths(user, perm)))
    return queryset.filter(condition)


def _is_village(region) -> bool:
    return isinstance(region, Region) and region.tier.key == "village"


def _target_errors(group: InspectionGroup, target) -> list[str]:
    if target is None:
        return ["请选择巡察对象：每条问题底稿、谈话记录和问题线索都须写明被巡察党组织。"]
    if not isinstance(target, RoundTarget) or target.round_id != group.round_id:
        return ["所选巡察对象不属于本轮巡察。"]
    if target.group_id != group.pk:
        return [f"{target.organisation.name}不是{group.name}的巡察对象。"]
    return []


def _require_member(by, group: InspectionGroup, what: str) -> None:
    if not isinstance(group, InspectionGroup):
        raise OnsiteError("请选择巡察组。")
    if not in_group(by, group):
        raise PermissionDenied(f"您不是{group.name}的组长、副组长或组员，不能{what}。")


def _village_errors(group: InspectionGroup, target: RoundTarget, village) -> list[str]:
    """A named village must lie in the target's township: under a township target, or — for a village
    target — the target itself or another village of the same township that is a target of the round."""
    if village is None:
        return []
    if not _is_village(village):
        return ["“涉及村（社区）”须为村（社区）。"]
    organisation = target.organisation
    if village.pk == organisation.pk or village.path.startswith(organisation.path):
        return []
    township_path = parent_path(village.path)
    if _is_village(organisation) and organisation.path.startswith(township_path):
        if RoundTarget.objects.filter(round_id=group.round_id, organisation=village).exists():
            return []
        return [f"{village.name}不是本轮巡察对象。"]
    township = organisation if not _is_village(organisation) else Region.objects.get_parent(organisation)
    return [f"{village.name}不在{township.name}辖区内。"]


# The level of a target's organisation (its tier) and the focus categories meant for it.
TARGET_LEVELS = {"township": FocusCategory.AppliesTo.TOWNSHIP, "village": FocusCategory.AppliesTo.VILLAGE}
LEVEL_NAMES = {"township": "乡镇党委", "village": "村级党组织"}


def focus_level(focus: FocusCategory) -> str | None:
    """Whom a category applies to, with its 聚焦: "township", "village", "both" — or None when the category
    and its parent disagree (it then fits no target)."""
    levels, seen, category = set(), set(), focus
    while category is not None and category.pk not in seen:
        seen.add(category.pk)
        if category.applies_to != FocusCategory.AppliesTo.BOTH:
            levels.add(category.applies_to)
        category = category.parent
    if len(levels) > 1:
        return None
    return levels.pop() if levels else FocusCategory.AppliesTo.BOTH


def target_level(target: RoundTarget) -> str | None:
    """"township" or "village": the level of the target's organisation."""
    key = target.organisation.tier.key
    return key if key in TARGET_LEVELS else None


def focus_errors(target: RoundTarget, focus: FocusCategory) -> list[str]:
    """A category of one level (乡镇党委 / 村级党组织) may not classify a problem of a target of the other
    level: the round plan's 三、监督重点 gives each its own 三个聚焦, and the situation report files the
    problem under the category's heading."""
    level = target_level(target)
    if level is None:
        return []
    applies = focus_level(focus)
    if applies in (FocusCategory.AppliesTo.BOTH, TARGET_LEVELS[level]):
        return []
    meant_for = f"{FocusCategory.AppliesTo(applies).label}的" if applies is not None else "与其上级适用对象不一致的"
    return [f"问题类别“{focus.title}”是{meant_for}监督重点，{target.organisation.name}是{LEVEL_NAMES[level]}，"
            f"请选择适用于{LEVEL_NAMES[level]}的问题类别。"]


def _date_errors(value, label: str, *, not_before=None, not_before_label="") -> list[str]:
    if value is None:
        return [f"请填写{label}。"]
    errors = []
    if value > timezone.localdate():
        errors.append(f"{label}不能晚于今天。")
    if not_before and value < not_before:
        errors.append(f"{label}不能早于{not_before_label}（{not_before:%Y-%m-%d}）。")
    return errors


# ---------------------------------------------------------------- working papers (问题底稿)

_FINDING_FIELDS = ["round", "group", "target", "village", "focus", "title", "description", "people_involved",
                   "suggestion", "for_secretary_meeting"]


def record_finding(
    *, by, group: InspectionGroup, target: RoundTarget | None, focus: FocusCategory | None, title: str,
    description: str, village: Region | None = None, people_involved: str = "", suggestion: str = "",
    for_secretary_meeting: bool = False, files=(),
) -> InspectionFinding:
    """Record a problem in the group's working papers, with its evidence (round plan 四、问题底稿制度)."""
    _require_member(by, group, "记录问题底稿")
    errors = _target_errors(group, target)
    if not errors:
        errors += _village_errors(group, target, village)
    if not isinstance(focus, FocusCategory):
        errors.append("请选择问题类别（监督重点）。")
    elif focus.round_id != group.round_id:
        errors.append("所选问题类别不属于本轮巡察的监督重点。")
    elif isinstance(target, RoundTarget):
        errors += focus_errors(target, focus)
    title, description = (title or "").strip(), (description or "").strip()
    people_involved, suggestion = (people_involved or "").strip(), (suggestion or "").strip()
    if not title:
        errors.append("请填写问题。")
    elif len(title) > 300:
        errors.append("问题不能超过 300 个字。")
    if not description:
        errors.append("请填写具体表现（事例、数据等支撑材料）。")
    if len(people_involved) > 200:
        errors.append("涉及人员不能超过 200 个字。")
    if for_secretary_meeting and not people_involved:
        errors.append("列入书记专题会点人点事点问题建议清单的问题须写明涉及人员。")
    if errors:
        raise OnsiteError(errors)
    inspected = evidence.inspect_uploads(files)
    with transaction.atomic():
        finding = InspectionFinding.objects.create(
            round_id=group.round_id, group=group, target=target, village=village, focus=focus, title=title,
            description=description, people_involved=people_involved, suggestion=suggestion,
            for_secretary_meeting=bool(for_secretary_meeting), recorded_by=by,
        )
        evidence.store(finding, inspected, by=by)
        audit.record("inspection_finding.record", actor=by, obj=finding,
                     after={**audit.snapshot(finding, _FINDING_FIELDS), "attachments": len(inspected)})
    return finding


# ---------------------------------------------------------------- talks (谈话)


def record_talk(
    *, by, group: InspectionGroup, target: RoundTarget | None, held_on: datetime.date | None, interviewee: str,
    summary: str, position: str = "",
) -> TalkRecord:
    """Record a talk held by the group with someone of the target."""
    _require_member(by, group, "记录谈话")
    errors = _target_errors(group, target)
    interviewee, position, summary = (interviewee or "").strip(), (position or "").strip(), (summary or "").strip()
    errors += _date_errors(held_on, "谈话日期")
    if not interviewee:
        errors.append("请填写谈话对象。")
    elif len(interviewee) > 100:
        errors.append("谈话对象不能超过 100 个字。")
    if len(position) > 100:
        errors.append("职务不能超过 100 个字。")
    if not summary:
        errors.append("请填写谈话要点。")
    if errors:
        raise OnsiteError(errors)
    with transaction.atomic():
        talk = TalkRecord.objects.create(round_id=group.round_id, group=group, target=target, held_on=held_on,
                                         interviewee=interviewee, position=position, summary=summary, recorded_by=by)
        audit.record("inspection_talk.record", actor=by, obj=talk, after=audit.snapshot(
            talk, ["round", "group", "target", "held_on", "interviewee", "position"]))
    return talk


# ---------------------------------------------------------------- problem clues (问题线索)


def record_clue(
    *, by, group: InspectionGroup, target: RoundTarget | None, people_involved: str, description: str,
    source: str = "", disposal: str = "",
) -> ProblemClue:
    """Record a clue for the group leader, the office and discipline. The recorder need not be able to read
    it afterwards (a member hands it over); the audit row keeps no content, only who recorded it and where."""
    _require_member(by, group, "报送问题线索")
    errors = _target_errors(group, target)
    people_involved, description = (people_involved or "").strip(), (description or "").strip()
    source, disposal = (source or "").strip(), (disposal or "").strip()
    if not people_involved:
        errors.append("请填写涉及人员。")
    elif len(people_involved) > 200:
        errors.append("涉及人员不能超过 200 个字。")
    if not description:
        errors.append("请填写线索内容。")
    if len(source) > 100:
        errors.append("线索来源不能超过 100 个字。")
    if len(disposal) > 200:
        errors.append("处置建议不能超过 200 个字。")
    if errors:
        raise OnsiteError(errors)
    with transaction.atomic():
        clue = ProblemClue.objects.create(round_id=group.round_id, group=group, target=target,
                                          people_involved=people_involved, description=description, source=source,
                                          disposal=disposal, recorded_by=by)
        # The audit log is readable more widely than the clue: keep names and content out of it.
        audit.record("inspection_clue.record", actor=by, obj=clue, object_repr=f"问题线索 #{clue.pk}",
                     after=audit.snapshot(clue, ["round", "group", "target"]))
    return clue


# ---------------------------------------------------------------- look-back (回头看)


def schedule_look_back(*, by, target: RoundTarget | None, scheduled_on: datetime.date | None) -> LookBack:
    """The office schedules a later check of a target's rectification (after the group has withdrawn)."""
    if not isinstance(target, RoundTarget):
        raise OnsiteError("请选择巡察对象。")
    if not _active(by) or not by.has_perm("inspection.add_lookback", target.round.county):
        raise PermissionDenied("只有县委巡察办可以安排回头看。")
    errors = []
    if scheduled_on is None:
        errors.append("请填写计划日期。")
    elif scheduled_on <= target.round.withdrawal_date:
        errors.append(f"回头看须安排在本轮巡察撤回（{target.round.withdrawal_date:%Y-%m-%d}）之后。")
    if errors:
        raise OnsiteError(errors)
    with transaction.atomic():
        look_back = LookBack.objects.create(round_id=target.round_id, target=target, scheduled_on=scheduled_on,
                                            recorded_by=by)
        audit.record("inspection_look_back.schedule", actor=by, obj=look_back,
                     after=audit.snapshot(look_back, ["round", "target", "scheduled_on"]))
    return look_back


def record_look_back_result(look_back: LookBack, *, by, done_on: datetime.date | None, result: str) -> LookBack:
    """The office records what the look-back found."""
    if not _active(by) or not by.has_perm("inspection.change_lookback", look_back.round.county):
        raise PermissionDenied("只有县委巡察办可以登记回头看情况。")
    result = (result or "").strip()
    errors = _date_errors(done_on, "完成日期", not_before=look_back.round.withdrawal_date + datetime.timedelta(days=1),
                          not_before_label="巡察撤回次日")
    if not result:
        errors.append("请填写回头看发现的情况。")
    if errors:
        raise OnsiteError(errors)
    with transaction.atomic():
        look_back = LookBack.objects.select_for_update().get(pk=look_back.pk)
        before = audit.snapshot(look_back, ["done_on", "result"])
        look_back.done_on, look_back.result = done_on, result
        look_back.save(update_fields=["done_on", "result"])
        audit.record("inspection_look_back.result", actor=by, obj=look_back, before=before,
                     after=audit.snapshot(look_back, ["done_on", "result"]))
    return look_back
