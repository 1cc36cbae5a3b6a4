"""The quarterly and yearly assessment of grid members (网格员考核). Design notes: docs/architecture/grid.md.

《基层治理网格化实施方案》（城市社区篇）, 八、(五)严格考核奖惩: 网格员考核分为季度和年度考核 … 考核结果分为优秀、合格、基本合格、
不合格四个等次; 六、(六)工作日志制度: 工作日志 … 须经社区党委书记审核确认，并作为绩效考核的依据. The score is
computed at read time from the records: cadence compliance (grid.patrols), the events the member
reported and how they ended, and the member's reviewed work diaries, weighed by the region's
StaffAssessmentRule (editable; the defaults of that model where none is set).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.utils import timezone

from governance.chinese_dates import start_of_day
from workflows.sla import count_working_days, working_day_calendar

from . import households, patrols
from .models import Event, StaffAssessmentRule, WorkDiary

GRADES = ("优秀", "合格", "基本合格", "不合格")
COMPONENTS = (  # (key, label, weight field, short column heading)
    ("cadence", "巡查频次完成率", "cadence_weight", "巡查"),
    ("found", "发现上报事件", "events_found_weight", "发现"),
    ("closed", "事件办结率", "events_closed_weight", "办结"),
    ("diary", "工作日志（经审核）", "diary_weight", "日志"),
    ("verification", "核实一次通过率", "verification_weight", "核实"),
)
CENT = Decimal("0.01")
ONE = Decimal(1)


def _ratio(part: int, whole: int) -> Decimal:
    """part / whole within 0–1; nothing owed counts as fully done."""
    if whole <= 0:
        return ONE
    return min(ONE, Decimal(part) / Decimal(whole))


@dataclass
class StaffRow:
    user_id: int
    name: str
    regions: list[str]
    rule: StaffAssessmentRule
    roles: list[str] = field(default_factory=list)
    cadence_done: int = 0
    cadence_due: int = 0
    months_held: int = 0
    diary_days_due: int = 0
    events_found: int = 0
    events_closed: int = 0
    events_first_time: int = 0  # closed without being sent back at verification
    diaries: int = 0
    diaries_reviewed: int = 0
    rates: dict[str, Decimal] = field(default_factory=dict)

    def compute(self) -> None:
        self.rates = {
            "cadence": _ratio(self.cadence_done, self.cadence_due),
            "found": _ratio(self.events_found, self.rule.events_per_month * self.months_held),
            "closed": _ratio(self.events_closed, self.events_found),
            "diary": _ratio(self.diaries_reviewed, self.diary_days_due),
            "verification": _ratio(self.events_first_time, self.events_closed),
        }

    @property
    def points(self) -> dict[str, Decimal]:
        """Each component's points: its rate × its weight."""
        return {key: (self.rates[key] * getattr(self.rule, weight)).quantize(CENT, ROUND_HALF_UP)
                for key, _, weight, _ in COMPONENTS}

    @property
    def short_regions(self) -> list[str]:
        """The member's grids without the county and township: 楼星村/第1网格."""
        return ["/".join(path.split("/")[2:]) or path for path in self.regions]

    @property
    def score(self) -> Decimal:
        exact = sum((self.rates[key] * getattr(self.rule, weight) for key, _, weight, _ in COMPONENTS), Decimal(0))
        return exact.quantize(CENT, ROUND_HALF_UP)

    @property
    def grade(self) -> str:
        return grade_for(self.score, self.rule)


def grade_for(score: Decimal, rule: StaffAssessmentRule) -> str:
    if score >= rule.excellent_from:
        return "优秀"
    if score >= rule.qualified_from:
        return "合格"
    if score >= rule.basic_from:
        return "基本合格"
    return "不合格"


def grade_rule_text(rule: StaffAssessmentRule) -> str:
    """The rule as printed beside the table: the same fields the grade is computed from."""
    weights = "，".join(f"{label} {getattr(rule, weight)}" for _, label, weight, _ in COMPONENTS)
    return (f"权重：{weights}（每月应发现上报事件 {rule.events_per_month} 件）；等次：{rule.excellent_from} 分及以上为优秀，"
            f"{rule.qualified_from} 分及以上为合格，{rule.basic_from} 分及以上为基本合格，其下为不合格。")


@dataclass
class StaffAssessment:
    label: str
    start: datetime.date
    end: datetime.date  # inclusive: the period's last day, or today in a running period
    rows: list[StaffRow]
    rules: list[StaffAssessmentRule]


