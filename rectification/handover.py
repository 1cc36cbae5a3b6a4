"""The hand-over of a round's feedback (反馈): the findings of a township and its villages become one
rectification plan per organisation (the township committee, and each village with findings), with one
pending item per finding, numbered 1, 2, 3… in focus order, due at the end of the round's 集中整改期. inspection.rounds.feedback.feed_back calls it in
its transaction (registered in rectification.apps)."""

from __future__ import annotations

from governance import audit
from inspection.models import InspectionGroup
from inspection.rounds.feedback import rectification_deadline
from inspection.rounds.group_reports import finding_organisation

from .models import RectificationItem, RectificationPlan


def hand_over(group: InspectionGroup, findings, *, by) -> tuple[list[RectificationPlan], int]:
    """The plans made (in tree order) and the number of items."""
    plans, organisations = _plans(group, findings, by)
    deadline = rectification_deadline(group.round, group.feedback_on)
    count = 0
    for finding in findings:
        plan = plans[finding_organisation(finding).pk]
        organisations[plan.pk] += 1
        focus = finding.focus
        RectificationItem.objects.create(
            plan=plan, finding=finding, number=organisations[plan.pk], title=finding.title,
            description=finding.description, status=RectificationItem.Status.PENDING, deadline=deadline,
            category=focus.parent.title if focus.parent_id else focus.title,
            subcategory=focus.title if focus.parent_id else "",
        )
        count += 1
    for plan in plans.values():
        audit.record("rectification_plan.create", actor=by, obj=plan,
                     after={"round": group.round_id, "organisation": plan.organisation_id,
                            "items": organisations[plan.pk]})
    return list(plans.values()), count


def plan_title(organisation, group: InspectionGroup) -> str:
    name = f"中共{organisation.name}委员会" if organisation.pk == group.township_id else f"{organisation.name}党组织"
    return f"{name}关于{group.round.name}反馈问题的整改方案"


def _plans(group: InspectionGroup, findings, by) -> tuple[dict, dict]:
    """One plan for the township committee, and one per village with findings (in tree order)."""
    organisations = {group.township.pk: group.township}
    for finding in findings:
        organisation = finding_organisation(finding)
        organisations.setdefault(organisation.pk, organisation)
    plans = {}
    counters = {}
    for organisation in sorted(organisations.values(), key=lambda o: o.path):
        plan = RectificationPlan.objects.create(
            organisation=organisation, round=group.round, title=plan_title(organisation, group), created_by=by,
            group_name=group.published_name, inspected_from=group.round.arrival_date, inspected_to=group.round.withdrawal_date,
            feedback_on=group.feedback_on,
        )
        plans[organisation.pk] = plan
        counters[plan.pk] = 0
    return plans, counters
