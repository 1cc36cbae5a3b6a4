"""Journey 4 (each role's work on its home page): a grid member reports from the phone and follows the
report under 我上报的 → the grid leader's home says a diary waits for review and lists the event among
this week's deadlines → the leader escalates it with a reason → back on the phone the member sees where
it went and the reason in its case record."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from grid.models import Event, EventCategory, WorkDiary

from .conftest import exif_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TITLE = "河堤垃圾堆放"
REASON = "堆放量大，需村里调车清运。"


@pytest.fixture
def village(county, personas):
    for key, name in (("grid_member", "张网格员"), ("grid_leader", "李网格长")):
        personas[key].first_name = name
        personas[key].save(update_fields=["first_name"])
    WorkDiary.objects.create(author=personas["grid_member"], region=county.grid1,
                             date=timezone.localdate() - datetime.timedelta(days=1), content="走访 12 户，巡查河堤一次")
    return county


def test_home_pages_show_each_roles_work(journey, village):
    # ---- the grid member reports from the phone page and follows the report there
    member = journey.sign_in("grid_member", start="/grid/m/", phone=True)
    category = EventCategory.objects.filter(parent__isnull=False, is_active=True).order_by("id").first()
    member.get_by_label("事件类别").select_option(value=str(category.pk))
    member.get_by_label("标题").fill(TITLE)
    member.get_by_label("描述").fill("河堤东侧堆放生活垃圾约两方。")
    member.get_by_label("纬度").fill("34.123456")
    member.get_by_label("经度").fill("112.654321")
    occurred = timezone.localtime() - datetime.timedelta(hours=1)
    member.get_by_label("发生时间").fill(occurred.strftime("%Y-%m-%dT%H:%M"))
    member.locator("#id_photos").set_input_files(
        [{"name": "现场.jpg", "mimeType": "image/jpeg",
          "buffer": exif_jpeg(latitude=34.123456, longitude=112.654321, taken=occurred)}])
    member.get_by_role("button", name="提交上报").click()
    event = Event.objects.get(title=TITLE)
    expect(member.locator(".gv-messages")).to_contain_text(f"事件 #{event.pk} 已上报")
    mine = member.locator("section#mine")
    expect(mine.locator("li", has_text=TITLE)).to_contain_text("网格处置：第1网格")
    journey.shot(member, "phone-my-reports")
    member.locator(".gv-messages").get_by_role("link", name="查看办理进度").click()
    expect(member).to_have_url(re.compile(rf"/grid/events/{event.pk}/$"))
    expect(member.locator("section#evidence")).to_contain_text("上报照片（处置前）")

    # ---- the grid leader's home: a diary waits for review; the event is among this week's deadlines
    leader = journey.sign_in("grid_leader", start="/grid/tasks/")
    leader.goto(journey.url("/"))
    waiting = leader.locator("section#waiting")
    expect(waiting.locator(".gv-kpi", has_text="待审核的工作日志")).to_contain_text("1")
    deadlines = leader.locator("section#deadlines")
    expect(deadlines.locator("tr", has_text=TITLE)).to_contain_text(re.compile("剩|今天到期"))
    journey.shot(leader, "leader-home")
    deadlines.get_by_role("link", name=re.compile(TITLE)).click()
    leader.get_by_label("上报理由").fill(REASON)
    leader.locator("form", has=leader.get_by_label("上报理由")).get_by_role("button", name="上报").click()
    expect(leader.locator(".gv-messages")).to_contain_text("已办理：上报上一级。")
    journey.shot(leader, "leader-escalated")

    # ---- back on the phone: where it is now, and the reason in its case record
    member.goto(journey.url("/grid/m/"))
    expect(member.locator("section#mine li", has_text=TITLE)).to_contain_text("村级处置：楼星村")
    member.locator("section#mine").get_by_role("link", name=re.compile(TITLE)).click()
    step = member.locator("#case-record li").filter(has_text="上报上一级").first
    expect(step).to_contain_text("李网格长")
    expect(step).to_contain_text(f"上报理由：{REASON}")
    journey.shot(member, "phone-case-record")
    assert not journey.page_errors, journey.page_errors
