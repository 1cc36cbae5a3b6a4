"""Who is behind: unchecked villages, departments confirming after the 5th, circulars after the 10th."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grid import services
from inspection.models import (
    CatalogItem,
    Circular,
    DepartmentConfirmation,
    PatrolCategory,
    SupervisionCheck,
    SupervisionGroup,
)
from inspection.patrol import oversight

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = datetime.date(2026, 3, 1)


def at(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def make_item(township, department, code="A01", points="2", active=True):
    category, _ = PatrolCategory.objects.get_or_create(
        township=township, name=f"{department.name}类", defaults={"lead_department": department}
    )
    return CatalogItem.objects.create(township=township, code=code, name=f"事项{code}", category=category,
                                      lead_department=department, points=Decimal(points), is_active=active)


def make_group(township, number, villages):
    group = SupervisionGroup.objects.create(township=township, number=number, name=f"第{number}督查组")
    group.villages.set(villages)
    return group


def check(group, village, date, user):
    return SupervisionCheck.objects.create(group=group, village=village, date=date, recorded_by=user)


def test_deadlines_are_the_5th_and_10th_of_the_next_month():
    assert oversight.confirmation_deadline(MARCH) == datetime.date(2026, 4, 5)
    assert oversight.circular_deadline(datetime.date(2026, 12, 17)) == datetime.date(2027, 1, 10)
    assert oversight.confirmation_deadline(datetime.date(2026, 1, 31)) == datetime.date(2026, 2, 5)


def test_unchecked_villages_are_those_without_a_check_in_the_month(county, personas):
    user = personas["supervision_group"]
    group = make_group(county.taiping, 1, [county.louxing, county.dalou])
    make_group(county.zhaocun, 1, [county.henan])  # another township's group
    check(group, county.louxing, datetime.date(2026, 2, 28), user)  # last month: does not count
    check(group, county.dalou, datetime.date(2026, 3, 31), user)
    assert oversight.unchecked_villages(county.taiping, MARCH) == [county.louxing]
    check(group, county.louxing, datetime.date(2026, 3, 1), user)
    assert oversight.unchecked_villages(county.taiping, datetime.date(2026, 3, 15)) == []
    assert oversight.unchecked_villages(county.taiping, datetime.date(2026, 4, 1)) == [county.louxing, county.dalou]


def test_a_village_in_two_groups_is_listed_once_and_a_village_without_group_not_at_all(county, personas):
    make_group(county.taiping, 1, [county.louxing])
    make_group(county.taiping, 2, [county.louxing])
    assert oversight.unchecked_villages(county.taiping, MARCH) == [county.louxing]
    progress = oversight.unchecked_by_group(county.taiping, MARCH)
    assert [(p.group.number, p.unchecked, p.checked_count) for p in progress] == [
        (1, [county.louxing], 0), (2, [county.louxing], 0)
    ]


def test_unchecked_villages_take_one_query_whatever_the_number_of_villages(county, personas, django_assert_num_queries):
    tier = county.tier("village")
    villages = [services.create_region(parent=county.taiping, name=f"新村{i}", tier=tier) for i in range(8)]
    group = make_group(county.taiping, 1, villages)
    check(group, villages[0], datetime.date(2026, 3, 2), personas["supervision_group"])
    with django_assert_num_queries(1):
        result = oversight.unchecked_villages(county.taiping, MARCH)
    assert len(result) == 7
    with django_assert_num_queries(3):
        oversight.unchecked_by_group(county.taiping, MARCH)


def test_late_departments_unconfirmed_after_the_5th_or_confirmed_late(county, personas):
    user = personas["department"]
    late = services.create_department(name="综治办", region=county.taiping)
    on_time = services.create_department(name="城建办", region=county.taiping)
    inactive_only = services.create_department(name="财政所", region=county.taiping)
    make_item(county.taiping, county.agriculture, "A01")
    make_item(county.taiping, county.agriculture, "A02")  # two items: listed once
    make_item(county.taiping, late, "B01")
    make_item(county.taiping, on_time, "C01")
    make_item(county.taiping, inactive_only, "D01", active=False)

    # On the 5th itself nobody is late yet.
    assert oversight.late_departments(county.taiping, MARCH, today=datetime.date(2026, 4, 5)) == []

    # 23:30 on the 5th in Shanghai is on time (15:30 UTC); 00:10 on the 6th is one day late.
    DepartmentConfirmation.objects.create(township=county.taiping, department=on_time, month=MARCH,
                                          confirmed_at=at(2026, 4, 5, 23, 30), confirmed_by=user)
    DepartmentConfirmation.objects.create(township=county.taiping, department=late, month=MARCH,
                                          confirmed_at=at(2026, 4, 6, 0, 10), confirmed_by=user)
    result = oversight.late_departments(county.taiping, MARCH, today=datetime.date(2026, 4, 8))
    by_name = {entry.department.name: entry for entry in result}
    assert set(by_name) == {"农业农村办", "综治办"}
    assert by_name["农业农村办"].confirmed_at is None and by_name["农业农村办"].days_late == 3
    assert by_name["综治办"].confirmed_at == at(2026, 4, 6, 0, 10) and by_name["综治办"].days_late == 1

    statuses = {s.department.name: s.status for s in oversight.department_statuses(county.taiping, MARCH,
                                                                                   today=datetime.date(2026, 4, 8))}
    assert statuses == {"农业农村办": "逾期未确认", "综治办": "逾期确认", "城建办": "按时确认"}


def test_late_departments_take_constant_queries(county, personas):
    for i in range(6):
        department = services.create_department(name=f"部门{i}", region=county.taiping)
        make_item(county.taiping, department, f"X{i}")
        if i % 2:
            DepartmentConfirmation.objects.create(township=county.taiping, department=department, month=MARCH,
                                                  confirmed_at=at(2026, 4, 9), confirmed_by=personas["department"])
    with CaptureQueriesContext(connection) as queries:
        result = oversight.late_departments(county.taiping, MARCH, today=datetime.date(2026, 4, 10))
    assert len(result) == 6
    assert len(queries) == 2


def test_circular_is_late_after_the_10th(county, personas):
    office = personas["township_office"]
    assert not oversight.circular_is_late(county.taiping, MARCH, today=datetime.date(2026, 4, 10))
    assert oversight.circular_is_late(county.taiping, MARCH, today=datetime.date(2026, 4, 11))
    circular = Circular.objects.create(township=county.taiping, period=Circular.Period.MONTH, period_start=MARCH,
                                       published_at=at(2026, 4, 10, 23, 59), published_by=office)
    assert not oversight.circular_is_late(county.taiping, MARCH, today=datetime.date(2026, 5, 1))
    circular.published_at = at(2026, 4, 12, 9)
    circular.save()
    assert oversight.circular_is_late(county.taiping, MARCH, today=datetime.date(2026, 5, 1))
    assert oversight.circular_days_late(county.taiping, MARCH) == 2
    # A quarterly sheet is not the monthly circular.
    assert oversight.circular_is_late(county.taiping, datetime.date(2026, 4, 1), today=datetime.date(2026, 5, 11))


@pytest.mark.parametrize("today, late", [(datetime.date(2026, 4, 5), False), (datetime.date(2026, 4, 6), True)])
def test_default_today_is_the_local_date(county, personas, monkeypatch, today, late):
    make_item(county.taiping, county.agriculture)
    monkeypatch.setattr(oversight.timezone, "localdate", lambda *args: today)
    assert bool(oversight.late_departments(county.taiping, MARCH)) is late
