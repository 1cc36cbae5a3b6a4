"""The rectification lists' filters, search, orders and exports: 整改方案, 整改事项 and the public notices.

Every export is checked to hold exactly the rows of its list under the same query string, in the same
order, to be scoped like the list, refused to users without the view permission, and audited.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import AuditEntry
from grid import services as grid_services
from grid.models import Role
from rectification import views
from rectification.models import ProgressNotice, RectificationItem, RectificationPlan
from tests.inspection.test_round_reports import make_round

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
Status = RectificationItem.Status


def committee_at(region, username):
    user, _ = grid_services.ensure_user(username, password="Test@2026pw")
    grid_services.create_post(user=user, role=Role.objects.get(key="township_committee"), region=region)
    return user


@pytest.fixture
def ledger(county, personas):
    """Plans of 太平镇 and 楼星村 (round 1) and of 赵村镇 (round 2), with four items:

    tp1 pending, due in 30 days · tp2 closed, due in 5 · lx1 in progress and overdue, its new deadline passed yesterday
    · zc1 pending, due tomorrow."""
    office, today = personas["county_office"], timezone.localdate()
    first, second = make_round(county, office), make_round(county, office)

    def plan(region, round_, title, feedback_days_ago):
        return RectificationPlan.objects.create(organisation=region, round=round_, title=title, created_by=office,
                                                feedback_on=today - feedback_days_ago * DAY, document_number="〇〇委〔2026〕9号")

    tp = plan(county.taiping, first, "太平镇党委巡察整改方案", 20)
    lx = plan(county.louxing, first, "楼星村党支部巡察整改方案", 10)
    zc = plan(county.zhaocun, second, "赵村镇党委巡察整改方案", 30)

    def item(plan_, number, title, status, deadline_days, **extra):
        return RectificationItem.objects.create(plan=plan_, number=number, title=title, status=status,
                                                deadline=today + deadline_days * DAY, category="三个聚焦", **extra)

    items = {
        "tp1": item(tp, 1, "防返贫监测不及时", Status.PENDING, 30, responsible_unit="党政办", responsible_leader="张书记"),
        "tp2": item(tp, 2, "三重一大执行不严", Status.FULLY_DONE, 5, closed_at=timezone.now(), result="已建立议事规则"),
        "lx1": item(lx, 1, "党费收缴不规范", Status.IN_PROGRESS, -3, new_deadline=today - DAY),
        "zc1": item(zc, 1, "集体资产台账不全", Status.PENDING, 1),
        "zc2": item(zc, 2, "村务公开不及时", Status.FULLY_DONE, 60, closed_at=timezone.now()),  # closed at its import
    }
    return {"plans": {"tp": tp, "lx": lx, "zc": zc}, "rounds": (first, second), "items": items}


def listed(client, url_name, **query) -> list:
    response = client.get(reverse(url_name), query)
    assert response.status_code == 200
    return list(response.context["page"])


def item_names(ledger, rows) -> list[str]:
    by_pk = {item.pk: name for name, item in ledger["items"].items()}
    return [by_pk[row.pk] for row in rows]


def sheet_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


# ---------------------------------------------------------------- 整改事项


def test_item_orders_change_the_order_of_the_rows(client, ledger, personas):
    client.force_login(personas["county_office"])
    assert item_names(ledger, listed(client, "rectification:items")) == ["tp1", "tp2", "lx1", "zc1", "zc2"]
    assert item_names(ledger, listed(client, "rectification:items", sort="deadline")) == ["lx1", "zc1", "tp2", "tp1",
                                                                                          "zc2"]
    assert item_names(ledger, listed(client, "rectification:items", sort="progress")) == ["tp1", "zc1", "lx1", "tp2",
                                                                                          "zc2"]
    assert item_names(ledger, listed(client, "rectification:items", sort="newest")) == ["zc2", "zc1", "lx1", "tp2",
                                                                                        "tp1"]


@pytest.mark.parametrize(("query", "expected"), [
    ({"plan": "lx"}, ["lx1"]),
    ({"organisation": "taiping"}, ["tp1", "tp2", "lx1"]),  # a township includes its villages
    ({"organisation": "louxing"}, ["lx1"]),
    ({"status": "open"}, ["tp1", "lx1", "zc1"]),
    ({"status": Status.FULLY_DONE}, ["tp2", "zc2"]),
    ({"overdue": "on"}, ["lx1"]),
    ({"q": "党政办"}, ["tp1"]),  # the responsible unit
    ({"q": "党费 收缴"}, ["lx1"]),  # every word
    ({"q": "三个聚焦 台账"}, ["zc1"]),  # category and title
])
def test_item_filters_and_search_narrow_the_rows(client, ledger, personas, county, query, expected):
    if "plan" in query:
        query["plan"] = ledger["plans"][query["plan"]].pk
    if "organisation" in query:
        query["organisation"] = getattr(county, query["organisation"]).path
    client.force_login(personas["county_office"])
    assert item_names(ledger, listed(client, "rectification:items", **query)) == expected


def test_item_filter_bad_values_are_errors_on_the_page_not_500(client, ledger, personas):
    client.force_login(personas["county_office"])
    response = client.get(reverse("rectification:items"), {"plan": "99999", "status": "bogus", "sort": "x", "q": "党费"})
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()
    assert item_names(ledger, response.context["page"]) == ["lx1"]  # the valid search still applies


def test_item_filter_choices_are_only_what_the_user_may_see(client, ledger, personas, county):
    client.force_login(personas["township_committee"])  # 太平镇
    form = client.get(reverse("rectification:items")).context["form"]
    assert {label for _value, label in form.fields["plan"].choices} == {"全部", "太平镇党委巡察整改方案", "楼星村党支部巡察整改方案"}
    assert dict(form.fields["organisation"].choices) == {"": "全部", county.taiping.path: "太平镇",
                                                         county.louxing.path: "太平镇/楼星村"}
    # 赵村镇's plan is not a valid choice for 太平镇: the filter is refused and shows nothing of it
    response = client.get(reverse("rectification:items"), {"plan": ledger["plans"]["zc"].pk})
    assert "选择一个有效的选项" in response.content.decode()
    assert "zc1" not in item_names(ledger, response.context["page"])


def test_item_export_is_the_list_under_the_same_query_in_the_same_order(client, ledger, personas, county):
    client.force_login(personas["county_office"])
    query = {"organisation": county.taiping.path, "sort": "deadline"}
    shown = item_names(ledger, listed(client, "rectification:items", **query))
    rows = sheet_rows(client.get(reverse("rectification:item_export"), query))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["整改党组织", "巡察轮次", "序号", "类别", "子类", "问题"]
    titles = [row[header.index("问题")] for row in body]
    assert titles == [ledger["items"][name].title for name in shown] == ["党费收缴不规范", "三重一大执行不严", "防返贫监测不及时"]
    lx1 = body[0]
    assert lx1[header.index("整改党组织")] == "太平镇/楼星村"
    assert lx1[header.index("整改时限")] == f"{timezone.localdate() - DAY:%Y-%m-%d}"  # the new deadline
    assert lx1[header.index("状态")] == "正在整改中" and lx1[header.index("逾期")] == "是"
    assert body[1][header.index("整改情况")] == "已建立议事规则" and body[1][header.index("销号时间")]
    entry = AuditEntry.objects.get(action="rectification.item.export")
    assert entry.actor == personas["county_office"] and entry.after["rows"] == 3
    assert "sort=deadline" in entry.after["query"]


def test_item_export_takes_every_page(client, ledger, personas, monkeypatch):

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client.force_login(personas["county_office"])
    assert len(listed(client, "rectification:items")) == 2
    rows = sheet_rows(client.get(reverse("rectification:item_export")))
    assert len(rows) == 1 + 5


def test_item_export_is_scoped_like_the_list(client, ledger, personas, county):
    client.force_login(committee_at(county.zhaocun, "zhaocun_committee"))
    rows = sheet_rows(client.get(reverse("rectification:item_export")))
    assert [row[5] for row in rows[1:]] == ["集体资产台账不全", "村务公开不及时"]
    # naming 太平镇 in the query string gives nothing of it
    rows = sheet_rows(client.get(reverse("rectification:item_export"), {"organisation": county.taiping.path}))
    assert "防返贫监测不及时" not in [row[5] for row in rows[1:]]

    client.force_login(personas["township_committee"])
    titles = [row[5] for row in sheet_rows(client.get(reverse("rectification:item_export")))[1:]]
    assert "集体资产台账不全" not in titles and "防返贫监测不及时" in titles

    client.force_login(personas["grid_member"])
    assert client.get(reverse("rectification:item_export")).status_code == 403
    client.logout()
    assert client.get(reverse("rectification:item_export")).status_code == 302
    assert AuditEntry.objects.filter(action="rectification.item.export").count() == 3


# ---------------------------------------------------------------- 整改方案


def plan_names(ledger, rows) -> list[str]:
    by_pk = {plan.pk: name for name, plan in ledger["plans"].items()}
    return [by_pk[row.pk] for row in rows]


def test_plan_orders_filters_and_search(client, ledger, personas, county):
    client.force_login(personas["county_office"])
    assert plan_names(ledger, listed(client, "rectification:plans")) == ["tp", "lx", "zc"]
    assert plan_names(ledger, listed(client, "rectification:plans", sort="overdue")) == ["lx", "tp", "zc"]
    assert plan_names(ledger, listed(client, "rectification:plans", sort="feedback")) == ["lx", "tp", "zc"]
    assert plan_names(ledger, listed(client, "rectification:plans", sort="newest")) == ["zc", "lx", "tp"]
    first, second = ledger["rounds"]
    assert plan_names(ledger, listed(client, "rectification:plans", round=first.pk)) == ["tp", "lx"]
    assert plan_names(ledger, listed(client, "rectification:plans", round=second.pk)) == ["zc"]
    assert plan_names(ledger, listed(client, "rectification:plans", organisation=county.taiping.path)) == ["tp", "lx"]
    assert plan_names(ledger, listed(client, "rectification:plans", q="楼星")) == ["lx"]
    response = client.get(reverse("rectification:plans"), {"round": "abc"})
    assert response.status_code == 200 and len(response.context["page"]) == 3


def test_plan_export_is_the_list_with_its_counts_and_is_scoped(client, ledger, personas, county):
    client.force_login(personas["county_office"])
    query = {"sort": "overdue"}
    shown = [plan.title for plan in listed(client, "rectification:plans", **query)]
    rows = sheet_rows(client.get(reverse("rectification:plan_export"), query))
    header, body = rows[0], rows[1:]
    assert [row[0] for row in body] == shown
    lx = body[0]
    assert lx[header.index("事项")] == 1 and lx[header.index("销号率")] == "0.0%" and lx[header.index("逾期")] == 1 and lx[header.index("已销号")] == 0
    tp = body[1]
    assert tp[header.index("已销号")] == 1 and tp[header.index("销号率")] == "50.0%"
    assert tp[header.index("反馈日期")] == f"{timezone.localdate() - 20 * DAY:%Y-%m-%d}"
    assert AuditEntry.objects.get(action="rectification.plan.export").after["rows"] == 3

    client.force_login(committee_at(county.zhaocun, "zhaocun_committee"))
    assert [row[0] for row in sheet_rows(client.get(reverse("rectification:plan_export")))[1:]] == ["赵村镇党委巡察整改方案"]
    client.force_login(personas["grid_member"])
    assert client.get(reverse("rectification:plan_export")).status_code == 403


# ---------------------------------------------------------------- public notices


def test_public_list_searches_and_sorts_by_date_and_never_shows_drafts(client, ledger, personas):
    committee, now = personas["township_committee"], timezone.now()

    def notice(plan, title, state, published_days_ago=None):
        return ProgressNotice.objects.create(
            plan=ledger["plans"][plan], version=1, state=state, title=title, content={"title": title},
            published_at=now - published_days_ago * DAY if published_days_ago is not None else None, created_by=committee)

    notice("tp", "太平镇巡察整改进展情况通报", ProgressNotice.State.PUBLISHED, 3)
    notice("zc", "赵村镇巡察整改进展情况通报", ProgressNotice.State.PUBLISHED, 1)
    notice("lx", "楼星村巡察整改进展情况通报草稿", ProgressNotice.State.DRAFT)

    def titles(**query):
        response = client.get(reverse("public_notices:list"), query)
        assert response.status_code == 200
        return [entry["latest"].title for entry in response.context["entries"]]

    assert titles() == ["赵村镇巡察整改进展情况通报", "太平镇巡察整改进展情况通报"]
    assert titles(sort="oldest") == ["太平镇巡察整改进展情况通报", "赵村镇巡察整改进展情况通报"]
    assert titles(q="赵村") == ["赵村镇巡察整改进展情况通报"]
    assert titles(q="楼星") == []  # the draft is never searched
    assert "楼星村" not in client.get(reverse("public_notices:list"), {"q": "通报"}).content.decode()
    assert titles(sort="nonsense") == ["赵村镇巡察整改进展情况通报", "太平镇巡察整改进展情况通报"]
