"""PatrolReportFlow (大巡查上报): village report → (where the report's flow policy says so, the township
office reviews it first) → the lead department verifies → a true report is registered and earns its
points → follow-up (enforcement, rectification) or none.
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
from grid.flow_policy import policy_version
from inspection.models import PatrolReport
from inspection.patrol.report_registration import (
    lead_department_posts,
    may_review,
    may_verify,
    register_report,
    township_office_posts,
)
from workflows.charts import flow_bpmn, flow_svg
from workflows.flow_parts import artifact_of, decided, record_page_view
from workflows.locking import process_lock
from workflows.models import PatrolReportProcess

logger = logging.getLogger(__name__)


_report = artifact_of
_decided = decided
PatrolReportTaskRedirectView = record_page_view(PatrolReportProcess, "patrol:report_detail")


class LeadDepartmentTask(flow.View):
    """A step only the item's lead department, posted over the village, may take (inspection.patrol.report_registration.may_verify).

    viewflow's default `can_assign` also accepts the permission held *anywhere*; that would let any
    department verify any village's report.
    """

    def can_assign(self, user, task):
        return not task.owner_id and user.is_authenticated and may_verify(user, _report(task.process))

    def can_execute(self, user, task):
        return task.owner_id == user.pk and may_verify(user, _report(task.process))


class TownshipOfficeTask(flow.View):
    """A step only the township office over the village may take (report_registration.may_review)."""

    def can_assign(self, user, task):
        return not task.owner_id and user.is_authenticated and may_review(user, _report(task.process))

    def can_execute(self, user, task):
        return task.owner_id == user.pk and may_review(user, _report(task.process))


def township_reviews(report: PatrolReport) -> bool:
    """Whether the report's flow policy version (kept from its submission) has the township review it."""
    return policy_version(report.flow_policy_id).patrol_township_review


class PatrolReportFlow(flow.Flow):
    process_class = PatrolReportProcess
    lock_impl = process_lock
    process_title = _("大巡查上报")
    process_description = _("村（居）上报目录问题，牵头部门核实登记、加分，必要时执法或整改")

    start = flow.StartHandle(this.start_process).Annotation(title=_("村（居）上报")).Next(this.needs_review)

    needs_review = (
        flow.If(lambda activation: township_reviews(_report(activation)))
        .Annotation(title=_("是否经乡镇审核（流程策略）"))
        .Then(this.township_review)
        .Else(this.verify)
    )
    township_review = (
        TownshipOfficeTask(PatrolReportTaskRedirectView.as_view())
        .Annotation(title=_("乡镇巡查办审核"), description=_("审核通过转牵头部门核实，或不予通过"))
        .Permission("inspection.review_patrolreport", obj=lambda activation: _report(activation).village)
        .onCreate(this.task_created)
        .Next(this.after_review)
    )
    after_review = (
        flow.Switch()
        .Annotation(title=_("审核结果"))
        .Case(this.verify, _decided("passed"))
        .Default(this.end_refused)
    )

    verify = (
        LeadDepartmentTask(PatrolReportTaskRedirectView.as_view())
        .Annotation(title=_("牵头部门核实"), description=_("核实认定：属实、不属实或重复"))
        .Permission("inspection.verify_patrolreport", obj=lambda activation: _report(activation).village)
        .onCreate(this.task_created)
        .Next(this.after_verify)
    )
    after_verify = (
        flow.Switch()
        .Annotation(title=_("核实结果"))
        .Case(this.register, _decided("true"))
        .Default(this.end_refused)
    )

    register = flow.Function(this.register_report).Annotation(title=_("登记备案、加分")).Next(this.follow_up)

    follow_up = (
        LeadDepartmentTask(PatrolReportTaskRedirectView.as_view())
        .Annotation(title=_("后续处置"), description=_("执法处置、责令整改，或无需处置"))
        .Permission("inspection.verify_patrolreport", obj=lambda activation: _report(activation).village)
        .Next(this.end)
    )

    end = flow.End().Annotation(title=_("已登记"))
    end_refused = flow.End().Annotation(title=_("不属实或重复，不加分"))

    def start_process(self, activation, report, reporter=None, idempotency_key=None):
        activation.process.artifact = report
        activation.process.data = {
            "decision": None, "reporter": getattr(reporter, "pk", None),
            "idempotency_key": str(idempotency_key) if idempotency_key else None,
        }
        return activation.process

    def task_created(self, activation):
        notify_task_holders_after_commit(activation.task.pk)

    def register_report(self, activation):
        register_report(_report(activation), registration_number=(activation.process.data or {}).get("registration_number"))


# ---------------------------------------------------------------- 待办 notices


def notify_task_holders_after_commit(task_id: int) -> None:
    """After the step commits, tell the holders of a waiting review or verify task."""

    def send():
        try:
            notify_task_holders(task_id)
        except Exception:  # a failing notice must not surface as an error of the step that committed
            logger.exception("待办 notices of patrol report task %s failed", task_id)

    transaction.on_commit(send)


def notify_task_holders(task_id: int) -> int:
    """待办 notices for a still-open task: for the review, active township office posts over the village;
    for the verification, active posts of the item's lead department that verify reports and cover the
    village. Returns the number of notices sent (each holder once per task)."""
    task = Task.objects.select_related("process").filter(pk=task_id).first()
    if task is None or task.finished is not None:
        return 0
    report = PatrolReport.objects.select_related("village", "item__lead_department").filter(
        pk=task.process.artifact_object_id).first()
    if report is None or report.verdict != PatrolReport.Verdict.PENDING:
        return 0
    if task.flow_task == PatrolReportFlow.township_review:
        posts = township_office_posts(report.village)
        title = f"待审核：{report.village.name}上报“{report.item.name}”（{report.number}）"
        action = f"请审核后转{report.item.lead_department.name}核实。"
    else:
        posts = lead_department_posts(report.item.lead_department_id, report.village)
        title = f"待核实：{report.village.name}上报“{report.item.name}”（{report.number}）"
        action = "请核实认定并登记备案。"
    holders = sorted(set(posts.values_list("user_id", flat=True)))
    body = f"{report.village.name}于 {report.reported_on:%Y-%m-%d} 上报：{report.location}，{report.description[:60]}。{action}"
    url = reverse("patrol:report_detail", args=[report.pk])
    sent = 0
    for user_id in holders:
        if notify(user_id, kind=Notification.Kind.TASK, title=title, body=body, url=url,
                  dedupe_key=f"patrol-task:{task.pk}:{user_id}"):
            sent += 1
    return sent


def notify_reporter_of_verdict(report) -> None:
    """The reporter hears the lead department's verdict after it commits."""
    if not report.reporter_id:
        return

    title = f"上报 {report.number}“{report.item.name}”核实结果：{report.get_verdict_display()}"
    body = report.verification_note or ""
    if report.verdict == report.Verdict.TRUE:
        body = f"已登记备案（{report.registration_number}），加 {report.points} 分。{body}"
    url = reverse("patrol:report_detail", args=[report.pk])
    reporter_id, key = report.reporter_id, f"patrol-result:{report.pk}:{report.verdict}"
    transaction.on_commit(lambda: notify(reporter_id, kind=Notification.Kind.RESULT, title=title, body=body,
                                         url=url, dedupe_key=key))



# ---------------------------------------------------------------- chart


def patrol_report_flow_svg(report=None) -> str:
    """The flow as SVG (viewflow's layout); for one report, its steps so far coloured."""
    return flow_svg(PatrolReportFlow, report)


def patrol_report_flow_bpmn() -> str:
    return flow_bpmn(PatrolReportFlow)
