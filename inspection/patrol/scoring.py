"""Exact monthly points and quarterly grades of the township big patrol (大巡查).
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from django.db.models import Exists, OuterRef, Q

from grid.models import Region, parent_path

from ..models import Circular, PatrolFinding, PatrolReport, SourceMultiplier, tip_off_findings

BASE = Decimal(60)
CAP = Decimal(100)
FLOOR = Decimal(0)

Source = PatrolFinding.Source
# The plan's multipliers (五、奖惩细则 2–4), used where a township has set none of its own
# (SourceMultiplier rows, effective from a date). 12345 and the mayor's hotline (市长热线, named with
# 12345 in 四、(二)) ×1; 舆情 and 市长信箱 are counted with 上访: 舆情 as a township petition ×1, the
# city mayor's mailbox as a city petition ×2.
SOURCE_MULTIPLIER: dict[str, int] = {
    Source.TOWNSHIP_GROUP: 1, Source.TOWNSHIP_DEPARTMENT: 1, Source.DISTRICT: 1, Source.CITY: 2, Source.PROVINCE: 3,
    Source.HOTLINE_12345: 1, Source.TOWNSHIP_PETITION: 1, Source.DISTRICT_PETITION: 1, Source.CITY_PETITION: 2,
    Source.PROVINCE_PETITION: 3, Source.PUBLIC_OPINION: 1, Source.MAYOR_MAILBOX: 2, Source.MAYOR_HOTLINE: 1,
}
VETO_SOURCES = frozenset({Source.CENTRAL})

# (least quarter total of three months, exclusive?) → grade; compared on the exact total, so that
# an average of 60.33… is 合格 and 69.9 is not 一般.
GRADES = [(Decimal(270), False, "优秀"), (Decimal(240), False, "良好"), (Decimal(210), False, "一般"),
          (Decimal(180), True, "合格")]
LOWEST_GRADE = "较差"
NO_REWARD_GRADES = frozenset({LOWEST_GRADE})  # 五、8：获得“较差”等次的不给予奖励
CENT = Decimal("0.01")


def _points_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def grade_rules() -> list[tuple[str, str]]:
    """Each grade with the rule it is given by, in words, built from GRADES: the printed rule and the
    computed rule are one. (The plan prints "61至69分为合格"; its 较差 is "60分及以下", so 合格 is
    every mean above 60 and below 70.)"""
    rules, upper = [], None
    for least, exclusive, grade in GRADES:
        bound = least / 3
        low = f"{_points_text(bound)}分以上" if exclusive else f"{_points_text(bound)}分及以上"
        high = "" if upper is None else f"、不满{_points_text(upper)}分"
        rules.append((grade, f"月平均分{low}{high}"))
        upper = bound
    least, exclusive, _ = GRADES[-1]
    rules.append((LOWEST_GRADE, f"月平均分{_points_text(least / 3)}分{'及以下' if exclusive else '以下'}"))
    return rules


def grade_rule_text() -> str:
    """The grade rule as printed on sheets and pages: "优秀：月平均分90分及以上；…"."""
    return "；".join(f"{grade}：{rule}" for grade, rule in grade_rules()) + "（按三个月得分之和精确判定）"


def decimal_text(value: Decimal) -> str:
    """A figure as a string with two decimals ("60.00", "63.50"): points are stored to the cent, and a
    mean (the township's average) is rounded half up (四舍五入), as the quarter averages are."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def mean_score(scores: Iterable[Decimal]) -> Decimal:
    """The mean of villages' scores to the cent, rounded half up: a township's average as the circular
    prints it and the dashboards chart it (0 for no villages)."""
    scores = list(scores)
    if not scores:
        return Decimal(0).quantize(CENT)
    return (sum(scores, Decimal(0)) / len(scores)).quantize(CENT, rounding=ROUND_HALF_UP)


TIPPED_OFF_NOTE = "上报时同村同事项已有督查发现、尚未登记通报到村（居），不加分"


@dataclass
class ScoreEntry:
    """One line behind a village's month: an addition, a deduction, a veto, an excused finding, or a
    report that earns nothing because it followed an unreleased finding ("tipped")."""

    kind: str  # "addition" | "deduction" | "veto" | "excused" | "tipped"
    number: str
    date: datetime.date
    item_code: str
    item_name: str
    department: str
    points: Decimal  # the item's points as recorded
    multiplier: int
    amount: Decimal  # what it adds (+) or deducts (+, subtracted); 0 for veto and excused
    source: str = ""  # the finder, for findings
    note: str = ""

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "number": self.number, "date": self.date.isoformat(), "item_code": self.item_code,
            "item_name": self.item_name, "department": self.department, "points": decimal_text(self.points),
            "multiplier": self.multiplier, "amount": decimal_text(self.amount), "source": self.source,
            "note": self.note,
        }


