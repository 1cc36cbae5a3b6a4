"""Patrol logs, work diaries and cadence compliance of grid members: services taking the acting user.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from governance import audit
from governance.input_rules import happened_problem

from . import access_cache
from .access import region_grants, scope
from .models import CadenceRule, DiaryReviewRule, Event, PatrolLog, Post, Region, WorkDiary

PATROL_KINDS = dict(PatrolLog._meta.get_field("kind").choices)
# A sweep (月排查) counts for the 1st or the 15th when it is done that day or within this many days after
# (weekends, rain, a township meeting on the 1st): 1st–4th and 15th–18th.
SWEEP_DAYS = (1, 15)
SWEEP_GRACE_DAYS = 3  # the default of CadenceRule.grace_days (the plans: 每月1日和15日 … 集中排查)
# A diary may be written for today or filled in for a day this recent; older days are closed, so that a
# month's diaries cannot be written up afterwards for the assessment (工作日志…作为绩效考核的依据).
DIARY_BACKFILL_DAYS = 7
# Whose cadence is assessed: the grid members (网格员) of the plans, by the stable role key.
MEMBER_ROLE_KEYS = ("grid_member",)
# A patrol may end a few minutes "in the future" (clocks of phones and server differ).
CLOCK_TOLERANCE = datetime.timedelta(minutes=5)
MAX_HOUSEHOLDS = 5000


class PatrolError(ValidationError):
    """A user mistake in a patrol log or diary; messages are in Chinese, keyed by form field."""


# ---------------------------------------------------------------- who sees what


def _uncovered(paths: list[str], covering: list[str]) -> list[str]:
    return [path for path in paths if not any(path.startswith(prefix) for prefix in covering)]


def supervised_paths(user, view_perm: str, record_perm: str) -> list[str]:
    """Region paths where `user` sees other people's records, not only their own.

    A grid member holds view and record permissions on the same grid and sees only their own
    records; whoever reviews diaries there (grid leader, instructor) or views without recording
    (village, township, county) oversees everybody's.
    """
    grants = region_grants(user)
    view = grants.paths(view_perm)
    reviewed = [path for path in grants.paths("grid.review_workdiary") if any(path.startswith(p) for p in view)]
    return sorted(set(reviewed) | set(_uncovered(view, grants.paths(record_perm))))


def _under(paths: Iterable[str], lookup: str) -> Q:
    condition = Q(pk__in=[])
    for prefix in paths:
        condition |= Q(**{f"{lookup}__startswith": prefix})
    return condition


def visible_patrols(user) -> QuerySet[PatrolLog]:
    """My own patrols, and every patrol of the regions I oversee (grid.view_patrollog)."""
    if not user.is_authenticated or not user.is_active:
        return PatrolLog.objects.none()
    if user.is_superuser:
        return PatrolLog.objects.all()
    paths = supervised_paths(user, "grid.view_patrollog", "grid.add_patrollog")
    overseen = scope(user, PatrolLog.objects.filter(_under(paths, "region__path")), "grid.view_patrollog")
    return PatrolLog.objects.filter(Q(member=user) | Q(pk__in=overseen.values("pk")))


def may_see_patrols(user) -> bool:
    return user.has_perm("grid.add_patrollog") or user.has_perm("grid.view_patrollog")


def patrol_regions(user) -> QuerySet[Region]:
    """The regions where the user records patrols: where they hold a post with grid.add_patrollog."""
    paths = region_grants(user).paths("grid.add_patrollog")
    return Region.objects.filter(path__in=paths).select_related("tier").order_by("path")


def recent_events_for_patrol(user, *, days: int = 30, limit: int = 30) -> QuerySet[Event]:
    """The events I reported lately in the regions where I patrol (to link to a patrol log)."""
    since = timezone.now() - datetime.timedelta(days=days)
    paths = region_grants(user).paths("grid.add_patrollog")
    events = scope(user, Event.objects.filter(reporter=user, created_at__gte=since), "grid.view_event")
    return events.filter(_under(paths, "region__path")).select_related("region").order_by("-id")[:limit]


def visible_diaries(user) -> QuerySet[WorkDiary]:
    """My diaries, those I may review and those of the regions I oversee (grid.view_workdiary)."""
    if not user.is_authenticated or not user.is_active:
        return WorkDiary.objects.none()
    if user.is_superuser:
        return WorkDiary.objects.all()
    reviewable = scope(user, WorkDiary.objects.all(), "grid.review_workdiary")
    overseen_paths = _uncovered(region_grants(user).paths("grid.view_workdiary"), region_grants(user).paths("grid.add_workdiary"))
    overseen = scope(user, WorkDiary.objects.filter(_under(overseen_paths, "region__path")), "grid.view_workdiary")
    return WorkDiary.objects.filter(
        Q(author=user) | Q(pk__in=reviewable.values("pk")) | Q(pk__in=overseen.values("pk"))
    )


def may_see_diaries(user) -> bool:
    return any(user.has_perm(perm) for perm in ("grid.add_workdiary", "grid.review_workdiary", "grid.view_workdiary"))


def diary_regions(user) -> QuerySet[Region]:
    paths = region_grants(user).paths("grid.add_workdiary")
    return Region.objects.filter(path__in=paths).select_related("tier").order_by("path")


REVIEW_RULES_FACT = "grid.diary_review_rules"
POSTS_BY_ROLE_FACT = "grid.post_paths_by_role"


def review_rules() -> list[tuple[str, int]]:
    """(region path, reviewer role id) of every diary review setting, deepest first (a handful of rows)."""
    rows = DiaryReviewRule.objects.values_list("region__path", "reviewer_role_id")
    return sorted(rows, key=lambda row: -len(row[0]))


def post_paths_by_role(user) -> dict[int, list[str]]:
    """Role id → the region paths where `user` holds an active post of it."""
    held: dict[int, list[str]] = defaultdict(list)
    for role_id, path in Post.objects.active().filter(user=user).values_list("role_id", "region__path"):
        held[role_id].append(path)
    return dict(held)


def reviewable_diaries(user) -> QuerySet[WorkDiary]:
    """The diaries `user` may review (审核): where they hold grid.review_workdiary and, under a region with
    a diary review setting (the nearest one decides), only if they hold a post of its reviewer role
    covering the diary's grid. Without settings: every holder of grid.review_workdiary, as before.
    The review queue, the home page's count, the detail page's button and the service all use this."""
    base = scope(user, WorkDiary.objects.all(), "grid.review_workdiary")
    if user.is_superuser or not user.is_authenticated:
        return base
    # Both kept with the user's cached access (grid.access_cache): the reviewers' home pages ask.
    rules = access_cache.user_fact(user, REVIEW_RULES_FACT)
    if not rules:
        return base
    held = access_cache.user_fact(user, POSTS_BY_ROLE_FACT)
    allowed = ~_under([path for path, _ in rules], "region__path")  # outside every setting: as before
    for index, (path, role_id) in enumerate(rules):
        deeper = [other for other, _ in rules[:index] if other.startswith(path) and other != path]
        governed = Q(region__path__startswith=path) & ~_under(deeper, "region__path")
        allowed |= governed & _under(held.get(role_id, []), "region__path")
    return base.filter(allowed)


def may_review_somewhere(user) -> bool:
    return user.has_perm("grid.review_workdiary")


def may_review(user, diary: WorkDiary) -> bool:
    return (
        diary.reviewed_at is None and diary.author_id != user.pk
        and reviewable_diaries(user).filter(pk=diary.pk).exists()
    )


# ---------------------------------------------------------------- patrol logs


def _today() -> datetime.date:
    return timezone.localdate()


def record_patrol(
    *,
    by,
    region: Region,
    kind: str,
    date: datetime.date,
    started_at: datetime.time,
    ended_at: datetime.time,
    route: str = "",
    households_visited: int = 0,
    findings: str = "",
    events: Iterable[Event] = (),
) -> PatrolLog:
    """Record one patrol of the acting grid member in `region`; nothing is written when any rule fails."""
    if not isinstance(region, Region) or not by.has_perm("grid.add_patrollog", region):
        raise PermissionDenied("您在该网格没有网格员岗位，不能在此记录巡查。")
    errors: dict[str, list[str]] = defaultdict(list)
    if kind not in PATROL_KINDS:
        errors["kind"].append("请选择巡查类型。")
    now = timezone.localtime()
    if date is None:
        errors["date"].append("请填写巡查日期。")
    elif date > now.date():
        errors["date"].append("巡查日期不能晚于今天。")
    elif problem := happened_problem(date, what="巡查日期"):
        errors["date"].append(problem)
    if started_at is None:
        errors["started_at"].append("请填写开始时间。")
    if ended_at is None:
        errors["ended_at"].append("请填写结束时间。")
    if started_at and ended_at:
        if ended_at <= started_at:
            errors["ended_at"].append("结束时间必须晚于开始时间。")
        elif date == now.date():
            latest = (now + CLOCK_TOLERANCE).time() if (now + CLOCK_TOLERANCE).date() == now.date() else datetime.time.max
            if ended_at > latest:
                errors["ended_at"].append("结束时间不能晚于当前时间：请在巡查结束后记录。")
    try:
        households = int(households_visited or 0)
    except (TypeError, ValueError):
        households = -1
    if not 0 <= households <= MAX_HOUSEHOLDS:
        errors["households_visited"].append(f"走访户数应在 0 到 {MAX_HOUSEHOLDS} 之间。")
    elif kind == "visit" and households == 0:
        errors["households_visited"].append("入户走访请填写走访户数。")
    route, findings = (route or "").strip(), (findings or "").strip()
    if not route and not findings:
        errors["findings"].append("请填写巡查路线或发现情况（无异常也请注明“未发现异常”）。")

    linked = list({event.pk: event for event in events}.values())
    if linked:
        allowed = set(
            scope(by, Event.objects.filter(pk__in=[event.pk for event in linked]), "grid.view_event")
            .filter(region__path__startswith=region.path).values_list("pk", flat=True)
        )
        foreign = sorted(event.pk for event in linked if event.pk not in allowed)
        if foreign:
            numbers = "、".join(f"#{pk}" for pk in foreign)
            errors["events"].append(f"关联事件 {numbers} 不在{region.name}内或您无权查看，不能关联。")

    if not errors and date is not None:
        overlapping = PatrolLog.objects.filter(
            member=by, date=date, started_at__lt=ended_at, ended_at__gt=started_at,
        ).first()
        if overlapping is not None:
            errors["started_at"].append(
                f"与已记录的巡查（{overlapping.started_at:%H:%M}–{overlapping.ended_at:%H:%M} "
                f"{overlapping.get_kind_display()}）时间重叠，请勿重复记录。"
            )
    if errors:
        raise PatrolError(dict(errors))

    with transaction.atomic():
        log = PatrolLog.objects.create(
            member=by, region=region, kind=kind, date=date, started_at=started_at, ended_at=ended_at,
            route=route, households_visited=households, findings=findings,
        )
        if linked:
            log.events.set(linked)
        audit.record("patrol.record", actor=by, obj=log, after=audit.snapshot(
            log, ["region", "kind", "date", "started_at", "ended_at", "households_visited", "events"]
        ))
    return log


# ---------------------------------------------------------------- work diaries


_DIARY_FIELDS = ["region", "date", "content"]


def write_diary(*, by, region: Region, date: datetime.date, content: str) -> tuple[WorkDiary, bool]:
    """Write the author's diary of `date`; writing again the same day updates it (returns created=False).

    One diary per author and day (the model's constraint): a member adds to the day's diary in the
    evening rather than starting a second one. Once the grid leader has reviewed it, it is closed.
    """
    if not isinstance(region, Region) or not by.has_perm("grid.add_workdiary", region):
        raise PermissionDenied("您在该网格没有岗位，不能在此填写工作日志。")
    errors: dict[str, list[str]] = defaultdict(list)
    today = _today()
    if date is None:
        errors["date"].append("请填写日期。")
    elif date > today:
        errors["date"].append("不能填写今天以后的工作日志。")
    elif date < today - datetime.timedelta(days=DIARY_BACKFILL_DAYS):
        errors["date"].append(f"只能补写最近 {DIARY_BACKFILL_DAYS} 天内的工作日志。")
    content = (content or "").strip()
    if not content:
        errors["content"].append("请填写当日工作内容。")
    if errors:
        raise PatrolError(dict(errors))

    with transaction.atomic():
        diary = WorkDiary.objects.select_for_update().filter(author=by, date=date).first()
        if diary is None:
            try:
                with transaction.atomic():
                    diary = WorkDiary.objects.create(author=by, region=region, date=date, content=content)
            except IntegrityError:
                # Two submissions of the same day at once: the other one won; update it below.
                diary = WorkDiary.objects.select_for_update().get(author=by, date=date)
            else:
                audit.record("diary.write", actor=by, obj=diary, after=audit.snapshot(diary, _DIARY_FIELDS))
                return diary, True
        if diary.reviewed_at is not None:
            raise PatrolError({"content": [
                f"{date:%Y-%m-%d} 的工作日志已于 {timezone.localtime(diary.reviewed_at):%Y-%m-%d %H:%M} 审核，不能再修改。"
            ]})
        before = audit.snapshot(diary, _DIARY_FIELDS)
        diary.region, diary.content = region, content
        diary.save(update_fields=["region", "content"])
        audit.record("diary.update", actor=by, obj=diary, before=before, after=audit.snapshot(diary, _DIARY_FIELDS))
    return diary, False


def review_diary(diary: WorkDiary, *, by, comment: str = "") -> WorkDiary:
    """The grid leader (or instructor) confirms a member's diary (审核确认), with an optional comment."""
    if diary.author_id == by.pk:
        raise PermissionDenied("不能审核自己的工作日志。")
    if not reviewable_diaries(by).filter(pk=diary.pk).exists():
        raise PermissionDenied("按本区域的工作日志审核设置，您不是该网格工作日志的审核人。")
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise PatrolError({"comment": ["审核意见不能超过 1000 字。"]})
    with transaction.atomic():
        locked = WorkDiary.objects.select_for_update().get(pk=diary.pk)
        if locked.reviewed_at is not None:
            raise PatrolError({"comment": ["该工作日志已审核，不能重复审核。"]})
        locked.reviewed_by, locked.reviewed_at, locked.review_comment = by, timezone.now(), comment
        locked.save(update_fields=["reviewed_by", "reviewed_at", "review_comment"])
        audit.record("diary.review", actor=by, obj=locked, after=audit.snapshot(
            locked, ["reviewed_by", "reviewed_at", "review_comment"]
        ))
    diary.reviewed_by, diary.reviewed_at, diary.review_comment = locked.reviewed_by, locked.reviewed_at, comment
    return diary


# ---------------------------------------------------------------- cadence compliance


@dataclass(frozen=True)
class Period:
    """One stretch of days in which a rule wants `times` patrols of its kind."""

    start: datetime.date
    end: datetime.date  # inclusive


@dataclass
class Tally:
    rule: CadenceRule
    due: int = 0
    done: int = 0
    pending: int = 0  # due in a period that is not over yet and not yet done: still possible in time

    @property
    def missed(self) -> int:
        return max(0, self.due - self.done - self.pending)

    @property
    def short(self) -> bool:
        return self.missed > 0


@dataclass
class MemberRow:
    user_id: int
    name: str
    regions: list[str]
    window: tuple[datetime.date, datetime.date]
    tallies: list[Tally] = field(default_factory=list)

    @property
    def short(self) -> bool:
        return any(tally.short for tally in self.tallies)


@dataclass
class ComplianceReport:
    month: datetime.date
    as_of: datetime.date  # the last day counted: the month's end, or today in the current month
    rules: list[CadenceRule]
    rows: list[MemberRow]


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def quarter_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first_month = (day.month - 1) // 3 * 3 + 1
    start = datetime.date(day.year, first_month, 1)
    return start, month_end(datetime.date(day.year, first_month + 2, 1))


def rule_periods(period: str, month: datetime.date, grace_days: int = SWEEP_GRACE_DAYS,
                 window_days: int = 0) -> list[Period]:
    """The periods of a cadence rule that belong to `month` (each counted in exactly one month).

    - daily: every day of the month;
    - weekly: the Monday–Sunday weeks whose Thursday falls in the month (ISO 8601), so a week across
      two months is counted once; patrols on any of its seven days count;
    - semimonthly: the sweeps of the 1st and the 15th, each done that day or up to `grace_days` later
      (the rule's setting, CadenceRule.grace_days);
    - monthly: the month;
    - quarterly: the quarter containing the month, shown in each of its three months (done once counts
      for all three).
    A monthly or quarterly rule with `window_days` counts only its first days, and `grace_days` after
    them (季度联查 "每个季度初": the quarter's first ten days).
    """
    first, last = month_start(month), month_end(month)
    if period == CadenceRule.Period.DAILY:
        return [Period(first + datetime.timedelta(days=n), first + datetime.timedelta(days=n)) for n in range(last.day)]
    if period == CadenceRule.Period.WEEKLY:
        thursday = first + datetime.timedelta(days=(3 - first.weekday()) % 7)
        periods = []
        while thursday <= last:
            periods.append(Period(thursday - datetime.timedelta(days=3), thursday + datetime.timedelta(days=3)))
            thursday += datetime.timedelta(days=7)
        return periods
    if period == CadenceRule.Period.SEMIMONTHLY:
        return [
            Period(first.replace(day=day), min(last, first.replace(day=day) + datetime.timedelta(days=grace_days)))
            for day in SWEEP_DAYS
        ]
    start, end = quarter_of(month) if period == CadenceRule.Period.QUARTERLY else (first, last)
    if window_days:
        end = min(end, start + datetime.timedelta(days=window_days - 1 + grace_days))
    return [Period(start, end)]


def _member_scope(scope_arg) -> Q:
    """Which posts' holders are assessed: those under the given regions, or those a user oversees."""
    if isinstance(scope_arg, Region):
        return Q(region__path__startswith=scope_arg.path)
    if hasattr(scope_arg, "is_authenticated"):  # a user: what they oversee, and their own row
        user = scope_arg
        if not user.is_authenticated or not user.is_active:
            return Q(pk__in=[])
        if user.is_superuser:
            return Q()
        paths = supervised_paths(user, "grid.view_patrollog", "grid.add_patrollog")
        return _under(paths, "region__path") | Q(user=user)
    return _under([region.path for region in scope_arg], "region__path")


def _days(start: datetime.date, end: datetime.date) -> Iterable[datetime.date]:
    return (start + datetime.timedelta(days=n) for n in range((end - start).days + 1))


def cadence_compliance(*, regions_or_user_scope, month: datetime.date) -> ComplianceReport:
    """Due and done counts per grid member × active cadence rule for one month, in three queries
    (plus, for a user, the grants of grid.access, computed once and cached on the user).

    `regions_or_user_scope` is a Region, an iterable of Regions (their subtrees), or a user (the
    members they oversee through grid.view_patrollog, and themselves). A period is due when it has
    started by today and overlaps the days the member held a post that month (a member appointed on
    the 20th owes nothing for the 1st); it is done when the member recorded `times` patrols of the
    rule's kind within it. Done never exceeds due: extra patrols do not make up for missed ones.
    """
    today = _today()
    first, last = month_start(month), month_end(month)
    as_of = min(last, today)
    rules = list(CadenceRule.objects.filter(is_active=True).order_by("id"))
    periods = {rule.pk: rule_periods(rule.period, first, rule.grace_days, rule.window_days) for rule in rules}

    in_scope = _member_scope(regions_or_user_scope)
    posts = list(
        Post.objects.filter(in_scope)
        .filter(role__key__in=MEMBER_ROLE_KEYS, start_date__lte=as_of)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=first))
        .values("user_id", "user__username", "user__first_name", "user__last_name", "region__full_path",
                "start_date", "end_date")
        .order_by("region__path", "user__username", "start_date")
    ) if first <= today else []

    rows: dict[int, MemberRow] = {}
    held_days: dict[int, set[datetime.date]] = defaultdict(set)
    for post in posts:
        lo = max(first, post["start_date"])
        hi = min(as_of, post["end_date"] - datetime.timedelta(days=1)) if post["end_date"] else as_of
        if hi < lo:
            continue
        user_id = post["user_id"]
        row = rows.get(user_id)
        if row is None:
            name = (post["user__last_name"] + post["user__first_name"]).strip() or post["user__username"]
            row = rows[user_id] = MemberRow(user_id, name, [], (lo, hi))
        if post["region__full_path"] not in row.regions:
            row.regions.append(post["region__full_path"])
        row.window = (min(row.window[0], lo), max(row.window[1], hi))
        held_days[user_id].update(_days(lo, hi))

    counts: dict[tuple[int, str], dict[datetime.date, int]] = defaultdict(dict)
    if rows and rules:
        span_start = min(p.start for plist in periods.values() for p in plist)
        # Up to today, not only the month's end: a quarter's joint check done in its second month also
        # counts in the first month's view, and a week across the month's end counts its last days.
        span_end = min(today, max(p.end for plist in periods.values() for p in plist))
        member_posts = Post.objects.filter(in_scope, role__key__in=MEMBER_ROLE_KEYS)
        aggregated = (
            PatrolLog.objects.filter(
                member__in=member_posts.values("user_id"), kind__in={rule.patrol_kind for rule in rules},
                date__gte=span_start, date__lte=span_end,
            )
            .values("member_id", "kind", "date").annotate(n=Count("id")).order_by()
        )
        for item in aggregated:
            counts[(item["member_id"], item["kind"])][item["date"]] = item["n"]

    for user_id, row in rows.items():
        days = held_days[user_id]
        for rule in rules:
            tally = Tally(rule)
            by_date = counts.get((user_id, rule.patrol_kind), {})
            for period in periods[rule.pk]:
                if period.start > as_of:
                    continue
                if not any(day in days for day in _days(max(period.start, first), min(period.end, as_of))):
                    continue
                tally.due += rule.times
                done = min(rule.times, sum(by_date.get(day, 0) for day in _days(period.start, period.end)))
                tally.done += done
                if period.end >= today:
                    tally.pending += rule.times - done
            row.tallies.append(tally)
    return ComplianceReport(month=first, as_of=as_of, rules=rules, rows=list(rows.values()))
