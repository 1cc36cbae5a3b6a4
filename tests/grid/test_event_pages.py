"""The event pages end to end, as users drive them: report from a phone, climb, come back, close."""

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import Attachment, AuditEntry
from grid import services
from grid.models import CategoryRouting, Department, Event, Role
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def people(county, personas):
    other, _ = services.ensure_user("leader2", password="x")
    services.create_post(user=other, role=Role.objects.get(key="grid_leader"), region=county.grid2)
    zhaocun_office, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=zhaocun_office, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    return {**personas, "leader2": other, "zhaocun_office": zhaocun_office}


def report_data(county, category, /, **changes):
    data = {
        "idempotency_key": "key-1", "region": county.grid1.pk, "category": category.pk, "title": "村口违建",
        "description": "村口新建棚舍占道", "occurred_at": (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "urgency": "normal", "source": "patrol", "latitude": "30.123456", "longitude": "120.123456", "address": "楼星村村口",
    }
    data.update(changes)
    return data


def as_user(client, user):
    client.force_login(user)
    return client


def report_via_page(client, county, category, /, **changes):
    data = report_data(county, category, **changes)
    data.setdefault("files", [photo()])
    return client.post(reverse("grid:event_report"), data)


def step(client, event, action, **data):
    return client.post(reverse("grid:event_action", args=[event.pk, action]), data)


def reported_and_escalated_to_the_township(client, county, people, category) -> Event:
    """A member's report, escalated by the grid leader and the village: it waits at the township office."""
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()
    as_user(client, people["grid_leader"])
    step(client, event, "handle", decision="escalate", reason="需村里协调")
    as_user(client, people["village_cadre"])
    step(client, event, "handle", decision="escalate", reason="村里解决不了")
    return event


# ------------------------------------------------------------------ reporting


def test_grid_member_reports_with_photo_from_the_form(client, county, people, category):
    as_user(client, people["grid_member"])
    page = client.get(reverse("grid:event_report"))
    assert page.status_code == 200
    assert "第1网格" in page.content.decode() and 'name="viewport"' in page.content.decode()
    response = report_via_page(client, county, category)
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("grid:event_detail", args=[event.pk])
    assert event.reporter == people["grid_member"] and event.handling_region == county.grid1
    assert Attachment.objects.count() == 1
    detail = client.get(response["Location"]).content.decode()
    assert "村口违建" in detail and "网格处置" in detail


def test_submitting_the_same_report_twice_creates_one_event(client, county, people, category):
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    second = report_via_page(client, county, category)
    assert Event.objects.count() == 1
    assert second.status_code == 302
    assert "未重复创建" in client.get(second["Location"]).content.decode()


@pytest.mark.parametrize(
    "changes, message",
    [
        # this minute tomorrow: a function, read when the test runs (not when the module is imported)
        ({"occurred_at": lambda: f"{timezone.localtime() + datetime.timedelta(days=1):%Y-%m-%dT%H:%M}"},
         "发生时间不能晚于当前时间"),
        ({"latitude": "91", "longitude": "120"}, "纬度超出范围"),
        ({"latitude": "30", "longitude": ""}, "经纬度须同时填写"),
        ({"title": ""}, "必填项"),
        ({"category": "999999"}, "有效的选项"),
        ({"files": [SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 not an image at all", content_type="image/jpeg")]}, "文件内容与扩展名不符"),
    ],
)
def test_bad_report_input_gets_a_chinese_error_and_writes_nothing(client, county, people, category, changes, message):
    changes = {key: value() if callable(value) else value for key, value in changes.items()}
    as_user(client, people["grid_member"])
    response = report_via_page(client, county, category, **changes)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Event.objects.count() == 0 and Attachment.objects.count() == 0
    assert "村口新建棚舍占道" in response.content.decode()  # the user's input is kept


def test_user_without_a_post_cannot_open_the_report_form(client, people):
    as_user(client, people["outsider"])
    assert client.get(reverse("grid:event_report")).status_code == 403


def test_grid_member_cannot_report_in_another_grid(client, county, people, category):
    as_user(client, people["grid_member"])
    response = report_via_page(client, county, category, region=county.grid2.pk)
    assert response.status_code == 422 and Event.objects.count() == 0


# ------------------------------------------------------------------ the climb, through the pages


def test_event_climbs_through_the_pages_and_comes_back_for_verification(client, county, people, category):
    p = people
    CategoryRouting.objects.create(township=county.taiping, category=category, department=county.agriculture)
    as_user(client, p["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()

    as_user(client, p["grid_leader"])
    assert "村口违建" in client.get(reverse("grid:my_tasks")).content.decode()
    assert step(client, event, "handle", decision="escalate", reason="需村里协调").status_code == 302
    as_user(client, p["village_cadre"])
    assert "上报上一级" in client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    assert step(client, event, "handle", decision="escalate", reason="村里解决不了").status_code == 302
    as_user(client, p["township_office"])
    detail = client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    assert "农业农村办（该类别牵头部门）" in detail
    assert step(client, event, "handle", decision="dispatch", department=county.agriculture.pk).status_code == 302
    as_user(client, p["department"])
    assert "村口违建" in client.get(reverse("grid:my_tasks")).content.decode()
    response = step(client, event, "department", decision="resolve", result="已拆除", files=[photo("done.jpg")])
    assert response.status_code == 302
    as_user(client, p["grid_member"])
    assert step(client, event, "verify", decision="satisfied").status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.CLOSED
    refused = step(client, event, "rate", rating="5", comment="很快\x1b")  # the score is fine, the comment is not
    assert refused.status_code == 422
    assert "评价不能包含控制字符（U+001B）" in refused.content.decode() and "请选择 1 到 5 分" not in refused.content.decode()
    assert "请选择 1 到 5 分的满意度" in step(client, event, "rate", rating="9").content.decode()
    assert step(client, event, "rate", rating="5", comment="很快").status_code == 302
    event.refresh_from_db()
    assert event.rating == 5
    history = client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    for label in ("上报事件", "上报上一级", "派单至部门", "部门办结", "核实满意", "评价"):
        assert label in history


def test_verification_not_satisfied_returns_to_the_department_and_is_counted(client, county, people, category):
    p = people
    event = reported_and_escalated_to_the_township(client, county, people, category)
    as_user(client, p["township_office"])
    step(client, event, "handle", decision="dispatch", department=county.agriculture.pk)
    as_user(client, p["department"])
    step(client, event, "department", decision="resolve", result="已处理", files=[photo()])
    as_user(client, p["grid_leader"])
    response = step(client, event, "verify", decision="return", reason="棚舍仍在")
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.DISPATCHED and event.return_count == 1


# Who may not see the event: posts that do not cover its region, and a department it was not dispatched to.
OUT_OF_REGION = ("leader2", "zhaocun_office", "department")


@pytest.mark.parametrize("who", ["grid_member", "leader2", "zhaocun_office", "outsider", "department"])
def test_wrong_role_or_region_cannot_triage(client, county, people, category, who):
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()
    as_user(client, people[who])
    response = step(client, event, "handle", decision="escalate", reason="试图越权")
    # to whom may not see the event the step answers as for a missing event
    assert response.status_code == (404 if who in OUT_OF_REGION else 403)
    event.refresh_from_db()
    assert event.handling_region == county.grid1


@pytest.mark.parametrize("who", ["grid_leader", "village_cadre", "zhaocun_office"])
def test_wrong_role_or_region_cannot_dispatch(client, county, people, category, who):
    event = reported_and_escalated_to_the_township(client, county, people, category)
    as_user(client, people[who])
    response = step(client, event, "handle", decision="dispatch", department=county.agriculture.pk)
    assert response.status_code == (404 if who in OUT_OF_REGION else 403)
    event.refresh_from_db()
    assert event.department_id is None


@pytest.mark.parametrize("who", ["township_office", "grid_leader", "outsider"])
def test_only_the_lead_department_handles_a_dispatched_event(client, county, people, category, who):
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()
    for user, data in (("grid_leader", {"decision": "escalate", "reason": "r"}), ("village_cadre", {"decision": "escalate", "reason": "r"}),
                       ("township_office", {"decision": "dispatch", "department": county.agriculture.pk})):
        as_user(client, people[user])
        step(client, event, "handle", **data)
    as_user(client, people[who])
    response = step(client, event, "department", decision="resolve", result="x", files=[photo()])
    assert response.status_code == 403


def test_dispatching_to_a_department_nobody_staffs_is_refused_and_the_choice_says_so(client, county, people, category):
    """Nobody would see the department's step (nor its 督办): the township office is told before and
    when it dispatches, and the event stays with it."""
    traffic = Department.objects.create(region=county.taiping, name="交通办")
    event = reported_and_escalated_to_the_township(client, county, people, category)
    as_user(client, people["township_office"])
    page = client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    assert "交通办（暂无在岗人员，不能派单）" in page and "农业农村办（暂无在岗人员" not in page
    response = step(client, event, "handle", decision="dispatch", department=traffic.pk)
    assert response.status_code == 422 and "交通办暂无在岗的办理人员" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.HANDLING and event.department is None and event.handling_region == county.taiping
    assert not AuditEntry.objects.filter(action="event.dispatch").exists()
    assert step(client, event, "handle", decision="dispatch", department=county.agriculture.pk).status_code == 302


@pytest.mark.parametrize("who", ["village_cadre", "leader2", "township_office"])
def test_only_reporter_or_grid_leader_verifies(client, county, people, category, who):
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()
    as_user(client, people["grid_leader"])
    step(client, event, "handle", decision="resolve", result="已劝离", files=[photo()])
    as_user(client, people[who])
    assert step(client, event, "verify", decision="satisfied").status_code == (404 if who in OUT_OF_REGION else 403)


def test_a_step_already_taken_by_someone_else_gets_a_clear_message(client, county, people, category):
    second_leader, _ = services.ensure_user("leader1b", password="x")
    services.create_post(user=second_leader, role=Role.objects.get(key="grid_leader"), region=county.grid1)
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()
    as_user(client, people["grid_leader"])
    step(client, event, "handle", decision="resolve", result="已劝离", files=[photo()])
    as_user(client, second_leader)  # still looking at the triage page
    response = step(client, event, "handle", decision="escalate", reason="上报")
    assert response.status_code == 422
    assert "该事件当前不在此环节，可能已由他人办理" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.VERIFYING and event.handling_region == county.grid1


def test_a_form_shown_before_another_tier_took_the_step_says_so_and_changes_nothing(client, county, people, category):
    """Two village cadres see the same 村级处置 page; one escalates to the township. The other's form
    (the same step name, "handle", now at the township) is told the step was taken, not refused as if
    he had the wrong post."""
    second_cadre, _ = services.ensure_user("cadre2", password="x")
    services.create_post(user=second_cadre, role=Role.objects.get(key="village_cadre"), region=county.louxing)
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()
    as_user(client, people["grid_leader"])
    step(client, event, "handle", decision="escalate", reason="网格无法处置")
    as_user(client, second_cadre)
    page = client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    step_at = re.search(r'name="step_at" value="([^"]+)"', page).group(1)
    as_user(client, people["village_cadre"])
    assert step(client, event, "handle", decision="escalate", reason="村级无法处置", step_at=step_at).status_code == 302
    as_user(client, second_cadre)
    response = step(client, event, "handle", decision="escalate", reason="村级无法处置", step_at=step_at)
    assert response.status_code == 422 and "该环节已由他人办理" in response.content.decode()
    event.refresh_from_db()
    assert event.handling_region == county.taiping
    assert AuditEntry.objects.filter(action="event.escalate", object_id=str(event.pk)).count() == 2


def test_resolving_without_evidence_is_refused_and_nothing_changes(client, county, people, category):
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    event = Event.objects.get()
    as_user(client, people["grid_leader"])
    response = step(client, event, "handle", decision="resolve", result="已劝离")
    assert response.status_code == 422
    assert "佐证" in response.content.decode() and "已劝离" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.HANDLING


def test_merging_as_duplicate(client, county, people, category):
    as_user(client, people["grid_member"])
    report_via_page(client, county, category)
    report_via_page(client, county, category, idempotency_key="key-2")
    first, second = Event.objects.order_by("id")
    as_user(client, people["grid_leader"])
    assert step(client, second, "handle", decision="merge", duplicate_of=first.pk).status_code == 302
    second.refresh_from_db()
    assert second.status == Event.Status.MERGED and second.duplicate_of == first
    first_page = client.get(reverse("grid:event_detail", args=[first.pk])).content.decode()
    assert "合并的重复上报" in first_page
    assert f'<a href="{reverse("grid:event_detail", args=[second.pk])}">#{second.pk}</a>' in first_page
    assert "合并的重复上报" not in client.get(reverse("grid:event_detail", args=[second.pk])).content.decode()


# ------------------------------------------------------------------ lists, export, chart, evidence


@pytest.fixture
def some_events(client, county, people, category):
    as_user(client, people["grid_member"])
    report_via_page(client, county, category, title="垃圾堆放", description="河边垃圾")
    report_via_page(client, county, category, idempotency_key="key-2", title="路灯损坏", description="村道路灯不亮", source="public")
    return list(Event.objects.order_by("id"))


def test_region_events_are_scoped(client, people, some_events):
    as_user(client, people["township_office"])
    assert "垃圾堆放" in client.get(reverse("grid:events")).content.decode()
    as_user(client, people["zhaocun_office"])
    page = client.get(reverse("grid:events")).content.decode()
    assert "垃圾堆放" not in page and "路灯损坏" not in page
    as_user(client, people["leader2"])
    assert "垃圾堆放" not in client.get(reverse("grid:events")).content.decode()


def test_a_page_number_past_the_end_shows_the_last_page(client, people, some_events):
    """An old link or a typed number beyond the last page shows the last page, not an empty one."""
    from governance.paging import UncountedPage

    as_user(client, people["township_office"])
    page = client.get(reverse("grid:events"), {"page": "99999"}).content.decode()
    assert "垃圾堆放" in page and "路灯损坏" in page and "第 99999 页" not in page
    events = Event.objects.order_by("id")
    last = UncountedPage(events, 7, per_page=1)
    assert (last.number, [event.pk for event in last], last.has_next(), last.has_previous()) == (
        2, [some_events[1].pk], False, True)
    assert UncountedPage(events, 2, per_page=1).number == 2


def test_region_events_a_bad_value_is_ignored_and_the_good_filters_still_apply(client, people, some_events):
    as_user(client, people["township_office"])
    page = client.get(reverse("grid:events"), {"source": "public", "date_from": "2026-13-40"}).content.decode()
    assert "路灯损坏" in page and "垃圾堆放" not in page
    assert "gv-error" in page  # the bad date is named beside its field


def test_region_events_filters_and_search(client, people, some_events):
    as_user(client, people["township_office"])
    page = client.get(reverse("grid:events"), {"q": "路灯"}).content.decode()
    assert "路灯损坏" in page and "垃圾堆放" not in page
    page = client.get(reverse("grid:events"), {"source": "public"}).content.decode()
    assert "路灯损坏" in page and "垃圾堆放" not in page
    page = client.get(reverse("grid:events"), {"overdue": "on"}).content.decode()
    assert "路灯损坏" not in page
    page = client.get(reverse("grid:events"), {"tier": "village"}).content.decode()
    assert "路灯损坏" not in page
    page = client.get(reverse("grid:events"), {"tier": "grid", "status": "open"}).content.decode()
    assert "路灯损坏" in page and "垃圾堆放" in page


def test_export_has_exactly_the_filtered_rows(client, people, some_events):
    as_user(client, people["township_office"])
    response = client.get(reverse("grid:event_export"), {"q": "路灯"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and len(rows) == 2 and rows[1][1] == "路灯损坏"


def test_the_list_and_its_export_follow_the_chosen_order(client, people, some_events):
    as_user(client, people["township_office"])
    newest_first = client.get(reverse("grid:events")).content.decode()
    assert newest_first.index("路灯损坏") < newest_first.index("垃圾堆放")  # reported second
    oldest_first = client.get(reverse("grid:events"), {"sort": "oldest"}).content.decode()
    assert oldest_first.index("垃圾堆放") < oldest_first.index("路灯损坏")
    assert '<option value="oldest" selected>' in oldest_first
    sheet = load_workbook(io.BytesIO(client.get(reverse("grid:event_export"), {"sort": "oldest"}).content)).active
    titles = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert titles.index("垃圾堆放") < titles.index("路灯损坏")


def test_export_is_refused_without_the_export_permission(client, people, some_events):
    as_user(client, people["grid_member"])
    assert client.get(reverse("grid:event_export")).status_code == 403


def test_my_tasks_shows_only_steps_the_user_may_take(client, people, some_events):
    as_user(client, people["grid_leader"])
    assert "垃圾堆放" in client.get(reverse("grid:my_tasks")).content.decode()
    as_user(client, people["leader2"])
    assert "垃圾堆放" not in client.get(reverse("grid:my_tasks")).content.decode()
    as_user(client, people["village_cadre"])
    assert "垃圾堆放" not in client.get(reverse("grid:my_tasks")).content.decode()


def test_event_chart_highlights_the_current_step(client, people, some_events):
    as_user(client, people["grid_member"])
    page = client.get(reverse("grid:event_process_chart", args=[some_events[0].pk])).content.decode()
    assert "<svg" in page and 'id="handle_grid"' in page and 'id="handle_village"' in page
    assert '<g id="handle_grid" class="current">' in page and '<g id="start" class="done">' in page
    bpmn = client.get(reverse("grid:event_chart"), {"format": "bpmn"})
    assert bpmn.status_code == 200 and b"bpmn" in bpmn.content.lower()


def test_evidence_is_served_only_to_users_who_may_see_the_event(client, people, some_events):
    attachment = Attachment.objects.first()
    as_user(client, people["grid_member"])
    response = client.get(reverse("evidence", args=[attachment.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    as_user(client, people["zhaocun_office"])
    assert client.get(reverse("evidence", args=[attachment.pk])).status_code == 404


def test_event_detail_outside_scope_is_not_found(client, people, some_events):
    as_user(client, people["zhaocun_office"])
    assert client.get(reverse("grid:event_detail", args=[some_events[0].pk])).status_code == 404


# ------------------------------------------------------------------ drop-downs start at 请选择


def test_report_form_region_drop_down_starts_at_please_choose(client, county, people, category):
    # A member of two grids has to choose where it happened: nothing is picked for them.
    member, _ = services.ensure_user("two_grids", password="x")
    for grid in (county.grid1, county.grid2):
        services.create_post(user=member, role=Role.objects.get(key="grid_member"), region=grid)
    html = as_user(client, member).get(reverse("grid:event_report")).content.decode()
    assert '<option value="" selected>请选择</option>' in html
    assert "---------" not in html
    response = client.post(reverse("grid:event_report"), report_data(county, category, region=""))
    assert response.status_code == 422 and "请选择发生区域。" in response.content.decode()
    assert not Event.objects.exists()


# ------------------------------------------------------------------ the reporter's own region proposed


def test_report_form_proposes_the_region_of_the_reporters_one_post(client, county, people, category):
    # The village cadre may report in the village and each of its grids; the village is where they sit.
    cadre = people["village_cadre"]
    selected = f'<option value="{county.louxing.pk}" selected>'
    for url in (reverse("grid:event_report"), reverse("grid:mobile")):
        html = as_user(client, cadre).get(url).content.decode()
        assert selected in html, url
        assert f'<option value="{county.grid1.pk}">' in html  # the grids stay on offer


def test_report_form_proposes_nothing_to_a_reporter_with_posts_at_two_regions(client, county, people, category):
    cadre = people["village_cadre"]
    services.create_post(user=cadre, role=Role.objects.get(key="village_cadre"), region=county.dalou)
    html = as_user(client, cadre).get(reverse("grid:event_report")).content.decode()
    assert '<option value="" selected>请选择</option>' in html
    assert f'<option value="{county.louxing.pk}" selected>' not in html