@dataclass
class VillageMonth:
    village: Region
    month: datetime.date
    base: Decimal = BASE
    additions: Decimal = Decimal(0)
    deductions: Decimal = Decimal(0)
    veto: bool = False
    entries: list[ScoreEntry] = field(default_factory=list)

    @property
    def score(self) -> Decimal:
        if self.veto:
            return Decimal(0)
        return min(CAP, max(FLOOR, self.base + self.additions - self.deductions))

    def as_dict(self) -> dict:
        return {
            "village": self.village.name, "village_path": self.village.full_path, "month": f"{self.month:%Y-%m}",
            "base": decimal_text(self.base), "additions": decimal_text(self.additions),
            "deductions": decimal_text(self.deductions), "veto": self.veto, "score": decimal_text(self.score),
            "entries": [entry.as_dict() for entry in self.entries],
        }


@dataclass
class VillageQuarter:
    village: Region
    months: list[Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.months, Decimal(0))

    @property
    def average(self) -> Decimal:
        """The mean to two decimals for display; the grade uses the exact total.

        Rounded half-up, except where that would show a figure of another grade beside the grade
        (an exact mean of 89.996… shown as 90.00 beside 良好, 60.003… as 60.00 beside 合格): then
        rounded the other way, to the cent on the exact mean's side of the boundary (89.99, 60.01),
        so that a township reading the sheet sees the figure and the grade agree.
        """
        count = len(self.months)
        exact = self.total / count
        shown = exact.quantize(CENT, rounding=ROUND_HALF_UP)
        if grade_for_total(shown * count, count) != self.grade:
            shown = exact.quantize(CENT, rounding=ROUND_DOWN if shown > exact else ROUND_UP)
        return shown

    @property
    def grade(self) -> str:
        return grade_for_total(self.total, len(self.months))

    def as_dict(self) -> dict:
        return {"village": self.village.name, "village_path": self.village.full_path,
                "months": [decimal_text(score) for score in self.months], "average": decimal_text(self.average),
                "grade": self.grade}


def grade_for_total(total: Decimal, months: int = 3) -> str:
    """The grade of a quarter from the exact sum of its monthly scores."""
    for least, exclusive, grade in GRADES:
        bound = least * months / 3
        if total > bound or (not exclusive and total == bound):
            return grade
    return LOWEST_GRADE


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def quarter_months(year: int, quarter: int) -> list[datetime.date]:
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter must be 1–4")
    return [datetime.date(year, 3 * (quarter - 1) + offset, 1) for offset in (1, 2, 3)]


def villages_of(townships: Iterable[Region], *, assessed_only: bool = False) -> list[Region]:
    """The villages (村、社区) of the townships, in tree order: one query. With `assessed_only`, only those
    subject to the assessment (without an AssessmentExemption, e.g. not an 工业园区)."""
    condition = None
    for township in townships:
        q = Q(path__startswith=township.path, depth=township.depth + 1)
        condition = q if condition is None else condition | q
    if condition is None:
        return []
    villages = Region.objects.filter(condition, tier__key="village")
    if assessed_only:
        villages = villages.filter(assessment_exemption__isnull=True)
    return list(villages.select_related("tier").order_by("path"))


def assessed_villages_of(townships: Iterable[Region]) -> list[Region]:
    """The villages ranked, circulated and graded: 行政村(居) subject to the assessment (五、(一))."""
    return villages_of(townships, assessed_only=True)


MultiplierTable = dict[tuple[int, str], list[tuple[datetime.date, int]]]


def multiplier_table(township_ids: Iterable[int]) -> MultiplierTable:
    """The townships' own multipliers, newest first per (township, source): one query."""
    table: MultiplierTable = {}
    rows = SourceMultiplier.objects.filter(township_id__in=list(township_ids)).order_by("-effective_from")
    for row in rows.values_list("township_id", "source", "effective_from", "multiplier"):
        table.setdefault((row[0], row[1]), []).append((row[2], row[3]))
    return table


