"""The home dashboard: each role's figures from its own regions only, constant queries, chart downloads."""

import datetime
import itertools
import xml.etree.ElementTree as ET
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config import dashboards, worklist
from governance.charts import Figure, Series, render_svg
from governance.templatetags import governance_ui, zh_format
from grid import event_counts, events, services
from grid.access import read_small_subtrees, region_grants
from grid.event_lists import TASK_ROWS
from grid.models import Event, EventCategory, Role
from inspection.models import CatalogItem, PatrolCategory, PatrolReport
from inspection.patrol import circulars
from rectification.models import RectificationItem, RectificationPlan

_keys = itertools.count()


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()  # the event figures are cached by scope and data version
    yield
    cache.clear()


def fresh(user):
    """The user as a new request would load it: no grants or figures remembered on the object."""
    cache.clear()
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def categories(db):
    safety = EventCategory.objects.create(code="D1", name="安全生产", sort_order=1)
    building = EventCategory.objects.create(code="D2", name="违法建设", sort_order=2)
    return {
        "fire": EventCategory.objects.create(code="D1-1", name="消防隐患", parent=safety),
        "shed": EventCategory.objects.create(code="D2-1", name="乱搭乱建", parent=building),
    }


def add_events(region, category, reporter, count, *, status=Event.Status.HANDLING, overdue=False, days_ago=0):
    """`overdue`: the open step's deadline passed a minute ago (no 督办 scan runs here); else it is a day ahead."""
    when = timezone.now() - datetime.timedelta(days=days_ago)
    due = timezone.now() + (datetime.timedelta(minutes=-1) if overdue else datetime.timedelta(days=1))
    Event.objects.bulk_create([
        Event(reporter=reporter, region=region, handling_region=region, category=category, title="测试事件",
              description="描述", occurred_at=when, created_at=when, idempotency_key=f"k{next(_keys)}", status=status,
              step_due_at=due if status in Event.OPEN_STATUSES else None,
              closed_at=when if status == Event.Status.CLOSED else None)
        for _ in range(count)
    ])
    event_counts.rebuild()  # rows inserted around the services: count them as the load generator does


@pytest.fixture
def world(county, personas, categories):
    """楼星村第1网格 3 (1 closed), 第2网格 1, 大楼村 2 (1 overdue), 赵村镇河南村 4: the last are outsiders' events."""
    member = personas["grid_member"]
    add_events(county.grid1, categories["fire"], member, 2)
    add_events(county.grid1, categories["shed"], member, 1, status=Event.Status.CLOSED)
    add_events(county.grid2, categories["shed"], member, 1, days_ago=40)
    add_events(county.dalou, categories["fire"], member, 1)
    add_events(county.dalou, categories["fire"], member, 1, overdue=True)
    add_events(county.henan, categories["shed"], member, 4, overdue=True)
    return county


def figure(user, key):
    return dashboards.figure_for(user, key)


def totals(fig):
    return dict(zip(fig.labels, [sum(values) for _, values in fig.rows()], strict=True))


def test_township_committee_counts_only_its_townships_events(world, personas):
    user = personas["township_committee"]
    assert figure(user, "events-by-month").total == 6  # 赵村镇's 4 never counted
    by_area = figure(user, "events-by-area")
    assert totals(by_area) == {"楼星村": 4, "大楼村": 2}
    assert by_area.labels == ["楼星村", "大楼村"]  # most events first
    by_category = figure(user, "events-by-category")
    assert totals(by_category) == {"安全生产": 4, "违法建设": 2}
    closed = dict(zip(by_category.labels, next(s for s in by_category.series if s.name == "已办结").values, strict=True))
    assert closed == {"安全生产": 0, "违法建设": 1}