def period_months(year: int, quarter: int | None) -> list[datetime.date]:
    """The months of a quarter (1–4) or, without one, of the year."""
    if quarter is None:
        return [datetime.date(year, month, 1) for month in range(1, 13)]
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter must be 1–4")
    return [datetime.date(year, 3 * (quarter - 1) + offset, 1) for offset in (1, 2, 3)]


def _rule_for(full_paths: list[str], rules: list[StaffAssessmentRule]) -> StaffAssessmentRule:
    """The rule of the nearest region above (or at) any of the member's regions; the defaults otherwise."""
    best, depth = None, -1
    for rule in rules:
        prefix = rule.region.full_path
        if rule.region.depth > depth and any(path == prefix or path.startswith(prefix + "/") for path in full_paths):
            best, depth = rule, rule.region.depth
    return best or StaffAssessmentRule()


def assess_staff(*, scope, year: int, quarter: int | None = None) -> StaffAssessment:
    """Every grid member in `scope` (a Region, Regions, or a user: whom they oversee, as for cadence
    compliance) for a quarter or, without `quarter`, the year: cadence from grid.patrols (three queries
    a month) and from the household visits of every role a visit rule names (grid.households: the grid
    leaders too), then events and diaries in one query each, however many members."""
    today = timezone.localdate()
    months = [month for month in period_months(year, quarter) if month <= today]
    label = f"{year}年第{quarter}季度" if quarter else f"{year}年度"
    start = period_months(year, quarter)[0]
    period_end = patrols.month_end(period_months(year, quarter)[-1])
    end = min(today, period_end)
    rules = list(StaffAssessmentRule.objects.select_related("region"))
    # A diary is due on each working day: the holiday calendar's days off and 调休 days as the SLA counts them.
    calendar = working_day_calendar(start, period_end)
    rows: dict[int, StaffRow] = {}
    for month in months:
        report = patrols.cadence_compliance(regions_or_user_scope=scope, month=month)
        for member in report.rows:
            row = rows.get(member.user_id)
            if row is None:
                row = rows[member.user_id] = StaffRow(member.user_id, member.name, [], rule=StaffAssessmentRule())
            for region in member.regions:
                if region not in row.regions:
                    row.regions.append(region)
            if "网格员" not in row.roles:
                row.roles.append("网格员")
            row.months_held += 1
            row.diary_days_due += count_working_days(*member.window, calendar)
            for tally in member.tallies:
                row.cadence_done += tally.done
                row.cadence_due += tally.due - tally.pending  # a period still running is not yet owed
    # Household visits (grid.households) of every role a visit rule names: the periods that have
    # ended count (a year's round of visits counts in the yearly assessment, not in a quarter's).
    for holder in households.visit_compliance(scope=scope, start=start, end=end).rows:
        row = rows.get(holder.user_id)
        if row is None:
            row = rows[holder.user_id] = StaffRow(holder.user_id, holder.name, [], rule=StaffAssessmentRule())
            lo, hi = holder.window
            row.months_held = sum(1 for month in months if month <= hi and patrols.month_end(month) >= lo)
            row.diary_days_due = count_working_days(lo, hi, calendar)
        if holder.role_name not in row.roles:
            row.roles.append(holder.role_name)
        for region in holder.regions:
            if region not in row.regions:
                row.regions.append(region)
        for tally in holder.tallies:
            row.cadence_done += tally.done
            row.cadence_due += tally.due - tally.pending
    if rows:
        begin, finish = start_of_day(start), start_of_day(end + datetime.timedelta(days=1))
        valid = ~Q(status__in=[Event.Status.REJECTED, Event.Status.MERGED])
        closed = Q(status=Event.Status.CLOSED)
        for item in (Event.objects.filter(reporter_id__in=rows, created_at__gte=begin, created_at__lt=finish)
                     .values("reporter_id").order_by()
                     .annotate(found=Count("id", filter=valid), closed=Count("id", filter=closed),
                               first_time=Count("id", filter=closed & Q(return_count=0)))):
            row = rows[item["reporter_id"]]
            row.events_found, row.events_closed, row.events_first_time = item["found"], item["closed"], item["first_time"]
        for item in (WorkDiary.objects.filter(author_id__in=rows, date__gte=start, date__lte=end)
                     .values("author_id").order_by()
                     .annotate(n=Count("id"), reviewed=Count("id", filter=Q(reviewed_at__isnull=False)))):
            row = rows[item["author_id"]]
            row.diaries, row.diaries_reviewed = item["n"], item["reviewed"]
    for row in rows.values():
        row.rule = _rule_for(row.regions, rules)
        row.compute()
    ordered = sorted(rows.values(), key=lambda row: (row.regions[:1], row.name))
    return StaffAssessment(label=label, start=start, end=end, rows=ordered, rules=rules)
