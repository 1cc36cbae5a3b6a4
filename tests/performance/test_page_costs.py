"""What the busiest pages keep between requests, and that what they keep never shows a stale or foreign view.

The event lists write their rows in Python, read only the columns they print and keep the unfiltered
filter bar with the user's access snapshot; the unread badge, the device-token menu, "holds a
single-record grant" and "is in an inspection group" are kept too; categories and their fields are
kept per process. Each test changes what was kept and looks at the next page.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from governance.models import Attachment, AuditEntry
from governance.notifications import mark_read
from grid import events, services
from grid.models import CategoryAttribute, Event, EventCategory, Role
from grid.supervision import supervise_overdue
from inspection.models import InspectionGroup, InspectionRound
from workflows.models import SLARule


@pytest.fixture
def category(db):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    return EventCategory.objects.create(code="T01", name="乱堆乱放", parent=parent)


def report(personas, county, category, key, **fields):
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title=fields.pop("title", "违建"),
        description="村口棚舍", occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key,
        **fields,
    )
    return event


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_event_rows_escape_stored_text_and_tag_urgency_and_state(client, county, personas, category):
    event = report(personas, county, category, "k1", title="<script>alert(1)</script>棚舍", urgency="critical")
    client.force_login(personas["grid_leader"])
    for url in (reverse("grid:events"), reverse("grid:my_tasks")):
        html = page(client, url)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;棚舍" in html
        assert f'<a href="{reverse("grid:event_detail", args=[event.pk])}">' in html
        assert '<span class="gv-tag gv-tag--warn">特急</span>' in html
        assert '<td data-label="类别">乱堆乱放</td>' in html
        assert '<td data-label="发生区域">第1网格</td>' in html
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CLOSED)
    html = page(client, reverse("grid:events"))
    assert '<span class="gv-tag gv-tag--ok">已办结</span>' in html
    assert '<td data-label="当前环节">—</td>' in html


def test_list_rows_are_read_as_tuples_and_follow_the_events_own_rules(client, county, personas, category):
    """The two lists build no Event instance for their rows; a row's open, overdue and status label are
    the event's own (Event.is_open, overdue_at, get_status_display), and a dispatched row names its
    department."""
    from django.db.models.signals import post_init

    from grid.event_lists import PageEvents
    from grid.models import Department

    department = Department.objects.create(name="<b>城管</b>局", region=county.taiping)
    now = timezone.now()
    rows = []
    for number, status in enumerate(Event.Status.values):
        event = report(personas, county, category, f"row-{number}")
        Event.objects.filter(pk=event.pk).update(status=status, step_due_at=now - datetime.timedelta(minutes=number - 3),
                                                 department=department if status == Event.Status.DISPATCHED else None)
        rows.append(event.pk)
    page_rows = {row.pk: row for row in PageEvents(Event.objects.filter(pk__in=rows).order_by("pk"))[0:50]}
    for event in Event.objects.filter(pk__in=rows):
        row = page_rows[event.pk]
        assert (row.is_open, row.overdue_at(now), row.get_status_display()) == \
            (event.is_open, event.overdue_at(now), event.get_status_display()), event.status
    assert {row.department_name for row in page_rows.values()} == {None, "<b>城管</b>局"}

    built = []

    def count(sender, instance, **kwargs):
        built.append(instance)

    client.force_login(personas["grid_leader"])
    post_init.connect(count, sender=Event)
    try:
        events_html, tasks_html = page(client, reverse("grid:events")), page(client, reverse("grid:my_tasks"))
    finally:
        post_init.disconnect(count, sender=Event)
    assert built == []
    assert "·&lt;b&gt;城管&lt;/b&gt;局" in events_html
    assert tasks_html.count('<td data-label="待办环节">') >= 1 and "gv-tag gv-tag--danger" in tasks_html


def test_lists_take_few_queries_once_the_user_is_known(client, county, personas, category,
                                                       django_assert_max_num_queries):
    for n in range(12):
        report(personas, county, category, f"q{n}")
    client.force_login(personas["grid_leader"])
    for url in (reverse("grid:events"), reverse("grid:my_tasks")):
        page(client, url)  # the first visit reads the access snapshot, menu and filter bar
        with django_assert_max_num_queries(5):  # session, user, the rows (with departments), their regions; my tasks its tiers
            page(client, url)


def test_the_kept_filter_bar_follows_new_categories_and_is_the_users_own(client, county, personas, category):
    client.force_login(personas["grid_member"])
    assert "新增大类" not in page(client, reverse("grid:events"))
    EventCategory.objects.create(code="N", name="新增大类")
    html = page(client, reverse("grid:events"))
    assert "新增大类" in html
    assert "赵村镇" not in html  # the grid member's regions only
    client.force_login(personas["county_office"])
    assert "赵村镇" in page(client, reverse("grid:events"))


def test_report_form_shows_a_field_added_to_a_category_at_once(client, county, personas, category):
    client.force_login(personas["grid_member"])
    assert "路灯编号" not in page(client, reverse("grid:event_report"))
    CategoryAttribute.objects.create(category=category, code="lamp", name="路灯编号", datatype="text", required=True)
    assert "路灯编号" in page(client, reverse("grid:event_report"))
    response = client.post(reverse("grid:event_report"), {
        "idempotency_key": "form-1", "region": county.grid1.pk, "category": category.pk, "title": "路灯坏了",
        "description": "村口路灯不亮", "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "urgency": "normal", "source": "patrol"})
    assert response.status_code == 422 and "请填写路灯编号。" in response.content.decode()
    assert not Event.objects.filter(idempotency_key="form-1").exists()


def test_report_form_offers_a_new_region_at_once_and_accepts_it(client, county, personas, category):
    """The reportable regions are kept with the access snapshot; creating a region moves its version."""
    from grid.models import Tier

    client.force_login(personas["grid_member"])
    assert "第2微网格" not in page(client, reverse("grid:event_report"))
    micro2 = services.create_region(parent=county.grid1, name="第2微网格", tier=Tier.objects.get(key="microgrid"))
    assert "第2微网格" in page(client, reverse("grid:event_report"))
    response = client.post(reverse("grid:event_report"), {
        "idempotency_key": "form-new-region", "region": micro2.pk, "category": category.pk, "title": "新区域上报",
        "description": "新划的微网格", "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "urgency": "normal", "source": "patrol"})
    assert response.status_code == 302
    assert Event.objects.get(idempotency_key="form-new-region").region == micro2


def test_unread_badge_follows_supervision_notices_and_reading(client, county, personas, category):
    SLARule.objects.filter(tier__key="grid").update(auto_escalate=False)
    leader = personas["grid_leader"]
    client.force_login(leader)
    assert "gv-badge" not in page(client, reverse("grid:my_tasks"))  # counted (0) and kept
    report(personas, county, category, "s1")
    supervise_overdue(now=timezone.now() + datetime.timedelta(hours=25))  # 督办 notices, written in bulk
    assert '消息 <span class="gv-badge">1</span>' in page(client, reverse("grid:my_tasks"))
    mark_read(leader)
    assert "gv-badge" not in page(client, reverse("grid:my_tasks"))


def test_a_single_record_grant_made_after_the_snapshot_opens_the_event(client, county, personas, category):
    event = report(personas, county, category, "g1")
    outsider = personas["outsider"]
    services.create_post(user=outsider, role=Role.objects.get(key="grid_member"), region=county.henan)
    client.force_login(outsider)
    detail = reverse("grid:event_detail", args=[event.pk])
    assert client.get(detail).status_code == 404  # remembered: holds no single-record grant
    assign_perm("grid.view_event", outsider, event)
    assert client.get(detail).status_code == 200


def test_group_cards_appear_once_the_user_joins_a_group(client, county, personas):
    member = personas["township_office"]
    round_ = InspectionRound.objects.create(
        county=county.county, term="十五届", number=2, name="十五届县委第二轮巡察", arrival_date=timezone.localdate(),
        withdrawal_date=timezone.localdate() + datetime.timedelta(days=30), created_by=personas["county_office"])
    group = InspectionGroup.objects.create(round=round_, number=1, name="第一巡察组", township=county.zhaocun,
                                           leader=personas["inspection_group"])
    client.force_login(member)
    assert "第一巡察组" not in page(client, "/")  # remembered: in no group
    group.members.add(member)  # a many-to-many change, no save of the group
    assert "第一巡察组" in page(client, "/")


def test_a_renamed_region_shows_on_the_next_list_and_case_page(client, county, personas, category):
    """Regions are kept per process while the access version stands; a rename moves it."""
    event = report(personas, county, category, "rn1")
    client.force_login(personas["grid_leader"])
    detail = reverse("grid:event_detail", args=[event.pk])
    for url in (reverse("grid:events"), reverse("grid:my_tasks"), detail):
        assert "第1网格" in page(client, url)
    services.update_region(county.grid1, by=personas["county_office"], name="幸福网格")
    for url in (reverse("grid:events"), reverse("grid:my_tasks"), detail):
        html = page(client, url)
        assert "幸福网格" in html
        assert "第1网格" not in html


def test_kept_regions_are_copies_a_page_cannot_change_for_the_next(county, personas):
    from grid import access_cache, region_memo

    region_memo.clear()
    access_cache._request.version = "v-test"
    try:
        first = region_memo.regions_by_id([county.grid1.pk])[county.grid1.pk]
        first.name = "改过的名字"
        again = region_memo.regions_by_id([county.grid1.pk])[county.grid1.pk]
        assert again.name == "第1网格"
        assert again.tier.key == "grid"
    finally:
        access_cache._request.version = None
        region_memo.clear()


def test_case_page_names_the_reporter_without_reading_the_user_again(client, county, personas, category):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    event = report(personas, county, category, "rp1")
    client.force_login(personas["grid_leader"])
    url = reverse("grid:event_detail", args=[event.pk])
    page(client, url)
    with CaptureQueriesContext(connection) as queries:
        html = page(client, url)
    reporter = personas["grid_member"]
    assert f"<dt>上报人</dt><dd>{reporter.get_full_name() or reporter.username}，" in html
    user_reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "auth_user"')]
    assert len(user_reads) == 1  # the signed-in user's own row; the reporter comes with the case record


def test_my_tasks_keeps_only_the_unfiltered_filter_bar(client, county, personas, category):
    client.force_login(personas["grid_leader"])
    plain = page(client, reverse("grid:my_tasks"))
    assert '<option value="verify" selected>' not in plain
    chosen = page(client, reverse("grid:my_tasks") + "?step=verify&q=%3Cb%3E")
    assert '<option value="verify" selected>' in chosen
    assert 'value="&lt;b&gt;"' in chosen
    again = page(client, reverse("grid:my_tasks"))
    assert '<option value="verify" selected>' not in again and "&lt;b&gt;" not in again
    assert again.count('name="step"') == 1


def test_case_page_reads_the_flow_task_only_for_who_may_act(client, county, personas, category):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    event = report(personas, county, category, "act1")
    url = reverse("grid:event_detail", args=[event.pk])
    for who, may_act in (("grid_member", False), ("grid_leader", True)):
        client.force_login(personas[who])
        page(client, url)
        with CaptureQueriesContext(connection) as queries:
            html = page(client, url)
        task_reads = [q for q in queries.captured_queries if 'FROM "viewflow_task"' in q["sql"]]
        assert bool(task_reads) == may_act, who
        assert ('name="decision"' in html) == may_act, who


def test_case_page_reads_the_event_and_its_record_without_compiling_them_again(client, county, personas, category):
    from unittest import mock

    from django.db.models.sql.compiler import SQLCompiler

    first, second = report(personas, county, category, "kc1"), report(personas, county, category, "kc2")
    client.force_login(personas["grid_leader"])
    page(client, reverse("grid:event_detail", args=[first.pk]))
    real = SQLCompiler.as_sql
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=real) as as_sql:
        html = page(client, reverse("grid:event_detail", args=[second.pk]))
    queries = [call.args[0].query for call in as_sql.call_args_list]
    assert "auth.User" in [query.model._meta.label for query in queries]  # the compiler was watched
    kept = [query for query in queries if query.model in (AuditEntry, Attachment) or "has_duplicates" in query.annotations]
    assert kept == []  # the event, its steps and its files: SQL compiled for the first page only
    assert f"事件 #{second.pk}" in html and "kc2" not in html and "上报事件" in html
    assert client.get(reverse("grid:event_detail", args=[2**63])).status_code == 404


def test_list_rows_read_the_time_zone_once_a_page(client, county, personas, category):
    from unittest import mock

    from django.utils import timezone as django_timezone

    for key in ("tz1", "tz2", "tz3"):
        report(personas, county, category, key)
    client.force_login(personas["grid_leader"])
    for url in (reverse("grid:events"), reverse("grid:my_tasks")):
        page(client, url)
        real = django_timezone.get_current_timezone
        with mock.patch.object(django_timezone, "get_current_timezone", side_effect=real) as zone:
            html = page(client, url)
        assert html.count('data-label="上报时间">') >= 3
        assert zone.call_count <= 2, url  # not once per row and time (the frame may ask once)
