"""The village side of the township big patrol (大巡查) and the lead department's verification.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from governance import audit, evidence
from governance.input_rules import happened_problem
from grid.flow_policy import policy_in_force
from grid.models import Department, Region
from workflows.engine import StepUnavailable, complete_task, open_task
from workflows.flow_parts import artifact_lookup
from workflows.models import PatrolReportProcess

from ..models import CatalogItem, PatrolReport, VillagePatrol
from .report_flow import PatrolReportFlow, notify_reporter_of_verdict
from .report_registration import active as _active
from .report_registration import lead_department_posts, may_review, may_verify, register_report  # noqa: F401 (this module's API too)
from .report_registration import lock_report as _lock

MIN_PATROLLERS = 2
NUMBER_ATTEMPTS = 5

VERDICT_CHOICES = (PatrolReport.Verdict.TRUE, PatrolReport.Verdict.FALSE, PatrolReport.Verdict.DUPLICATE)
FOLLOW_UP_KINDS = (PatrolReport.FollowUp.ENFORCEMENT, PatrolReport.FollowUp.RECTIFICATION)

_REPORT_FIELDS = [
    "reviewed_by", "reviewed_at", "review_passed", "review_note", "verdict", "verified_on", "verified_by", "verification_note", "duplicate_of", "points", "registration_number",
    "registered_at", "follow_up", "follow_up_note", "is_fraud", "fraud_note", "fraud_flagged_by", "fraud_flagged_at",
]


class ReportError(ValidationError):
    """A user mistake in a patrol ledger or report step; the message is in Chinese."""


# ---------------------------------------------------------------- who may do what


def township_of(village: Region) -> Region | None:
    """The township a village belongs to (its parent in the region tree)."""
    return Region.objects.get_parent(village)


def _is_village(region) -> bool:
    return isinstance(region, Region) and region.tier.key == "village"


def may_flag_fraud(user, report: PatrolReport) -> bool:
    return _active(user) and user.has_perm("inspection.flag_patrol_fraud", report.village)


# ---------------------------------------------------------------- the village patrol ledger (附件3)


def record_village_patrol(
    *, by, village: Region, date: datetime.date, patrollers, items=(), route: str = "", findings: str = "",
) -> VillagePatrol:
    """Record one patrol of the village's team in its ledger: at least 2 village patrol cadres of that village."""
    if not _is_village(village):
        raise ReportError("请选择村（居）。")
    if not _active(by) or not by.has_perm("inspection.add_villagepatrol", village):
        raise PermissionDenied("您不是该村（居）的巡查员，不能记录其巡查台账。")
    patrollers = list(dict.fromkeys(patrollers or []))
    items = list(dict.fromkeys(items or []))
    township = township_of(village)
    errors = []
    if date is None:
        errors.append("请填写巡查日期。")
    elif date > timezone.localdate():
        errors.append("巡查日期不能晚于今天。")
    if len(patrollers) < MIN_PATROLLERS:
        errors.append(f"巡查人员不少于 {MIN_PATROLLERS} 名（实施方案 四（十八））。")
    outsiders = [user for user in patrollers if not _active(user) or not user.has_perm("inspection.add_villagepatrol", village)]
    if outsiders:
        names = "、".join(user.get_full_name() or user.username for user in outsiders)
        errors.append(f"{names} 不是{village.name}的在岗巡查员。")
    wrong_items = [item for item in items if not isinstance(item, CatalogItem) or not item.is_active or item.township_id != getattr(township, "pk", None)]
    if wrong_items:
        errors.append("巡查事项须为本镇巡查目录中启用的事项。")
    if not (findings or "").strip():
        errors.append("请填写巡查情况（未发现问题时填写“未发现问题”）。")
    if errors:
        raise ReportError(errors)
    with transaction.atomic():
        patrol = VillagePatrol.objects.create(
            village=village, date=date, route=(route or "").strip(), findings=findings.strip(), recorded_by=by,
        )
        patrol.patrollers.set(patrollers)
        patrol.items.set(items)
        audit.record("village_patrol.record", actor=by, obj=patrol, after=audit.snapshot(
            patrol, ["village", "date", "patrollers", "items", "route", "findings"]))
    return patrol


# ---------------------------------------------------------------- reporting to the lead department


def _next_number(township: Region, year: int) -> str:
    """The next report number of a township and year: 太平镇-2026-0001 (imported numbers are left alone)."""
    prefix = f"{township.name}-{year}-"
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = PatrolReport.objects.filter(township=township, number__startswith=prefix).values_list("number", flat=True)
    highest = max((int(match.group(1)) for number in numbers if (match := pattern.match(number))), default=0)
    return f"{prefix}{highest + 1:04d}"


