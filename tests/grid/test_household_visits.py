"""The household register, door-to-door visits and the visit cadence of grid leaders and members.

Hand-computed case, February 2025 (the default visit rules of migration 0013). 李网格长 holds the grid
leader post of 第1网格 since 2024-12-01. 第1网格's register: A 困难户, B 重点户, C, D 困难户 (in 第1微网格,
under 第1网格); E lives in 第2网格 (not his).
- 网格长每周走访困难户 (A, D): the weeks whose Thursday is in February are Feb 3–9, 10–16, 17–23 and
  Feb 24–Mar 2. A is visited every week; D on Feb 5, Feb 18 and Saturday Mar 1 (the last week's) →
  7 of 8, the week of Feb 10–16 overdue with D missing.
- 网格长每月走访全体住户 (A, B, C, D): A, B (Feb 14), D visited in February, C not (D's Mar 1 visit is
  March's) → 3 of 4, overdue, C missing. A grid member's visit to C does not count for the leader.
Q1 2025 in the staff assessment: 13 weeks × 2 hardship households = 26 owed, 7 done; 3 months × 4 = 12
owed, 4 done (February's 3 and D's Mar 1 for March) → cadence 11 of 38 for the leader's row (网格长).
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from governance.models import Attachment, AuditEntry
from grid import households, services
from grid.models import Household, HouseholdVisit, Role, VisitCadenceRule
from grid.staff_assessment import assess_staff
from tests.conftest import photo

D = datetime.date
FEB, FEB_END = D(2025, 2, 1), D(2025, 2, 28)


def household(region, name, *, hardship=False, key=False, registered=None, left=None):
    return Household.objects.create(region=region, head_name=name, address=f"{name}家", is_hardship=hardship,
                                    is_key=key, registered_on=registered or D(2024, 12, 1), left_on=left)


def visit(user, target, day):
    return HouseholdVisit.objects.create(household=target, visitor=user, date=day, note="走访")


@pytest.fixture
def register(county, personas):
    leader, _ = services.ensure_user("li", password="x", full_name="李网格长")
    services.create_post(user=leader, role=Role.objects.get(key="grid_leader"), region=county.grid1,
                         start_date=D(2024, 12, 1))
    homes = {
        "A": household(county.grid1, "甲", hardship=True),
        "B": household(county.grid1, "乙", key=True),
        "C": household(county.grid1, "丙"),
        "D": household(county.micro1, "丁", hardship=True),
        "E": household(county.grid2, "戊", hardship=True),
    }
    for day in (D(2025, 2, 3), D(2025, 2, 11), D(2025, 2, 19), D(2025, 2, 25)):
        visit(leader, homes["A"], day)
    for day in (D(2025, 2, 5), D(2025, 2, 18), D(2025, 3, 1)):
        visit(leader, homes["D"], day)
    visit(leader, homes["B"], D(2025, 2, 14))
    visit(personas["grid_member"], homes["C"], D(2025, 2, 20))
    return {"leader": leader, **homes}


def tallies(report, name="李网格长"):
    row = next(row for row in report.rows if row.name == name)
    return {tally.rule.name: tally for tally in row.tallies}


def test_a_leaders_february_is_exact(county, register):
    report = households.visit_compliance(scope=county.taiping, start=FEB, end=FEB_END)
    by_rule = tallies(report)
    weekly, monthly = by_rule["网格长每周走访困难户"], by_rule["网格长每月走访全体住户"]
    assert (weekly.done, weekly.due) == (7, 8)
    assert [(r.period.start, [h.head_name for h in r.missing]) for r in weekly.overdue] == [(D(2025, 2, 10), ["丁"])]
    assert (monthly.done, monthly.due) == (3, 4)
    assert [[h.head_name for h in r.missing] for r in monthly.overdue] == [["丙"]]
    assert set(by_rule) == {"网格长每周走访困难户", "网格长每月走访全体住户"}  # the members' rules are not his


def test_the_quarter_feeds_the_leaders_cadence_in_the_staff_assessment(county, register):
    row = next(row for row in assess_staff(scope=county.taiping, year=2025, quarter=1).rows if row.name == "李网格长")
    assert (row.cadence_done, row.cadence_due) == (11, 38)
    assert row.roles == ["网格长"]


def test_a_period_still_running_is_pending_not_overdue(county, personas):
    """Today's week: the leader's one hardship household not yet visited is pending (0 of 1, 1 pending)."""
    today = timezone.localdate()
    household(county.grid1, "甲", hardship=True, registered=today - datetime.timedelta(days=30))
    week = datetime.timedelta(days=7)
    report = households.visit_compliance(scope=personas["grid_leader"], start=today - week, end=today + week)
    weekly = tallies(report, "grid_leader")["网格长每周走访困难户"]
    assert (weekly.done, weekly.due, weekly.pending, weekly.overdue) == (0, 1, 1, [])


def test_registered_and_moved_away_households_are_owed_only_while_in_the_register(county, register):
    """F (困难户) registered Feb 20 is owed from the week of Feb 17–23 on (2 weeks); A moved away Feb 17 is
    owed only for the first two weeks. Weekly: A 2 of 2, D 3 of 4, F 0 of 2 → 5 of 8."""
    Household.objects.filter(pk=register["A"].pk).update(left_on=D(2025, 2, 17))
    household(county.grid1, "己", hardship=True, registered=D(2025, 2, 20))
    weekly = tallies(households.visit_compliance(scope=county.grid1, start=FEB, end=FEB_END))["网格长每周走访困难户"]
    assert (weekly.done, weekly.due) == (5, 8)


def test_a_window_at_the_start_of_the_quarter_and_its_grace(county, register):
    """每季度初 as a rule: key households in the first 10 days of the quarter, 3 days' grace → Jan 1–13.
    B visited Jan 13 counts; visited Jan 14 it would not."""
    rule = VisitCadenceRule.objects.create(name="季度初走访重点户", role=Role.objects.get(key="grid_leader"),
                                           period="quarterly", target="key", window_days=10, grace_days=3)
    assert households.visit_periods(rule, D(2025, 1, 1), D(2025, 3, 31))[0].deadline == D(2025, 1, 13)
    late = visit(register["leader"], register["B"], D(2025, 1, 14))

    def quarter():
        tally = tallies(households.visit_compliance(scope=county.grid1, start=D(2025, 1, 1), end=D(2025, 3, 31)))
        return tally["季度初走访重点户"].done

    assert quarter() == 0
    HouseholdVisit.objects.filter(pk=late.pk).update(date=D(2025, 1, 13))
    assert quarter() == 1


@pytest.mark.parametrize("who, sees_leader", [
    ("township_office", True), ("grid_instructor", True), ("county_office", True),
    ("grid_member", False), ("outsider", False),
])
def test_visit_compliance_is_scoped(county, personas, register, who, sees_leader):
    report = households.visit_compliance(scope=personas[who], start=FEB, end=FEB_END)
    assert ("李网格长" in {row.name for row in report.rows}) is sees_leader


def test_the_compliance_page_shows_the_overdue_visits_to_the_township(client, county, personas, register):
    client.force_login(personas["township_office"])
    page = client.get(reverse("grid:compliance"), {"month": "2025-02"}).content.decode()
    assert "入户走访频次落实" in page and "李网格长" in page and "未走访 1 户" in page and "丙" in page


def test_a_member_records_a_visit_with_a_photo(client, county, personas, register, media_in_tmp):
    member = personas["grid_member"]
    client.force_login(member)
    today = timezone.localdate()
    url = reverse("grid:household_detail", args=[register["C"].pk])
    response = client.post(url, {"action": "visit", "date": today.isoformat(), "note": "老人身体尚可", "photos": photo()})
    assert response.status_code == 302
    saved = HouseholdVisit.objects.get(visitor=member, date=today)
    assert Attachment.objects.filter(owner_id=saved.pk).count() == 1
    assert AuditEntry.objects.filter(action="household.visit").count() == 1
    assert "老人身体尚可" in client.get(url).content.decode()


@pytest.mark.parametrize("day, note, message", [
    (1, "走访", "走访日期不能晚于今天"),
    (0, "  ", "请填写走访情况"),
])
def test_bad_visits_are_refused_and_nothing_is_written(county, personas, register, day, note, message):
    with pytest.raises(households.HouseholdError, match=message):
        households.record_visit(by=personas["grid_member"], household=register["C"],
                                date=timezone.localdate() + datetime.timedelta(days=day), note=note)
    assert not HouseholdVisit.objects.filter(visitor=personas["grid_member"], household=register["C"],
                                             date__gte=D(2025, 3, 1)).exists()


def test_nobody_records_a_visit_outside_their_grid(county, personas, register):
    with pytest.raises(PermissionDenied):
        households.record_visit(by=personas["grid_member"], household=register["E"], date=timezone.localdate(),
                                note="走访")


def test_the_leader_keeps_the_register_and_a_member_may_not(client, county, personas):
    client.force_login(personas["grid_leader"])
    response = client.post(reverse("grid:households"), {
        "region": county.grid1.pk, "head_name": "王五", "address": "3组12号", "is_hardship": "on",
        "registered_on": timezone.localdate().isoformat()})
    assert response.status_code == 302
    assert Household.objects.get(head_name="王五").is_hardship
    again = client.post(reverse("grid:households"), {
        "region": county.grid1.pk, "head_name": "王五", "address": "3组12号", "registered_on": timezone.localdate().isoformat()})
    assert again.status_code == 422 and "已登记" in again.content.decode()
    client.force_login(personas["grid_member"])
    assert client.post(reverse("grid:households"), {"region": county.grid1.pk, "head_name": "赵六",
                                                    "address": "1号"}).status_code == 403
    client.force_login(personas["outsider"])
    assert client.get(reverse("grid:households")).status_code == 403


def test_a_registration_date_in_the_future_is_refused(client, county, personas):
    """Registered tomorrow, a household could never be visited (not before its registration, not after today)."""
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(households.HouseholdError, match="登记日期不能晚于今天"):
        households.add_household(by=personas["grid_leader"], region=county.grid1, head_name="王五",
                                 address="3组12号", registered_on=tomorrow)
    client.force_login(personas["grid_leader"])
    response = client.post(reverse("grid:households"), {
        "region": county.grid1.pk, "head_name": "王五", "address": "3组12号", "registered_on": tomorrow.isoformat()})
    assert response.status_code == 422 and "登记日期不能晚于今天" in response.content.decode()
    assert not Household.objects.filter(head_name="王五").exists()


def test_a_household_of_another_grid_is_not_found(client, county, personas, register):
    client.force_login(personas["grid_leader"])  # 第1网格
    assert client.get(reverse("grid:household_detail", args=[register["E"].pk])).status_code == 404
    assert client.get(reverse("grid:household_detail", args=[register["A"].pk])).status_code == 200


def test_the_leaders_register_page_lists_his_overdue_week(client, county, personas):
    """Registered 40 days ago, 甲 (困难户) visited only in the current week: every earlier week since last
    month's 1st that has ended is overdue with 甲 missing; the current week is done."""
    leader = personas["grid_leader"]
    Role.objects.get(key="grid_leader").posts.filter(user=leader).update(start_date=D(2025, 1, 1))
    today = timezone.localdate()
    home = household(county.grid1, "甲", hardship=True, registered=today - datetime.timedelta(days=40))
    households.record_visit(by=leader, household=home, date=today, note="看望")
    client.force_login(leader)
    page = client.get(reverse("grid:households")).content.decode()
    assert "我的走访任务" in page and "网格长每周走访困难户" in page
    assert "未走访：" in page and "已完成" in page