def multiplier_for(table: MultiplierTable, township_id: int, source: str, day: datetime.date) -> int:
    """The multiplier in force on `day`: the township's latest row from on or before `day`, else the plan's."""
    for effective_from, multiplier in table.get((township_id, source), ()):
        if effective_from <= day:
            return multiplier
    return SOURCE_MULTIPLIER[source]


def with_tip_off(reports):
    """Reports annotated with `tipped_off`: filed while a finding of the same village and item was
    recorded and not yet released to the village, the finding since registered as true (六、(二)
    不得与村“通气”; models.tip_off_findings). Such a report earns nothing."""
    return reports.annotate(tipped_off=Exists(tip_off_findings(
        village=OuterRef("village_id"), item=OuterRef("item_id"), reported_on=OuterRef("reported_on"),
        filed_at=OuterRef("created_at"))))


def month_scores(townships: Region | Iterable[Region], month: datetime.date) -> list[VillageMonth]:
    """Every village's month in the given township(s), in tree order: three queries in all."""
    start = month_start(month)
    return _scores(townships, [start])[start]


def _scores(townships: Region | Iterable[Region], months: list[datetime.date]) -> dict[datetime.date, list[VillageMonth]]:
    """Each month's VillageMonth of every assessed village of the township(s): four queries, however many
    villages, townships or months (reports, findings and multipliers are read once over the whole span)."""
    townships = [townships] if isinstance(townships, Region) else list(townships)
    villages = assessed_villages_of(townships)
    tables = {month: {village.pk: VillageMonth(village=village, month=month) for village in villages} for month in months}
    if not villages:
        return {month: [] for month in months}
    start, end = min(months), next_month(max(months))
    township_ids = [township.pk for township in townships]

    reports = with_tip_off(
        PatrolReport.objects.filter(township_id__in=township_ids, verified_on__gte=start, verified_on__lt=end,
                                    verdict=PatrolReport.Verdict.TRUE, is_fraud=False)
        .select_related("item__lead_department").order_by("verified_on", "number")
    )
    for report in reports:
        village = tables.get(month_start(report.verified_on), {}).get(report.village_id)
        if village is None:
            continue
        if report.tipped_off:
            village.entries.append(ScoreEntry(
                kind="tipped", number=report.number, date=report.verified_on, item_code=report.item.code,
                item_name=report.item.name, department=report.item.lead_department.name, points=report.points,
                multiplier=0, amount=Decimal(0), note=TIPPED_OFF_NOTE,
            ))
            continue
        village.additions += report.points
        village.entries.append(ScoreEntry(
            kind="addition", number=report.number, date=report.verified_on, item_code=report.item.code,
            item_name=report.item.name, department=report.item.lead_department.name, points=report.points,
            multiplier=1, amount=report.points, note="村（居）主动上报，核实属实",
        ))

    findings = (
        PatrolFinding.objects.filter(township_id__in=township_ids, discovered_on__gte=start, discovered_on__lt=end,
                                     is_true=True, is_fraud=False)
        .select_related("item__lead_department", "matched_report").order_by("discovered_on", "number")
    )
    multipliers = multiplier_table(township_ids)
    for finding in findings:
        village = tables.get(month_start(finding.discovered_on), {}).get(finding.village_id)
        if village is None:
            continue
        common = dict(number=finding.number, date=finding.discovered_on, item_code=finding.item.code,
                      item_name=finding.item.name, department=finding.item.lead_department.name,
                      points=finding.points, source=finding.get_source_display())
        kind, multiplier, amount = finding_outcome(finding, multipliers)
        if kind == "excused":
            village.entries.append(ScoreEntry(kind="excused", multiplier=0, amount=Decimal(0),
                                              note=f"村（居）已于 {finding.matched_report.reported_on} 上报"
                                                   f"（{finding.matched_report.number}），不扣分", **common))
        elif kind == "veto":
            village.veto = True
            village.entries.append(ScoreEntry(kind="veto", multiplier=0, amount=Decimal(0),
                                              note="中央、国家有关部门发现且村（居）此前未上报：一票否决", **common))
        else:
            village.deductions += amount
            village.entries.append(ScoreEntry(kind="deduction", multiplier=multiplier, amount=amount,
                                              note="村（居）此前未上报", **common))
    return {month: list(table.values()) for month, table in tables.items()}


