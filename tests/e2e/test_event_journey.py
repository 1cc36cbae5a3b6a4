"""Journey 1 (grid events, 村呼镇应、吹哨报到): a grid member reports from a phone with a photo → the grid
leader escalates → the village escalates → the township office dispatches to the lead department →
the department handles it → the reporter verifies and rates it. All through the pages."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from grid.models import CategoryRouting, Event, EventCategory

from .conftest import exif_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NAMES = {"grid_member": "张网格员", "grid_leader": "李网格长", "village_cadre": "赵巡查员",
         "township_office": "周执法办", "department": "吴农业办"}
LATITUDE, LONGITUDE = 34.123456, 112.654321
TITLE = "村口新建棚舍占用耕地"


@pytest.fixture
def village(county, personas):
    for key, name in NAMES.items():
        personas[key].first_name = name
        personas[key].save(update_fields=["first_name"])
    category = EventCategory.objects.get(code="WJ03")  # 违法建设 / 农村非法占用宅基地 (data migration)
    CategoryRouting.objects.create(township=county.taiping, category=category, department=county.agriculture)
    return county


def step_of(page, label: str, actor: str):
    """One step of the case record (办理经过) by its decision and who took it."""
    return page.locator("#case-record li").filter(has_text=label).filter(has_text=actor).first


def open_task(journey, page, title: str):
    """From a page of the 网格 area: 我的待办 in the menu → the event's row."""
    page.locator("vf-page-menu-navigation a", has_text="我的待办").first.click()
    expect(page.get_by_role("heading", name="我的待办")).to_be_visible()
    row = page.locator("table tbody tr", has_text=title)
    expect(row).to_have_count(1)
    return row


