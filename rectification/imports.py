"""Importing a rectification plan kept on paper (`manage.py import_rectification`).
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import audit
from governance.chinese_dates import parse_date, parse_deadline
from governance.input_rules import date_problem, text_problem
from governance.models import AuditEntry
from governance.tabular import ImportFailed, ImportResult, Row, RowError, RowWarning, read_table
from grid.events import system_user
from grid.models import Region, paths_from_root
from grid.regions import RegionNotFound, find_region
from inspection.models import FocusCategory, InspectionGroup, InspectionRound

from .models import ProgressEntry, RectificationItem, RectificationPlan

COLUMNS = ("序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施")
CLOSED_ON = "销号日期"  # optional: the day a finished item was closed (销号) on paper
OPTIONAL_COLUMNS = (CLOSED_ON,)
# Optional too, but not filled in when absent: a file without it leaves the measures entered in the
# system as they are (a row has the cells of the file's own columns and of OPTIONAL_COLUMNS).
MEASURES = "整改措施"

ITEM_FIELDS = ["plan", "number", "category", "subcategory", "title", "responsible_leader", "responsible_unit",
               "measures", "deadline", "deadline_text", "status", "result", "unfinished_reason", "next_steps", "closed_at"]
PLAN_FIELDS = ["organisation", "round", "title", "group_name", "inspected_from", "inspected_to", "feedback_on"]
ROUND_FIELDS = ["county", "term", "number", "name", "arrival_date", "withdrawal_date"]

Status = RectificationItem.Status
STATUSES: dict[str, str] = {label: value for value, label in Status.choices}
# What people write for the same status, and the stored keys (a file exported from the system).
STATUS_ALIASES: dict[str, str] = {
    "正在整改": Status.IN_PROGRESS, "整改中": Status.IN_PROGRESS, "持续整改": Status.IN_PROGRESS,
    "持续整改中": Status.IN_PROGRESS, **{value: value for value in Status.values},
}
ONGOING_DEADLINES = {"长期坚持", "长期", "长期坚持整改"}
# A deadline written as "持续整改": no date, and the work goes on (正在整改中 when the status is empty).
CONTINUING_DEADLINES = {"持续整改", "持续整改中"}
UNFINISHED = {Status.PENDING, Status.IN_PROGRESS}

_MAX_NUMBER = 2_147_483_647  # PositiveIntegerField's limit on PostgreSQL


def _max_length(model, field_name: str) -> int:
    return model._meta.get_field(field_name).max_length


_PERIOD_SEPARATOR = re.compile(r"\s*(?:[:：~～]|至|到)\s*")


def parse_period(text: str) -> tuple[datetime.date, datetime.date]:
    """`--inspected`: arrival and withdrawal, `2024-04-08:2024-05-20` (also `至`, `~`)."""
    example = "应为“进驻日期:撤回日期”，如 2024-04-08:2024-05-20"
    parts = _PERIOD_SEPARATOR.split((text or "").strip())
    if len(parts) != 2:
        raise ImportFailed(f"--inspected“{text}”格式不正确，{example}。")
    start, end = parse_date(parts[0]), parse_date(parts[1])
    if start is None or end is None:
        raise ImportFailed(f"--inspected“{text}”中的日期无效，{example}。")
    if end <= start:
        raise ImportFailed(f"--inspected：撤回日期 {end} 须晚于进驻日期 {start}。")
    return start, end


# --- round names -----------------------------------------------------------------------------------------

_NUMERALS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_TERM = re.compile(r"第?([一二三四五六七八九十〇零\d]+)届")
_ROUND_NUMBER = re.compile(r"第([一二三四五六七八九十两〇零\d]+)轮")


def chinese_number(text: str) -> int | None:
    """`二` → 2, `十五` → 15, `二十三` → 23, `15` → 15 (up to 99)."""
    if text.isdecimal():
        return int(text)
    if "十" in text:
        tens, _, units = text.partition("十")
        if (tens and tens not in _NUMERALS) or (units and units not in _NUMERALS) or "十" in units:
            return None
        return (_NUMERALS[tens] if tens else 1) * 10 + (_NUMERALS[units] if units else 0)
    if len(text) == 1 and text in _NUMERALS:
        return _NUMERALS[text]
    return None


def parse_round_name(name: str) -> tuple[str, int | None]:
    """The term (`十五届`) and the round number (2) a name such as `十五届县委第二轮巡察` carries;
    "" and None for what it does not say."""
    term_match = _TERM.search(name)
    term = f"{term_match[1]}届" if term_match else ""
    number_match = _ROUND_NUMBER.search(name)
    number = chinese_number(number_match[1]) if number_match else None
    return term, number if number else None


# --- the options -----------------------------------------------------------------------------------------


@dataclass
class PlanImport:
    """What an import did: the plan, its round, whether each was created, and the item counts."""

    plan: RectificationPlan
    round: InspectionRound
    round_created: bool = False
    plan_created: bool = False
    plan_updated: bool = False
    result: ImportResult = field(default_factory=ImportResult)

    @property
    def summary(self) -> str:
        r = self.result
        return f"整改方案 #{self.plan.pk} 已导入：新建 {r.created} 项，更新 {r.updated} 项，未变 {r.unchanged} 项"


@dataclass
class _Header:
    organisation: Region
    county: Region
    round_name: str
    round: InspectionRound | None
    round_term: str
    round_number: int | None
    plan: RectificationPlan | None
    group_name: str | None
    inspected: tuple[datetime.date, datetime.date] | None
    feedback_on: datetime.date | None


def resolve_organisation(text: str | Region) -> tuple[Region, Region]:
    """The inspected organisation (a township or village, by name or path) and its county."""
    if isinstance(text, Region):
        organisation = text
    else:
        try:
            organisation = find_region(text)
        except RegionNotFound as exc:
            raise ImportFailed(f"--organisation：{exc}") from exc
    if organisation.tier.key not in {"township", "village"}:
        raise ImportFailed(
            f"--organisation：“{organisation.full_path}”是{organisation.tier.name}，整改党组织须为乡镇或村（社区），"
            "如 太平镇 或 太平镇/楼星村。"
        )
    county = Region.objects.get_ancestors(organisation).filter(tier__key="county").first()
    if county is None:
        raise ImportFailed(f"--organisation：“{organisation.full_path}”不在任何县之下。")
    return organisation, county


def _option_day(text: str | datetime.date | None, option: str) -> datetime.date | None:
    if text is None or isinstance(text, datetime.date):
        return text
    day = parse_date(text)
    if day is None:
        raise ImportFailed(f"{option}“{text}”不是有效日期，应为 YYYY-MM-DD，如 2024-06-10。")
    return day


def _options_failed(problems: list[str]) -> ImportFailed:
    return ImportFailed("；".join(problem.rstrip("。") for problem in problems) + "。未导入任何数据。")


def _header(organisation, round_name, group, inspected, feedback_date) -> _Header:
    """Check the options against the database; raise ImportFailed naming every problem."""
    problems: list[str] = []

    def attempt(function, *args):
        try:
            return function(*args)
        except ImportFailed as exc:
            problems.append(exc.message)
            return None

    found = attempt(resolve_organisation, organisation)
    if inspected is not None and not isinstance(inspected, tuple):
        inspected = attempt(parse_period, inspected)
    feedback_on = attempt(_option_day, feedback_date, "--feedback-date")
    today = timezone.localdate()
    if feedback_on and feedback_on > today:
        problems.append(f"--feedback-date：反馈日期 {feedback_on} 晚于今天。")
    if feedback_on and inspected and feedback_on < inspected[1]:
        problems.append(f"--feedback-date：反馈日期 {feedback_on} 早于撤回日期 {inspected[1]}。")
    group_name = None if group is None else group.strip()
    if group_name is not None and len(group_name) > _max_length(RectificationPlan, "group_name"):
        problems.append(f"--group：巡察组名称超过 {_max_length(RectificationPlan, 'group_name')} 个字。")

    round_name = (round_name or "").strip()
    if not round_name:
        problems.append("--round：请填写巡察轮次名称，如 十五届县委第二轮巡察。")
    elif len(round_name) > _max_length(InspectionRound, "name"):
        problems.append(f"--round：轮次名称超过 {_max_length(InspectionRound, 'name')} 个字。")
    # The names are stored and printed as typed: the input rules of every form apply (lengths above).
    for option, text in (("--group", group_name), ("--round", round_name)):
        problem = text_problem(text or "", long_text=False, max_length=10**9)
        if problem:
            problems.append(f"{option}：{problem}")
    if found is None or problems:
        raise _options_failed(problems)

    organisation, county = found
    header = _Header(organisation, county, round_name, None, "", None, None, group_name, inspected, feedback_on)
    rounds = list(InspectionRound.objects.filter(county=county, name=round_name))
    if len(rounds) > 1:
        raise ImportFailed(f"--round：{county.name}有 {len(rounds)} 个名为“{round_name}”的巡察轮次，无法确定是哪一个。")
    if rounds:
        header.round = rounds[0]
        header.plan = RectificationPlan.objects.filter(organisation=organisation, round=header.round).first()
        return header

    # The round is new: it needs a term, a number that is free, and its dates.
    term, number = parse_round_name(round_name)
    if not term:
        problems.append(f"--round：{county.name}没有名为“{round_name}”的巡察轮次；新建轮次时名称中须写明届次"
                        "（如“十五届县委第二轮巡察”），或使用已有轮次的名称。")
    elif len(term) > _max_length(InspectionRound, "term"):
        problems.append(f"--round：届次“{term}”过长。")
    elif number is not None:
        taken = InspectionRound.objects.filter(county=county, term=term, number=number).first()
        if taken is not None:
            problems.append(f"--round：{county.name}{term}第 {number} 轮巡察已存在，名称为“{taken.name}”；"
                            "如指的是该轮，请使用这个名称。")
    else:
        used = InspectionRound.objects.filter(county=county, term=term).values_list("number", flat=True)
        number = max(used, default=0) + 1
    if inspected is None:
        problems.append(f"--round：{county.name}没有名为“{round_name}”的巡察轮次，新建轮次须用 --inspected 给出"
                        "进驻和撤回日期，如 --inspected 2024-04-08:2024-05-20。")
    if problems:
        raise _options_failed(problems)
    header.round_term, header.round_number = term, number
    return header


# --- the rows --------------------------------------------------------------------------------------------


@dataclass
class _ItemRow:
    row: int
    number: int
    values: dict


def _plain(text: str) -> str:
    """A heading without its numbering and spaces: `一、聚焦…` and `（一）聚焦…` are `聚焦…`."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return re.sub(r"^(?:\([一二三四五六七八九十\d]+\)|[一二三四五六七八九十\d]+[、.])", "", text)


