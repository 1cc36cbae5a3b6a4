"""Importing the region tree and departments from `.xlsx`/`.csv` files.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from governance.tabular import ImportFailed, ImportResult, Row, RowError, RowWarning, read_table

from . import services
from .models import PATH_SEPARATOR, Department, Region, Tier
from .regions import RegionNotFound, find_region, normalise_path

REGION_COLUMNS = ("路径", "层级")
REGION_OPTIONAL_COLUMNS = ("编码", "户数")
DEPARTMENT_COLUMNS = ("名称", "所属区域")

_MAX_HOUSEHOLDS = 2_147_483_647  # PositiveIntegerField's limit on PostgreSQL


def _field_max_length(model, field_name: str) -> int:
    return model._meta.get_field(field_name).max_length


# --- regions -------------------------------------------------------------------------------------


@dataclass
class _RegionRow:
    row: int
    path: str
    name: str
    parent_path: str | None
    tier: Tier | None
    code: str | None  # None: the cell was blank, keep what an existing region has
    households: int | None  # None: likewise
    existing: Region | None

    def changes(self) -> dict:
        """The fields of an existing region this row changes."""
        region = self.existing
        wanted = {"tier": self.tier, "code": self.code, "households": self.households}
        changes = {}
        for field_name, value in wanted.items():
            if value is None:
                continue
            current = region.tier_id if field_name == "tier" else getattr(region, field_name)
            if (value.pk if field_name == "tier" else value) != current:
                changes[field_name] = value
        return changes


def import_regions(path: str | Path, *, by=None) -> ImportResult:
    """Create or update regions from a sheet with the columns 路径, 层级, 编码, 户数.

    `路径` is the path of names from the root (`某县/太平镇/楼星村/第1网格`); a parent must already exist
    or come on an earlier row. `层级` is a tier's key (`grid`) or name (`网格`). A blank `编码` or `户数`
    leaves an existing region's value as it is. Grid sizes outside the tier's norm come back as warnings.
    """
    rows = read_table(path, required=REGION_COLUMNS, optional=REGION_OPTIONAL_COLUMNS)
    regions = {region.full_path: region for region in Region.objects.select_related("tier")}
    planned = _plan_regions(rows, regions)

    result = ImportResult()
    with transaction.atomic():
        # Parents before children, so each tier check in the services sees the parent as it will end up.
        for item in sorted(planned, key=lambda item: (item.path.count(PATH_SEPARATOR), item.row)):
            try:
                region = _apply_region_row(item, regions, result, by=by)
            except ValidationError as exc:
                raise ImportFailed.for_rows([RowError(item.row, "；".join(exc.messages))]) from exc
            warning = region.household_warning
            if warning:
                result.warnings.append(RowWarning(item.row, f"{item.path}：{warning}"))
    result.warnings.sort(key=lambda warning: warning.row)
    return result


def _apply_region_row(item: _RegionRow, regions: dict[str, Region], result: ImportResult, *, by) -> Region:
    if item.existing is None:
        parent = regions[item.parent_path] if item.parent_path else None
        region = services.create_region(
            parent=parent, name=item.name, tier=item.tier, code=item.code, households=item.households, by=by
        )
        regions[item.path] = region
        result.created += 1
        return region
    changes = item.changes()
    if changes:
        services.update_region(item.existing, by=by, **changes)
        result.updated += 1
    else:
        result.unchanged += 1
    return item.existing


def _plan_regions(rows: list[Row], regions: dict[str, Region]) -> list[_RegionRow]:
    """Check every row against the database and the rest of the file; raise ImportFailed with all bad rows."""
    errors: list[RowError] = []
    tiers = _tier_lookup(Tier.objects.all())
    name_max = _field_max_length(Region, "name")
    path_max = _field_max_length(Region, "full_path")
    code_max = _field_max_length(Region, "code")

    # First pass: paths and tiers, because a row's parent may be checked against any row of the file.
    parsed: list[tuple[Row, list[str], Tier | None]] = []
    first_row_of_path: dict[str, int] = {}
    tier_in_file: dict[str, Tier | None] = {}
    for row in rows:
        parts, problem = _split_path(row["路径"])
        if problem:
            errors.append(RowError(row.number, problem))
            continue
        path = PATH_SEPARATOR.join(parts)
        if path in first_row_of_path:
            errors.append(RowError(row.number, f"路径“{path}”与第 {first_row_of_path[path]} 行重复"))
            continue
        first_row_of_path[path] = row.number
        tier = _resolve_tier(row["层级"], tiers, row.number, errors)
        tier_in_file[path] = tier
        parsed.append((row, parts, tier))

    children_in_db: dict[str, list[Region]] = defaultdict(list)
    for region in regions.values():
        if PATH_SEPARATOR in region.full_path:
            children_in_db[region.full_path.rsplit(PATH_SEPARATOR, 1)[0]].append(region)
    root_names = sorted({path for path in [*regions, *first_row_of_path] if PATH_SEPARATOR not in path})
    codes_in_db = {region.code: region for region in regions.values() if region.code}
    first_row_of_code: dict[str, int] = {}

    planned = []
    for row, parts, tier in parsed:
        path, name = PATH_SEPARATOR.join(parts), parts[-1]
        parent_path = PATH_SEPARATOR.join(parts[:-1]) or None
        existing = regions.get(path)
        problems = []

        if len(name) > name_max:
            problems.append(f"名称“{name}”超过 {name_max} 个字")
        if len(path) > path_max:
            problems.append(f"路径超过 {path_max} 个字")

        households = None
        households_text = row["户数"]
        if households_text:
            # isdecimal() also takes full-width digits (４２０); the length check keeps int() cheap.
            is_count = households_text.isdecimal() and len(households_text) <= 10
            if is_count and int(households_text) <= _MAX_HOUSEHOLDS:
                households = int(households_text)
            else:
                problems.append(f"户数“{households_text}”不是非负整数")

        code = row["编码"] or None
        if code:
            holder = codes_in_db.get(code)
            if len(code) > code_max:
                problems.append(f"编码“{code}”超过 {code_max} 个字符")
            elif code in first_row_of_code:
                problems.append(f"编码“{code}”与第 {first_row_of_code[code]} 行重复")
            elif holder is not None and holder.full_path != path:
                problems.append(f"编码“{code}”已被区域“{holder.full_path}”使用")
            first_row_of_code.setdefault(code, row.number)

        if tier is not None:
            if parent_path is None:
                if tier.depth != 1:
                    top = next((t for t in set(tiers.values()) if t.depth == 1), None)
                    problems.append(f"顶级区域“{path}”的层级必须是“{top or '县'}”，不能是“{tier.name}”")
            else:
                problems.extend(
                    _parent_problems(
                        row.number, path, parent_path, tier,
                        regions, first_row_of_path, tier_in_file, root_names,
                    )
                )
            if existing is not None and tier.pk != existing.tier_id:
                for child in children_in_db[path]:
                    if child.full_path not in first_row_of_path and child.tier.depth <= tier.depth:
                        problems.append(
                            f"层级改为“{tier.name}”后，下级区域“{child.full_path}”（{child.tier.name}）将不低于它"
                        )

        errors.extend(RowError(row.number, problem) for problem in problems)
        if not problems and tier is not None:
            planned.append(_RegionRow(row.number, path, name, parent_path, tier, code, households, existing))

    if errors:
        raise ImportFailed.for_rows(errors)
    return planned


def _parent_problems(
    row_number: int,
    path: str,
    parent_path: str,
    tier: Tier,
    regions: dict[str, Region],
    first_row_of_path: dict[str, int],
    tier_in_file: dict[str, Tier | None],
    root_names: list[str],
) -> list[str]:
    parent_row = first_row_of_path.get(parent_path)
    if parent_path not in regions:
        if parent_row is None:
            hint = ""
            if parent_path.split(PATH_SEPARATOR, 1)[0] not in root_names and root_names:
                hint = f"（路径须从县级区域写起，如“{root_names[0]}{PATH_SEPARATOR}{path}”）"
            return [f"上级区域“{parent_path}”不存在{hint}"]
        if parent_row > row_number:
            return [f"上级区域“{parent_path}”须写在本行之前（现在第 {parent_row} 行）"]
    if parent_row is not None:
        parent_tier = tier_in_file[parent_path]
        if parent_tier is None:  # the parent's own row is bad and already reported
            return []
    else:
        parent_tier = regions[parent_path].tier
    if tier.depth <= parent_tier.depth:
        return [f"“{tier.name}”不能设在“{parent_tier.name}”（{parent_path}）之下"]
    return []


def _split_path(text: str) -> tuple[list[str], str]:
    """The names of a path, or a reason it is not one. Unlike `normalise_path`, an empty name inside the
    path (`太平镇//第1网格`) is a mistake here, not something to skip: the row would land elsewhere."""
    if not text:
        return [], "路径不能为空"
    parts = [part.strip() for part in text.replace("\\", PATH_SEPARATOR).split(PATH_SEPARATOR)]
    while parts and not parts[-1]:
        parts.pop()
    while parts and not parts[0]:
        parts.pop(0)
    if not parts:
        return [], "路径不能为空"
    if not all(parts):
        return [], f"路径“{text}”中有空的名称（连续的“{PATH_SEPARATOR}”）"
    return parts, ""


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("（", "(").replace("）", ")")).lower()


def _tier_lookup(tiers) -> dict[str, Tier]:
    """Tiers by key and by name; `村(社区)` is also found as `村`, `社区` or `村（社区）`."""
    lookup: dict[str, Tier] = {}
    aliases: dict[str, set[Tier]] = defaultdict(set)
    for tier in tiers:
        lookup[_plain(tier.key)] = tier
        lookup[_plain(tier.name)] = tier
        match = re.fullmatch(r"(.+?)\((.+)\)", _plain(tier.name))
        if match:
            for alias in match.groups():
                aliases[alias].add(tier)
    for alias, found in aliases.items():
        if alias not in lookup and len(found) == 1:
            lookup[alias] = found.pop()
    return lookup


def _resolve_tier(text: str, tiers: dict[str, Tier], row_number: int, errors: list[RowError]) -> Tier | None:
    if not text:
        errors.append(RowError(row_number, "层级不能为空"))
        return None
    tier = tiers.get(_plain(text))
    if tier is None:
        known = "、".join(f"{t.name}（{t.key}）" for t in sorted(set(tiers.values()), key=lambda t: t.depth))
        errors.append(RowError(row_number, f"未知层级“{text}”，可用层级：{known}"))
    return tier


# --- departments ---------------------------------------------------------------------------------


def import_departments(path: str | Path, *, by=None) -> ImportResult:
    """Create departments from a sheet with the columns 名称 and 所属区域.

    `所属区域` is a region path, from the root or below it (`太平镇`). A department that already exists
    at that region is left as it is.
    """
    rows = read_table(path, required=DEPARTMENT_COLUMNS)
    errors: list[RowError] = []
    name_max = _field_max_length(Department, "name")
    regions_by_text: dict[str, Region | RegionNotFound] = {}
    first_row_of_pair: dict[tuple[int, str], int] = {}
    planned: list[tuple[int, str, Region]] = []

    for row in rows:
        name, region_text = row["名称"], row["所属区域"]
        problems = []
        if not name:
            problems.append("部门名称不能为空")
        elif len(name) > name_max:
            problems.append(f"部门名称“{name}”超过 {name_max} 个字")
        region = None
        if not region_text:
            problems.append("所属区域不能为空")
        else:
            key = normalise_path(region_text)
            if key not in regions_by_text:
                try:
                    regions_by_text[key] = find_region(key)
                except RegionNotFound as exc:
                    regions_by_text[key] = exc
            found = regions_by_text[key]
            if isinstance(found, RegionNotFound):
                problems.append(str(found).rstrip("。"))
            else:
                region = found
        if not problems:
            pair = (region.pk, name)
            if pair in first_row_of_pair:
                problems.append(f"“{region.full_path}”的部门“{name}”与第 {first_row_of_pair[pair]} 行重复")
            else:
                first_row_of_pair[pair] = row.number
                planned.append((row.number, name, region))
        errors.extend(RowError(row.number, problem) for problem in problems)
    if errors:
        raise ImportFailed.for_rows(errors)

    regions = {region for _, _, region in planned}
    existing = set(Department.objects.filter(region__in=regions).values_list("region_id", "name"))
    result = ImportResult()
    with transaction.atomic():
        for row_number, name, region in planned:
            if (region.pk, name) in existing:
                result.unchanged += 1
                continue
            try:
                services.create_department(name=name, region=region, by=by)
            except ValidationError as exc:
                raise ImportFailed.for_rows([RowError(row_number, "；".join(exc.messages))]) from exc
            result.created += 1
    return result
