"""Importing a township's patrol catalog, historical village reports and findings.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from governance import audit
from governance.chinese_dates import parse_date, parse_datetime
from governance.input_rules import date_problem
from governance.tabular import ImportFailed, ImportResult, Row, RowError, RowWarning, read_table
from grid.models import PATH_SEPARATOR, Department, Region
from grid.regions import RegionNotFound, find_region, normalise_path

from ..models import CatalogItem, Circular, PatrolCategory, PatrolFinding, PatrolReport, SupervisionGroup
from .findings import lock_township, published_circular_of_month, published_month_refusal
from .scoring import villages_of

CATALOG_COLUMNS = ("编号", "事项", "类别", "牵头部门", "分值", "佐证要求")
REPORT_COLUMNS = ("编号", "村(居)", "目录编号", "发生时间", "地点", "问题描述", "上报日期", "核实结果", "核实日期")
FINDING_COLUMNS = ("编号", "村(居)", "目录编号", "发现日期", "来源", "是否属实", "对应上报编号")
VILLAGE_COLUMN = "村(居)"
VILLAGE_COLUMN_FULL_WIDTH = "村（居）"  # what a Chinese input method types; accepted too

CATALOG_FIELDS = ["township", "code", "name", "category", "lead_department", "points", "evidence_required"]
REPORT_FIELDS = ["township", "village", "number", "item", "occurred_at", "location", "description", "reported_on",
                 "verdict", "verified_on", "points", "registered_at"]
FINDING_FIELDS = ["township", "village", "number", "item", "source", "group", "discovered_on", "is_true",
                  "matched_report", "points", "registered_at"]

VERDICTS: dict[str, str] = {label: value for value, label in PatrolReport.Verdict.choices}
SOURCES: dict[str, str] = {label: value for value, label in PatrolFinding.Source.choices}
TRUTH: dict[str, bool | None] = {"是": True, "属实": True, "否": False, "不属实": False, "": None, "待核实": None}

_MAX_POINTS = Decimal("9999.99")  # CatalogItem.points: max_digits=6, decimal_places=2


def _max_length(model, field_name: str) -> int:
    return model._meta.get_field(field_name).max_length


# --- shared parsing --------------------------------------------------------------------------------


def resolve_township(text: str) -> Region:
    """The township named by `--township`: a name (`太平镇`) or a path (`某县/太平镇`)."""
    try:
        region = find_region(text)
    except RegionNotFound as exc:
        raise ImportFailed(str(exc)) from exc
    if region.tier.key != "township":
        raise ImportFailed(f"“{region.full_path}”是{region.tier.name}，不是乡镇：请填写乡镇名称或路径，如 太平镇。")
    return region


def _read(path: str | Path, columns: Sequence[str]) -> list[Row]:
    """The rows of the file; a header typed `村（居）` (full-width brackets) is read as `村(居)`."""
    try:
        return read_table(path, required=columns)
    except ImportFailed as exc:
        if VILLAGE_COLUMN not in columns or not exc.message.startswith("缺少必需的列"):
            raise
        alternative = [VILLAGE_COLUMN_FULL_WIDTH if column == VILLAGE_COLUMN else column for column in columns]
        try:
            rows = read_table(path, required=alternative)
        except ImportFailed:
            raise exc from None
    for row in rows:
        row.cells[VILLAGE_COLUMN] = row.cells.pop(VILLAGE_COLUMN_FULL_WIDTH, "")
    return rows


def _date_cell(row: Row, column: str, problems: list[str], *, required: bool = True) -> datetime.date | None:
    text = row[column]
    if not text:
        if required:
            problems.append(f"{column}不能为空")
        return None
    day = parse_date(text)
    if day is None:
        problems.append(f"{column}“{text}”不是有效日期（如 2026-01-05）")
    elif day > timezone.localdate():
        problems.append(f"{column}“{text}”晚于今天")
        return None
    elif problem := date_problem(day, what=column):
        problems.append(problem.rstrip("。"))
        return None
    return day


def _text_cell(row: Row, column: str, model, field_name: str, problems: list[str], *, required: bool = True) -> str:
    text = row[column]
    if not text:
        if required:
            problems.append(f"{column}不能为空")
        return ""
    limit = _max_length(model, field_name)
    if limit and len(text) > limit:
        problems.append(f"{column}超过 {limit} 个字")
    return text


def parse_points(text: str) -> Decimal | None:
    """A positive number with at most two decimals (分值), or None."""
    try:
        value = Decimal(text.replace("，", "").replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > _MAX_POINTS or value != value.quantize(Decimal("0.01")):
        return None
    return value.quantize(Decimal("0.01"))


class _NumberCheck:
    """Duplicate 编号 within one file."""

    def __init__(self, model, field_name: str = "number", column: str = "编号"):
        self.first_row: dict[str, int] = {}
        self.limit = _max_length(model, field_name)
        self.column = column

    def check(self, row: Row, problems: list[str]) -> str:
        number = row[self.column]
        if not number:
            problems.append(f"{self.column}不能为空")
            return ""
        if len(number) > self.limit:
            problems.append(f"{self.column}“{number}”超过 {self.limit} 个字符")
            return ""
        if number in self.first_row:
            problems.append(f"{self.column}“{number}”与第 {self.first_row[number]} 行重复")
            return ""
        self.first_row[number] = row.number
        return number


class _Villages:
    """A township's villages by name or by path (`楼星村`, `太平镇/楼星村`, `某县/太平镇/楼星村`)."""

    def __init__(self, township: Region):
        self.township = township
        self.by_path = {village.full_path: village for village in villages_of([township])}

    def find(self, text: str, problems: list[str]) -> Region | None:
        if not text:
            problems.append(f"{VILLAGE_COLUMN}不能为空")
            return None
        path = normalise_path(text)
        township_path = self.township.full_path
        candidates = [path]
        if not path.startswith(township_path + PATH_SEPARATOR):
            candidates.append(township_path + PATH_SEPARATOR + path)
            if path.startswith(self.township.name + PATH_SEPARATOR):
                candidates.append(township_path + PATH_SEPARATOR + path.split(PATH_SEPARATOR, 1)[1])
        for candidate in candidates:
            village = self.by_path.get(candidate)
            if village is not None:
                return village
        problems.append(f"“{text}”不是{self.township.name}的村（居）")
        return None


