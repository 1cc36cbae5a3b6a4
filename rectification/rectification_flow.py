"""RectificationFlow (整改), one process per rectification item: assign → progress → claim → the county
office verifies (验收) and closes (销号), or, where the item's flow policy version lets the committee's
claim suffice, the claim closes it.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from governance.models import Notification
from governance.notifications import notify
from grid.flow_policy import policy_in_force, policy_version
from grid.models import Post, paths_from_root
from workflows.charts import flow_svg
from workflows.engine import StepUnavailable, complete_task
from workflows.flow_parts import artifact_lookup, artifact_of, decided, record_page_view
from workflows.locking import process_lock
from workflows.models import RectificationProcess

from .models import RectificationItem

logger = logging.getLogger(__name__)

CHANGE_ITEM = "rectification.change_rectificationitem"
VERIFY = "rectification.verify_rectificationitem"


_item = artifact_of
_decided = decided
RectificationTaskRedirectView = record_page_view(RectificationProcess, "rectification:item_detail")


def office_verifies(item) -> bool:
    """Whether the item's flow policy version (kept from its flow's start) has the office verify before
    销号; items whose flow has not started follow the version in force for their organisation."""
    if item.flow_policy_id is None and process_of(item) is None:
        policy = policy_in_force(item.plan.organisation)
        return policy is None or policy.rectification_office_verifies
    return policy_version(item.flow_policy_id).rectification_office_verifies


def _claimed(activation) -> bool:
    return (activation.process.data or {}).get("decision") == "claim"


class RectificationFlow(flow.Flow):
    process_class = RectificationProcess
    lock_impl = process_lock
    process_title = _("巡察整改")
    process_description = _("反馈问题逐项整改：明确责任、报送进展、申请销号、县委巡察办验收")

    start = flow.StartHandle(this.start_process).Annotation(title=_("反馈问题移交整改")).Next(this.assign)

    assign = (
        flow.View(RectificationTaskRedirectView.as_view())
        .Annotation(title=_("明确责任"), description=_("明确责任领导、责任单位、整改措施和整改时限"))
        .Permission(CHANGE_ITEM, obj=lambda activation: _item(activation))
        .onCreate(this.task_created)
        .Next(this.progress)
    )
    progress = (
        flow.View(RectificationTaskRedirectView.as_view())
        .Annotation(title=_("报送整改进展"), description=_("定期报送进展；完成后附佐证申请销号"))
        .Permission(CHANGE_ITEM, obj=lambda activation: _item(activation))
        .Next(this.after_progress)
    )
    after_progress = (
        flow.Switch()
        .Annotation(title=_("是否申请销号"))
        .Case(this.verify, lambda activation: _claimed(activation) and office_verifies(_item(activation)))
        .Case(this.end_on_claim, _claimed)
        .Default(this.progress)
    )
    verify = (
        flow.View(RectificationTaskRedirectView.as_view())
        .Annotation(title=_("县委巡察办验收"), description=_("验收通过予以销号，或退回继续整改"))
        .Permission(VERIFY, obj=lambda activation: _item(activation))
        .onCreate(this.task_created)
        .Next(this.after_verify)
    )
    after_verify = (
        flow.Switch()
        .Annotation(title=_("验收结果"))
        .Case(this.end, _decided("accepted"))
        .Default(this.progress)
    )
    end = flow.End().Annotation(title=_("销号"))
    end_on_claim = flow.End().Annotation(title=_("申报即销号（流程策略：无需验收）"))

    def start_process(self, activation, item, by=None):
        if item.flow_policy_id is None:  # the item keeps the version in force when its flow starts
            policy = policy_in_force(item.plan.organisation)
            if policy is not None:
                item.flow_policy = policy
                item.save(update_fields=["flow_policy"])
        activation.process.artifact = item
        activation.process.data = {"decision": None, "started_by": getattr(by, "pk", None)}
        return activation.process

    def task_created(self, activation):
        notify_task_after_commit(activation.task.pk)


# ---------------------------------------------------------------- driving the flow from the services


def process_lookup(item, prefix: str = "") -> dict:
    return artifact_lookup(RectificationFlow, item, prefix)


def process_of(item) -> RectificationProcess | None:
    return RectificationProcess.objects.filter(**process_lookup(item)).order_by("-id").first()


def ensure_flow(item, *, by=None) -> RectificationProcess:
    """The item's process, started now when the item has none (items from feed_back or an import)."""
    process = process_of(item)
    if process is None:
        process = RectificationFlow.start.run(item=item, by=by)
    return process


def _open_task(process):
    return (Task.objects.filter(process=process, status__in=[STATUS.NEW, STATUS.ASSIGNED])
            .order_by("-id").first())


def current_step(item, process=None) -> str | None:
    """"assign", "progress" or "verify" while the item's process waits there; None when closed or not started."""
    process = process or process_of(item)
    if process is None:
        return None
    task = _open_task(process)
    if task is None:
        return None
    return {RectificationFlow.assign: "assign", RectificationFlow.progress: "progress",
            RectificationFlow.verify: "verify"}.get(task.flow_task)


