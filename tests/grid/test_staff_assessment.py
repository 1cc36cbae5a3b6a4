"""The quarterly and yearly grid staff assessment (网格员考核: 优秀、合格、基本合格、不合格).

Hand-computed case, 2026 Q1 (13 ISO weeks: Thursdays 1/8, 1/8…3/26; 64 weekdays), one cadence rule
(入户走访, weekly, once) and 张网格 posted in 第1网格 since 2025-12-01:
- visits in 10 of the 13 weeks → cadence 10/13;
- 5 events reported in February, 1 rejected → found 4 of 2 × 3 = 6 expected; 3 closed (one sent back
  once at verification) → closed 3/4, first-time 2/3;
- 40 diaries, 32 reviewed → 32/64.
Default weights 40/20/15/15/10: 30.769 + 13.333 + 11.25 + 7.5 + 6.667 = 69.519 → 69.52, 基本合格 (60 ≤ · < 75).
太平镇's own rule 60/10/10/10/10 with 合格 from 70: 46.154 + 6.667 + 7.5 + 5 + 6.667 = 71.987 → 71.99, 合格.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from grid import services
from grid.models import CadenceRule, Event, EventCategory, PatrolLog, Role, StaffAssessmentRule, WorkDiary
from grid.staff_assessment import assess_staff
from workflows.models import Holiday

D = datetime.date


def weekdays_of_q1():
    day = D(2026, 1, 1)
    while day <= D(2026, 3, 31):
        if day.weekday() < 5:
            yield day
        day += datetime.timedelta(days=1)


@pytest.fixture
def zhang(county, personas):
    CadenceRule.objects.update(is_active=False)
    CadenceRule.objects.create(name="入户走访", patrol_kind="visit", period="weekly", times=1)
    user, _ = services.ensure_user("zhang", password="x", full_name="张网格")
    services.create_post(user=user, role=Role.objects.get(key="grid_member"), region=county.grid1,
                         start_date=D(2025, 12, 1))
    thursdays = [D(2026, 1, 1) + datetime.timedelta(days=7 * n) for n in range(13)]
    for day in thursdays[:10]:
        PatrolLog.objects.create(member=user, region=county.grid1, kind="visit", date=day,
                                 started_at=datetime.time(8), ended_at=datetime.time(9))
    category = EventCategory.objects.filter(parent__isnull=False).first()
    created = timezone.make_aware(datetime.datetime(2026, 2, 10, 9))
    statuses = [("closed", 0), ("closed", 0), ("closed", 1), ("handling", 0), ("rejected", 0)]
    for n, (status, returns) in enumerate(statuses):
        Event.objects.create(reporter=user, region=county.grid1, handling_region=county.grid1, category=category,
                             title=f"事件{n}", description="河边垃圾", occurred_at=created, idempotency_key=f"z{n}",
                             status=status, return_count=returns, created_at=created)
    reviewed = timezone.make_aware(datetime.datetime(2026, 4, 1, 9))
    for n, day in enumerate(list(weekdays_of_q1())[:40]):
        WorkDiary.objects.create(author=user, region=county.grid1, date=day, content="走访",
                                 reviewed_at=reviewed if n < 32 else None)
    return user


def row_of(result, name="张网格"):
    return next(row for row in result.rows if row.name == name)


def test_quarter_score_and_grade_by_default_weights(county, zhang):
    row = row_of(assess_staff(scope=county.taiping, year=2026, quarter=1))
    assert (row.cadence_done, row.cadence_due) == (10, 13)
    assert (row.events_found, row.events_closed, row.events_first_time) == (4, 3, 2)
    assert (row.diaries, row.diaries_reviewed, row.diary_days_due) == (40, 32, 64)
    assert str(row.score) == "69.52" and row.grade == "基本合格"


def test_diaries_are_due_on_working_days_of_the_holiday_calendar(county, zhang):
    """New Year's Day and the day after are days off; Sunday 4 January is worked instead (调休上班)."""
    Holiday.objects.create(date=D(2026, 1, 1), name="元旦")
    Holiday.objects.create(date=D(2026, 1, 2), name="元旦")
    Holiday.objects.create(date=D(2026, 1, 4), name="调休上班", is_working_day=True)
    Holiday.objects.create(date=D(2026, 4, 6), name="清明节")  # outside the quarter: no effect
    assert row_of(assess_staff(scope=county.taiping, year=2026, quarter=1)).diary_days_due == 64 - 2 + 1