class _Items:
    def __init__(self, township: Region):
        self.township = township
        self.by_code = {
            item.code: item
            for item in CatalogItem.objects.filter(township=township).select_related("lead_department")
        }

    def find(self, code: str, problems: list[str]) -> CatalogItem | None:
        if not code:
            problems.append("目录编号不能为空")
            return None
        item = self.by_code.get(code)
        if item is None:
            problems.append(f"目录编号“{code}”不在{self.township.name}的巡查目录中")
        return item


def _by_number(queryset, numbers: list[str], chunk: int = 500) -> dict:
    """The records of `queryset` with these numbers, by number (in chunks: SQLite limits query parameters)."""
    wanted = sorted({number for number in numbers if number})
    found = {}
    for start in range(0, len(wanted), chunk):
        found.update((obj.number, obj) for obj in queryset.filter(number__in=wanted[start:start + chunk]))
    return found


def _changes(obj, wanted: dict) -> dict:
    """The fields of `obj` whose value differs from `wanted` (foreign keys compared by id)."""
    changes = {}
    for name, value in wanted.items():
        field = obj._meta.get_field(name)
        if field.is_relation:
            current, compared = getattr(obj, field.attname), getattr(value, "pk", value)
        else:
            current, compared = getattr(obj, name), value
        if current != compared:
            changes[name] = value
    return changes


def _fail_on(errors: list[RowError]) -> None:
    if errors:
        raise ImportFailed.for_rows(errors)


# --- catalog -----------------------------------------------------------------------------------------


@dataclass
class _CatalogRow:
    row: int
    code: str
    name: str
    category_name: str
    lead_department: Department
    points: Decimal
    evidence_required: str


def import_patrol_catalog(path: str | Path, *, township: Region | str, by=None) -> ImportResult:
    """Create or update a township's catalog items from the columns 编号, 事项, 类别, 牵头部门, 分值, 佐证要求.

    `类别` is one of the township's catalog categories; a new name creates the category, led by the row's
    department. `牵头部门` must be a department of the township. An item already in the catalog under the
    same 编号 is updated where the file differs (its reports keep the points they were awarded).
    """
    township = resolve_township(township) if isinstance(township, str) else township
    rows = _read(path, CATALOG_COLUMNS)
    with transaction.atomic():
        planned = _plan_catalog(rows, township)
        return _apply_catalog(planned, township, by=by)


