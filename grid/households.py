"""The household register (户情台账), door-to-door visits (入户走访) and visit cadence compliance of the
roles the visit rules name (网格长, 网格员…): services taking the acting user. Design notes: docs/architecture/grid.md.

《基层治理网格化实施方案》篇6 三、(一)3: 网格长每周对生活困难家庭、空巢老人家庭、重点人员、特殊人群等登门走访，每月至少对
网格内居民走访一遍; 篇4 六、(五): 每季度走访一遍重点户和困难户，一年至少走访一遍全体住户. The rules are data
(VisitCadenceRule); compliance is derived at read time by `visit_compliance`, nothing is flagged.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance import audit, evidence
from governance.input_rules import happened_problem

from .access import region_grants, scope
from .models import Household, HouseholdVisit, Post, Region, VisitCadenceRule
from .patrols import month_end, quarter_of

HOUSEHOLD_FIELDS = ["region", "head_name", "address", "is_hardship", "is_key", "registered_on", "left_on", "note"]
MAX_NOTE = 2000


class HouseholdError(ValidationError):
    """A user mistake in the register or a visit; messages in Chinese, keyed by form field."""


def _under(paths: Iterable[str], lookup: str) -> Q:
    condition = Q(pk__in=[])
    for prefix in paths:
        condition |= Q(**{f"{lookup}__startswith": prefix})
    return condition


# ---------------------------------------------------------------- who sees what


def visible_households(user) -> QuerySet[Household]:
    return scope(user, Household.objects.all(), "grid.view_household")


def visible_visits(user) -> QuerySet[HouseholdVisit]:
    """The visits of the regions where the user holds grid.view_householdvisit (their own among them)."""
    return scope(user, HouseholdVisit.objects.all(), "grid.view_householdvisit")


def may_see_households(user) -> bool:
    return user.is_superuser or user.has_perm("grid.view_household")


def register_regions(user) -> QuerySet[Region]:
    """The regions where the user keeps the register: posts with grid.add_household."""
    return Region.objects.filter(path__in=region_grants(user).paths("grid.add_household")).order_by("path")


# ---------------------------------------------------------------- the register


def household_errors(*, head_name: str, address: str, registered_on, left_on, new_registration: bool = True
                     ) -> dict[str, list[str]]:
    """What is wrong with a household's fields (the register's pages and the admin's form alike).
    `new_registration`: the registration date is being set, so it may not be after today (a later date
    would forbid every visit) nor impossible; a stored one is not judged again."""
    errors: dict[str, list[str]] = defaultdict(list)
    if not head_name:
        errors["head_name"].append("请填写户主姓名。")
    if not address:
        errors["address"].append("请填写住址。")
    if registered_on is None:
        errors["registered_on"].append("请填写登记日期。")
    if left_on is not None and registered_on is not None and left_on <= registered_on:
        errors["left_on"].append("迁出日期应晚于登记日期。")
    if new_registration and registered_on is not None:
        if registered_on > timezone.localdate():
            errors["registered_on"].append("登记日期不能晚于今天。")
        elif problem := happened_problem(registered_on, what="登记日期"):
            errors["registered_on"].append(problem)
    return errors


def add_household(*, by, region: Region, head_name: str, address: str, is_hardship: bool = False,
                  is_key: bool = False, registered_on: datetime.date | None = None, note: str = "") -> Household:
    """Add a household to a grid's register (the grid leader's job)."""
    if not isinstance(region, Region) or not by.has_perm("grid.add_household", region):
        raise PermissionDenied("您在该网格没有网格长岗位，不能登记住户。")
    head_name, address, note = (head_name or "").strip(), (address or "").strip(), (note or "").strip()
    registered_on = registered_on or timezone.localdate()
    errors = household_errors(head_name=head_name, address=address, registered_on=registered_on, left_on=None)
    if errors:
        raise HouseholdError(dict(errors))
    try:
        with transaction.atomic():
            household = Household.objects.create(
                region=region, head_name=head_name, address=address, is_hardship=bool(is_hardship),
                is_key=bool(is_key), registered_on=registered_on, note=note)
            audit.record("household.add", actor=by, obj=household, after=audit.snapshot(household, HOUSEHOLD_FIELDS))
    except IntegrityError:
        raise HouseholdError({"address": [f"{region.name}已登记住址为“{address}”、户主为“{head_name}”的住户。"]}) from None
    return household


def update_household(household: Household, *, by, is_hardship: bool, is_key: bool,
                     left_on: datetime.date | None = None, note: str = "") -> Household:
    """Change a household's categories (困难户、重点户), note, or mark it moved away (迁出)."""
    if not by.has_perm("grid.change_household", household):
        raise PermissionDenied("您没有修改该网格住户台账的岗位。")
    errors = household_errors(head_name=household.head_name, address=household.address,
                              registered_on=household.registered_on, left_on=left_on, new_registration=False)
    if errors:
        raise HouseholdError(dict(errors))
    with transaction.atomic():
        locked = Household.objects.select_for_update().get(pk=household.pk)
        before = audit.snapshot(locked, HOUSEHOLD_FIELDS)
        locked.is_hardship, locked.is_key, locked.left_on = bool(is_hardship), bool(is_key), left_on
        locked.note = (note or "").strip()
        locked.save(update_fields=["is_hardship", "is_key", "left_on", "note"])
        after = audit.snapshot(locked, HOUSEHOLD_FIELDS)
        if after != before:
            audit.record("household.change", actor=by, obj=locked, before=before, after=after)
    return locked