class _Categories:
    """The round's focus categories (top level) for the organisation's kind; any text when it has none."""

    def __init__(self, round: InspectionRound | None, organisation: Region):
        kind = FocusCategory.AppliesTo.TOWNSHIP if organisation.tier.key == "township" else FocusCategory.AppliesTo.VILLAGE
        self.titles: list[str] = []
        if round is not None:
            self.titles = list(
                FocusCategory.objects.filter(round=round, parent__isnull=True, applies_to__in=[kind, FocusCategory.AppliesTo.BOTH])
                .order_by("order", "id").values_list("title", flat=True)
            )

    def find(self, text: str, problems: list[str]) -> str:
        if not text or not self.titles:
            return text
        plain = _plain(text)
        exact = [title for title in self.titles if _plain(title) == plain]
        if exact:
            return exact[0]
        near = [title for title in self.titles if plain and (plain in _plain(title) or _plain(title) in plain)]
        if len(near) == 1:
            return near[0]
        known = "；".join(f"“{title}”" for title in self.titles)
        problems.append(f"类别“{text}”不是本轮巡察的监督重点，应为：{known}")
        return text


def _text(row: Row, column: str, field_name: str, problems: list[str]) -> str:
    text = row[column]
    limit = _max_length(RectificationItem, field_name)
    if limit and len(text) > limit:
        problems.append(f"{column}超过 {limit} 个字")
    return text