def _existing_submission(by, idempotency_key) -> PatrolReport | None:
    if not idempotency_key:
        return None
    return PatrolReport.objects.filter(reporter=by, idempotency_key=str(idempotency_key)).first()


def submit_report(
    *, by, village: Region, item: CatalogItem, occurred_at: datetime.datetime, location: str, description: str,
    files=(), patrol: VillagePatrol | None = None, idempotency_key: str | None = None,
) -> PatrolReport:
    """Report a catalog issue of the village to the item's lead department and start PatrolReportFlow.

    Submitting again with the same idempotency key returns the first report instead of a second one.
    """
    existing = _existing_submission(by, idempotency_key) if _active(by) else None
    if existing is not None:
        return existing
    if not _is_village(village):
        raise ReportError("请选择村（居）。")
    if not _active(by) or not by.has_perm("inspection.add_patrolreport", village):
        raise PermissionDenied("您不是该村（居）的巡查员，不能以该村名义上报。")
    township = township_of(village)
    errors = []
    if not isinstance(item, CatalogItem) or not item.is_active or item.township_id != getattr(township, "pk", None):
        errors.append("请选择本镇巡查目录中启用的事项。")
    if occurred_at is None:
        errors.append("请填写发生时间。")
    elif problem := happened_problem(occurred_at):
        errors.append(problem)
    location, description = (location or "").strip(), (description or "").strip()
    if not location:
        errors.append("请填写地点。")
    elif len(location) > 200:
        errors.append("地点不能超过 200 个字。")
    if not description:
        errors.append("请填写问题描述。")
    if patrol is not None and patrol.village_id != village.pk:
        errors.append("所选巡查台账记录不属于该村（居）。")
    if idempotency_key is not None and len(str(idempotency_key)) > 64:
        errors.append("提交标识超过 64 个字符。")
    if errors:
        raise ReportError(errors)
    inspected = evidence.inspect_uploads(files)
    today = timezone.localdate()
    with transaction.atomic():
        report = None
        for _attempt in range(NUMBER_ATTEMPTS):
            try:
                with transaction.atomic():  # a savepoint: another report may take the number first
                    report = PatrolReport.objects.create(
                        township=township, village=village, number=_next_number(township, today.year), item=item,
                        patrol=patrol, occurred_at=occurred_at, location=location, description=description,
                        reported_on=today, reporter=by, idempotency_key=str(idempotency_key or ""),
                        flow_policy=policy_in_force(village),
                    )
                break
            except IntegrityError:
                existing = _existing_submission(by, idempotency_key)
                if existing is not None:  # the same submission, saved by a concurrent request
                    return existing
                continue
        if report is None:
            raise ReportError("编号生成冲突，请稍后重试。")
        evidence.store(report, inspected, by=by)
        audit.record("patrol_report.submit", actor=by, obj=report, after={
            **audit.snapshot(report, ["number", "village", "item", "patrol", "occurred_at", "location", "description",
                                      "reported_on"]),
            "attachments": len(inspected), "flow_policy": report.flow_policy_id,
        })
        PatrolReportFlow.start.run(report=report, reporter=by, idempotency_key=idempotency_key)
    return report


# ---------------------------------------------------------------- the flow's steps


def process_lookup(report: PatrolReport, prefix: str = "") -> dict:
    """ORM lookups of a report's PatrolReportFlow process (workflows.flow_parts.artifact_lookup)."""
    return artifact_lookup(PatrolReportFlow, report, prefix)


def _process(report: PatrolReport):
    return PatrolReportProcess.objects.filter(**process_lookup(report)).order_by("-id").first()


def current_step(report: PatrolReport) -> str | None:
    """"township_review", "verify" or "follow_up" while the report waits there, else None."""
    task = (
        Task.objects.filter(status__in=[STATUS.NEW, STATUS.ASSIGNED], **process_lookup(report, "process__"))
        .order_by("-id").first()
    )
    if task is None:
        return None
    return {PatrolReportFlow.township_review: "township_review", PatrolReportFlow.verify: "verify",
            PatrolReportFlow.follow_up: "follow_up"}.get(task.flow_task)


def _complete(report: PatrolReport, node_name: str, decision: str, *, by, required: bool, data: dict | None = None) -> None:
    """Record the decision for the flow's switches and complete the waiting task of `node_name`.

    A report imported from a paper ledger has no process: its verification starts one first.
    """

    process = _process(report)
    if process is None and node_name == "verify":
        process = PatrolReportFlow.start.run(report=report, reporter=report.reporter, idempotency_key=None)
    task = open_task(process, getattr(PatrolReportFlow, node_name)) if process else None
    if task is None:
        if required:
            raise ReportError("该上报当前不在此环节，可能已由他人办理，请刷新后查看。")
        return
    process.data = {**(process.data or {}), **(data or {}), "decision": decision}
    process.save(update_fields=["data"])
    try:
        complete_task(task, by=by)
    except StepUnavailable as exc:
        raise ReportError(str(exc)) from exc