def test_grid_member_sees_own_grid_and_county_office_sees_townships(world, personas):
    assert figure(personas["grid_member"], "events-by-month").total == 3
    county_area = totals(figure(personas["county_office"], "events-by-area"))
    assert county_area == {"太平镇": 6, "赵村镇": 4}
    village = totals(figure(personas["village_cadre"], "events-by-area"))
    assert village == {"第1网格": 3, "第2网格": 1}
    grid = figure(personas["grid_member"], "events-by-area")  # reported on the grid, none on its micro-grid
    assert totals(grid) == {"第1网格本级": 3} and "其余 1 个微网格无事件" in grid.caption


def test_events_by_month_puts_each_event_in_its_month(world, personas):
    fig = figure(personas["township_committee"], "events-by-month")
    per_month = [sum(values) for _, values in fig.rows()]
    assert len(per_month) == 12 and per_month[-1] == 5
    assert sum(per_month) == 6  # the 40-day-old one in an earlier month (or the same, early in a month)


def test_outsider_sees_no_figures_and_no_tasks(world, personas):
    board = dashboards.dashboard_for(personas["outsider"])
    assert board.figures == [] and board.task_count == 0 and board.overdue_events is None
    assert dashboards.figure_for(personas["outsider"], "events-by-month") is None


def test_overdue_counts_are_scoped(world, personas):
    assert dashboards.dashboard_for(personas["township_committee"]).overdue_events == 1
    assert dashboards.dashboard_for(personas["county_office"]).overdue_events == 5
    assert dashboards.dashboard_for(personas["grid_member"]).overdue_events == 0


def test_patrol_ranking_per_tier(world, personas):
    township = figure(personas["township_committee"], "patrol-ranking")
    assert township.kind == "hbar" and [label.split(". ")[1] for label in township.labels] == ["楼星村", "大楼村"]
    assert township.series[0].values == [60.0, 60.0]  # base score, nothing verified this month
    county = figure(personas["county_office"], "patrol-ranking")
    assert {label.split(". ")[1] for label in county.labels} == {"太平镇", "赵村镇"}
    assert figure(personas["grid_member"], "patrol-ranking") is None


def test_the_county_ranking_charts_each_townships_average_as_its_circular_prints_it(world, personas, county):
    """楼星村 61.25 and 大楼村 60: the mean 60.625 is 60.63 on the circular and on the county's chart
    (it was charted as 60.6)."""
    category = PatrolCategory.objects.create(township=county.taiping, name="农业", lead_department=county.agriculture)
    item = CatalogItem.objects.create(township=county.taiping, code="A01", name="秸秆焚烧", category=category,
                                      lead_department=county.agriculture, points=Decimal("1.25"))
    today = timezone.localdate()
    PatrolReport.objects.create(
        township=county.taiping, village=county.louxing, number="R-1", item=item, occurred_at=timezone.now(),
        location="村东头", description="焚烧秸秆", reported_on=today, verdict=PatrolReport.Verdict.TRUE,
        verified_on=today, points=item.points)
    average = circulars.build_month_circular(county.taiping, today.replace(day=1))["totals"]["average"]
    chart = figure(personas["county_office"], "patrol-ranking")
    charted = dict(zip((label.split(". ")[1] for label in chart.labels), chart.series[0].values, strict=True))
    assert (average, charted["太平镇"]) == ("60.63", 60.63)


def test_rectification_progress_per_organisation(world, personas):
    committee = personas["township_committee"]
    Status = RectificationItem.Status
    for organisation, statuses in ((world.taiping, [Status.PENDING, Status.DONE, Status.FULLY_DONE]),
                                   (world.zhaocun, [Status.IN_PROGRESS])):
        plan = RectificationPlan.objects.create(organisation=organisation, title="整改方案", created_by=committee)
        for number, status in enumerate(statuses, start=1):
            RectificationItem.objects.create(plan=plan, number=number, title="问题", status=status)
    county = figure(personas["county_office"], "rectification-progress")
    assert county.labels == ["太平镇", "赵村镇"]
    assert {s.name: s.values for s in county.series} == {
        "未整改": [1, 0], "正在整改中": [0, 1], "已整改": [2, 0], "长期坚持": [0, 0]}
    assert "共 4 项：已整改 2 项，长期坚持 0 项，整改率 50.0%；已销号 0 项，销号率 0.0%；已逾期 0 项" in county.caption
    assert "无整改时限 4 项" in county.caption  # none of them has a deadline: counted, not left out
    assert figure(committee, "rectification-progress").labels == ["太平镇"]
    assert figure(personas["grid_member"], "rectification-progress") is None