def _number(row: Row, first_row: dict[int, int], problems: list[str]) -> int | None:
    text = unicodedata.normalize("NFKC", row["序号"]).strip().rstrip("、.")
    if not text:
        problems.append("序号不能为空")
        return None
    if not text.isdecimal() or len(text) > 10 or not 0 < int(text) <= _MAX_NUMBER:
        problems.append(f"序号“{row['序号']}”不是正整数")
        return None
    number = int(text)
    if number in first_row:
        problems.append(f"序号 {number} 与第 {first_row[number]} 行重复")
        return None
    first_row[number] = row.number
    return number


def _plan_rows(rows: list[Row], header: _Header, feedback_on: datetime.date | None) -> tuple[list[_ItemRow], list[RowWarning]]:
    categories = _Categories(header.round, header.organisation)
    state = _SystemState(header.plan)
    closed = state.closed
    today = timezone.localdate()
    first_row: dict[int, int] = {}
    errors: list[RowError] = []
    warnings: list[RowWarning] = []
    planned = []
    for row in rows:
        problems: list[str] = []
        number = _number(row, first_row, problems)
        title = _text(row, "问题", "title", problems)
        if not title:
            problems.append("问题不能为空")
        category = categories.find(_text(row, "类别", "category", problems), problems)
        subcategory = _text(row, "子类", "subcategory", problems)
        leader = _text(row, "责任领导", "responsible_leader", problems)
        unit = _text(row, "责任单位", "responsible_unit", problems)
        measures = _text(row, MEASURES, "measures", problems) if MEASURES in row.cells else None

        deadline, ongoing, continuing = None, False, False
        deadline_text = _text(row, "整改时限", "deadline_text", problems).strip()
        if re.sub(r"\s+", "", deadline_text) in ONGOING_DEADLINES:
            ongoing = True
        elif re.sub(r"\s+", "", deadline_text) in CONTINUING_DEADLINES:
            continuing = True
        elif deadline_text:
            deadline = parse_deadline(deadline_text)
            if deadline is None:
                problems.append(f"整改时限“{deadline_text}”不是有效日期（如 2024-12-31、2024年12月、2024年12月底前、长期坚持）")
            elif feedback_on and deadline < feedback_on:
                problems.append(f"整改时限 {deadline}（“{deadline_text}”）早于反馈日期 {feedback_on}")
            elif problem := date_problem(deadline, what="整改时限"):
                problems.append(problem.rstrip("。"))

        status_text = re.sub(r"\s+", "", row["状态"])
        status = STATUSES.get(status_text) or STATUS_ALIASES.get(status_text)
        if not status_text:
            if ongoing or continuing:
                status = Status.ONGOING if ongoing else Status.IN_PROGRESS
            else:
                problems.append(f"状态不能为空（{'、'.join(STATUSES)}）")
        elif status is None:
            problems.append(f"状态“{row['状态']}”无效，应为{'、'.join(STATUSES)}之一")

        if status in UNFINISHED and number in closed:
            problems.append(f"序号 {number} 已于系统中销号，不能改为{Status(status).label}")
        closed_on = _closed_on(row, status, feedback_on, today, problems)
        if status and status not in UNFINISHED and number in state.claimed:
            warnings.append(RowWarning(row.number, f"序号 {number} 已在系统中申请销号，等待县委巡察办验收，本次导入不代为销号"))
        elif closed_on and number in state.verified and closed_on != state.closed_on.get(number):
            warnings.append(RowWarning(row.number, f"序号 {number} 已由县委巡察办验收销号，销号日期以系统为准"))
        errors.extend(RowError(row.number, problem) for problem in problems)
        if problems:
            continue
        values = {
            "category": category, "subcategory": subcategory, "title": title, "responsible_leader": leader,
            "responsible_unit": unit, "deadline": deadline, "deadline_text": deadline_text, "status": status,
            "result": row["整改情况"],
            "unfinished_reason": row["未完成原因"], "next_steps": row["下一步措施"], "closed_on": closed_on,
        }
        if measures is not None:
            values["measures"] = measures
        if status in UNFINISHED and not (values["unfinished_reason"] and values["next_steps"]):
            warnings.append(RowWarning(row.number, f"序号 {number} 状态为{Status(status).label}，未填写未完成原因或下一步措施"))
        planned.append(_ItemRow(row.number, number, values))
    if errors:
        raise ImportFailed.for_rows(errors)
    return planned, warnings