# ---------------------------------------------------------------- visits


def record_visit(*, by, household: Household, date: datetime.date, note: str, photos=()) -> HouseholdVisit:
    """Record one visit of the acting user to a household of a region where they record visits."""
    if not isinstance(household, Household) or not by.has_perm("grid.add_householdvisit", household):
        raise PermissionDenied("该住户不在您负责的网格内，不能记录走访。")
    errors: dict[str, list[str]] = defaultdict(list)
    today = timezone.localdate()
    if date is None:
        errors["date"].append("请填写走访日期。")
    elif date > today:
        errors["date"].append("走访日期不能晚于今天。")
    elif problem := happened_problem(date, what="走访日期"):
        errors["date"].append(problem)
    elif date < household.registered_on:
        errors["date"].append(f"走访日期不能早于该户登记日期（{household.registered_on:%Y-%m-%d}）。")
    note = (note or "").strip()
    if not note:
        errors["note"].append("请填写走访情况（无异常也请注明）。")
    elif len(note) > MAX_NOTE:
        errors["note"].append(f"走访情况不能超过 {MAX_NOTE} 字。")
    if errors:
        raise HouseholdError(dict(errors))
    inspected = evidence.inspect_uploads(list(photos or ()))  # rejects a bad file before anything is written
    with transaction.atomic():
        visit = HouseholdVisit.objects.create(household=household, visitor=by, date=date, note=note)
        if inspected:
            evidence.store(visit, inspected, by=by)
        audit.record("household.visit", actor=by, obj=visit, after={
            **audit.snapshot(visit, ["household", "date", "note"]), "photos": len(inspected)})
    return visit


# ---------------------------------------------------------------- compliance


@dataclass(frozen=True)
class VisitPeriod:
    """One period of a rule: its days, and the last day a visit still counts for it."""

    start: datetime.date
    end: datetime.date
    deadline: datetime.date  # the window's end (or the period's) plus the grace days


def _period_of(kind: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    if kind == VisitCadenceRule.Period.WEEKLY:
        monday = day - datetime.timedelta(days=day.weekday())
        return monday, monday + datetime.timedelta(days=6)
    if kind == VisitCadenceRule.Period.MONTHLY:
        return day.replace(day=1), month_end(day)
    if kind == VisitCadenceRule.Period.QUARTERLY:
        return quarter_of(day)
    return datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31)


