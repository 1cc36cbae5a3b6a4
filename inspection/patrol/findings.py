"""Findings of others (督查组, 部门, 区/市/省, 12345, 信访, 中央), supervision checks and month confirmations:
services taking the acting user.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from governance import audit
from governance.input_rules import happened_problem
from governance.models import Notification
from governance.notifications import notify
from grid.access import region_grants, scope
from grid.models import Department, Post, Region, paths_from_root

from ..models import (
    CatalogItem,
    Circular,
    DepartmentConfirmation,
    PatrolFinding,
    PatrolReport,
    SupervisionCheck,
    SupervisionGroup,
)
from .scoring import month_start

Source = PatrolFinding.Source
GROUP_SOURCES = frozenset({Source.TOWNSHIP_GROUP})
DEPARTMENT_SOURCES = frozenset({Source.TOWNSHIP_DEPARTMENT})
OFFICE_SOURCES = frozenset(set(Source.values) - GROUP_SOURCES - DEPARTMENT_SOURCES)
NUMBER_PREFIX = "FX"

FINDING_FIELDS = ["township", "village", "number", "item", "source", "group", "discovered_on", "location",
                  "description", "is_true", "matched_report", "points", "registered_at", "registered_by",
                  "is_fraud", "fraud_note"]


class FindingError(ValidationError):
    """A user mistake in a finding, check or confirmation; messages in Chinese, keyed by form field."""


def _fail(errors: dict[str, list[str]]) -> None:
    errors = {name: messages for name, messages in errors.items() if messages}
    if errors:
        raise FindingError(errors)


# ---------------------------------------------------------------- who acts in which capacity


@dataclass
class Capacities:
    """In which capacities a user acts on the big patrol of one village (from their active posts).

    group: the user holds a supervision-group post (inspection.add_supervisioncheck) covering the village;
    departments: the departments whose registering post (inspection.register_patrolfinding) covers it;
    office: a registering post without a department (the township office) covers it.
    """

    group: bool = False
    departments: set[int] = field(default_factory=set)
    office: bool = False

    def may_record(self, source: str) -> bool:
        if source in GROUP_SOURCES:
            return self.group
        if source in DEPARTMENT_SOURCES:
            return bool(self.departments)
        return self.office and source in OFFICE_SOURCES

    def sources(self) -> list[str]:
        return [value for value in Source.values if self.may_record(value)]


def capacities(user, region: Region) -> Capacities:
    """The user's capacities on `region` (a village or the township): one query."""
    result = Capacities()
    if user is None or not user.is_authenticated or not user.is_active:
        return result
    if user.is_superuser:
        result.office = True
        return result
    rows = (
        Post.objects.active()
        .granting("inspection.add_supervisioncheck", "inspection.register_patrolfinding")
        .filter(user=user)
        .values_list("region__path", "department_id", "role__permissions__codename")
    )
    for path, department_id, codename in rows:
        if not region.path.startswith(path):
            continue
        if codename == "add_supervisioncheck":
            result.group = True
        elif department_id:
            result.departments.add(department_id)
        else:
            result.office = True
    return result


def township_of(region: Region) -> Region:
    """The township above a village (or the township itself)."""
    if region.tier.key == "township":
        return region
    node = region
    while node is not None and node.tier.key != "township":
        node = Region.objects.get_parent(node)
    if node is None:
        raise FindingError({"village": ["该区域不属于任何乡镇。"]})
    return node


def groups_for(user, township: Region | None = None) -> QuerySet[SupervisionGroup]:
    """The supervision groups `user` is a member of and acts for (a supervision-group post covering the township)."""
    groups = scope(user, SupervisionGroup.objects.all(), "inspection.add_supervisioncheck")
    if not user.is_superuser:
        groups = groups.filter(members=user)
    if township is not None:
        groups = groups.filter(township=township)
    return groups.select_related("township").order_by("township__path", "number")