def position(item) -> str | None:
    """Where the item stands, for pages and the API: its waiting step, or for an open item whose flow
    has not started yet (imported, or fed back; the flow starts at the first action) the step it
    waits for: "progress" when the import brought its responsible leader or unit, else "assign"."""
    process = process_of(item)
    if process is not None:
        return current_step(item, process)
    if item.closed_at is None:
        return "progress" if (item.responsible_unit or item.responsible_leader) else "assign"
    return None


def complete_step(item, node_name: str, decision: str, *, by, data: dict | None = None) -> None:
    """Complete the item's waiting `node_name` task with `decision` (inside the service's transaction).

    Progress and claims on an item still at "assign" complete the assignment first: the committee
    acting on it is the assignment. Assigning again later only updates the item (no task waits).
    Raises LookupError (Chinese) when the step is not open.
    """
    process = ensure_flow(item, by=by)
    step = current_step(item)
    if node_name == "assign":
        if step != "assign":
            return
    elif node_name == "progress" and step == "assign":
        _complete(process, RectificationFlow.assign, "assigned", by=by)
        step = current_step(item)
    if step != node_name:
        raise LookupError("该事项当前不在此环节，可能已由他人办理，请刷新后查看。")
    process.refresh_from_db()
    process.data = {**(process.data or {}), **(data or {}), "decision": decision}
    process.save(update_fields=["data"])
    try:
        complete_task(_open_task(process), by=by)
    except StepUnavailable as exc:
        raise LookupError(str(exc)) from exc


def _complete(process, flow_task, decision, *, by) -> None:
    process.data = {**(process.data or {}), "decision": decision}
    process.save(update_fields=["data"])
    task = Task.objects.filter(process=process, flow_task=flow_task, status__in=[STATUS.NEW, STATUS.ASSIGNED]).first()
    if task is not None:
        complete_task(task, by=by)


# ---------------------------------------------------------------- 待办 notices


def committee_users(organisation) -> list:
    """Active holders of change_rectificationplan at the organisation or above it, below the county level
    that only follows (the township committee of a village plan, or the committee itself)."""
    return _holders(organisation, "change_rectificationplan")


def office_users(organisation) -> list:
    """Active holders of verify_rectificationitem over the organisation (the county inspection office)."""
    return _holders(organisation, "verify_rectificationitem")


def _holders(organisation, codename: str) -> list:
    user_ids = Post.objects.active().granting(f"rectification.{codename}").filter(
        region__path__in=paths_from_root(organisation.path), user__is_active=True).values_list("user_id", flat=True).distinct()
    return list(get_user_model().objects.filter(pk__in=set(user_ids)).order_by("pk"))


def notify_task_after_commit(task_id: int) -> None:
    def send():
        try:
            notify_task(task_id)
        except Exception:  # a failing notice must not surface as an error of the step that committed
            logger.exception("待办 notices of rectification task %s failed", task_id)

    transaction.on_commit(send)


def notify_task(task_id: int) -> int:
    """待办 for a waiting assign task (the committee) or verify task (the office); once per holder and task."""
    task = Task.objects.select_related("process").filter(pk=task_id).first()
    if task is None or task.finished is not None:
        return 0
    item = RectificationItem.objects.select_related("plan__organisation").filter(
        pk=task.process.artifact_object_id).first()
    if item is None:
        return 0
    organisation = item.plan.organisation
    if task.flow_task == RectificationFlow.verify:
        users = office_users(organisation)
        title = f"待验收：{organisation.name}整改事项第{item.number}项申请销号"
        body = f"“{item.title}”已申请销号，请核验佐证材料后验收或退回。"
    else:
        users = committee_users(organisation)
        title = f"待整改：{organisation.name}第{item.number}项“{item.title[:40]}”"
        body = "请明确责任领导、责任单位、整改措施和整改时限，并按时报送整改进展。"
    url = reverse("rectification:item_detail", args=[item.pk])
    sent = 0
    for user in users:
        if notify(user, kind=Notification.Kind.TASK, title=title, body=body, url=url,
                  dedupe_key=f"rectification-task:{task.pk}:{user.pk}"):
            sent += 1
    return sent


def notify_committee_of_verdict(item, *, accepted: bool, reason: str) -> None:
    """The committee hears the office's verdict after it commits."""
    organisation = item.plan.organisation
    verdict = "验收通过，已销号" if accepted else "被退回，请继续整改"
    title = f"整改事项第{item.number}项{verdict}"
    body = f"“{item.title}”{verdict}。{reason}"
    url = reverse("rectification:item_detail", args=[item.pk])
    key = f"rectification-verdict:{item.pk}:{'accepted' if accepted else 'returned'}:{item.progress.count()}"

    def send():
        for user in committee_users(organisation):
            notify(user, kind=Notification.Kind.RESULT, title=title, body=body, url=url, dedupe_key=f"{key}:{user.pk}")

    transaction.on_commit(send)


# ---------------------------------------------------------------- chart


def rectification_flow_svg(item=None) -> str:
    """The flow as SVG (viewflow's layout); for one item, its steps so far coloured."""
    return flow_svg(RectificationFlow, item)