def visit_periods(rule: VisitCadenceRule, start: datetime.date, end: datetime.date) -> list[VisitPeriod]:
    """The rule's periods that overlap [start, end]; a week belongs to the range holding its Thursday
    (as in the patrol cadence), so a week across two months is counted once."""
    periods: list[VisitPeriod] = []
    day = start if rule.period != VisitCadenceRule.Period.WEEKLY else start - datetime.timedelta(days=6)
    while day <= end:
        first, last = _period_of(rule.period, day)
        thursday = first + datetime.timedelta(days=3)
        if rule.period != VisitCadenceRule.Period.WEEKLY or start <= thursday <= end:
            window_end = min(last, first + datetime.timedelta(days=rule.window_days - 1)) if rule.window_days else last
            periods.append(VisitPeriod(first, last, window_end + datetime.timedelta(days=rule.grace_days)))
        day = last + datetime.timedelta(days=1)
    return periods


@dataclass
class PeriodResult:
    period: VisitPeriod
    due: int  # visits owed: target households × times
    done: int
    missing: list[Household]  # target households not (fully) visited
    state: str  # "done", "pending" (the deadline is today or later) or "overdue"

    @property
    def state_label(self) -> str:
        return {"done": "已完成", "pending": "进行中", "overdue": "逾期未完成"}[self.state]


@dataclass
class VisitTally:
    rule: VisitCadenceRule
    periods: list[PeriodResult] = field(default_factory=list)

    @property
    def due(self) -> int:
        return sum(result.due for result in self.periods)

    @property
    def done(self) -> int:
        return sum(result.done for result in self.periods)

    @property
    def pending(self) -> int:
        return sum(result.due - result.done for result in self.periods if result.state == "pending")

    @property
    def overdue(self) -> list[PeriodResult]:
        return [result for result in self.periods if result.state == "overdue"]


@dataclass
class VisitRow:
    user_id: int
    name: str
    role_name: str
    regions: list[str]
    window: tuple[datetime.date, datetime.date]  # the days of [start, end] the post was held, up to today
    tallies: list[VisitTally] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return any(tally.overdue for tally in self.tallies)


@dataclass
class VisitReport:
    start: datetime.date
    end: datetime.date
    rules: list[VisitCadenceRule]
    rows: list[VisitRow]

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.rows if row.overdue)


def _holder_scope(scope_arg) -> Q:
    """Whose visits are assessed: post holders under the given regions, or those a user oversees
    (where they keep the register or read visits without recording them) and the user's own posts."""
    if isinstance(scope_arg, Region):
        return Q(region__path__startswith=scope_arg.path)
    if hasattr(scope_arg, "is_authenticated"):
        user = scope_arg
        if not user.is_authenticated or not user.is_active:
            return Q(pk__in=[])
        if user.is_superuser:
            return Q()
        grants = region_grants(user)
        recording = grants.paths("grid.add_householdvisit")
        overseen = [path for path in grants.paths("grid.view_householdvisit")
                    if not any(path.startswith(prefix) for prefix in recording)]
        return _under(overseen + grants.paths("grid.change_household"), "region__path") | Q(user=user)
    return _under([region.path for region in scope_arg], "region__path")


def _targets(rule: VisitCadenceRule, household: Household) -> bool:
    if rule.target == VisitCadenceRule.Target.HARDSHIP:
        return household.is_hardship
    if rule.target == VisitCadenceRule.Target.KEY:
        return household.is_key
    return True