def _group_for(user, township: Region, village: Region, group: SupervisionGroup | None) -> SupervisionGroup:
    candidates = list(groups_for(user, township).filter(villages=village))
    if group is None:
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise FindingError({"village": [f"{village.name}不在您所在督查组的负责范围内。"]})
        raise FindingError({"group": ["该村（居）由多个督查组负责，请选择督查组。"]})
    if group.township_id != township.pk or not user.has_perm("inspection.add_supervisioncheck", group):
        raise PermissionDenied("您不是该督查组的成员。")
    if group not in candidates:
        raise FindingError({"village": [f"{village.name}不在{group.name}的负责范围内。"]})
    return group


# ---------------------------------------------------------------- months already published


def lock_township(township: Region | int) -> None:
    """Lock the township's row until the transaction ends: publishing a circular and registering a
    finding both take it, so a registration is either in the published figures or refused after them."""
    list(Region.objects.select_for_update().filter(pk=getattr(township, "pk", township)).values_list("pk", flat=True))


def published_circular_of_month(township: Region, day: datetime.date) -> Circular | None:
    """The published circular that already holds the township's figures of the month of `day`: the
    month's circular (月度通报), else the grade sheet of its quarter (季度考评); None while neither is.

    The township big patrol plan 六、(五): the office circulates each month's scores by the 10th of the
    next and grades the quarter on them. What is published stands, so a finding of a published month is
    neither recorded nor registered any more: its deduction would be in no published figure."""
    month = month_start(day)
    quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    return (
        Circular.objects.filter(township=township)
        .filter(Q(period=Circular.Period.MONTH, period_start=month) | Q(period=Circular.Period.QUARTER,
                                                                         period_start=quarter))
        .order_by("period").first()  # "month" before "quarter"
    )


def published_month_refusal(circular: Circular, day: datetime.date, doing: str, what: str = "发现问题") -> str:
    """Why a record of a published month cannot be recorded, registered or imported ("补录", "核实登记",
    "导入"): a finding by the day it was discovered, a village report by the day it was verified true."""
    if circular.period == Circular.Period.MONTH:
        period = f"{day.year}年{day.month}月"
    else:
        period = f"{day.year}年第{(day.month - 1) // 3 + 1}季度"
    return f"{period}考评已通报，不能再{doing}该月的{what}。"


# ---------------------------------------------------------------- recording a finding


def _next_number(township: Region, today: datetime.date) -> str:
    """The township's next finding number of the year (FX2026-00001); call with the township row locked."""
    prefix = f"{NUMBER_PREFIX}{today.year}-"
    last = (
        PatrolFinding.objects.filter(township=township, number__startswith=prefix, number__regex=r"-\d{5}$")
        .order_by("-number").values_list("number", flat=True).first()
    )
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:05d}"


def _check_village(village) -> None:
    if not isinstance(village, Region) or village.tier.key != "village":
        raise FindingError({"village": ["请选择村（居）。"]})


