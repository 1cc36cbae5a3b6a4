"""Who verifies a village's patrol report (the item's lead department, posted over the village), who
reviews it first where the flow policy asks for it (the township office over the village), and the
registration that the flow's register step performs (登记备案台账 number, the item's points)."""

from __future__ import annotations

import re

from django.db.models import Q
from django.utils import timezone

from grid.access import region_grants
from grid.models import Department, Post, Region, paths_from_root

from ..models import PatrolReport


def active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def lead_department_posts(department_id: int, village: Region):
    """Active posts of `department` holding inspection.verify_patrolreport over `village` (its region or above)."""
    ancestor_paths = paths_from_root(village.path)
    return Post.objects.active().granting("inspection.verify_patrolreport").filter(
        department_id=department_id, region__path__in=ancestor_paths, user__is_active=True)


def may_verify(user, report: PatrolReport) -> bool:
    """Whether `user` may verify, register and follow up `report`: a post in the item's lead department
    whose role verifies reports and whose region covers the village (never a global grant)."""
    if not active(user):
        return False
    return lead_department_posts(report.item.lead_department_id, report.village).filter(user=user).exists()


REVIEW = "inspection.review_patrolreport"


def township_office_posts(village: Region):
    """Active posts holding inspection.review_patrolreport over `village` (its region or above)."""
    ancestor_paths = paths_from_root(village.path)
    return Post.objects.active().granting(REVIEW).filter(region__path__in=ancestor_paths, user__is_active=True)


def may_review(user, report: PatrolReport) -> bool:
    """Whether `user` may take the township review of `report`: the review permission over its village."""
    return active(user) and user.has_perm(REVIEW, report.village)


def awaiting_review() -> Q:
    """Pending reports whose policy version has the township review them and which it has not yet passed."""
    return Q(verdict=PatrolReport.Verdict.PENDING, flow_policy__patrol_township_review=True, reviewed_at__isnull=True)


def review_queue(user, reports=None):
    """Reports waiting for the township review in the villages where `user` holds the review permission."""
    condition = Q(pk__in=[])
    for path in region_grants(user).paths(REVIEW):  # the cached grants of the user's posts
        condition |= Q(village__path__startswith=path)
    return (PatrolReport.objects.all() if reports is None else reports).filter(condition).filter(awaiting_review())


def verify_queue(user, reports=None):
    """Reports awaiting verification of the items the user's department leads, in the villages its posts
    cover (`reports`: the queryset to filter, e.g. with the page's related rows)."""
    posts = Post.objects.active().granting("inspection.verify_patrolreport").filter(
        user=user, department__isnull=False).values_list("department_id", "region__path")
    condition = Q(pk__in=[])
    for department_id, path in set(posts):
        condition |= Q(item__lead_department_id=department_id, village__path__startswith=path)
    return ((PatrolReport.objects.all() if reports is None else reports)
            .filter(condition, verdict=PatrolReport.Verdict.PENDING).exclude(awaiting_review()))


def lock_report(report: PatrolReport) -> PatrolReport:
    return (
        PatrolReport.objects.select_for_update(of=("self",))
        .select_related("village__tier", "township", "item__lead_department", "reporter")
        .get(pk=report.pk)
    )


def _next_registration_number(department: Department, year: int) -> str:
    """The next number of a department's registration book (登记备案台账, 附件4): 农业农村办-2026-0001."""
    prefix = f"{department.name[:12]}-{year}-"
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = PatrolReport.objects.filter(
        item__lead_department=department, registration_number__startswith=prefix,
    ).values_list("registration_number", flat=True)
    highest = max((int(match.group(1)) for number in numbers if (match := pattern.match(number))), default=0)
    return f"{prefix}{highest + 1:04d}"


def register_report(report: PatrolReport, *, registration_number: str | None = None) -> PatrolReport:
    """The flow's register node: a report verified 属实 enters the department's registration book
    (登记备案台账, 附件4) and earns the item's points as they are now (later catalog changes do not
    change it). Only PatrolReportFlow calls this, inside verify_report's transaction."""
    report = lock_report(report)
    if report.verdict != PatrolReport.Verdict.TRUE or report.registered_at is not None:
        return report
    department = Department.objects.select_for_update().get(pk=report.item.lead_department_id)
    report.registration_number = registration_number or _next_registration_number(department, report.verified_on.year)
    report.registered_at = timezone.now()
    report.points = report.item.points
    report.save(update_fields=["registration_number", "registered_at", "points"])
    return report