def _plan_catalog(rows: list[Row], township: Region) -> list[_CatalogRow]:
    departments = {department.name: department for department in Department.objects.filter(region=township)}
    numbers = _NumberCheck(CatalogItem, "code")
    category_max = _max_length(PatrolCategory, "name")
    errors: list[RowError] = []
    planned = []
    for row in rows:
        problems: list[str] = []
        code = numbers.check(row, problems)
        name = _text_cell(row, "事项", CatalogItem, "name", problems)
        category_name = row["类别"]
        if not category_name:
            problems.append("类别不能为空")
        elif len(category_name) > category_max:
            problems.append(f"类别超过 {category_max} 个字")
        department = None
        if not row["牵头部门"]:
            problems.append("牵头部门不能为空")
        else:
            department = departments.get(row["牵头部门"])
            if department is None:
                problems.append(f"牵头部门“{row['牵头部门']}”不是{township.name}的部门（请先导入或添加该部门）")
        points = None
        if not row["分值"]:
            problems.append("分值不能为空")
        else:
            points = parse_points(row["分值"])
            if points is None:
                problems.append(f"分值“{row['分值']}”应为大于 0 的数，最多两位小数")
        errors.extend(RowError(row.number, problem) for problem in problems)
        if not problems:
            planned.append(_CatalogRow(row.number, code, name, category_name, department, points, row["佐证要求"]))
    _fail_on(errors)
    return planned


def _apply_catalog(planned: list[_CatalogRow], township: Region, *, by) -> ImportResult:
    result = ImportResult()
    categories = {category.name: category for category in PatrolCategory.objects.filter(township=township)}
    items = {item.code: item for item in CatalogItem.objects.filter(township=township)}
    for entry in planned:
        category = categories.get(entry.category_name)
        if category is None:
            category = PatrolCategory.objects.create(
                township=township, name=entry.category_name, lead_department=entry.lead_department
            )
            audit.record("patrol_category.create", actor=by, obj=category,
                         after=audit.snapshot(category, ["township", "name", "lead_department"]))
            categories[category.name] = category
            result.warnings.append(RowWarning(
                entry.row, f"新建类别“{category.name}”，牵头部门为{entry.lead_department.name}"
            ))
        wanted = {"name": entry.name, "category": category, "lead_department": entry.lead_department,
                  "points": entry.points, "evidence_required": entry.evidence_required}
        item = items.get(entry.code)
        if item is None:
            item = CatalogItem.objects.create(township=township, code=entry.code, **wanted)
            audit.record("catalog_item.create", actor=by, obj=item, after=audit.snapshot(item, CATALOG_FIELDS))
            items[item.code] = item
            result.created += 1
            continue
        changes = _changes(item, wanted)
        if not changes:
            result.unchanged += 1
            continue
        before = audit.snapshot(item, list(changes))
        for name, value in changes.items():
            setattr(item, name, value)
        item.save(update_fields=list(changes))
        audit.record("catalog_item.update", actor=by, obj=item, before=before, after=audit.snapshot(item, list(changes)))
        result.updated += 1
    return result


# --- village reports -----------------------------------------------------------------------------------


def import_patrol_reports(path: str | Path, *, township: Region | str, by=None) -> ImportResult:
    """Create historical village reports from the columns 编号, 村(居), 目录编号, 发生时间, 地点, 问题描述,
    上报日期, 核实结果, 核实日期.

    核实结果 is 属实, 不属实, 重复 or 待核实; a verified report keeps the item's points at the time of import
    (属实) or 0. 核实日期 is required unless 待核实 and may not precede 上报日期; 发生时间 may not follow it.
    """
    township = resolve_township(township) if isinstance(township, str) else township
    rows = _read(path, REPORT_COLUMNS)
    with transaction.atomic():
        lock_township(township)  # as publishing a circular does: an import is in its figures or refused after
        planned = _plan_reports(rows, township)
        return _apply_new(planned, PatrolReport, "patrol_report.import", REPORT_FIELDS, by=by)


