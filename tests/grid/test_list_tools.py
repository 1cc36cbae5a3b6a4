"""The filters, search, orders and exports of my tasks, patrol logs, work diaries and cadence compliance."""

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import AuditEntry
from grid import events as event_services
from grid import patrols, services
from grid.models import Event, EventCategory, PatrolLog, Role, WorkDiary
from workflows.models import TaskDeadline

T = datetime.time
D = datetime.date


pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def category(db):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    return EventCategory.objects.create(code="T01", name="乱堆乱放", parent=parent)


@pytest.fixture
def people(county, personas):
    """The personas, plus a grid member of 第2网格 and a township office and grid member of 赵村镇."""
    extra = {}
    for username, role, region in (("member2", "grid_member", county.grid2), ("zhaocun_office", "township_office", county.zhaocun),
                                   ("henan_member", "grid_member", county.henan)):
        user, _ = services.ensure_user(username, password="x")
        services.create_post(user=user, role=Role.objects.get(key=role), region=region)
        extra[username] = user
    return {**personas, **extra}


def as_user(client, user):
    client.force_login(user)
    return client


def sheet_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def exported(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("id")


# ------------------------------------------------------------------ my tasks


def report(user, region, category, title, *, urgency="normal"):
    event, _ = event_services.report_event(
        by=user, region=region, category=category, title=title, description=f"{title}的描述",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=f"{user.pk}-{title}", urgency=urgency,
    )
    return event


def task_ids(client, **params) -> list[int]:
    response = client.get(reverse("grid:my_tasks"), params)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<td data-label="编号">#(\d+)</td>', response.content.decode())]


def set_deadline(event, due_at):
    event_services.set_step_due(event, due_at)
    assert TaskDeadline.objects.get(is_open=True, **event_services.process_lookup(event, "task__process__")).due_at == due_at


@pytest.fixture
def tasks(county, people, category):
    """Three events waiting at 第1网格's triage (the grid leader's tasks), the second urgent and overdue: its
    deadline passed a minute ago, and no 督办 scan has run."""
    member = people["grid_member"]
    first = report(member, county.grid1, category, "河边垃圾堆放")
    second = report(member, county.grid1, category, "路灯损坏", urgency="urgent")
    third = report(member, county.grid1, category, "占道经营")
    now = timezone.now()
    set_deadline(first, now + datetime.timedelta(days=2))
    set_deadline(second, now - datetime.timedelta(minutes=1))
    set_deadline(third, now + datetime.timedelta(hours=3))
    return first, second, third


def test_my_tasks_orders_overdue_first_by_default_and_as_chosen(client, people, tasks):
    first, second, third = (event.pk for event in tasks)
    as_user(client, people["grid_leader"])
    assert task_ids(client) == [second, third, first]  # overdue, then the nearest deadline
    assert task_ids(client, sort="newest") == [third, second, first]
    assert task_ids(client, sort="oldest") == [first, second, third]
    assert task_ids(client, sort="deadline") == [second, third, first]


def test_my_tasks_overdue_first_is_the_nearest_deadline_first(people, county, category):
    """The default order drops the clock-dependent "overdue first" CASE: for tasks (open events) it is
    the nearest deadline first. Checked against the CASE on overdue, due, tied and undated tasks."""
    from grid.event_lists import BY_DEADLINE, TASKS_OVERDUE_FIRST, my_tasks, task_summary
    from grid.models import overdue_first

    member, now = people["grid_member"], timezone.now()
    offsets = [-30, 45, None, -2, 45, 0.5, -30, None, 600, -0.01]
    for number, hours in enumerate(offsets):
        event = report(member, county.grid1, category, f"待办{number}")
        if hours is None:
            TaskDeadline.objects.filter(is_open=True, **event_services.process_lookup(event, "task__process__")).delete()
            Event.objects.filter(pk=event.pk).update(step_due_at=None)
        else:
            set_deadline(event, now + datetime.timedelta(hours=hours))
    tasks = my_tasks(people["grid_leader"])
    with_case = list(tasks.order_by(overdue_first(now), *BY_DEADLINE).values_list("pk", flat=True))
    assert len(with_case) == len(offsets)
    assert list(tasks.order_by(*TASKS_OVERDUE_FIRST).values_list("pk", flat=True)) == with_case
    summary = task_summary(tasks, now, read=len(offsets))
    assert [event.pk for event in summary.earliest] == with_case and summary.overdue == 4


def test_the_task_summary_is_not_planned_as_a_walk_of_the_deadline_index(people, tasks):
    """The summary's counts need every task, but PostgreSQL costs a plan under LIMIT as if it could stop
    early and walked the whole deadline index (590 ms at 1,000,000 events for a township's tasks). Its
    order is written so that no index provides it: even with sorting priced out of reach (enable_sort),
    the plan reads the tasks through their own indexes and sorts them; the column's own order would be
    taken from the deadline index."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from grid.event_lists import my_tasks, task_summary

    if connection.vendor != "postgresql":
        pytest.skip("查询计划只在 PostgreSQL 上检查")
    with CaptureQueriesContext(connection) as captured:
        summary = task_summary(my_tasks(people["grid_leader"]), timezone.now())
    assert summary.count == 3
    read = [query["sql"] for query in captured.captured_queries if "OVER ()" in query["sql"]]
    assert len(read) == 1
    by_column = re.sub(r"ORDER BY .*? LIMIT", 'ORDER BY "grid_event"."step_due_at" ASC NULLS LAST, "grid_event"."id" ASC LIMIT',
                       read[0])
    assert by_column != read[0]

    def indexes_used(cursor, sql: str) -> list[str]:
        cursor.execute(f"EXPLAIN {sql}")
        return [row[0] for row in cursor.fetchall() if "Index" in row[0]]

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        assert any("step_due_at" in line for line in indexes_used(cursor, by_column))
        assert not any("step_due_at" in line for line in indexes_used(cursor, read[0]))


def test_my_tasks_deadline_order_puts_tasks_without_a_deadline_last(client, people, tasks):
    first, second, third = tasks
    TaskDeadline.objects.filter(is_open=True, **event_services.process_lookup(third, "task__process__")).delete()
    Event.objects.filter(pk=third.pk).update(step_due_at=None)
    as_user(client, people["grid_leader"])
    assert task_ids(client, sort="deadline") == [second.pk, first.pk, third.pk]


def test_my_tasks_filters_by_overdue_urgency_step_and_search(client, people, tasks):
    first, second, third = tasks
    as_user(client, people["grid_leader"])
    assert task_ids(client, overdue="on") == [second.pk]
    assert task_ids(client, urgency="urgent") == [second.pk]
    assert task_ids(client, q="路灯") == [second.pk]
    assert task_ids(client, q="占道 描述") == [third.pk]
    Event.objects.filter(pk=first.pk).update(status=Event.Status.VERIFYING)  # the leader verifies in 第1网格
    assert task_ids(client, step="verify") == [first.pk]
    assert task_ids(client, step="handle", sort="oldest") == [second.pk, third.pk]


def test_my_tasks_shows_the_step_and_the_deadline(client, people, tasks):
    as_user(client, people["grid_leader"])
    html = client.get(reverse("grid:my_tasks")).content.decode()
    due = timezone.localtime(TaskDeadline.objects.filter(is_open=True).order_by("due_at").first().due_at)
    assert "网格处置" in html and due.strftime("%Y-%m-%d %H:%M") in html


@pytest.mark.parametrize("params", [{"sort": "nonsense"}, {"step": "everything"}, {"urgency": "x"}])
def test_my_tasks_bad_filter_values_show_an_error_not_a_500(client, people, tasks, params):
    as_user(client, people["grid_leader"])
    response = client.get(reverse("grid:my_tasks"), params)
    assert response.status_code == 200 and "有效的选项" in response.content.decode()
    assert len(task_ids(client, **params)) == 3


def test_my_tasks_a_bad_value_is_ignored_and_the_good_filters_still_apply(client, people, tasks):
    second = tasks[1]
    as_user(client, people["grid_leader"])
    response = client.get(reverse("grid:my_tasks"), {"urgency": "urgent", "step": "everything"})
    assert "有效的选项" in response.content.decode()  # the bad one is named beside its field
    assert task_ids(client, urgency="urgent", step="everything") == [second.pk]
    assert task_ids(client, q="路灯", sort="nonsense") == [second.pk]


def test_my_tasks_filters_stay_within_the_users_tasks(client, people, tasks):
    as_user(client, people["member2"])
    assert task_ids(client, q="路灯") == [] and task_ids(client) == []


# ------------------------------------------------------------------ patrol logs


def patrol(user, region, day, findings, *, kind="daily", households=0, hour=9):
    return PatrolLog.objects.create(member=user, region=region, kind=kind, date=day, started_at=T(hour),
                                    ended_at=T(hour, 30), findings=findings, households_visited=households)


@pytest.fixture
def logs(county, people):
    return {
        "a": patrol(people["grid_member"], county.grid1, D(2025, 1, 5), "河堤护栏松动", households=3),
        "b": patrol(people["grid_member"], county.grid1, D(2025, 1, 7), "未发现异常", households=9),
        "c": patrol(people["member2"], county.grid2, D(2025, 1, 6), "护栏缺失", kind="visit", households=5),
        "d": patrol(people["henan_member"], county.henan, D(2025, 1, 6), "赵村镇的巡查"),
    }


def patrol_ids(client, **params) -> list[int]:
    response = client.get(reverse("grid:patrols"), params)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'href="/grid/patrols/(\d+)/"', response.content.decode())]


def test_patrol_list_orders_by_date_households_and_grid(client, people, logs):
    a, b, c = logs["a"].pk, logs["b"].pk, logs["c"].pk
    as_user(client, people["village_cadre"])
    assert patrol_ids(client) == [b, c, a]
    assert patrol_ids(client, sort="oldest") == [a, c, b]
    assert patrol_ids(client, sort="households") == [b, c, a]
    assert patrol_ids(client, sort="region") == [b, a, c]


def test_patrol_list_filters_by_region_and_search(client, county, people, logs):
    as_user(client, people["village_cadre"])
    assert patrol_ids(client, region=county.grid2.pk) == [logs["c"].pk]
    assert patrol_ids(client, region=county.louxing.pk, sort="oldest") == [logs["a"].pk, logs["c"].pk, logs["b"].pk]
    assert patrol_ids(client, q="护栏") == [logs["c"].pk, logs["a"].pk]
    assert patrol_ids(client, q="护栏 松动") == [logs["a"].pk]


def test_patrol_region_filter_offers_only_the_users_regions(client, county, people, logs):
    as_user(client, people["zhaocun_office"])
    response = client.get(reverse("grid:patrols"), {"region": county.grid1.pk})
    html = response.content.decode()
    assert response.status_code == 200 and "有效的选项" in html and "河堤护栏松动" not in html
    assert patrol_ids(client) == [logs["d"].pk]
    as_user(client, people["grid_member"])  # sees only their own: no region or member to choose
    html = client.get(reverse("grid:patrols")).content.decode()
    assert 'name="region"' not in html and 'name="member"' not in html and 'name="q"' in html


def test_patrol_dates_must_not_run_backwards(client, people, logs):
    as_user(client, people["village_cadre"])
    response = client.get(reverse("grid:patrols"), {"date_from": "2025-01-07", "date_to": "2025-01-05"})
    assert response.status_code == 200 and "结束日期不能早于开始日期" in response.content.decode()


def test_patrol_export_holds_the_lists_rows_in_its_order_and_is_audited(client, people, logs):
    as_user(client, people["village_cadre"])
    params = {"q": "护栏", "sort": "oldest"}
    rows = sheet_rows(client.get(reverse("grid:patrol_export"), params))
    assert rows[0][:4] == ["日期", "开始时间", "结束时间", "巡查类型"]
    assert [row[8] for row in rows[1:]] == ["河堤护栏松动", "护栏缺失"]
    listed = [PatrolLog.objects.get(pk=pk).findings for pk in patrol_ids(client, **params)]
    assert [row[8] for row in rows[1:]] == listed
    assert rows[1][0].date() == D(2025, 1, 5) and rows[1][1] == "09:00" and rows[2][3] == "入户走访"
    entry = exported("grid.patrol.export")
    assert entry.actor == people["village_cadre"] and entry.after["rows"] == 2 and "q=" in entry.after["query"]


def test_patrol_export_is_scoped_like_the_list(client, people, logs):
    as_user(client, people["zhaocun_office"])
    assert [row[8] for row in sheet_rows(client.get(reverse("grid:patrol_export")))[1:]] == ["赵村镇的巡查"]
    as_user(client, people["grid_member"])
    assert [row[8] for row in sheet_rows(client.get(reverse("grid:patrol_export")))[1:]] == ["未发现异常", "河堤护栏松动"]
    as_user(client, people["outsider"])
    assert client.get(reverse("grid:patrol_export")).status_code == 403
    assert not AuditEntry.objects.filter(action="grid.patrol.export", actor=people["outsider"]).exists()


# ------------------------------------------------------------------ work diaries


@pytest.fixture
def diaries(county, people):
    today = timezone.localdate()
    made = {}
    for key, user, region, days_ago, content in (
        ("a", people["grid_member"], county.grid1, 3, "走访独居老人"),
        ("b", people["grid_member"], county.grid1, 1, "河堤巡查"),
        ("c", people["member2"], county.grid2, 2, "调解邻里纠纷"),
        ("d", people["henan_member"], county.henan, 1, "赵村镇的日志"),
    ):
        made[key] = WorkDiary.objects.create(author=user, region=region, date=today - datetime.timedelta(days=days_ago),
                                             content=content)
    patrols.review_diary(made["b"], by=people["grid_leader"], comment="记录清楚")
    return made


def diary_ids(client, **params) -> list[int]:
    response = client.get(reverse("grid:diaries"), params)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'href="/grid/diaries/(\d+)/"', response.content.decode())]


def test_diary_list_orders_pending_first_by_default_and_as_chosen(client, people, diaries):
    a, b, c = diaries["a"].pk, diaries["b"].pk, diaries["c"].pk
    as_user(client, people["township_office"])
    assert diary_ids(client) == [c, a, b]
    assert diary_ids(client, sort="newest") == [b, c, a]
    assert diary_ids(client, sort="oldest") == [a, c, b]
    assert diary_ids(client, sort="region") == [b, a, c]


def test_diary_list_filters_by_member_region_review_dates_and_search(client, county, people, diaries):
    a, b, c = diaries["a"].pk, diaries["b"].pk, diaries["c"].pk
    as_user(client, people["township_office"])
    assert diary_ids(client, member=people["member2"].pk) == [c]
    assert diary_ids(client, region=county.grid1.pk) == [a, b]
    assert diary_ids(client, reviewed="yes") == [b]
    assert diary_ids(client, reviewed="no") == [c, a]
    today = timezone.localdate()
    window = {"date_from": (today - datetime.timedelta(days=2)).isoformat(), "date_to": (today - datetime.timedelta(days=1)).isoformat()}
    assert diary_ids(client, **window) == [c, b]
    assert diary_ids(client, q="纠纷") == [c]


def test_diary_list_a_reversed_date_range_keeps_the_start_and_the_other_filters(client, people, diaries):
    as_user(client, people["township_office"])
    today = timezone.localdate()
    reversed_range = {"date_from": (today - datetime.timedelta(days=1)).isoformat(),
                      "date_to": (today - datetime.timedelta(days=3)).isoformat()}
    response = client.get(reverse("grid:diaries"), reversed_range)
    assert "结束日期不能早于开始日期" in response.content.decode()
    assert diary_ids(client, **reversed_range) == [diaries["b"].pk]  # from yesterday on; the end is ignored
    assert diary_ids(client, reviewed="no", date_from="not-a-date") == [diaries["c"].pk, diaries["a"].pk]


def test_diary_show_choices_still_work_with_the_filters(client, people, diaries):
    as_user(client, people["grid_leader"])
    assert diary_ids(client, show="review") == [diaries["a"].pk]
    as_user(client, people["grid_member"])
    assert diary_ids(client, show="mine", sort="oldest") == [diaries["a"].pk, diaries["b"].pk]
    response = client.get(reverse("grid:diaries"), {"show": "review"})  # a member reviews nothing
    assert response.status_code == 200 and "有效的选项" in response.content.decode()
    html = client.get(reverse("grid:diaries")).content.decode()
    assert 'name="member"' not in html and 'name="region"' not in html


def test_diary_export_holds_the_lists_rows_in_its_order_and_is_audited(client, people, diaries):
    as_user(client, people["township_office"])
    params = {"sort": "oldest", "q": "巡查 "}
    rows = sheet_rows(client.get(reverse("grid:diary_export"), params))
    assert rows[0][:5] == ["日期", "网格员", "网格", "工作内容", "审核状态"]
    assert [row[3] for row in rows[1:]] == ["河堤巡查"]
    assert rows[1][4] == "已审核" and rows[1][5] == "grid_leader" and rows[1][7] == "记录清楚"
    rows = sheet_rows(client.get(reverse("grid:diary_export")))
    listed = [WorkDiary.objects.get(pk=pk).content for pk in diary_ids(client)]
    assert [row[3] for row in rows[1:]] == listed == ["调解邻里纠纷", "走访独居老人", "河堤巡查"]
    entry = exported("grid.diary.export")
    assert entry.actor == people["township_office"] and entry.after["rows"] == 3


def test_diary_export_is_scoped_like_the_list(client, people, diaries):
    as_user(client, people["zhaocun_office"])
    assert [row[3] for row in sheet_rows(client.get(reverse("grid:diary_export")))[1:]] == ["赵村镇的日志"]
    as_user(client, people["member2"])
    assert [row[3] for row in sheet_rows(client.get(reverse("grid:diary_export")))[1:]] == ["调解邻里纠纷"]
    as_user(client, people["outsider"])
    assert client.get(reverse("grid:diary_export")).status_code == 403


# ------------------------------------------------------------------ cadence compliance


def member_since(username, region, start, full_name):
    user, _ = services.ensure_user(username, password="x", full_name=full_name)
    services.create_post(user=user, role=Role.objects.get(key="grid_member"), region=region, start_date=start)
    return user


@pytest.fixture
def january(county, personas):
    """January 2025: 张 does every patrol the cadence rules ask for, 李 ten daily ones, 赵 (another township) none."""
    zhang = member_since("zhang", county.grid1, D(2024, 12, 1), "张网格")
    li = member_since("li", county.grid2, D(2024, 12, 1), "李网格")
    zhao = member_since("zhao", county.henan, D(2024, 12, 1), "赵网格")
    for day in range(1, 32):
        patrol(zhang, county.grid1, D(2025, 1, day), "日常巡查")
    for day in (2, 9, 16, 23, 30):  # every week whose Thursday is in January
        patrol(zhang, county.grid1, D(2025, 1, day), "入户走访", kind="visit", households=2, hour=14)
    for day in (1, 15):
        patrol(zhang, county.grid1, D(2025, 1, day), "全面排查", kind="sweep", hour=16)
    patrol(zhang, county.grid1, D(2025, 1, 10), "联合检查", kind="joint", hour=18)
    for day in range(1, 11):
        patrol(li, county.grid2, D(2025, 1, day), "日常巡查")
    return {"zhang": zhang, "li": li, "zhao": zhao}


def compliance_names(client, **params) -> list[str]:
    response = client.get(reverse("grid:compliance"), params)
    assert response.status_code == 200
    return re.findall(r'<td data-label="网格员">([^<]*)</td>', response.content.decode())


def test_compliance_short_only_filter_narrows_the_table(client, personas, january):
    as_user(client, personas["village_cadre"])
    names = compliance_names(client, month="2025-01")
    assert "张网格" in names and "李网格" in names and "赵网格" not in names
    short = compliance_names(client, month="2025-01", short="on")
    report = patrols.cadence_compliance(regions_or_user_scope=personas["village_cadre"], month=D(2025, 1, 1))
    assert short == [row.name for row in report.rows if row.short] == ["李网格"]


def test_compliance_export_holds_the_tables_rows_and_is_audited(client, personas, january):
    as_user(client, personas["village_cadre"])
    rows = sheet_rows(client.get(reverse("grid:compliance_export"), {"month": "2025-01"}))
    assert rows[0][:5] == ["网格员", "网格", "日巡查 完成", "日巡查 应完成", "日巡查 缺"] and rows[0][-1] == "有未完成项"
    assert [row[0] for row in rows[1:]] == compliance_names(client, month="2025-01")
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["李网格"][2:5] == [10, 31, 21] and by_name["李网格"][-1] == "是"
    assert by_name["张网格"][2:5] == [31, 31, 0]
    short = sheet_rows(client.get(reverse("grid:compliance_export"), {"month": "2025-01", "short": "on"}))
    assert [row[0] for row in short[1:]] == compliance_names(client, month="2025-01", short="on")
    entry = exported("grid.compliance.export")
    assert entry.actor == personas["village_cadre"] and "short=on" in entry.after["query"]


def test_compliance_export_is_scoped_and_refuses_outsiders(client, county, personas, january):
    office, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=office, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    as_user(client, office)
    assert [row[0] for row in sheet_rows(client.get(reverse("grid:compliance_export"), {"month": "2025-01"}))[1:]] == ["赵网格"]
    as_user(client, personas["outsider"])
    assert client.get(reverse("grid:compliance_export")).status_code == 403


def test_compliance_export_of_a_bad_month_is_the_pages_422(client, personas):
    as_user(client, personas["village_cadre"])
    response = client.get(reverse("grid:compliance_export"), {"month": "2025-13"})
    assert response.status_code == 422 and "月份格式应为" in response.content.decode()
    assert not AuditEntry.objects.filter(action="grid.compliance.export").exists()