def visit_compliance(*, scope, start: datetime.date, end: datetime.date, today: datetime.date | None = None
                     ) -> VisitReport:
    """Per holder × active visit rule: each period overlapping [start, end] that has begun, with the
    target households of the holder's regions owed, those visited by the holder within the period's
    counted days (up to its deadline), and its state. Four queries however many holders and households.

    A household is owed in a period when it was registered by the window's end and had not moved away
    by the period's start; a holder owes a period when they held the post on one of its days.
    """
    today = today or timezone.localdate()
    rules = list(VisitCadenceRule.objects.filter(is_active=True).select_related("role").order_by("id"))
    periods = {rule.pk: [p for p in visit_periods(rule, start, end) if p.start <= today] for rule in rules}
    rows: dict[tuple[int, int], VisitRow] = {}
    held: dict[tuple[int, int], list[tuple[datetime.date, datetime.date]]] = defaultdict(list)
    paths: dict[tuple[int, int], list[str]] = defaultdict(list)
    last_day = min(end, today)
    if rules and start <= today:
        posts = (Post.objects.filter(_holder_scope(scope), role_id__in={rule.role_id for rule in rules},
                                     start_date__lte=last_day)
                 .filter(Q(end_date__isnull=True) | Q(end_date__gt=start))
                 .values("user_id", "role_id", "role__name", "user__username", "user__first_name",
                         "user__last_name", "region__path", "region__full_path", "start_date", "end_date")
                 .order_by("region__path", "user__username", "start_date"))
        for post in posts:
            key = (post["user_id"], post["role_id"])
            lo = max(start, post["start_date"])
            hi = min(last_day, post["end_date"] - datetime.timedelta(days=1)) if post["end_date"] else last_day
            if hi < lo:
                continue
            row = rows.get(key)
            if row is None:
                name = (post["user__last_name"] + post["user__first_name"]).strip() or post["user__username"]
                row = rows[key] = VisitRow(post["user_id"], name, post["role__name"], [], (lo, hi))
            if post["region__full_path"] not in row.regions:
                row.regions.append(post["region__full_path"])
                paths[key].append(post["region__path"])
            row.window = (min(row.window[0], lo), max(row.window[1], hi))
            held[key].append((post["start_date"], post["end_date"]))
    households: list[Household] = []
    visits: dict[tuple[int, int], list[datetime.date]] = defaultdict(list)
    if rows:
        all_paths = sorted({path for plist in paths.values() for path in plist})
        in_regions = Household.objects.filter(_under(all_paths, "region__path"))
        households = list(in_regions.select_related("region").order_by("region__path", "address", "head_name"))
        span_start = min(p.start for plist in periods.values() for p in plist) if any(periods.values()) else start
        span_end = max((p.deadline for plist in periods.values() for p in plist), default=end)
        for visitor_id, household_id, date in (
                HouseholdVisit.objects.filter(visitor_id__in={user_id for user_id, _ in rows},
                                              household__in=in_regions.values("pk"),
                                              date__gte=span_start, date__lte=min(span_end, today))
                .values_list("visitor_id", "household_id", "date")):
            visits[(visitor_id, household_id)].append(date)

    for key, row in rows.items():
        user_id, role_id = key
        mine = [h for h in households if any(h.region.path.startswith(path) for path in paths[key])]
        for rule in rules:
            if rule.role_id != role_id:
                continue
            tally = VisitTally(rule)
            for period in periods[rule.pk]:
                if not any(s <= min(period.end, today) and (e is None or e > period.start) for s, e in held[key]):
                    continue
                window_end = period.deadline - datetime.timedelta(days=rule.grace_days)
                owed = [h for h in mine if _targets(rule, h) and h.registered_on <= window_end
                        and (h.left_on is None or h.left_on > period.start)]
                done, missing = 0, []
                for household in owed:
                    count = sum(1 for day in visits.get((user_id, household.pk), ())
                                if period.start <= day <= period.deadline)
                    done += min(rule.times, count)
                    if count < rule.times:
                        missing.append(household)
                due = rule.times * len(owed)
                state = "done" if done >= due else ("pending" if period.deadline >= today else "overdue")
                tally.periods.append(PeriodResult(period, due, done, missing, state))
            row.tallies.append(tally)
    ordered = sorted(rows.values(), key=lambda row: (row.regions[:1], row.role_name, row.name))
    return VisitReport(start=start, end=end, rules=rules, rows=ordered)