def record_finding(
    *,
    by,
    village: Region,
    item: CatalogItem,
    source: str,
    discovered_on: datetime.date,
    location: str,
    description: str,
    group: SupervisionGroup | None = None,
    matched_report: PatrolReport | None = None,
    number: str | None = None,
) -> PatrolFinding:
    """Record a finding, not yet registered: the village does not see it until the lead department
    or the office verifies and registers it."""
    _check_village(village)
    if not by.has_perm("inspection.add_patrolfinding", village):
        raise PermissionDenied("您在该村（居）没有录入巡查发现问题的岗位。")
    if source not in Source.values:
        raise FindingError({"source": ["请选择问题来源。"]})
    capacity = capacities(by, village)
    if not capacity.may_record(source):
        label = Source(source).label
        if source in GROUP_SOURCES:
            raise PermissionDenied(f"只有镇督查组成员可以录入“{label}”发现的问题。")
        if source in DEPARTMENT_SOURCES:
            raise PermissionDenied(f"只有镇职能部门可以录入“{label}”发现的问题。")
        raise PermissionDenied(f"“{label}”发现的问题由镇综合办录入。")
    township = township_of(village)
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    if not isinstance(item, CatalogItem) or item.township_id != township.pk or not item.is_active:
        errors["item"] = ["请选择本乡镇巡查目录中启用的事项。"]
    if discovered_on is None:
        errors["discovered_on"] = ["请填写发现日期。"]
    elif discovered_on > today:
        errors["discovered_on"] = ["发现日期不能晚于今天。"]
    elif problem := happened_problem(discovered_on, what="发现日期"):
        errors["discovered_on"] = [problem]
    elif circular := published_circular_of_month(township, discovered_on):
        errors["discovered_on"] = [published_month_refusal(circular, discovered_on, "补录")]
    location = (location or "").strip()
    description = (description or "").strip()
    if len(location) > 200:
        errors["location"] = ["地点不能超过 200 个字。"]
    if not description:
        errors["description"] = ["请填写问题描述。"]
    if matched_report is not None and matched_report.township_id != township.pk:
        errors["matched_report"] = ["对应上报须是本乡镇的村级上报。"]
    number = (number or "").strip()
    if len(number) > 32:
        errors["number"] = ["编号不能超过 32 个字符。"]
    if source in GROUP_SOURCES:
        try:
            group = _group_for(by, township, village, group)
        except FindingError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    elif group is not None:
        errors["group"] = ["只有镇督查组发现的问题才填写督查组。"]
    _fail(errors)

    try:
        with transaction.atomic():
            # Serialise numbering within the township (two recorders at once get two numbers).
            Region.objects.select_for_update().filter(pk=township.pk).values_list("pk", flat=True).first()
            if not number:
                number = _next_number(township, today)
            elif PatrolFinding.objects.filter(township=township, number=number).exists():
                raise FindingError({"number": [f"编号 {number} 已存在。"]})
            finding = PatrolFinding.objects.create(
                township=township, village=village, number=number, item=item, source=source,
                group=group if source in GROUP_SOURCES else None, discovered_on=discovered_on, location=location,
                description=description, matched_report=matched_report, points=item.points, recorded_by=by,
            )
            audit.record("patrol_finding.record", actor=by, obj=finding, after=audit.snapshot(finding, FINDING_FIELDS))
            transaction.on_commit(lambda: _notify_registrars(finding))
    except IntegrityError as exc:
        raise FindingError({"number": [f"编号 {number} 已存在。"]}) from exc
    return finding


def _registrar_ids(finding: PatrolFinding) -> list[int]:
    """Members of the item's lead department who register findings in the finding's township (one query)."""
    rows = Post.objects.active().granting("inspection.register_patrolfinding").filter(
        department_id=finding.item.lead_department_id, user__is_active=True,
    ).values_list("user_id", "region__path")
    return sorted({user_id for user_id, path in rows if finding.village.path.startswith(path)})


def _notify_registrars(finding: PatrolFinding) -> None:
    recipients = get_user_model().objects.filter(pk__in=_registrar_ids(finding))
    url = reverse("patrol:finding_detail", args=[finding.pk])
    for user in recipients:
        notify(user, kind=Notification.Kind.TASK, title=f"待核实登记：{finding.number} {finding.village.name}",
               body=f"{finding.get_source_display()}于 {finding.discovered_on} 发现 {finding.item}，请核实并登记备案。",
               url=url, dedupe_key=f"patrol-finding-register:{finding.pk}:{user.pk}")


# ---------------------------------------------------------------- verify and register, fraud


def may_register(user, finding: PatrolFinding) -> bool:
    """The item's lead department (a registering post of it covering the village) or the township office."""
    capacity = capacities(user, finding.village)
    return capacity.office or finding.item.lead_department_id in capacity.departments


@dataclass
class Candidate:
    report: PatrolReport
    same_item: bool  # else an item of the same catalog category (a similar item)

    @property
    def label(self) -> str:
        report = self.report
        kind = "同一事项" if self.same_item else "同类事项"
        return (f"{report.number}，{report.reported_on:%Y-%m-%d} 上报，{report.item.code} {report.item.name}"
                f"（{kind}，{report.get_verdict_display()}）")


def matching_report_candidates(finding: PatrolFinding, *, limit: int = 20) -> list[Candidate]:
    """The village's earlier reports that may be the "此前已上报" of a finding (五、(二)2–4): of the same
    item, then of items of the same category, reported strictly before the day of discovery (a report
    of the same day does not count), not judged untrue and not fraud; newest first. One query."""
    reports = (
        PatrolReport.objects.filter(village_id=finding.village_id, reported_on__lt=finding.discovered_on,
                                    item__category_id=finding.item.category_id, is_fraud=False)
        .exclude(verdict=PatrolReport.Verdict.FALSE)
        .select_related("item").order_by("-reported_on", "-id")[:limit]
    )
    candidates = [Candidate(report, report.item_id == finding.item_id) for report in reports]
    return sorted(candidates, key=lambda candidate: not candidate.same_item)  # stable: newest first within each