def _plan_reports(rows: list[Row], township: Region) -> list[tuple[int, dict, PatrolReport | None]]:
    villages, items, numbers = _Villages(township), _Items(township), _NumberCheck(PatrolReport)
    existing = _by_number(PatrolReport.objects.filter(township=township).select_related("village", "item"),
                          [row["编号"] for row in rows])
    published = _PublishedMonths(township)
    now = timezone.now()
    errors: list[RowError] = []
    planned = []
    for row in rows:
        problems: list[str] = []
        number = numbers.check(row, problems)
        village = villages.find(row[VILLAGE_COLUMN], problems)
        item = items.find(row["目录编号"], problems)
        location = _text_cell(row, "地点", PatrolReport, "location", problems)
        description = _text_cell(row, "问题描述", PatrolReport, "description", problems)
        reported_on = _date_cell(row, "上报日期", problems)
        occurred_at = _occurred_at(row, reported_on, problems)

        verdict_text = row["核实结果"]
        verdict = VERDICTS.get(verdict_text)
        if verdict is None:
            known = "、".join(VERDICTS)
            problems.append(f"核实结果“{verdict_text}”无效，应为{known}之一" if verdict_text else f"核实结果不能为空（{known}）")
        verified_on = None
        if verdict == PatrolReport.Verdict.PENDING:
            if row["核实日期"]:
                problems.append("核实结果为待核实时不应填写核实日期")
        elif verdict is not None:
            verified_on = _date_cell(row, "核实日期", problems)
            if verified_on and reported_on and verified_on < reported_on:
                problems.append(f"核实日期 {verified_on} 早于上报日期 {reported_on}")

        if not problems:
            points = item.points if verdict == PatrolReport.Verdict.TRUE else Decimal(0)
            values = {
                "township": township, "village": village, "number": number, "item": item,
                "occurred_at": occurred_at, "location": location, "description": description,
                "reported_on": reported_on, "verdict": verdict, "verified_on": verified_on, "points": points,
                # Verified and registered (登记备案) are one step of the lead department.
                "registered_at": now if verified_on else None,
            }
            stored = existing.get(number)
            compared = ("village", "item", "occurred_at", "location", "description", "reported_on", "verdict",
                        "verified_on")
            if stored is not None and _changes(stored, {key: values[key] for key in compared}):
                problems.append(f"编号“{number}”已被另一条上报使用（{stored.village.name}，{stored.item.code}，"
                                f"{stored.reported_on} 上报，{stored.get_verdict_display()}）")
            elif stored is None and verdict == PatrolReport.Verdict.TRUE and (circular := published.of(verified_on)):
                # A report verified true earns its points in the month of 核实日期 (scoring): that month stands.
                problems.append(published_month_refusal(circular, verified_on, "导入", "核实属实的上报").rstrip("。"))
            else:
                planned.append((row.number, values, stored))
        errors.extend(RowError(row.number, problem) for problem in problems)
    _fail_on(errors)
    return planned


def _occurred_at(row: Row, reported_on: datetime.date | None, problems: list[str]) -> datetime.datetime | None:
    text = row["发生时间"]
    if not text:
        problems.append("发生时间不能为空")
        return None
    parsed = parse_datetime(text)
    if parsed is None:
        problems.append(f"发生时间“{text}”不是有效的日期或时间（如 2026-01-05 或 2026-01-05 09:30）")
        return None
    moment = timezone.make_aware(parsed[0])
    if reported_on and moment.date() > reported_on:
        problems.append(f"发生时间 {text} 晚于上报日期 {reported_on}")
    return moment


def _apply_new(planned, model, action: str, fields: list[str], *, by) -> ImportResult:
    """Create the rows not yet stored; rows already stored (and equal) stay as they are."""
    result = ImportResult()
    for _row, values, stored in planned:
        if stored is not None:
            result.unchanged += 1
            continue
        obj = model.objects.create(**values)
        audit.record(action, actor=by, obj=obj, after=audit.snapshot(obj, fields))
        result.created += 1
    return result


# --- findings ------------------------------------------------------------------------------------------


class _PublishedMonths:
    """published_circular_of_month for the rows of one import: one query per month met."""

    def __init__(self, township: Region):
        self.township = township
        self.circulars: dict[datetime.date, Circular | None] = {}

    def of(self, day: datetime.date) -> Circular | None:
        month = day.replace(day=1)
        if month not in self.circulars:
            self.circulars[month] = published_circular_of_month(self.township, day)
        return self.circulars[month]