def test_township_weights_change_the_score_and_grade(county, zhang):
    StaffAssessmentRule.objects.create(region=county.taiping, cadence_weight=60, events_found_weight=10,
                                       events_closed_weight=10, diary_weight=10, verification_weight=10,
                                       qualified_from=70)
    row = row_of(assess_staff(scope=county.taiping, year=2026, quarter=1))
    assert str(row.score) == "71.99" and row.grade == "合格"


def test_weights_must_add_up_to_100(county):
    from django.core.exceptions import ValidationError

    rule = StaffAssessmentRule(region=county.taiping, cadence_weight=50)
    with pytest.raises(ValidationError, match="权重之和应为 100"):
        rule.full_clean()


def test_year_counts_the_months_held(county, zhang):
    row = row_of(assess_staff(scope=county.taiping, year=2026))
    today = timezone.localdate()
    assert row.months_held == (today.month if today.year == 2026 else 12)
    assert row.events_found == 4  # the same events; the year expects 2 a month held


def test_township_office_sees_and_exports_the_table(client, county, personas, zhang):
    client.force_login(personas["township_office"])
    response = client.get(reverse("grid:staff_assessment"), {"period": "2026Q1"})
    html = response.content.decode()
    assert response.status_code == 200 and "张网格" in html and "69.52" in html and "基本合格" in html
    response = client.get(reverse("grid:staff_assessment_export"), {"period": "2026Q1"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [cell.value for cell in sheet[2]]
    assert values[0] == "张网格" and values[-2:] == [69.52, "基本合格"]
    assert client.get(reverse("grid:staff_assessment"), {"period": "2026Q7"}).status_code == 422


def test_the_period_is_chosen_from_quarters_and_years_and_scores_drop_needless_decimals(client, county, personas, zhang):
    client.force_login(personas["township_office"])
    html = client.get(reverse("grid:staff_assessment"), {"period": "2026Q1"}).content.decode()
    assert '<option value="2026Q1" selected>2026年第1季度</option>' in html and "年全年</option>" in html
    assert 'type="text" name="period"' not in html
    assert ".00</td>" not in html and ".00</strong>" not in html


def test_other_township_and_outsiders_do_not_see_the_member(client, county, personas, zhang):
    office, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=office, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    client.force_login(office)
    html = client.get(reverse("grid:staff_assessment"), {"period": "2026Q1"}).content.decode()
    assert "张网格" not in html
    client.force_login(personas["outsider"])
    assert client.get(reverse("grid:staff_assessment")).status_code == 403
    assert client.get(reverse("grid:staff_assessment_export")).status_code == 403


def test_sweep_grace_days_are_the_rules_setting(county):
    """A sweep on 5 January 2025 is 4 days after the 1st: late with the default 3 grace days, in time with 4.
    (The 15th's sweep is not done: 1 of 2 at most.)"""
    from grid import patrols

    CadenceRule.objects.update(is_active=False)
    rule = CadenceRule.objects.create(name="月排查", patrol_kind="sweep", period="semimonthly", times=1)
    user, _ = services.ensure_user("li", password="x", full_name="李网格")
    services.create_post(user=user, role=Role.objects.get(key="grid_member"), region=county.grid1,
                         start_date=D(2024, 12, 1))
    PatrolLog.objects.create(member=user, region=county.grid1, kind="sweep", date=D(2025, 1, 5),
                             started_at=datetime.time(8), ended_at=datetime.time(9))

    def done_due():
        tally = patrols.cadence_compliance(regions_or_user_scope=county.taiping, month=D(2025, 1, 1)).rows[0].tallies[0]
        return tally.done, tally.due

    assert rule.grace_days == 3 and done_due() == (0, 2)
    CadenceRule.objects.filter(pk=rule.pk).update(grace_days=4)
    assert done_due() == (1, 2)