def test_dashboard_queries_do_not_grow_with_data(world, personas, categories, django_assert_max_num_queries):
    user = personas["county_office"]
    dashboards.dashboard_for(fresh(user))  # warm Django's own caches (content types)
    user = fresh(user)
    with CaptureQueriesContext(connection) as small:
        dashboards.dashboard_for(user)
    for region in (world.grid1, world.grid2, world.dalou, world.henan, world.micro1):
        add_events(region, categories["fire"], personas["grid_member"], 30, overdue=True)
        add_events(region, categories["shed"], personas["grid_member"], 20, status=Event.Status.CLOSED, days_ago=100)
    user = fresh(user)
    with django_assert_max_num_queries(len(small.captured_queries)):
        board = dashboards.dashboard_for(user)
    assert board.overdue_events == 5 + 150
    assert next(f for f in board.figures if f.key == "events-by-month").total == 10 + 250


def test_event_figures_read_the_monthly_counts_and_follow_each_report(world, personas, categories):
    user = fresh(personas["township_committee"])
    with CaptureQueriesContext(connection) as ctx:
        assert figure(user, "events-by-month").total == 6
    assert not any('"grid_event"' in query["sql"] for query in ctx.captured_queries)  # no scan of the events
    events.report_event(by=personas["grid_member"], region=world.grid1, category=categories["fire"],
                        title="新上报", description="描述", occurred_at=timezone.now(), idempotency_key="follow-1")
    user = fresh(user)
    assert figure(user, "events-by-month").total == 7  # at once: the report counted itself
    assert event_counts.differences() == []


def test_my_tasks_queries_do_not_grow_with_tasks(world, personas, categories, django_assert_max_num_queries):
    leader = personas["grid_leader"]  # grid1's open events wait for the grid leader's triage
    dashboards.dashboard_for(fresh(leader))
    leader = fresh(leader)
    with CaptureQueriesContext(connection) as small:
        board = dashboards.dashboard_for(leader)
    assert board.task_count == 2
    add_events(world.grid1, categories["fire"], personas["grid_member"], 40, overdue=True)
    leader = fresh(leader)
    with django_assert_max_num_queries(len(small.captured_queries)):
        board = dashboards.dashboard_for(leader)
    assert board.task_count == 42 and board.overdue_tasks == 40 and len(board.tasks) == TASK_ROWS
    assert all(row.event.is_overdue for row in board.tasks)  # overdue first


@pytest.mark.parametrize("role", ["grid_member", "grid_leader", "village_cadre", "township_office", "department",
                                  "township_committee", "county_office", "inspection_group", "leading_group", "outsider"])
def test_home_page_renders_for_every_role(client, world, personas, role):
    client.force_login(personas[role])
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "您好" in page and "<svg" in page if role != "outsider" and role != "inspection_group" else True
    if role in ("township_committee", "county_office"):
        assert "下载 PNG" in page and "governance/charts.js" in page
        assert reverse("dashboard_chart_svg", args=["events-by-month"]) in page


def test_home_page_shows_my_tasks_with_deadline(client, world, personas):
    client.force_login(personas["grid_leader"])
    page = client.get("/").content.decode()
    assert "我的待办" in page and "测试事件" in page
    task_table = page.split("gv-dash-tasks", 1)[1].split("</table>", 1)[0]
    assert '<td data-label="环节">网格处置</td>' in task_table and '<td data-label="发生区域">第1网格</td>' in task_table
    world.grid1.name = "第一网格"  # the rows' regions come from the process's kept regions: a rename shows
    world.grid1.save(update_fields=["name"])
    assert '<td data-label="发生区域">第一网格</td>' in client.get("/").content.decode()