def _closed_on(row: Row, status, feedback_on: datetime.date | None, today: datetime.date,
               problems: list[str]) -> datetime.date | None:
    """The 销号日期 cell: a real day, for a finished item only, not after today nor before the feedback."""
    text = row[CLOSED_ON]
    if not text:
        return None
    day = parse_date(text)
    if day is None:
        problems.append(f"销号日期“{text}”不是有效日期（如 2022-06-30、2022年6月30日）")
        return None
    if status in UNFINISHED:
        problems.append(f"状态为{Status(status).label}的事项尚未完成，不能填写销号日期")
    elif day > today:
        problems.append(f"销号日期 {day} 晚于今天")
    elif feedback_on and day < feedback_on:
        problems.append(f"销号日期 {day} 早于反馈日期 {feedback_on}")
    elif problem := date_problem(day, what="销号日期"):
        problems.append(problem.rstrip("。"))
    return day


class _SystemState:
    """What the system knows of an existing plan's items, by 序号: closed ones (and when), those the
    office verified, those whose 销号 the committee claimed in the system and the office has not decided."""

    def __init__(self, plan: RectificationPlan | None):
        self.closed: set[int] = set()
        self.closed_on: dict[int, datetime.date] = {}
        self.verified: set[int] = set()
        self.claimed: set[int] = set()
        if plan is None:
            return
        for number, closed_at in plan.items.filter(closed_at__isnull=False).values_list("number", "closed_at"):
            self.closed.add(number)
            self.closed_on[number] = timezone.localtime(closed_at).date()
        decisions: dict[int, str] = {}
        for number, kind in (ProgressEntry.objects.filter(item__plan=plan, kind__in=("claim", "verified", "returned"))
                             .order_by("created_at", "id").values_list("item__number", "kind")):
            decisions[number] = kind
            if kind == "verified":
                self.verified.add(number)
        self.claimed = {number for number, kind in decisions.items() if kind == "claim" and number not in self.closed}


