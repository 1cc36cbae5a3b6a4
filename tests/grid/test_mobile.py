"""The phone page of grid members: report with camera photos and location, my tasks, today's diary."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import Attachment
from grid import events
from grid.models import Event, EventCategory, WorkDiary
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def category(db):
    parent = EventCategory.objects.create(code="M", name="环境卫生")
    return EventCategory.objects.create(code="M01", name="垃圾堆放", parent=parent)


def report(county, category, **changes):
    data = {
        "idempotency_key": "phone-1", "region": county.grid1.pk, "category": category.pk, "title": "河边垃圾堆放",
        "description": "河堤东侧堆放生活垃圾约两方",
        "occurred_at": (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "urgency": "normal", "source": "patrol", "latitude": "34.123456", "longitude": "112.654321", "address": "楼星村河堤",
    }
    data.update(changes)
    return data


def test_phone_page_is_built_for_a_phone(client, county, personas, category):
    client.force_login(personas["grid_member"])
    response = client.get(reverse("grid:mobile"))
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'<meta name="viewport" content="width=device-width', page)
    camera = re.search(r'<input type="file" name="files" id="id_photos"[^>]*>', page).group(0)
    assert 'accept="image/*"' in camera and 'capture="environment"' in camera and "multiple" in camera
    assert "data-locate" in page and "governance/mobile.js" in page
    assert re.search(rf'<option value="{county.grid1.pk}" selected>', page)  # my grid preselected
    assert 'id="tasks"' in page and 'id="diary"' in page


def test_report_from_the_phone_with_a_photo(client, county, personas, category):
    client.force_login(personas["grid_member"])
    response = client.post(reverse("grid:mobile_report"), {**report(county, category), "files": [photo("scene.jpg")]})
    assert response.status_code == 302 and response["Location"].endswith("/grid/m/#mine")
    event = Event.objects.get()
    assert (event.title, event.region, event.reporter) == ("河边垃圾堆放", county.grid1, personas["grid_member"])
    assert str(event.latitude) == "34.123456" and str(event.longitude) == "112.654321"
    assert Attachment.objects.filter(owner_id=event.pk, kind="image").count() == 1
    page = client.get(reverse("grid:mobile")).content.decode()
    detail = reverse("grid:event_detail", args=[event.pk])
    assert f'事件 <a href="{detail}">#{event.pk}</a> 已上报' in page  # the confirmation links to the case
    # The same submission again (a retry on a bad network) creates nothing new.
    client.post(reverse("grid:mobile_report"), {**report(county, category), "files": [photo("scene.jpg")]})
    assert Event.objects.count() == 1


def test_bad_report_keeps_input_and_saves_nothing(client, county, personas, category):
    client.force_login(personas["grid_member"])
    future = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("grid:mobile_report"), {**report(county, category, occurred_at=future),
                                                           "files": [photo("scene.jpg")]})
    assert response.status_code == 422
    page = response.content.decode()
    assert "河边垃圾堆放" in page and "发生时间" in page
    assert not Event.objects.exists() and not Attachment.objects.exists()


def test_report_outside_my_grid_is_refused(client, county, personas, category):
    client.force_login(personas["grid_member"])
    response = client.post(reverse("grid:mobile_report"), report(county, category, region=county.henan.pk))
    assert response.status_code == 422 and "有效的选项" in response.content.decode()  # not one of my regions
    assert not Event.objects.exists()


def test_todays_diary_written_then_updated(client, county, personas):
    member = personas["grid_member"]
    client.force_login(member)
    today = timezone.localdate()
    data = {"region": county.grid1.pk, "date": today.isoformat(), "content": "上午入户走访 12 户，下午巡查河堤。"}
    response = client.post(reverse("grid:mobile_diary"), data)
    assert response.status_code == 302 and response["Location"].endswith("#diary")
    diary = WorkDiary.objects.get(author=member, date=today)
    assert diary.content.startswith("上午入户走访")
    client.post(reverse("grid:mobile_diary"), {**data, "content": "补充：晚上参加村民会议。"})
    assert WorkDiary.objects.get(author=member, date=today).content == "补充：晚上参加村民会议。"
    page = client.get(reverse("grid:mobile")).content.decode()
    assert "更新今日日志" in page and "补充：晚上参加村民会议。" in page


def test_empty_diary_is_refused(client, county, personas):
    client.force_login(personas["grid_member"])
    response = client.post(reverse("grid:mobile_diary"), {"region": county.grid1.pk,
                                                          "date": timezone.localdate().isoformat(), "content": ""})
    assert response.status_code == 422 and not WorkDiary.objects.exists()


def test_my_tasks_link_to_the_step_pages(client, county, personas, category):
    client.force_login(personas["grid_member"])
    client.post(reverse("grid:mobile_report"), report(county, category))
    event = Event.objects.get()
    client.force_login(personas["grid_leader"])  # the grid leader triages events of the grid
    page = client.get(reverse("grid:mobile")).content.decode()
    assert reverse("grid:event_detail", args=[event.pk]) in page and "网格处置" in page
    detail = client.get(reverse("grid:event_detail", args=[event.pk]))
    assert detail.status_code == 200
    assert re.search(r'<meta name="viewport" content="width=device-width', detail.content.decode())


@pytest.mark.parametrize("role", ["outsider", "township_office", "county_office"])
def test_phone_page_is_for_grid_members(client, county, personas, role):
    client.force_login(personas[role])
    assert client.get(reverse("grid:mobile")).status_code == 403
    assert client.post(reverse("grid:mobile_diary"), {}).status_code == 403


def test_phone_page_needs_sign_in(client, db):
    response = client.get(reverse("grid:mobile"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_my_reports_on_the_phone_show_status_and_current_step(client, county, personas, category):


    member = personas["grid_member"]
    client.force_login(member)
    client.post(reverse("grid:mobile_report"), {**report(county, category), "files": [photo("scene.jpg")]})
    client.post(reverse("grid:mobile_report"), {**report(county, category, idempotency_key="phone-2", title="路灯损坏"),
                                               "files": [photo("lamp.jpg")]})
    lamp = Event.objects.get(title="路灯损坏")
    events.handle_event(lamp, by=personas["grid_leader"], decision="escalate", reason="需村里协调")
    Event.objects.create(reporter=personas["grid_leader"], region=county.grid1, handling_region=county.grid1,
                         category=category, title="别人上报的", description="x", occurred_at=timezone.now(),
                         idempotency_key="other")
    page = client.get(reverse("grid:mobile")).content.decode()
    mine = page[page.index('id="mine"'):]
    assert "我上报的" in page and "#mine" in page
    assert "路灯损坏" in mine and "村级处置：楼星村" in mine
    assert "河边垃圾堆放" in mine and "网格处置：第1网格" in mine
    assert "别人上报的" not in mine
    assert mine.index("路灯损坏") < mine.index("河边垃圾堆放")  # newest first
    assert reverse("grid:event_detail", args=[lamp.pk]) in mine


def test_event_list_filters_my_own_reports(client, county, personas, category):
    for user, title in ((personas["grid_member"], "我报的"), (personas["grid_leader"], "网格长报的")):
        Event.objects.create(reporter=user, region=county.grid1, handling_region=county.grid1, category=category,
                             title=title, description="x", occurred_at=timezone.now(), idempotency_key=title)
    client.force_login(personas["grid_member"])
    page = client.get(reverse("grid:events") + "?mine=on").content.decode()
    assert "我报的" in page and "网格长报的" not in page