def test_grid_event_from_report_to_verification(journey, village):
    # ---- the grid member reports from a phone, with a photo taken an hour ago at the spot
    reporter = journey.sign_in("grid_member", start="/grid/events/new/", phone=True)
    expect(reporter.get_by_role("heading", name="上报事件")).to_be_visible()
    expect(reporter.get_by_label("发生区域")).to_have_value(str(village.grid1.pk))  # their one grid, preselected
    occurred = timezone.localtime() - datetime.timedelta(hours=1)
    reporter.get_by_label("事件类别").select_option(label="农村非法占用宅基地")
    reporter.get_by_label("标题").fill(TITLE)
    reporter.get_by_label("描述").fill("楼星村村口东侧耕地上新建彩钢棚舍约 60 平方米，未见审批手续。")
    reporter.get_by_label("发生时间").fill(occurred.strftime("%Y-%m-%dT%H:%M"))
    reporter.get_by_label("紧急程度").select_option(label="紧急")
    reporter.get_by_label("纬度").fill(f"{LATITUDE:.6f}")
    reporter.get_by_label("经度").fill(f"{LONGITUDE:.6f}")
    reporter.get_by_label("地址").fill("楼星村村口东侧")
    photo = exif_jpeg(latitude=LATITUDE, longitude=LONGITUDE, taken=occurred)
    reporter.get_by_label("现场照片、视频或文档").set_input_files(
        [{"name": "IMG_20261127_现场.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    journey.shot(reporter, "report-form-filled")
    reporter.get_by_role("button", name="提交上报").click()

    expect(reporter.locator(".gv-messages")).to_contain_text("已上报，进入第1网格的处置环节")
    event = Event.objects.get(title=TITLE)
    expect(reporter).to_have_url(re.compile(rf"/grid/events/{event.pk}/$"))
    card = reporter.locator("section.gv-card").filter(has=reporter.get_by_role("heading", name=TITLE))
    expect(card.get_by_role("heading")).to_contain_text("处置中")
    expect(card.get_by_role("heading")).to_contain_text("紧急")
    expect(card).to_contain_text("网格处置：某县太平镇楼星村第1网格")
    evidence = reporter.locator("section.gv-card", has=reporter.get_by_role("heading", name="佐证材料"))
    expect(evidence).to_contain_text(f"拍摄：{occurred:%Y-%m-%d %H:%M}")
    expect(evidence).to_contain_text(f"位置：{LATITUDE:.6f}, {LONGITUDE:.6f}")
    expect(evidence.locator(".gv-tag--warn")).to_have_count(0)  # photo agrees with the report: no warning
    thumbnail = evidence.locator("img")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0"), "the photo's thumbnail did not load"
    journey.shot(reporter, "reported-detail")

    # ---- the grid leader finds it in 我的待办 and escalates it to the village
    leader = journey.sign_in("grid_leader", start="/grid/")
    row = open_task(journey, leader, TITLE)
    expect(row).to_contain_text("网格处置")
    journey.shot(leader, "leader-my-tasks")
    row.get_by_role("link", name=TITLE).click()
    expect(leader.get_by_role("heading", name="办理：网格处置")).to_be_visible()
    for option in ("就地处置结案", "上报上一级（村呼镇应）", "合并为重复事件", "驳回"):
        expect(leader.get_by_role("heading", name=option)).to_be_visible()
    leader.get_by_label("上报理由").fill("棚舍占用耕地，需村里协调拆除。")
    journey.shot(leader, "leader-escalates")
    leader.locator("form", has=leader.get_by_label("上报理由")).get_by_role("button", name="上报").click()
    expect(leader.locator(".gv-messages")).to_contain_text("已办理：上报上一级。")
    expect(leader.locator("dl")).to_contain_text("村级处置：某县太平镇楼星村")
    expect(leader.locator("section#actions")).to_have_count(0)  # no longer theirs to handle
    journey.shot(leader, "leader-escalated")

    # ---- the village cadre escalates to the township (村呼镇应)
    # This time through the message the escalation sent (菜单“消息” shows the unread count).
    cadre = journey.sign_in("village_cadre", start="/grid/")
    inbox_link = cadre.locator("vf-page-menu-navigation a", has_text="消息").first
    expect(inbox_link.locator(".gv-badge")).to_have_text("1")
    inbox_link.click()
    expect(cadre.get_by_role("heading", name="消息")).to_be_visible()
    message = cadre.locator("table tbody tr", has_text=TITLE)
    expect(message).to_contain_text("待办")
    journey.shot(cadre, "village-inbox")
    message.get_by_role("link").first.click()
    expect(cadre).to_have_url(re.compile(rf"/grid/events/{event.pk}/$"))
    expect(step_of(cadre, "上报上一级", "李网格长")).to_be_visible()
    expect(cadre.get_by_role("heading", name="合并为重复事件")).to_have_count(0)  # a grid-level option only
    cadre.get_by_label("上报理由").fill("涉及耕地保护，村里无执法权，请镇里处理。")
    cadre.locator("form", has=cadre.get_by_label("上报理由")).get_by_role("button", name="上报").click()
    expect(cadre.locator(".gv-messages")).to_contain_text("已办理：上报上一级。")
    expect(cadre.locator("dl")).to_contain_text("乡镇处置：某县太平镇")
    journey.shot(cadre, "village-escalated")

    # ---- the township office whistles (吹哨): dispatch to the category's lead department
    office = journey.sign_in("township_office", start="/grid/")
    open_task(journey, office, TITLE).get_by_role("link", name=TITLE).click()
    department = office.get_by_label("承办部门")
    expect(department.locator("option:checked")).to_have_text("农业农村办（该类别牵头部门）")
    journey.shot(office, "township-dispatch-form")
    office.get_by_role("button", name="派单").click()
    expect(office.locator(".gv-messages")).to_contain_text("已办理：派单至部门。")
    card = office.locator("section.gv-card").filter(has=office.get_by_role("heading", name=TITLE))
    expect(card).to_contain_text("部门办理中")
    expect(card).to_contain_text("部门办理：某县太平镇·农业农村办")
    journey.shot(office, "township-dispatched")

    # ---- the department handles it, with a photo of the site after
    dept = journey.sign_in("department", start="/grid/")
    open_task(journey, dept, TITLE).get_by_role("link", name=TITLE).click()
    expect(dept.get_by_role("heading", name="办理：部门办理")).to_be_visible()
    dept.get_by_label("办理结果").fill("已联合执法拆除违建棚舍，恢复耕地原状。")
    dept.get_by_label("办理佐证（至少一份）").set_input_files(
        [{"name": "拆除后.jpg", "mimeType": "image/jpeg",
          "buffer": exif_jpeg(latitude=LATITUDE, longitude=LONGITUDE, colour=(90, 150, 80))}])
    journey.shot(dept, "department-resolves")
    dept.get_by_role("button", name="办结，提交核实").click()
    expect(dept.locator(".gv-messages")).to_contain_text("已办理：就地处置结案。")
    expect(dept.locator("dl")).to_contain_text("已联合执法拆除违建棚舍")
    journey.shot(dept, "department-resolved")

    # ---- back on the phone: the reporter verifies and rates
    reporter.reload()
    expect(reporter.get_by_role("heading", name="办理：核实办结")).to_be_visible()
    card = reporter.locator("section.gv-card").filter(has=reporter.get_by_role("heading", name=TITLE))
    expect(card).to_contain_text("待核实")
    journey.shot(reporter, "reporter-verifies")
    reporter.get_by_role("button", name="核实满意，办结").click()
    expect(reporter.locator(".gv-messages")).to_contain_text("已办理：核实满意。")
    expect(card).to_contain_text("已办结")
    reporter.get_by_label("满意度").select_option(label="5 分")
    reporter.get_by_label("评价").fill("处理及时")
    reporter.get_by_role("button", name="提交评价").click()
    expect(reporter.locator(".gv-messages")).to_contain_text("感谢评价。")
    expect(reporter.locator("dl")).to_contain_text("5 分 处理及时")
    for label, actor in (("上报事件", "张网格员"), ("上报上一级", "李网格长"), ("上报上一级", "赵巡查员"),
                         ("派单至部门", "周执法办"), ("部门办结", "吴农业办"), ("核实满意", "张网格员"), ("评价", "张网格员")):
        expect(step_of(reporter, label, actor)).to_be_visible()
    # every reason is kept after the department's result, and the photos say which is before and after
    expect(step_of(reporter, "上报上一级", "赵巡查员")).to_contain_text("上报理由：涉及耕地保护，村里无执法权，请镇里处理。")
    expect(step_of(reporter, "部门办结", "吴农业办")).to_contain_text("办理结果：已联合执法拆除违建棚舍")
    evidence = reporter.locator("section#evidence")
    expect(evidence).to_contain_text("上报照片（处置前）")
    expect(evidence).to_contain_text("处置照片（处置后）")
    journey.shot(reporter, "closed-and-rated")
    reporter.get_by_role("link", name="查看流程图").click()
    expect(reporter.get_by_role("heading", name=f"事件 #{event.pk} 流程图")).to_be_visible()
    expect(reporter.locator(".gv-chart svg")).to_be_visible()
    journey.shot(reporter, "flow-chart")

    event.refresh_from_db()
    assert (event.status, event.rating, event.department) == (Event.Status.CLOSED, 5, village.agriculture)
    assert not journey.page_errors, journey.page_errors