# --- writing ---------------------------------------------------------------------------------------------


def plan_title(organisation: Region, round: InspectionRound) -> str:
    """As `rectification.handover.plan_title`: the township committee, or the village's party organisation."""
    name = f"中共{organisation.name}委员会" if organisation.tier.key == "township" else f"{organisation.name}党组织"
    return f"{name}关于{round.name}反馈问题的整改方案"


def _round_group(round: InspectionRound | None, organisation: Region) -> InspectionGroup | None:
    """The group of the round that inspected the organisation (its own township's group)."""
    if round is None:
        return None
    return InspectionGroup.objects.filter(round=round, township__path__in=paths_from_root(organisation.path)).first()


def _wanted_header(header: _Header, round: InspectionRound | None) -> dict:
    """The plan header the import sets: what the options say; for a new plan, the round and its group
    fill what the options leave out."""
    wanted: dict = {}
    if header.group_name is not None:
        wanted["group_name"] = header.group_name
    if header.inspected is not None:
        wanted["inspected_from"], wanted["inspected_to"] = header.inspected
    if header.feedback_on is not None:
        wanted["feedback_on"] = header.feedback_on
    if header.plan is None:
        group = _round_group(round, header.organisation)
        wanted.setdefault("group_name", group.published_name if group else "")
        wanted.setdefault("feedback_on", group.feedback_on if group else None)
        if round is not None:
            wanted.setdefault("inspected_from", round.arrival_date)
            wanted.setdefault("inspected_to", round.withdrawal_date)
    return wanted


def _changes(obj, wanted: dict) -> dict:
    return {name: value for name, value in wanted.items() if getattr(obj, name) != value}


def import_rectification(
    path: str | Path,
    *,
    organisation: Region | str,
    round: str,
    group: str | None = None,
    inspected: str | tuple[datetime.date, datetime.date] | None = None,
    feedback_date: str | datetime.date | None = None,
    by=None,
) -> PlanImport:
    """Import the plan of `organisation` for the round named `round` from an `.xlsx` or `.csv` file.

    The round is looked up by name in the organisation's county and created when there is none (its
    term and number read from the name, e.g. 十五届县委第二轮巡察 → 十五届, 2; a name without a number
    takes the next free one; its dates come from `inspected`, which is then required). `group`,
    `inspected` (arrival, withdrawal) and `feedback_date` fill the plan's header; an option left out
    keeps what an existing plan has. Items are matched by 序号; 整改时限 may not precede the feedback date.
    """
    header = _header(organisation, round, group, inspected, feedback_date)
    rows = read_table(path, required=COLUMNS, optional=OPTIONAL_COLUMNS)
    if not rows:
        raise ImportFailed("文件中没有整改事项（第 2 行起为数据行）。")
    wanted_header = _wanted_header(header, header.round)
    feedback_on = wanted_header.get("feedback_on", header.plan.feedback_on if header.plan else None)
    planned, warnings = _plan_rows(rows, header, feedback_on)

    try:
        with transaction.atomic():
            outcome = _write(header, wanted_header, planned, _Actor(by))
    except IntegrityError as exc:  # another import of the same plan or round ran at the same time
        raise ImportFailed("导入失败：该整改方案或巡察轮次正被同时导入，请稍后重试。未导入任何数据。") from exc
    outcome.result.warnings = warnings
    return outcome