def verify_and_register_finding(
    finding: PatrolFinding, *, by, is_true: bool, matched_report: PatrolReport | None = None, note: str = "",
    no_earlier_report: bool = False,
) -> PatrolFinding:
    """Record whether the finding is true and register it (登记备案); from now on the village sees it.

    `matched_report` is the earlier report the registrar confirms; `no_earlier_report` confirms there
    was none (clearing a match typed when the finding was recorded). Whether a matched report excuses
    the village is for inspection.patrol.scoring to decide.
    """
    if not may_register(by, finding):
        raise PermissionDenied("只有该事项的牵头部门或镇综合办可以核实登记该问题。")
    errors: dict[str, list[str]] = {}
    if is_true not in (True, False):
        errors["is_true"] = ["请选择核实结果（属实或不属实）。"]
    if matched_report is not None and matched_report.township_id != finding.township_id:
        errors["matched_report"] = ["对应上报须是本乡镇的村级上报。"]
    _fail(errors)
    with transaction.atomic():
        lock_township(finding.township_id)
        locked = PatrolFinding.objects.select_for_update().get(pk=finding.pk)
        if locked.registered_at is not None:
            raise FindingError({"is_true": ["该问题已登记备案，不能重复登记。"]})
        # Published in the meantime: the published figures stay as they were published.
        if circular := published_circular_of_month(finding.township, locked.discovered_on):
            raise FindingError({"discovered_on": [published_month_refusal(circular, locked.discovered_on, "核实登记")]})
        before = audit.snapshot(locked, FINDING_FIELDS)
        locked.is_true = is_true
        if matched_report is not None:
            locked.matched_report = matched_report
        elif no_earlier_report:
            locked.matched_report = None
        locked.verification_note = (note or "").strip()
        locked.registered_at = timezone.now()
        locked.registered_by = by
        locked.save(update_fields=["is_true", "matched_report", "verification_note", "registered_at", "registered_by"])
        after = audit.snapshot(locked, FINDING_FIELDS + ["verification_note"])
        audit.record("patrol_finding.register", actor=by, obj=locked, before=before, after=after)
    return locked


def flag_finding_fraud(finding: PatrolFinding, *, by, note: str) -> PatrolFinding:
    """The discipline role finds the finding false (弄虚作假): its deduction is reversed in the scores."""
    # PatrolFinding declares no permission region: ask on its village.
    if not by.has_perm("inspection.flag_patrol_fraud", finding.village):
        raise PermissionDenied("只有纪检监察可以认定弄虚作假。")
    note = (note or "").strip()
    if not note:
        raise FindingError({"note": ["请填写认定情况。"]})
    with transaction.atomic():
        locked = PatrolFinding.objects.select_for_update().get(pk=finding.pk)
        if locked.is_fraud:
            raise FindingError({"note": ["该问题已认定为弄虚作假。"]})
        before = audit.snapshot(locked, FINDING_FIELDS)
        locked.is_fraud = True
        locked.fraud_note = note
        locked.fraud_flagged_by = by
        locked.fraud_flagged_at = timezone.now()
        locked.save(update_fields=["is_fraud", "fraud_note", "fraud_flagged_by", "fraud_flagged_at"])
        audit.record("patrol_finding.flag_fraud", actor=by, obj=locked, before=before,
                     after=audit.snapshot(locked, FINDING_FIELDS))
    return locked


# ---------------------------------------------------------------- who sees which finding

# Holders of these see a township's findings before they are registered; everyone else who may view
# findings (the village side) sees them only once registered: 不得与村“通气”.
FULL_VIEW_PERMS = ("inspection.register_patrolfinding", "inspection.add_patrolfinding", "inspection.flag_patrol_fraud")