def finding_outcome(finding: PatrolFinding, multipliers: MultiplierTable | None = None) -> tuple[str, int, Decimal]:
    """What a finding costs its village: ("none" | "excused" | "veto" | "deduction", multiplier, amount).

    Only a true finding that is not fraud counts; one the village had reported first costs nothing;
    one found by the central or national departments vetoes the month; any other costs the item's
    points times the finder's multiplier in force on the day of discovery. The month scores and the
    department's registration book both ask this (pass `multipliers` when asking for many)."""
    if finding.is_true is not True or finding.is_fraud:
        return "none", 0, Decimal(0)
    if excused_by_report(finding):
        return "excused", 0, Decimal(0)
    if finding.source in VETO_SOURCES:
        return "veto", 0, Decimal(0)
    if multipliers is None:
        multipliers = multiplier_table([finding.township_id])
    multiplier = multiplier_for(multipliers, finding.township_id, finding.source, finding.discovered_on)
    return "deduction", multiplier, finding.points * multiplier


def excused_by_report(finding: PatrolFinding) -> bool:
    """The village had reported this issue before it was found (and the report stands)."""
    report = finding.matched_report
    return (
        report is not None
        and report.village_id == finding.village_id
        and report.item_id == finding.item_id
        and report.reported_on < finding.discovered_on
        and report.verdict != PatrolReport.Verdict.FALSE
        and not report.is_fraud
    )


def published_month_scores(townships: Iterable[Region], months: list[datetime.date]
                           ) -> dict[tuple[int, datetime.date], dict[int | str, Decimal]]:
    """The scores of the months whose circular (月度通报) is published, as published: (township id, first
    day of the month) → village id (snapshots that carry it) and village name → score. One query.

    The township big patrol plan 四、职责分工 and 六、(五): the office circulates each month's scores and the
    circulated figures are the basis of the quarter's grade and incentive (通报情况作为激励考核依据); a fact
    of the month changed after publication (a finding later found false) does not regrade the quarter."""
    rows = Circular.objects.filter(township_id__in=[township.pk for township in townships],
                                   period=Circular.Period.MONTH, period_start__in=months)
    published: dict[tuple[int, datetime.date], dict[int | str, Decimal]] = {}
    for township_id, start, snapshot in rows.values_list("township_id", "period_start", "scores"):
        if not (isinstance(snapshot, dict) and snapshot.get("kind") == "month"):
            continue
        scores = published[(township_id, start)] = {}
        for row in snapshot.get("ranking") or []:
            if isinstance(row, dict) and row.get("village") and row.get("score") is not None:
                scores[row["village"]] = Decimal(row["score"])
                if isinstance(row.get("village_id"), int):
                    scores[row["village_id"]] = Decimal(row["score"])
    return published


def quarter_scores(townships: Region | Iterable[Region], year: int, quarter: int) -> list[VillageQuarter]:
    """Each village's three months and grade, in tree order: four queries for the whole quarter, and one
    for the months already published, whose scores are taken as published (published_month_scores); a
    village missing from a published month's ranking (since added) keeps its computed score."""
    townships = [townships] if isinstance(townships, Region) else list(townships)
    months = _scores(townships, quarter_months(year, quarter))
    published = published_month_scores(townships, list(months))
    township_ids = {township.path: township.pk for township in townships}
    by_village: dict[int, VillageQuarter] = {}
    for month, scores in months.items():
        for village_month in scores:
            village = village_month.village
            entry = by_village.setdefault(village.pk, VillageQuarter(village=village, months=[]))
            as_published = published.get((township_ids.get(parent_path(village.path)), month), {})
            entry.months.append(as_published.get(village.pk, as_published.get(village.name, village_month.score)))
    return list(by_village.values())


def ranked(scores: list[VillageMonth]) -> list[tuple[int, VillageMonth]]:
    """Competition ranking (1, 2, 2, 4) by score, highest first; ties keep tree order."""
    ordered = sorted(scores, key=lambda village_month: -village_month.score)
    result, previous, rank = [], None, 0
    for position, village_month in enumerate(ordered, start=1):
        if village_month.score != previous:
            rank, previous = position, village_month.score
        result.append((rank, village_month))
    return result
