"""Mobile inspection (机动巡察) rules the flow reads: who decides a proposal, the group's deadline, and the
target an approved proposal adds to the round."""

from __future__ import annotations

import datetime

from ..models import InspectionGroup, MobileProposal, RoundTarget


def active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def may_decide(user, proposal: MobileProposal) -> bool:
    return active(user) and user.has_perm("inspection.decide_mobileproposal", proposal.village)


def mobile_deadline(group: InspectionGroup) -> datetime.date:
    """The last day a group may propose villages: arrival + mobile_days (plan: 进驻后 7 日内)."""
    return group.round.arrival_date + datetime.timedelta(days=group.mobile_days)


def add_mobile_target(proposal: MobileProposal) -> RoundTarget | None:
    """The flow's add-target node: an approved village becomes a mobile target of the group's round."""
    if proposal.decision != MobileProposal.Decision.APPROVED:
        return None
    group = proposal.group
    target, _ = RoundTarget.objects.get_or_create(
        round_id=group.round_id, organisation=proposal.village, defaults={"group": group, "is_mobile": True},
    )
    return target
