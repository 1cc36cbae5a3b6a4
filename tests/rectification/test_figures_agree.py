"""One plan, the same figures everywhere: board, plan list, plan page, home page, item filters, exports,
API and notice — read from the items' facts, with no periodic job run, and moving with the clock."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from config import dashboards
from governance.models import AuditEntry
from inspection.patrol.scoring import decimal_text
from rectification import notices, states
from rectification.imports import import_rectification
from rectification.models import RectificationItem
from tests.api.conftest import api_as

pytestmark = pytest.mark.django_db

D = datetime.date
HEADER = ["序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施"]
# number, status, deadline: a paper plan fed back in 2022, imported years later.
ROWS = [
    ("1", "已整改", "2022年3月底前"),
    ("2", "已整改到位", "2022年6月"),
    ("3", "正在整改中", "2022年12月底前"),  # past its deadline: overdue
    ("4", "已整改到位", "2022年2月"),
    ("5", "长期坚持", "长期坚持"),
    ("6", "已整改", "2022年3月"),
    ("7", "持续整改中", "2022年12月"),  # an unfinished status, past its deadline: overdue
    ("8", "未整改", ""),  # no deadline at all: shown and counted as such
    ("9", "未整改", "2030-12-31"),
]
EXPECTED = {"total": 9, "pending": 2, "in_progress": 2, "done": 4, "fully_done": 2, "ongoing": 1, "awaiting": 0,
            "closed": 5, "overdue": 2, "no_deadline": 1}


@pytest.fixture
def imported(county, tmp_path):
    path = tmp_path / "taiping.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number, status, deadline in ROWS:
            unfinished = status in ("正在整改中", "持续整改中", "未整改")
            writer.writerow([number, "聚焦群众身边腐败问题", "", f"问题{number}", "已落实" if not unfinished else "", status,
                             "张书记", "党政办", deadline, "情况复杂" if unfinished else "", "继续推进" if unfinished else ""])
    return import_rectification(path, organisation="太平镇", round="十五届县委第二轮巡察",
                                inspected="2021-11-01:2021-12-10", feedback_date="2022-01-10").plan


def sheet(response) -> list[list]:
    assert response.status_code == 200
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows()]


def figures_everywhere(plan, office, committee, client) -> dict[str, dict]:
    """What each reading says of the plan: overdue, closed, and the closing rate."""
    seen = {}
    client.force_login(office)
    board = client.get(reverse("rectification:dashboard")).context
    row = next(p for p in board["plans"] if p.pk == plan.pk)
    seen["board"] = {"overdue": board["figures"].overdue, "closed": board["figures"].closed,
                     "plan_overdue": row.overdue_count, "plan_closed": row.closed_count}
    listed = next(p for p in client.get(reverse("rectification:plans")).context["page"] if p.pk == plan.pk)
    seen["plan list"] = {"overdue": listed.overdue_count, "closed": listed.closed_count}
    counts = client.get(reverse("rectification:plan_detail", args=[plan.pk])).context["counts"]
    seen["plan page"] = {"overdue": counts.overdue, "closed": counts.closed}
    filtered = client.get(reverse("rectification:items"), {"overdue": "1"}).context["page"]
    closed = client.get(reverse("rectification:items"), {"status": "closed"}).context["page"]
    seen["item filters"] = {"overdue": len(list(filtered)), "closed": len(list(closed))}
    rows = sheet(client.get(reverse("rectification:item_export")))
    header = rows[0]
    seen["item export"] = {"overdue": sum(1 for r in rows[1:] if r[header.index("逾期")] == "是"),
                           "closed": sum(1 for r in rows[1:] if r[header.index("销号时间")])}
    plan_row = sheet(client.get(reverse("rectification:plan_export")))
    seen["plan export"] = {"overdue": plan_row[1][plan_row[0].index("逾期")],
                           "closed": plan_row[1][plan_row[0].index("已销号")],
                           "rate": plan_row[1][plan_row[0].index("销号率")]}
    home = dashboards.dashboard_for(committee)
    card = next(q for q in home.queues if q.label == "逾期未销号的整改事项")
    chart = next(f for f in home.figures if f.key == "rectification-progress")
    seen["home"] = {"overdue": card.count, "caption": chart.caption}
    api = api_as(office)
    api_plan = api.get(reverse("api:plan_detail", args=[plan.pk])).json()
    api_items = api.get(reverse("api:items"), {"overdue": "1"}).json()
    seen["api"] = {"overdue": api_plan["overdue_count"], "closed": api_plan["closed_count"],
                   "listed": len(api_items["results"]), "rate": api_plan["figures"]["closed_rate"]}
    data = notices.build_notice(plan)
    seen["notice"] = {"overdue": data["counts"]["overdue"], "closed": data["counts"]["closed"],
                      "done": data["counts"]["done"]}
    return seen


def test_an_imported_plan_past_its_deadlines_shows_the_same_figures_everywhere_without_any_job(
        imported, personas, client):
    assert not RectificationItem.objects.filter(is_overdue=True).exists()  # no job ran: the flag is unset
    assert states.figures(imported.items.all()).as_dict() == {
        **EXPECTED, "rectified": 5, "rectified_rate": 55.6, "closed_rate": 55.6}
    seen = figures_everywhere(imported, personas["county_office"], personas["township_committee"], client)
    for reading in ("board", "plan list", "plan page", "item filters", "item export", "api", "notice"):
        assert (seen[reading]["overdue"], seen[reading]["closed"]) == (2, 5), reading
    assert (seen["board"]["plan_overdue"], seen["board"]["plan_closed"]) == (2, 5)
    assert (seen["plan export"]["overdue"], seen["plan export"]["closed"], seen["plan export"]["rate"]) == (2, 5, "55.6%")
    assert seen["api"]["listed"] == 2 and seen["api"]["rate"] == 55.6
    assert seen["home"]["overdue"] == 2
    assert "已整改 4 项，长期坚持 1 项，整改率 55.6%；已销号 5 项，销号率 55.6%；已逾期 2 项；无整改时限 1 项" in seen["home"]["caption"]
    assert seen["notice"]["done"] == 4  # 已整改 on the notice = 已整改 on the chart
    summary = notices.build_notice(imported)["paragraphs"]["summary"]
    assert "巡察反馈的9个问题中，已整改4个，正在整改中2个，需长期坚持1个，尚未整改2个" in summary


def test_import_closes_done_items_as_the_import_and_continuing_items_stay_unfinished(imported):
    items = {item.number: item for item in imported.items.all()}
    assert all(items[n].closed_at is not None for n in (1, 2, 4, 5, 6))
    assert items[7].status == RectificationItem.Status.IN_PROGRESS and items[7].closed_at is None

    entry = AuditEntry.objects.get(action="rectification_item.import", object_id=str(items[2].pk))
    assert entry.after["closed_at"]  # the 销号 is recorded as the import


def test_moving_the_clock_past_a_deadline_makes_the_item_overdue_everywhere(imported, personas, client, monkeypatch):
    item = imported.items.get(number=9)
    real = timezone.localdate
    later = D(2100, 1, 1)
    monkeypatch.setattr(timezone, "localdate", lambda value=None, timezone=None: later if value is None
                        else real(value, timezone))
    assert states.is_overdue(item)
    seen = figures_everywhere(imported, personas["county_office"], personas["township_committee"], client)
    for reading in ("board", "plan list", "plan page", "item filters", "item export", "api", "notice"):
        assert seen[reading]["overdue"] == 3, reading
    assert seen["home"]["overdue"] == 3 and "已逾期 3 项" in seen["home"]["caption"]
    assert not RectificationItem.objects.filter(is_overdue=True).exists()  # still no job ran


def test_an_item_awaiting_verification_or_closed_is_not_overdue():
    today = D(2025, 6, 1)
    item = RectificationItem(status=RectificationItem.Status.IN_PROGRESS, deadline=D(2025, 5, 31))
    assert states.is_overdue(item, today) and states.keys_of(item, today) == ["in_progress", "overdue"]
    item.new_deadline = D(2025, 6, 30)
    assert not states.is_overdue(item, today)  # the new deadline is the one in force
    item.new_deadline, item.status = None, RectificationItem.Status.DONE
    assert not states.is_overdue(item, today) and states.is_awaiting(item)
    item.closed_at = timezone.now()
    assert not states.is_overdue(item, today) and states.phase_label(item) == "已销号"


def test_per_object_rules_and_queryset_rules_agree(imported):
    for today in (D(2022, 1, 1), D(2022, 7, 1), D(2023, 1, 1), D(2100, 1, 1)):
        assert states.figures(imported.items.all(), today) == states.figures_of(imported.items.all(), today), today


def test_the_board_answers_in_a_bounded_number_of_queries(imported, personas, client):
    client.force_login(personas["county_office"])
    client.get(reverse("rectification:dashboard"))
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("rectification:dashboard")).status_code == 200
    assert len(captured.captured_queries) <= 20


def test_an_adjusted_deadline_reads_the_same_on_the_item_list_and_the_plan_page(imported, personas, client):
    item = imported.items.get(number=9)
    item.new_deadline = D(2031, 6, 30)
    item.save(update_fields=["new_deadline"])
    client.force_login(personas["county_office"])
    listed = client.get(reverse("rectification:items")).content.decode()
    page = client.get(reverse("rectification:plan_detail", args=[imported.pk])).content.decode()
    assert "2031-06-30（调整）" in page
    assert "2031-06-30（调整）" in listed


def test_the_admin_plan_list_counts_done_as_every_page_does(imported, client, django_user_model):
    """已整改 in the admin's plan list includes 已整改到位, as the board, the home chart and the notice do."""
    admin = django_user_model.objects.create_superuser("figures-admin", password="x")
    client.force_login(admin)
    response = client.get(reverse("admin:rectification_rectificationplan_changelist"))
    assert response.status_code == 200
    row = next(plan for plan in response.context["cl"].result_list if plan.pk == imported.pk)
    expected = states.figures(imported.items.all()).done
    assert expected == 4 == notices.build_notice(imported)["counts"]["done"]
    assert (row._item_count, row._done_count) == (9, expected)