def test_this_weeks_deadlines_give_an_events_time_left_as_my_tasks_do(client, world, personas):
    """An event step due in 2 days 23 hours: the week's deadlines and my tasks on the same page both say
    剩 2 天 (time left, not calendar days, which would say 3)."""
    event = Event.objects.filter(region=world.grid1, status=Event.Status.HANDLING).order_by("id").first()
    Event.objects.filter(pk=event.pk).update(step_due_at=timezone.now() + datetime.timedelta(days=2, hours=23, minutes=50))
    client.force_login(personas["grid_leader"])
    page = client.get("/").content.decode()
    deadlines = page.split('id="deadlines"', 1)[1].split("</section>", 1)[0]
    row = deadlines.split(f"#{event.pk} ", 1)[1].split("</tr>", 1)[0]
    assert "剩 2 天" in row and "剩 3 天" not in page


def test_svg_download(client, world, personas):
    client.force_login(personas["township_committee"])
    response = client.get(reverse("dashboard_chart_svg", args=["events-by-area"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    disposition = unquote(response["Content-Disposition"])
    assert disposition.startswith("attachment;") and disposition.endswith(".svg") and "太平镇" in disposition
    root = ET.fromstring(response.content)  # well-formed XML
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "楼星村" in texts and "大楼村" in texts and "赵村镇" not in "".join(filter(None, texts))


def test_svg_download_refused_outside_permissions(client, world, personas):
    client.force_login(personas["outsider"])
    assert client.get(reverse("dashboard_chart_svg", args=["events-by-month"])).status_code == 404
    client.force_login(personas["grid_member"])
    assert client.get(reverse("dashboard_chart_svg", args=["rectification-progress"])).status_code == 404
    assert client.get(reverse("dashboard_chart_svg", args=["no-such-chart"])).status_code == 404
    client.logout()
    assert client.get(reverse("dashboard_chart_svg", args=["events-by-month"])).status_code == 302


def test_png_conversion_script_is_served(client):
    from django.contrib.staticfiles import finders

    path = finders.find("governance/charts.js")
    assert path and "toBlob" in open(path, encoding="utf-8").read()


def test_changes_since_previous_sign_in(client, world, personas, categories):
    user = personas["township_committee"]
    previous = timezone.now() - datetime.timedelta(days=3)
    user.last_login = previous
    user.save(update_fields=["last_login"])
    client.get("/accounts/login/")  # load the URLconf (and with it the sign-in receivers)
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "自上次登录以来" in page and f"上次登录：{zh_format.zh_datetime(previous)}" in page
    board = dashboards.dashboard_for(user, since=timezone.now() - datetime.timedelta(days=3))
    new = next(change for change in board.changes if change.label == "新上报的事件")
    assert new.count == 5  # the 40-day-old event is not new; 赵村镇's are not counted
    closed = next(change for change in board.changes if change.label == "办结的事件")
    assert closed.count == 1
    # 大楼村's event whose deadline passed a minute ago (no scan ran); 赵村镇's are not the committee's
    overdue = next(change for change in board.changes if change.label == "新超期的事件")
    assert overdue.count == 1


def test_a_small_scopes_home_counts_are_read_in_one_pass_and_agree_with_the_indexed_counts(world, personas, categories):
    """With its subtree read (as the access snapshot keeps it), a grid member's overdue, newly overdue, new
    and closed counts come from one aggregate over the grid's events; every role's counts are those of the
    separate indexed counts."""
    member = personas["grid_member"]
    add_events(world.grid1, categories["fire"], member, 2, overdue=True)  # deadlines passed a minute ago
    long_overdue = Event.objects.filter(region=world.grid1, step_due_at__lt=timezone.now()).order_by("pk").first()
    Event.objects.filter(pk=long_overdue.pk).update(step_due_at=timezone.now() - datetime.timedelta(days=10))
    since = timezone.now() - datetime.timedelta(days=3)

    def counts(board):
        return board.overdue_events, {change.label: change.count for change in board.changes}

    for key in ("grid_member", "village_cadre", "township_committee", "county_office"):
        indexed = counts(dashboards.dashboard_for(fresh(personas[key]), since=since))
        user = fresh(personas[key])
        read_small_subtrees(region_grants(user))
        with CaptureQueriesContext(connection) as captured:
            one_pass = counts(dashboards.dashboard_for(user, since=since))
        assert one_pass == indexed, key
        if key == "grid_member":
            assert one_pass[0] == 2 and {label: one_pass[1][label] for label in ("新上报的事件", "办结的事件", "新超期的事件")} == {
                "新上报的事件": 5, "办结的事件": 1, "新超期的事件": 1}
            counted = [q["sql"] for q in captured.captured_queries
                       if q["sql"].startswith("SELECT COUNT(") and 'FROM "grid_event"' in q["sql"]]
            assert len(counted) == 1, counted


def test_first_sign_in_has_no_changes(client, personas):
    user = personas["grid_member"]
    client.get("/accounts/login/")
    client.force_login(user)
    assert client.session[dashboards.SESSION_PREVIOUS_LOGIN] == ""
    page = client.get("/").content.decode()
    assert "欢迎首次登录" in page and "近 7 天动态" in page
    client.force_login(user)  # signing in again: the first sign-in is now the previous one
    assert "自上次登录以来" in client.get("/").content.decode()


def test_chart_svg_escapes_labels_and_draws_every_kind():
    for kind in ("bar", "hbar", "stacked", "line"):
        fig = Figure(key="x", title="<标题>", kind=kind, labels=["a<b", "乙"], series=[Series("系列&", [1, 2.5])])
        root = ET.fromstring(render_svg(fig))
        assert root.tag.endswith("svg")
    with pytest.raises(ValueError):
        Figure(key="x", title="t", kind="pie", labels=[], series=[])
    empty = render_svg(Figure(key="x", title="空", kind="bar", labels=[], series=[]))
    assert "暂无数据" in empty


def test_minute_and_day_print_what_the_date_filter_prints():
    """The lists and the case page print times with `minute` and `day` instead of the date filter: the
    same text, in the site's time zone (a UTC evening is the next morning here), and nothing for None."""
    from django.template import Context, Template

    through_template = Template('{% load zh_format %}{{ value|date:"Y-m-d H:i" }}|{{ value|date:"Y-m-d" }}|{{ value|minute }}|{{ value|day }}')
    utc_evening = datetime.datetime(2026, 11, 27, 20, 5, tzinfo=datetime.UTC)
    early = datetime.datetime(999, 1, 2, 3, 4)  # four-digit years, as the date filter writes them
    for value in (utc_evening, timezone.make_aware(datetime.datetime(2026, 1, 1, 0, 0)), early, None, ""):
        by_date, by_date_day, by_minute, by_day = through_template.render(Context({"value": value})).split("|")
        assert (by_minute, by_day) == (by_date, by_date_day), value
    assert zh_format.minute(utc_evening) == "2026-11-28 04:05"
    assert zh_format.day(datetime.date(2026, 2, 28)) == "2026-02-28"
    # rows written in Python pass the zone read once for the page: the same text
    here = timezone.get_current_timezone()
    assert (zh_format.minute(utc_evening, here), zh_format.day(utc_evening, here)) == ("2026-11-28 04:05", "2026-11-28")
    assert zh_format.minute(utc_evening, datetime.UTC) == "2026-11-27 20:05"


def test_chinese_formats():
    moment = timezone.make_aware(datetime.datetime(2026, 11, 27, 9, 5))
    assert zh_format.zh_date(datetime.date(2026, 11, 27)) == "2026年11月27日"
    assert zh_format.zh_datetime(moment) == "2026年11月27日 09:05"
    assert zh_format.zh_month(datetime.date(2026, 3, 1)) == "2026年3月"
    assert zh_format.zh_count(9876) == "9,876"
    assert zh_format.zh_count(12345) == "1.23万"
    assert zh_format.zh_count(1_000_000) == "100万"
    assert zh_format.zh_count(123_456_789) == "1.23亿"
    assert zh_format.zh_percent(0.875) == "87.5%"
    assert zh_format.zh_percent(None) == "—"
    assert zh_format.zh_date(None) == "—"
    soon = timezone.now() + datetime.timedelta(hours=5, minutes=10)
    assert zh_format.zh_until(soon) == "剩 5 小时"
    assert zh_format.zh_until(timezone.now() - datetime.timedelta(days=3, hours=1)) == "已超期 3 天"


@pytest.mark.parametrize("role,flows", [
    ("grid_member", {"event"}),
    ("county_office", {"event", "patrol-report", "rectification"}),
])
def test_flow_charts_page_shows_the_flows_of_my_posts(client, personas, role, flows):
    client.force_login(personas[role])
    response = client.get(reverse("flow_charts"))
    assert response.status_code == 200
    shown = {flow.key for flow, _svg, _url in response.context["flows"]}
    assert flows <= shown
    if role == "grid_member":
        assert shown == {"event"}


def test_flow_chart_downloads(client, personas):
    client.force_login(personas["township_committee"])
    svg = client.get(reverse("flow_chart_file", args=["rectification", "svg"]))
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
    assert "attachment" in svg["Content-Disposition"]
    ET.fromstring(svg.content)
    bpmn = client.get(reverse("flow_chart_file", args=["rectification", "bpmn"]))
    assert bpmn.status_code == 200 and b"bpmn" in bpmn.content.lower()
    client.force_login(personas["grid_member"])
    assert client.get(reverse("flow_chart_file", args=["rectification", "svg"])).status_code == 403
    client.force_login(personas["outsider"])
    assert client.get(reverse("flow_charts")).status_code == 403


def test_chart_data_table_rows_print_as_the_template_loop_would():
    figure = Figure(key="t", title="t", kind="stacked", labels=["甲<村>", "乙 & 丙", "丁"],
                    series=[Series("未整改", [0, 12_345, 9_999]), Series("平均分", [85.5, -3, 123_456_789])])
    loop = Template("{% load zh_format %}{% for label, values in figure.rows %}<tr><td>{{ label }}</td>"
                    "{% for value in values %}<td>{{ value|zh_count }}</td>{% endfor %}</tr>{% endfor %}")
    assert governance_ui.figure_rows(figure) == loop.render(Context({"figure": figure}))
    assert "<td>甲&lt;村&gt;</td><td>0</td><td>85.5</td>" in governance_ui.figure_rows(figure)


# ---------------------------------------------------------------- the home page's kept event figures


def home_figures(client) -> dict:
    return {fig.key: fig for fig, _svg in client.get("/").context["figures"]}


def reads_the_counts(client) -> bool:
    """Whether the next home page reads the monthly counts (its event figures were not kept)."""
    with CaptureQueriesContext(connection) as ctx:
        client.get("/")
    return any('"grid_eventmonthcount"' in query["sql"] for query in ctx.captured_queries)


def report(member, region, category, key):
    events.report_event(by=member, region=region, category=category, title="新上报", description="描述",
                        occurred_at=timezone.now(), idempotency_key=key)


def test_home_event_figures_are_kept_until_an_event_under_the_user_changes(client, world, personas, categories):
    member = personas["grid_member"]
    elsewhere, _ = services.ensure_user("henan_member", password="Test@2026pw")
    services.create_post(user=elsewhere, role=Role.objects.get(key="grid_member"), region=world.henan)
    client.force_login(member)
    assert home_figures(client)["events-by-month"].total == 3
    assert not reads_the_counts(client)  # kept: nothing under 第1网格 changed
    report(elsewhere, world.henan, categories["fire"], "kept-1")  # another township's event
    assert not reads_the_counts(client)
    report(member, world.grid1, categories["fire"], "kept-2")
    figures = home_figures(client)  # the very next page counts it
    assert figures["events-by-month"].total == 4
    assert totals(figures["events-by-category"]) == {"安全生产": 3, "违法建设": 1}
    add_events(world.micro1, categories["shed"], member, 2)  # written around the services, then rebuilt
    assert home_figures(client)["events-by-month"].total == 6


def test_home_event_figures_follow_a_region_renamed(client, world, personas):
    client.force_login(personas["township_committee"])
    assert home_figures(client)["events-by-area"].labels == ["楼星村", "大楼村"]
    world.louxing.name = "楼星社区"
    world.louxing.save()
    assert home_figures(client)["events-by-area"].labels == ["楼星社区", "大楼村"]


def test_home_event_figures_are_kept_for_each_user_apart(client, world, personas):
    committee, member = personas["township_committee"], personas["grid_member"]
    for _ in range(2):  # the second round from the cache
        client.force_login(committee)
        assert home_figures(client)["events-by-month"].total == 6
        client.force_login(member)
        figures = home_figures(client)
        assert figures["events-by-month"].total == 3 and "第1网格" in figures["events-by-month"].title
        assert "events-by-area" not in figures or "楼星村" not in figures["events-by-area"].labels
        assert not reads_the_counts(client)


def test_home_unread_messages_follow_each_notice_and_each_reading(client, personas):
    from governance.notifications import mark_read, notify

    member = personas["grid_member"]
    client.force_login(member)
    assert "未读消息" not in client.get("/").content.decode()  # none unread: the list is not read
    notify(member, kind="task", title="请核实第1网格的事件")
    notify(personas["grid_leader"], kind="task", title="别人的消息")
    page = client.get("/").content.decode()
    assert "未读消息" in page and "请核实第1网格的事件" in page and "别人的消息" not in page
    mark_read(member)
    assert "请核实第1网格的事件" not in client.get("/").content.decode()


def capabilities_part(client) -> str:
    return client.get("/").content.decode().split("您可以做什么", 1)[1]


def test_home_capabilities_follow_posts_and_region_names(client, world, personas):
    member = personas["grid_member"]
    client.force_login(member)
    assert "范围：某县/太平镇/楼星村/第1网格<" in capabilities_part(client)
    assert "范围：某县/太平镇<" not in capabilities_part(client)  # kept, and still the grid member's own
    client.force_login(personas["township_committee"])  # another user: their own capabilities
    assert "范围：某县/太平镇<" in capabilities_part(client)
    client.force_login(member)
    assert "范围：某县/太平镇<" not in capabilities_part(client)
    services.create_post(user=member, role=Role.objects.get(key="township_office"), region=world.taiping)
    assert "范围：某县/太平镇<" in capabilities_part(client)  # the very next page
    services.update_region(world.grid1, name="第一网格")
    assert "范围：某县/太平镇/楼星村/第一网格<" in capabilities_part(client)


def hello_part(client) -> str:
    return client.get("/").content.decode().split("gv-hello__text", 1)[1].split("</section>", 1)[0]


def test_home_posts_follow_each_post_and_department_change(client, county, personas):
    department_user = personas["department"]
    client.force_login(department_user)
    assert "（农业农村办）" in hello_part(client)
    assert "（农业农村办）" in hello_part(client)  # kept
    client.force_login(personas["grid_member"])  # another user: their own posts
    assert "农业农村办" not in hello_part(client) and "第1网格" in hello_part(client)
    client.force_login(department_user)
    county.agriculture.name = "农业农村局"
    county.agriculture.save()
    assert "（农业农村局）" in hello_part(client)  # the very next page
    services.end_post(department_user.posts.get(), on=timezone.localdate())
    hello = hello_part(client)
    assert "曾任：太平镇·" in hello and "没有任何在任岗位" in hello


def test_home_scope_and_patrol_townships_follow_renamed_regions_and_new_posts(client, world, personas):
    member, county_office = personas["grid_member"], personas["county_office"]
    client.force_login(member)
    assert "辖区：第1网格<" in client.get("/").content.decode()
    assert "辖区：第1网格<" in client.get("/").content.decode()  # kept
    client.force_login(county_office)  # another user: their own scope and townships
    page = client.get("/").content.decode()
    assert "辖区：某县<" in page
    assert [label.split(". ", 1)[1] for label in home_figures(client)["patrol-ranking"].labels] == ["太平镇", "赵村镇"]
    services.update_region(world.taiping, name="太平新镇")
    assert "太平新镇" in {label.split(". ", 1)[1] for label in home_figures(client)["patrol-ranking"].labels}
    client.force_login(member)
    services.create_post(user=member, role=Role.objects.get(key="grid_leader"), region=world.grid2)
    assert "辖区：第1网格、第2网格<" in client.get("/").content.decode()  # the very next page


def test_home_live_figures_follow_the_next_report(client, world, personas, categories):
    leader = personas["grid_leader"]
    client.force_login(leader)
    before = client.get("/").context["dashboard"]
    client.get("/")
    report(personas["grid_member"], world.grid1, categories["fire"], "live-1")
    after = client.get("/").context["dashboard"]  # the very next page
    assert after.task_count == before.task_count + 1
    assert after.overdue_tasks == before.overdue_tasks
    assert any(row.event.title == "新上报" for row in after.tasks)
    assert next(c for c in after.changes if c.label == "新上报的事件").count == \
        next(c for c in before.changes if c.label == "新上报的事件").count + 1


def test_the_home_pages_event_deadlines_are_the_weeks_earliest_task_steps(world, personas, categories):
    """The week's deadlines are taken from the task rows the home page reads anyway (earliest first):
    the same rows, in the same order, as reading them on their own; overdue ones first, none later
    than the week, none without a deadline, at most the list's length."""
    member = personas["grid_member"]
    add_events(world.grid1, categories["fire"], member, 20, status=Event.Status.VERIFYING)  # the reporter verifies
    now = timezone.now()
    offsets = [-72, -1, 2, 30, 100, 150, 160, 170, 200, None, 24 * 8, 24 * 30, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    tasks = list(Event.objects.filter(region=world.grid1, status=Event.Status.VERIFYING).order_by("id"))
    for event, hours in zip(tasks, offsets, strict=False):
        Event.objects.filter(pk=event.pk).update(
            step_due_at=None if hours is None else now + datetime.timedelta(hours=hours))
    read_alone = [d for d in worklist.deadlines_this_week(fresh(member)) if d.kind.startswith("事件")]
    on_home = [d for d in dashboards.dashboard_for(fresh(member)).deadlines if d.kind.startswith("事件")]
    assert [(d.title, d.due_at, d.overdue) for d in on_home] == [(d.title, d.due_at, d.overdue) for d in read_alone]
    assert len(on_home) == worklist.DEADLINE_ROWS > TASK_ROWS
    assert on_home[0].overdue and on_home[1].overdue and not on_home[2].overdue
    week_end = now + datetime.timedelta(days=worklist.WEEK_DAYS + 1)
    assert all(d.due_at is not None and d.due_at < week_end for d in on_home)


def test_the_category_figure_names_a_renamed_category_and_a_leaf_has_no_area_figure(world, personas, categories):
    """The category figure takes names and order from the category catalogue, which follows each change."""
    user = personas["township_committee"]
    assert "安全生产" in totals(figure(user, "events-by-category"))
    safety = categories["fire"].parent
    safety.name = "安全隐患"
    safety.save()
    assert totals(figure(user, "events-by-category")) == {"安全隐患": 3 + 1, "违法建设": 2}
    micro, _ = services.ensure_user("micro_member", password="Test@2026pw")
    services.create_post(user=micro, role=Role.objects.get(key="grid_member"), region=world.micro1)
    assert figure(micro, "events-by-area") is None  # a micro-grid: nothing below it
