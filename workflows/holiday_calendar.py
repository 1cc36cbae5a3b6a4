"""Filling the working-day calendar (Holiday) from the `holidays` package's data for mainland China.

Each year the General Office of the State Council publishes the next year's 放假安排 (holidays and the
weekend days worked instead, 调休上班); the package carries them once published. Years for which it
has only estimates are refused, so that a guessed calendar never moves a deadline. Dates entered by
hand (source 手工录入, or changed in the admin) override the package and are never touched here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import holidays
from django.db import transaction
from holidays.countries.china import ChinaStaticHolidays

from governance import audit

from .models import Holiday

NAME_LENGTH = Holiday._meta.get_field("name").max_length
WORKDAY_NAME = "调休上班"


def official_years() -> range:
    """The years the package has the State Council's published arrangement for (its data starts in 2001)."""
    return range(2001, max(ChinaStaticHolidays.special_public_holidays) + 1)


def package_calendar(year: int) -> dict[datetime.date, tuple[str, bool]]:
    """date → (name, is a working day) of one year: the days off, and weekend days worked (调休上班)."""
    days = holidays.China(years=year, language="zh_CN")
    calendar = {day: (name[:NAME_LENGTH], False) for day, name in days.items() if day.year == year}
    for day in days.weekend_workdays:
        if day.year == year:
            calendar[day] = (WORKDAY_NAME, True)
    return calendar


@dataclass
class FillResult:
    years: list[int] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    kept_manual: list[datetime.date] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


class NoOfficialData(ValueError):
    """A year the package has no published arrangement for; the message is in Chinese."""


@transaction.atomic
def fill_holidays(years: list[int], *, by=None, dry_run: bool = False) -> FillResult:
    """Bring the package's dates of `years` into the calendar; manual dates stay as they are.

    A package date that was imported earlier and is no longer in the package (a revised arrangement)
    is deleted. One audit entry per year that changed."""
    official = official_years()
    missing = [year for year in years if year not in official]
    if missing:
        raise NoOfficialData(
            f"holidays 数据包（{holidays.__version__}）没有 {'、'.join(map(str, missing))} 年的官方放假安排"
            f"（有 {official.start}–{official.stop - 1} 年）。国务院办公厅发布次年安排后，升级数据包再运行；"
            "急用时可在后台“节假日”中手工录入。")
    result = FillResult(years=sorted(set(years)))
    for year in result.years:
        wanted = package_calendar(year)
        existing = {row.date: row for row in Holiday.objects.select_for_update().filter(date__year=year)}
        changes = {"created": [], "updated": [], "deleted": []}
        for day, (name, working) in sorted(wanted.items()):
            row = existing.get(day)
            if row is None:
                changes["created"].append(Holiday(date=day, name=name, is_working_day=working,
                                                  source=Holiday.Source.PACKAGE))
            elif row.source == Holiday.Source.MANUAL:
                result.kept_manual.append(day)
            elif (row.name, row.is_working_day) != (name, working):
                row.name, row.is_working_day = name, working
                changes["updated"].append(row)
            else:
                result.unchanged += 1
        changes["deleted"] = [row for day, row in existing.items()
                              if row.source == Holiday.Source.PACKAGE and day not in wanted]
        result.created += len(changes["created"])
        result.updated += len(changes["updated"])
        result.deleted += len(changes["deleted"])
        if dry_run or not any(changes.values()):
            continue
        Holiday.objects.bulk_create(changes["created"])
        Holiday.objects.bulk_update(changes["updated"], ["name", "is_working_day"])
        Holiday.objects.filter(pk__in=[row.pk for row in changes["deleted"]]).delete()
        audit.record("holiday.fill", actor=by, object_repr=f"{year} 年节假日", region_path="", after={
            "year": year, "package": f"holidays {holidays.__version__}",
            **{kind: [str(row.date) for row in rows] for kind, rows in changes.items()},
        })
    if dry_run:
        transaction.set_rollback(True)
    return result