def test_plans_of_two_townships_at_the_turn_of_the_local_day(county, personas, client, monkeypatch):
    """At 01:00 in Asia/Shanghai (17:00 UTC the day before), every reading takes the local date: an item
    due the UTC day is overdue, one due the local day is not; an extended item, items awaiting verification
    (done or long-term) and an item closed after its deadline are not overdue. Two townships' plans."""
    from rectification.models import RectificationPlan

    # A day ahead of the real one (posts run from the day they were made), at 01:00 local time.
    today = timezone.localdate() + datetime.timedelta(days=40)
    moment = datetime.datetime.combine(today, datetime.time(1, 0), tzinfo=timezone.get_current_timezone())

    def day(offset: int) -> datetime.date:
        return today + datetime.timedelta(days=offset)

    monkeypatch.setattr(timezone, "now", lambda: moment.astimezone(datetime.UTC))
    assert timezone.now().date() == day(-1) and timezone.localdate() == today
    Status = RectificationItem.Status
    office, committee = personas["county_office"], personas["township_committee"]
    taiping = RectificationPlan.objects.create(organisation=county.taiping, title="太平镇整改方案", created_by=office)
    zhaocun = RectificationPlan.objects.create(organisation=county.zhaocun, title="赵村镇整改方案", created_by=office)
    for plan, number, status, deadline, new_deadline, closed_at in (
        (taiping, 1, Status.IN_PROGRESS, day(-1), None, None),  # due the UTC day: overdue locally
        (taiping, 2, Status.PENDING, today, None, None),  # due today: not yet overdue
        (taiping, 3, Status.IN_PROGRESS, day(-30), day(29), None),  # extended
        (taiping, 4, Status.DONE, day(-30), None, None),  # awaiting verification
        (zhaocun, 1, Status.FULLY_DONE, day(-17), None, moment - datetime.timedelta(days=3)),  # closed late
        (zhaocun, 2, Status.ONGOING, day(-32), None, None),  # long-term, awaiting verification
        (zhaocun, 3, Status.PENDING, day(-12), None, None),  # overdue
    ):
        RectificationItem.objects.create(plan=plan, number=number, title=f"问题{number}", status=status,
                                         deadline=deadline, new_deadline=new_deadline, closed_at=closed_at)
    expected = {taiping.pk: (4, 1, 0, 1), zhaocun.pk: (3, 1, 1, 1)}  # total, overdue, closed, awaiting
    for plan in (taiping, zhaocun):
        f = states.figures(plan.items.all())
        assert (f.total, f.overdue, f.closed, f.awaiting) == expected[plan.pk]
        assert notices.build_notice(plan)["counts"]["overdue"] == expected[plan.pk][1]

    client.force_login(office)
    response = client.get(reverse("rectification:dashboard"))
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    board = response.context
    assert (board["figures"].total, board["figures"].overdue, board["figures"].closed, board["figures"].awaiting) == (7, 2, 1, 2)
    assert {p.pk: (p.item_count, p.overdue_count, p.closed_count, p.awaiting_count) for p in board["plans"]} == expected
    assert sorted((i.plan_id, i.number) for i in board["overdue"]) == [(taiping.pk, 1), (zhaocun.pk, 3)]
    listed = {p.pk: (p.item_count, p.overdue_count, p.closed_count, p.awaiting_count)
              for p in client.get(reverse("rectification:plans")).context["page"]}
    assert listed == expected
    for plan in (taiping, zhaocun):
        counts = client.get(reverse("rectification:plan_detail", args=[plan.pk])).context["counts"]
        assert (counts.total, counts.overdue, counts.closed, counts.awaiting) == expected[plan.pk]
    overdue = client.get(reverse("rectification:items"), {"overdue": "1"}).context["page"]
    assert sorted((i.plan_id, i.number) for i in overdue) == [(taiping.pk, 1), (zhaocun.pk, 3)]
    rows = sheet(client.get(reverse("rectification:item_export")))
    assert sum(1 for r in rows[1:] if r[rows[0].index("逾期")] == "是") == 2
    plan_rows = sheet(client.get(reverse("rectification:plan_export")))
    column = plan_rows[0].index
    assert sorted((r[column("事项")], r[column("逾期")], r[column("已销号")]) for r in plan_rows[1:]) == [(3, 1, 1), (4, 1, 0)]
    api = api_as(office)
    for plan in (taiping, zhaocun):
        answer = api.get(reverse("api:plan_detail", args=[plan.pk])).json()
        assert (answer["overdue_count"], answer["closed_count"], answer["figures"]["awaiting"]) == expected[plan.pk][1:]
    assert len(api.get(reverse("api:items"), {"overdue": "1"}).json()["results"]) == 2
    card = next(q for q in dashboards.dashboard_for(office).queues if q.label == "逾期未销号的整改事项")
    assert card.count == 2
    mine = next(q for q in dashboards.dashboard_for(committee).queues if q.label == "逾期未销号的整改事项")
    assert mine.count == 1  # the committee of 太平镇: its own plan only


def test_rates_are_rounded_half_up_as_the_patrol_averages_are():
    """四舍五入 everywhere a figure is shown: 1 of 16 is 6.3% (binary rounding gave 6.2%), 1 of 8 is 12.5%,
    and the township's mean score 60.125 is 60.13 like a quarter's mean."""
    assert (states.rate(1, 16), states.percent(states.rate(1, 16))) == (6.3, "6.3%")
    assert (states.rate(1, 8), states.rate(2, 3), states.rate(0, 5), states.rate(3, 0)) == (12.5, 66.7, 0.0, None)
    assert (decimal_text(Decimal("60.125")), decimal_text(Decimal("63.5"))) == ("60.13", "63.50")