def import_patrol_findings(path: str | Path, *, township: Region | str, by=None) -> ImportResult:
    """Create findings from the columns 编号, 村(居), 目录编号, 发现日期, 来源, 是否属实, 对应上报编号.

    来源 is one of the eleven finders (镇督查组 … 中央); 是否属实 is 是/属实, 否/不属实, or blank (待核实).
    对应上报编号, when given, is a report of the same village and item already in the system. A finding
    keeps the item's points at the time of import and counts as registered (登记备案) from the import on.
    """
    township = resolve_township(township) if isinstance(township, str) else township
    rows = _read(path, FINDING_COLUMNS)
    with transaction.atomic():
        lock_township(township)  # as publishing a circular does: an import is in its figures or refused after
        planned = _plan_findings(rows, township, by=by)
        return _apply_new(planned, PatrolFinding, "patrol_finding.import", FINDING_FIELDS, by=by)


def _plan_findings(rows: list[Row], township: Region, *, by) -> list[tuple[int, dict, PatrolFinding | None]]:
    villages, items, numbers = _Villages(township), _Items(township), _NumberCheck(PatrolFinding)
    existing = _by_number(PatrolFinding.objects.filter(township=township).select_related("village", "item"),
                          [row["编号"] for row in rows])
    reports = _by_number(PatrolReport.objects.filter(township=township).select_related("village", "item"),
                         [row["对应上报编号"] for row in rows])
    group_of_village: dict[int, list[SupervisionGroup]] = {}
    for group in SupervisionGroup.objects.filter(township=township).prefetch_related("villages"):
        for village in group.villages.all():
            group_of_village.setdefault(village.pk, []).append(group)
    published = _PublishedMonths(township)
    now = timezone.now()
    errors: list[RowError] = []
    planned = []
    for row in rows:
        problems: list[str] = []
        number = numbers.check(row, problems)
        village = villages.find(row[VILLAGE_COLUMN], problems)
        item = items.find(row["目录编号"], problems)
        discovered_on = _date_cell(row, "发现日期", problems)

        source_text = row["来源"]
        source = SOURCES.get(source_text)
        if source is None:
            known = "、".join(SOURCES)
            problems.append(f"来源“{source_text}”无效，应为{known}之一" if source_text else f"来源不能为空（{known}）")

        truth_text = row["是否属实"]
        if truth_text not in TRUTH:
            problems.append(f"是否属实“{truth_text}”无效，应为 是、否、属实、不属实，或留空（待核实）")
        is_true = TRUTH.get(truth_text)

        matched = None
        matched_number = row["对应上报编号"]
        if matched_number:
            matched = reports.get(matched_number)
            if matched is None:
                problems.append(f"对应上报编号“{matched_number}”不是{township.name}已有的上报")
            else:
                if village is not None and matched.village_id != village.pk:
                    problems.append(f"对应上报“{matched_number}”是{matched.village.name}的上报，与本行村（居）不符")
                if item is not None and matched.item_id != item.pk:
                    problems.append(f"对应上报“{matched_number}”的目录编号是“{matched.item.code}”，与本行不符")

        if not problems:
            groups = group_of_village.get(village.pk, []) if source == PatrolFinding.Source.TOWNSHIP_GROUP else []
            values = {
                "township": township, "village": village, "number": number, "item": item, "source": source,
                "group": groups[0] if len(groups) == 1 else None, "discovered_on": discovered_on,
                "is_true": is_true, "matched_report": matched, "points": item.points,
                "recorded_by": by, "registered_at": now, "registered_by": by,
            }
            stored = existing.get(number)
            compared = ("village", "item", "source", "discovered_on", "is_true", "matched_report")
            if stored is not None and _changes(stored, {key: values[key] for key in compared}):
                problems.append(f"编号“{number}”已被另一条发现问题使用（{stored.village.name}，{stored.item.code}，"
                                f"{stored.discovered_on} {stored.get_source_display()}发现）")
            elif stored is None and (circular := published.of(discovered_on)):
                # An imported finding counts as registered: it would change a published month's figures.
                problems.append(published_month_refusal(circular, discovered_on, "导入").rstrip("。"))
            else:
                planned.append((row.number, values, stored))
        errors.extend(RowError(row.number, problem) for problem in problems)
    _fail_on(errors)
    return planned
