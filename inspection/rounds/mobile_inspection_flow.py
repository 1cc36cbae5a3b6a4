"""MobileInspectionFlow (机动巡察): a group leader proposes a village → the leading group approves or
rejects → an approved village becomes a (mobile) target of the round.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

import logging

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.models import Task

from governance.models import Notification
from governance.notifications import notify
from grid.models import Post, paths_from_root
from inspection.models import MobileProposal
from inspection.rounds.mobile_rules import add_mobile_target, may_decide, mobile_deadline
from workflows.charts import flow_bpmn, flow_svg
from workflows.flow_parts import artifact_of, decided, record_page_view
from workflows.locking import process_lock
from workflows.models import MobileInspectionProcess

logger = logging.getLogger(__name__)


_proposal = artifact_of
_decided = decided  # one decision each: decided("approved")
MobileProposalTaskRedirectView = record_page_view(MobileInspectionProcess, "inspection:proposal_detail")


class LeadingGroupTask(flow.View):
    """Only a leading-group post covering the village may take the decision (never a grant elsewhere)."""

    def can_assign(self, user, task):
        return not task.owner_id and may_decide(user, _proposal(task.process))

    def can_execute(self, user, task):
        return task.owner_id == user.pk and may_decide(user, _proposal(task.process))


class MobileInspectionFlow(flow.Flow):
    process_class = MobileInspectionProcess
    lock_impl = process_lock
    process_title = _("机动巡察审批")
    process_description = _("巡察组进驻后提出机动巡察村，报巡察工作领导小组审批，同意后列为巡察对象")

    start = flow.StartHandle(this.start_process).Annotation(title=_("巡察组提出机动巡察村")).Next(this.decide)

    decide = (
        LeadingGroupTask(MobileProposalTaskRedirectView.as_view())
        .Annotation(title=_("领导小组审批"), description=_("同意或不同意开展机动巡察"))
        .Permission("inspection.decide_mobileproposal", obj=lambda activation: _proposal(activation).village)
        .onCreate(this.task_created)
        .Next(this.after_decide)
    )
    after_decide = (
        flow.Switch()
        .Annotation(title=_("审批结果"))
        .Case(this.add_target, _decided("approved"))
        .Default(this.end_rejected)
    )

    add_target = flow.Function(this.add_mobile_target).Annotation(title=_("列为巡察对象")).Next(this.end)

    end = flow.End().Annotation(title=_("已列为机动巡察对象"))
    end_rejected = flow.End().Annotation(title=_("不同意，不列为巡察对象"))

    def start_process(self, activation, proposal, proposer=None):
        activation.process.artifact = proposal
        activation.process.data = {"decision": None, "proposer": getattr(proposer, "pk", None)}
        return activation.process

    def task_created(self, activation):
        notify_leading_group_after_commit(activation.task.pk)

    def add_mobile_target(self, activation):
        add_mobile_target(_proposal(activation))


# ---------------------------------------------------------------- 待办 notices


def notify_leading_group_after_commit(task_id: int) -> None:
    """After the proposal commits, tell the leading group's holders that a decision waits."""

    def send():
        try:
            notify_leading_group(task_id)
        except Exception:  # a failing notice must not surface as an error of the step that committed
            logger.exception("待办 notices of mobile inspection task %s failed", task_id)

    transaction.on_commit(send)


def leading_group_posts(village):
    """Active posts whose role decides mobile proposals, at the village or above it."""
    return Post.objects.active().granting("inspection.decide_mobileproposal").filter(
        region__path__in=paths_from_root(village.path), user__is_active=True)


def notify_leading_group(task_id: int) -> int:
    """待办 notices for a still-open decide task; returns the number sent (each holder once per task)."""
    task = Task.objects.select_related("process").filter(pk=task_id).first()
    if task is None or task.finished is not None:
        return 0
    proposal = MobileProposal.objects.select_related("group__round", "group__township", "village").filter(
        pk=task.process.artifact_object_id).first()
    if proposal is None or proposal.decision != MobileProposal.Decision.PENDING:
        return 0
    group = proposal.group
    title = f"待审批：{group.name}提出机动巡察{proposal.village.name}"
    body = (f"{group.round.name}{group.name}（{group.township.name}）于 {proposal.proposed_on:%Y-%m-%d} 提出："
            f"{proposal.reason[:80]}。机动巡察村确定截止 {mobile_deadline(group):%Y-%m-%d}，请审批。")
    url = reverse("inspection:proposal_detail", args=[proposal.pk])
    sent = 0
    for user_id in sorted(set(leading_group_posts(proposal.village).values_list("user_id", flat=True))):
        if notify(user_id, kind=Notification.Kind.TASK, title=title, body=body, url=url,
                  dedupe_key=f"mobile-task:{task.pk}:{user_id}"):
            sent += 1
    return sent


def notify_proposer_of_decision(proposal) -> None:
    """The proposer hears the leading group's decision after it commits."""

    title = f"机动巡察{proposal.village.name}：领导小组{proposal.get_decision_display()}"
    body = proposal.decision_note or ""
    url = reverse("inspection:proposal_detail", args=[proposal.pk])
    proposer_id, key = proposal.proposed_by_id, f"mobile-result:{proposal.pk}:{proposal.decision}"
    transaction.on_commit(lambda: notify(proposer_id, kind=Notification.Kind.RESULT, title=title, body=body,
                                         url=url, dedupe_key=key))



# ---------------------------------------------------------------- chart


def mobile_inspection_flow_svg(proposal=None) -> str:
    """The flow as SVG (viewflow's layout); for one proposal, its steps so far coloured."""
    return flow_svg(MobileInspectionFlow, proposal)


def mobile_inspection_flow_bpmn() -> str:
    return flow_bpmn(MobileInspectionFlow)