def review_report(report: PatrolReport, *, by, passed: bool, note: str = "") -> PatrolReport:
    """The township office's review (乡镇巡查办审核), where the report's flow policy version asks for it:
    passed → the lead department verifies; not passed (with a reason) → 不属实, no points."""
    with transaction.atomic():
        report = _lock(report)
        if not may_review(by, report):
            raise PermissionDenied("只有负责该村（居）的乡镇巡查办人员可以审核此上报。")
        if report.verdict != PatrolReport.Verdict.PENDING or report.reviewed_at is not None:
            raise ReportError("该上报已审核，不能重复审核。")
        if current_step(report) != "township_review":
            raise ReportError("该上报无需乡镇审核或当前不在审核环节，请刷新后查看。")
        note = (note or "").strip()
        if not passed and not note:
            raise ReportError("审核不通过时须填写理由。")
        before = audit.snapshot(report, _REPORT_FIELDS)
        report.reviewed_by, report.reviewed_at, report.review_note = by, timezone.now(), note
        report.review_passed = passed
        if not passed:
            report.verdict, report.verified_on, report.verified_by = PatrolReport.Verdict.FALSE, timezone.localdate(), by
            report.verification_note = f"乡镇审核未通过：{note}"
            report.points = 0
        report.save()
        _complete(report, "township_review", "passed" if passed else "rejected", by=by, required=True)
        audit.record(f"patrol_report.review.{'passed' if passed else 'rejected'}", actor=by, obj=report, before=before,
                     after=audit.snapshot(report, _REPORT_FIELDS))
        if not passed:
            notify_reporter_of_verdict(report)
    return report


def verify_report(
    report: PatrolReport, *, by, verdict: str, note: str = "", duplicate_of: PatrolReport | None = None,
    registration_number: str | None = None,
) -> PatrolReport:
    """The lead department's verification (核实认定): 属实 earns the item's points and is registered;
    不属实 (with a reason) and 重复 (of an earlier report of the same village and item) earn nothing."""
    with transaction.atomic():
        report = _lock(report)
        if not may_verify(by, report):
            raise PermissionDenied(f"只有牵头部门（{report.item.lead_department.name}）负责该村（居）的人员可以核实此上报。")
        if report.verdict != PatrolReport.Verdict.PENDING:
            raise ReportError(f"该上报已核实（{report.get_verdict_display()}），不能重复核实。")
        if current_step(report) == "township_review":
            raise ReportError("该上报正在等待乡镇巡查办审核，审核通过后才能核实。")
        note = (note or "").strip()
        registration_number = (registration_number or "").strip()
        if verdict not in VERDICT_CHOICES:
            raise ReportError("请选择核实结果：属实、不属实或重复。")
        errors = []
        if verdict == PatrolReport.Verdict.FALSE and not note:
            errors.append("核实为不属实时须填写理由。")
        if verdict == PatrolReport.Verdict.DUPLICATE:
            errors.extend(_duplicate_problems(report, duplicate_of))
        elif duplicate_of is not None:
            errors.append("只有核实为重复时才能选择“重复于”。")
        if registration_number and verdict != PatrolReport.Verdict.TRUE:
            errors.append("只有属实的上报登记备案号。")
        if len(registration_number) > 32:
            errors.append("登记备案号不能超过 32 个字符。")
        if errors:
            raise ReportError(errors)
        if verdict == PatrolReport.Verdict.TRUE:
            # One verification at a time per registration book, so that two cannot take one number.
            department = Department.objects.select_for_update().get(pk=report.item.lead_department_id)
            if registration_number and PatrolReport.objects.filter(
                    item__lead_department=department, registration_number=registration_number).exists():
                raise ReportError(f"登记备案号“{registration_number}”已被使用。")
        before = audit.snapshot(report, _REPORT_FIELDS)
        report.verdict, report.verification_note = verdict, note
        report.verified_on, report.verified_by = timezone.localdate(), by
        report.duplicate_of = duplicate_of if verdict == PatrolReport.Verdict.DUPLICATE else None
        report.points = 0
        report.save()
        # The flow's register node (属实 only) registers the report and awards the points: register_report().
        _complete(report, "verify", verdict, by=by, required=True,
                  data={"registration_number": registration_number or None})
        report.refresh_from_db()
        audit.record(f"patrol_report.verify.{verdict}", actor=by, obj=report, before=before,
                     after=audit.snapshot(report, _REPORT_FIELDS))
        notify_reporter_of_verdict(report)
    return report