def visible_findings(user) -> QuerySet[PatrolFinding]:
    findings = scope(user, PatrolFinding.objects.all(), "inspection.view_patrolfinding")
    if user.is_superuser:
        return findings
    grants = region_grants(user)
    condition = Q(registered_at__isnull=False)
    for perm in FULL_VIEW_PERMS:
        for prefix in grants.paths(perm):
            # Only a grant on the township (or above) counts: the township's path starts with it.
            condition |= Q(township__path__startswith=prefix)
    return findings.filter(condition)


# ---------------------------------------------------------------- supervision checks


def record_check(
    *,
    by,
    group: SupervisionGroup,
    village: Region,
    date: datetime.date,
    checked_by: Iterable,
    ledger_ok: bool,
    notes: str,
) -> SupervisionCheck:
    """A group's check of one of its villages (at least monthly, 附件1)."""
    if not by.has_perm("inspection.add_supervisioncheck", group):
        raise PermissionDenied("只有督查组成员可以记录督查。")
    errors: dict[str, list[str]] = {}
    _check_village(village)
    if not group.villages.filter(pk=village.pk).exists():
        errors["village"] = [f"{village.name}不在{group.name}的负责范围内。"]
    if date is None:
        errors["date"] = ["请填写督查日期。"]
    elif date > timezone.localdate():
        errors["date"] = ["督查日期不能晚于今天。"]
    people = list(checked_by or [])
    if not people:
        errors["checked_by"] = ["请选择督查人员。"]
    else:
        members = set(members_of(group).values_list("pk", flat=True))
        outsiders = [person for person in people if person.pk not in members]
        if outsiders:
            names = "、".join(p.get_full_name() or p.get_username() for p in outsiders)
            errors["checked_by"] = [f"{names} 不是督查组成员。"]
    notes = (notes or "").strip()
    _fail(errors)
    with transaction.atomic():
        check = SupervisionCheck.objects.create(group=group, village=village, date=date, ledger_ok=bool(ledger_ok),
                                                notes=notes, recorded_by=by)
        check.checked_by.set(people)
        audit.record("supervision_check.record", actor=by, obj=check, after=audit.snapshot(
            check, ["group", "village", "date", "checked_by", "ledger_ok", "notes"]))
    return check


def members_of(group: SupervisionGroup):
    """The group's members who may act for it now (active, with a supervision-group post covering its township)."""
    path = group.township.path
    prefixes = paths_from_root(path)
    posted = Post.objects.active().granting("inspection.add_supervisioncheck").filter(
        region__path__in=prefixes).values("user_id")
    return group.members.filter(pk__in=posted, is_active=True).order_by("username")


# ---------------------------------------------------------------- month confirmation


def confirmable_departments(user) -> QuerySet[Department]:
    """Departments in which `user` holds a post that confirms the month (inspection.confirm_month)."""
    ids = Post.objects.active().granting("inspection.confirm_month").filter(
        user=user, department__isnull=False).values("department_id")
    return Department.objects.filter(pk__in=ids).select_related("region").order_by("name")


def confirm_month(*, by, department: Department, month: datetime.date, note: str = "") -> DepartmentConfirmation:
    """The department confirms its points of a finished month (by the 5th of the next month); once."""
    if not by.has_perm("inspection.confirm_month", department.region) or not (
        by.is_superuser or confirmable_departments(by).filter(pk=department.pk).exists()
    ):
        raise PermissionDenied("只有本部门人员可以确认本部门的月度考评。")
    if month is None:
        raise FindingError({"month": ["请选择月份。"]})
    month = month_start(month)
    if month >= month_start(timezone.localdate()):
        raise FindingError({"month": ["只能确认已结束月份的考评。"]})
    try:
        with transaction.atomic():
            confirmation = DepartmentConfirmation.objects.create(
                township=township_of(department.region), department=department, month=month,
                confirmed_at=timezone.now(), confirmed_by=by, note=(note or "").strip(),
            )
            audit.record("department_confirmation.confirm", actor=by, obj=confirmation, after=audit.snapshot(
                confirmation, ["township", "department", "month", "confirmed_at", "note"]))
    except IntegrityError as exc:
        raise FindingError({"month": [f"{department.name} {month:%Y年%m月}的考评已确认，不能重复确认。"]}) from exc
    return confirmation
