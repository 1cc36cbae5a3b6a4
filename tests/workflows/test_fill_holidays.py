"""fill_holidays: the package's official holidays and 调休 workdays come in; dates entered by hand stay."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.models import AuditEntry
from workflows.holiday_calendar import fill_holidays, official_years
from workflows.models import Holiday

pytestmark = pytest.mark.django_db

D = datetime.date


def fill(*args) -> str:
    out = io.StringIO()
    call_command("fill_holidays", *args, stdout=out)
    return out.getvalue()


def test_official_2026_arrangement_fills_holidays_and_weekend_workdays():
    output = fill("--year", "2026")
    assert "2026 年：新增" in output
    calendar = {row.date: row for row in Holiday.objects.all()}
    assert calendar[D(2026, 2, 17)].name == "春节" and not calendar[D(2026, 2, 17)].is_working_day
    assert calendar[D(2026, 10, 1)].name == "国庆节"
    # 调休：Saturday 14 February and Saturday 28 February 2026 are working days.
    assert calendar[D(2026, 2, 14)].is_working_day and calendar[D(2026, 2, 28)].is_working_day
    assert calendar[D(2026, 2, 14)].date.weekday() == 5
    assert all(row.source == Holiday.Source.PACKAGE for row in calendar.values())
    assert AuditEntry.objects.filter(action="holiday.fill").count() == 1


def test_manual_dates_are_kept_and_a_second_run_changes_nothing():
    Holiday.objects.create(date=D(2026, 10, 1), name="县里自定：国庆", source=Holiday.Source.MANUAL)
    Holiday.objects.create(date=D(2026, 7, 1), name="县庆", source=Holiday.Source.MANUAL)
    result = fill_holidays([2026])
    assert D(2026, 10, 1) in result.kept_manual
    assert Holiday.objects.get(date=D(2026, 10, 1)).name == "县里自定：国庆"
    assert Holiday.objects.get(date=D(2026, 7, 1)).name == "县庆"  # not in the package: left alone
    entries = AuditEntry.objects.filter(action="holiday.fill").count()
    again = fill_holidays([2026])
    assert again.changed == 0 and again.unchanged == result.created
    assert AuditEntry.objects.filter(action="holiday.fill").count() == entries


def test_a_date_dropped_from_the_package_is_removed_only_if_it_came_from_it():
    Holiday.objects.create(date=D(2026, 3, 3), name="旧安排", source=Holiday.Source.PACKAGE)
    Holiday.objects.create(date=D(2026, 3, 4), name="手工", source=Holiday.Source.MANUAL)
    Holiday.objects.create(date=D(2026, 2, 17), name="春节（旧）", source=Holiday.Source.PACKAGE)
    result = fill_holidays([2026])
    assert result.deleted == 1 and result.updated == 1
    assert not Holiday.objects.filter(date=D(2026, 3, 3)).exists()
    assert Holiday.objects.filter(date=D(2026, 3, 4)).exists()
    assert Holiday.objects.get(date=D(2026, 2, 17)).name == "春节"


def test_dry_run_writes_nothing():
    assert "试运行" in fill("--year", "2026", "--dry-run")
    assert not Holiday.objects.exists() and not AuditEntry.objects.filter(action="holiday.fill").exists()


def test_a_year_without_an_official_arrangement_is_refused_in_chinese():
    beyond = official_years().stop
    with pytest.raises(CommandError, match=f"没有 {beyond} 年的官方放假安排"):
        fill("--year", str(beyond))
    assert not Holiday.objects.exists()