class _Actor:
    """Who the writes are made by: the given user, else the system account (taken only when something
    is written, so that a re-import that changes nothing writes nothing at all)."""

    def __init__(self, by):
        self.by = by

    def __call__(self):
        if self.by is None:
            self.by = system_user()
        return self.by


def _at(day: datetime.date) -> datetime.datetime:
    """A 销号日期 as the moment stored: the start of that local day."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _imported_at(items) -> dict[int, datetime.datetime]:
    """When each item was first imported (its rectification_item.import audit entry)."""
    pks = {str(item.pk): item.pk for item in items}
    if not pks:
        return {}
    rows = (AuditEntry.objects.filter(action="rectification_item.import", object_type=RectificationItem._meta.label,
                                      object_id__in=list(pks)).order_by("id").values_list("object_id", "created_at"))
    moments: dict[int, datetime.datetime] = {}
    for object_id, created_at in rows:
        moments.setdefault(pks[object_id], created_at)
    return moments


def _write(header: _Header, wanted_header: dict, planned: list[_ItemRow], actor: _Actor) -> PlanImport:
    round_created = False
    round = header.round
    if round is None:
        arrival, withdrawal = header.inspected
        round = InspectionRound.objects.create(
            county=header.county, term=header.round_term, number=header.round_number, name=header.round_name,
            arrival_date=arrival, withdrawal_date=withdrawal, created_by=actor(),
        )
        audit.record("inspection_round.create", actor=actor(), obj=round, after=audit.snapshot(round, ROUND_FIELDS))
        round_created = True
        wanted_header = _wanted_header(header, round)

    plan, plan_created, plan_updated = header.plan, False, False
    if plan is None:
        plan = RectificationPlan.objects.create(
            organisation=header.organisation, round=round, title=plan_title(header.organisation, round),
            created_by=actor(), **wanted_header,
        )
        audit.record("rectification_plan.import", actor=actor(), obj=plan, after=audit.snapshot(plan, PLAN_FIELDS))
        plan_created = True
    else:
        changes = _changes(plan, wanted_header)
        if changes:
            before = audit.snapshot(plan, list(changes))
            for name, value in changes.items():
                setattr(plan, name, value)
            plan.save(update_fields=list(changes))
            audit.record("rectification_plan.update", actor=actor(), obj=plan, before=before,
                         after=audit.snapshot(plan, list(changes)))
            plan_updated = True

    outcome = PlanImport(plan=plan, round=round, round_created=round_created, plan_created=plan_created,
                         plan_updated=plan_updated)
    result = outcome.result
    items = {item.number: item for item in RectificationItem.objects.filter(plan=plan)} if not plan_created else {}
    state = _SystemState(None if plan_created else plan)
    imported_at = _imported_at(items.values())
    now = timezone.now()
    for entry in planned:
        item = items.get(entry.number)
        closed_on = entry.values.pop("closed_on")
        closing = _at(closed_on) if closed_on else None
        if entry.values["status"] in UNFINISHED or entry.number in state.claimed:
            pass
        elif item is None or item.closed_at is None:
            # 销号 as the import: on the file's 销号日期, else when the item was first imported (an item
            # imported before this rule kept its claim open), else now.
            entry.values["closed_at"] = closing or imported_at.get(item.pk if item else None) or now
        elif closing and entry.number not in state.verified:
            entry.values["closed_at"] = closing  # the file corrects the day of an import's 销号
        if item is None:
            item = RectificationItem.objects.create(plan=plan, number=entry.number, **entry.values)
            audit.record("rectification_item.import", actor=actor(), obj=item, after=audit.snapshot(item, ITEM_FIELDS))
            result.created += 1
            continue
        changes = _changes(item, entry.values)
        if not changes:
            result.unchanged += 1
            continue
        before = audit.snapshot(item, list(changes))
        for name, value in changes.items():
            setattr(item, name, value)
        item.save(update_fields=list(changes))
        audit.record("rectification_item.update", actor=actor(), obj=item, before=before,
                     after=audit.snapshot(item, list(changes)))
        result.updated += 1
    return outcome