def _duplicate_problems(report: PatrolReport, original: PatrolReport | None) -> list[str]:
    if original is None:
        return ["核实为重复时须选择被重复的上报。"]
    earlier = (original.reported_on, original.pk) < (report.reported_on, report.pk)
    if original.pk == report.pk or original.village_id != report.village_id or original.item_id != report.item_id or not earlier:
        return ["被重复的上报须为同一村（居）、同一目录事项此前的上报。"]
    if original.verdict == PatrolReport.Verdict.FALSE or original.is_fraud:
        return ["被重复的上报已核实为不属实或认定弄虚作假，不能作为重复依据。"]
    return []


def duplicate_candidates(report: PatrolReport):
    """Earlier reports of the same village and item that a report may duplicate."""
    return (
        PatrolReport.objects.filter(village_id=report.village_id, item_id=report.item_id, is_fraud=False)
        .filter(Q(reported_on__lt=report.reported_on) | Q(reported_on=report.reported_on, pk__lt=report.pk))
        .exclude(verdict=PatrolReport.Verdict.FALSE).order_by("-reported_on", "-id")
    )


def open_follow_up(report: PatrolReport, *, by, kind: str, note: str) -> PatrolReport:
    """Where the violation is confirmed, the lead department opens an enforcement or rectification follow-up."""
    with transaction.atomic():
        report = _lock(report)
        if not may_verify(by, report):
            raise PermissionDenied(f"只有牵头部门（{report.item.lead_department.name}）负责该村（居）的人员可以安排后续处置。")
        errors = []
        if report.verdict != PatrolReport.Verdict.TRUE:
            errors.append("只有核实属实的上报才能安排后续处置。")
        elif report.follow_up:
            errors.append(f"该上报已安排后续处置（{report.get_follow_up_display()}）。")
        if kind not in FOLLOW_UP_KINDS:
            errors.append("请选择后续处置方式：执法处置或责令整改。")
        if not (note or "").strip():
            errors.append("请填写后续处置情况。")
        if errors:
            raise ReportError(errors)
        before = audit.snapshot(report, _REPORT_FIELDS)
        report.follow_up, report.follow_up_note = kind, note.strip()
        report.save(update_fields=["follow_up", "follow_up_note"])
        # A report verified outside the flow (imported) has no follow-up task: nothing to complete then.
        _complete(report, "follow_up", kind, by=by, required=False)
        audit.record(f"patrol_report.follow_up.{kind}", actor=by, obj=report, before=before,
                     after=audit.snapshot(report, _REPORT_FIELDS))
    return report


def close_without_follow_up(report: PatrolReport, *, by, note: str = "") -> PatrolReport:
    """The lead department ends the flow of a true report that needs no enforcement or rectification."""
    with transaction.atomic():
        report = _lock(report)
        if not may_verify(by, report):
            raise PermissionDenied(f"只有牵头部门（{report.item.lead_department.name}）负责该村（居）的人员可以办理此环节。")
        if current_step(report) != "follow_up":
            raise ReportError("该上报当前不在后续处置环节，可能已由他人办理，请刷新后查看。")
        before = audit.snapshot(report, _REPORT_FIELDS)
        if (note or "").strip():
            report.follow_up_note = note.strip()
            report.save(update_fields=["follow_up_note"])
        _complete(report, "follow_up", "none", by=by, required=True)
        audit.record("patrol_report.follow_up.none", actor=by, obj=report, before=before,
                     after=audit.snapshot(report, _REPORT_FIELDS))
    return report


def flag_report_fraud(report: PatrolReport, *, by, note: str) -> PatrolReport:
    """The discipline office finds a report false (弄虚作假); scoring then ignores its points."""
    with transaction.atomic():
        report = _lock(report)
        if not may_flag_fraud(by, report):
            raise PermissionDenied("只有负责该村（居）的纪检监察人员可以认定弄虚作假。")
        if report.is_fraud:
            raise ReportError("该上报已被认定为弄虚作假，不能重复认定。")
        if not (note or "").strip():
            raise ReportError("请填写认定情况（查实的弄虚作假事实）。")
        before = audit.snapshot(report, _REPORT_FIELDS)
        report.is_fraud, report.fraud_note = True, note.strip()
        report.fraud_flagged_by, report.fraud_flagged_at = by, timezone.now()
        report.save(update_fields=["is_fraud", "fraud_note", "fraud_flagged_by", "fraud_flagged_at"])
        audit.record("patrol_report.flag_fraud", actor=by, obj=report, before=before,
                     after={**audit.snapshot(report, _REPORT_FIELDS), "reversed_points": str(report.points)
                            if report.verdict == PatrolReport.Verdict.TRUE else "0"})
    return report
