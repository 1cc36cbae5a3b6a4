"""SLA deadlines: natural hours, or working days that skip weekends and holidays and count 调休 days."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from workflows.models import Holiday
from workflows.sla import add_working_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.django_db
def test_working_hours_skip_the_weekend():
    # Friday 2026-11-27 10:00 + 24 working hours → Monday 10:00
    assert add_working_hours(at(2026, 11, 27, 10), 24) == at(2026, 11, 30, 10)


@pytest.mark.django_db
def test_working_hours_skip_a_holiday_and_count_a_make_up_day():
    Holiday.objects.create(date=datetime.date(2026, 10, 1), name="国庆节")
    Holiday.objects.create(date=datetime.date(2026, 10, 2), name="国庆节")
    Holiday.objects.create(date=datetime.date(2026, 10, 10), name="调休上班", is_working_day=True)
    # Wednesday 2026-09-30 12:00 + 24 h: Thu/Fri are holidays, Sat/Sun weekend → Monday 10-05 12:00
    assert add_working_hours(at(2026, 9, 30, 12), 24) == at(2026, 10, 5, 12)
    # Friday 10-09 12:00 + 24 h: Saturday 10-10 is a make-up working day
    assert add_working_hours(at(2026, 10, 9, 12), 24) == at(2026, 10, 10, 12)
