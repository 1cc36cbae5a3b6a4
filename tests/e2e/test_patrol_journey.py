"""Journey 2 (大巡查): a village patrol cadre reports a problem with a photo → the lead department verifies it
(属实, registered, points added) and orders rectification → the township office records a 12345 finding
against another village that had not reported it, the department registers it → the month's circular
shows the added and the deducted points, without a publish button while the month runs → once the month
has ended the office publishes it → the village sees the published circular. All through the pages, but for
the month's end: the records are moved back into last month."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inspection.models import CatalogItem, PatrolCategory, PatrolFinding, PatrolReport

from .conftest import exif_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NAMES = {"village_cadre": "赵巡查员", "department": "吴农业办", "township_office": "周执法办"}
ITEM = "未经审批占用耕地或集体土地新建、扩建住宅"


@pytest.fixture
def township(county, personas):
    """太平镇's catalog: TP-01 (3 points, led by 农业农村办) and TP-02 (2 points, also 农业农村办)."""
    for key, name in NAMES.items():
        personas[key].first_name = name
        personas[key].save(update_fields=["first_name"])
    category = PatrolCategory.objects.create(township=county.taiping, name="农村非法占用宅基地",
                                             lead_department=county.agriculture)
    CatalogItem.objects.create(township=county.taiping, code="TP-01", name=ITEM, category=category,
                               lead_department=county.agriculture, points=Decimal("3"),
                               evidence_required="现场照片（带时间、经纬度水印）、位置示意图")
    CatalogItem.objects.create(township=county.taiping, code="TP-02", name="田间焚烧秸秆", category=category,
                               lead_department=county.agriculture, points=Decimal("2"))
    return county


def menu(page, area: str, link: str):
    """The left menu: an area (大巡查) shows its pages; then one of them."""
    nav = page.locator("vf-page-menu-navigation")

    def entry(title):  # the link's own words, not the icon's ligature name next to them
        return nav.locator("a", has=page.locator(".mdc-list-item__content", has_text=re.compile(rf"^\s*{title}\s*$")))

    if not entry(link).count():
        entry(area).first.click()
    entry(link).first.click()


def test_village_report_is_verified_and_the_circular_shows_the_points(journey, township):
    today = timezone.localdate()
    month = f"{today:%Y-%m}"

    # ---- the village patrol cadre reports, on a phone, with a photo
    cadre = journey.sign_in("village_cadre", start="/patrol/reports/", phone=True)
    expect(cadre.get_by_role("heading", name="村级上报")).to_be_visible()
    cadre.get_by_role("link", name="上报问题").click()
    expect(cadre.get_by_role("heading", name="上报巡查发现的问题")).to_be_visible()
    expect(cadre.get_by_label("村（居）")).to_have_value(str(township.louxing.pk))
    cadre.get_by_label("目录事项").select_option(label=f"TP-01 {ITEM}（农业农村办，3 分）")
    occurred = timezone.localtime() - datetime.timedelta(hours=2)
    cadre.get_by_label("发生时间").fill(occurred.strftime("%Y-%m-%dT%H:%M"))
    cadre.get_by_label("地点").fill("楼星村三组村道旁")
    cadre.get_by_label("问题描述").fill("三组村道旁耕地上新打地基约 120 平方米，未见宅基地审批手续。")
    cadre.get_by_label("现场照片或佐证材料").set_input_files(
        [{"name": "地基.jpg", "mimeType": "image/jpeg",
          "buffer": exif_jpeg(latitude=34.1201, longitude=112.6502, taken=occurred, colour=(150, 140, 120))}])
    journey.shot(cadre, "village-report-form")
    cadre.get_by_role("button", name="提交上报").click()
    expect(cadre.locator(".gv-messages")).to_contain_text("等待农业农村办核实")
    report = PatrolReport.objects.get()
    expect(cadre.get_by_role("heading", name=re.compile(report.number))).to_contain_text("待核实")
    details = cadre.locator("dl").first
    expect(details).to_contain_text("当前环节牵头部门核实（农业农村办）")
    expect(cadre.locator("section", has=cadre.get_by_role("heading", name="佐证材料"))).to_contain_text(
        f"拍摄：{occurred:%Y-%m-%d %H:%M}")
    expect(cadre.get_by_role("heading", name=re.compile("核实认定"))).to_have_count(0)  # not for the village
    journey.shot(cadre, "village-reported")

    # ---- the lead department verifies it from 待核实上报: 属实, registered, +3
    dept = journey.sign_in("department", start="/patrol/reports/pending/")
    expect(dept.get_by_role("heading", name="待核实上报")).to_be_visible()
    row = dept.locator("table tbody tr", has_text=report.number)
    expect(row).to_contain_text("楼星村")
    journey.shot(dept, "department-queue")
    row.get_by_role("link").first.click()
    verify = dept.locator("section#verify-section")
    expect(verify).to_contain_text("核实认定（农业农村办）")
    verify.get_by_label("属实（登记备案，加 3 分）").check()
    verify.get_by_label("核实情况（不属实须填写理由）").fill("经现场核实，地基位于基本农田内，未办理审批。")
    journey.shot(dept, "department-verifies")
    verify.get_by_role("button", name="提交核实结果").click()
    expect(dept.locator(".gv-messages")).to_contain_text("核实结果已登记。")
    expect(dept.get_by_role("heading", name=re.compile(report.number))).to_contain_text("属实")
    details = dept.locator("dl").first
    expect(details).to_contain_text("加分3")
    expect(details).to_contain_text(re.compile(r"登记备案农业农村办-\d{4}-\d{4}"))
    follow = dept.locator("section#follow-up-section")
    follow.get_by_label("处置方式").select_option(label="责令整改")
    follow.get_by_label("处置情况").fill("已下达责令整改通知书，限期七日内拆除地基、恢复耕种条件。")
    follow.get_by_role("button", name="提交").click()
    expect(dept.locator(".gv-messages")).to_contain_text("后续处置已安排。")
    expect(dept.locator("dl").first).to_contain_text("后续处置责令整改：已下达责令整改通知书")
    timeline = dept.locator(".gv-timeline")
    for step in ("赵巡查员 · 村（居）上报", "吴农业办 · 核实属实，登记备案并加分", "吴农业办 · 责令整改"):
        expect(timeline).to_contain_text(step)
    journey.shot(dept, "department-verified")

    # ---- the township office records a 12345 complaint about 大楼村, which 大楼村 had not reported
    office = journey.sign_in("township_office", start="/patrol/findings/")
    expect(office.get_by_role("heading", name="发现问题")).to_be_visible()
    office.get_by_role("link", name=re.compile("录入")).first.click()
    expect(office.get_by_role("heading", name="录入发现问题")).to_be_visible()
    office.get_by_label("村（居）").select_option(label="某县/太平镇/大楼村")
    office.get_by_label("目录事项").select_option(value=str(CatalogItem.objects.get(code="TP-02").pk))
    office.get_by_label("来源").select_option(label="12345")
    # The form means to default to today, but renders it as 2026/11/28, which a date input drops (see report).
    office.get_by_label("发现日期").fill(today.isoformat())
    office.get_by_label("地点").fill("大楼村后山麦田")
    office.get_by_label("问题描述").fill("群众拨打 12345 反映大楼村后山麦田焚烧秸秆，浓烟较大。")
    journey.shot(office, "office-finding-form")
    office.get_by_role("button", name="保存").click()
    expect(office.locator(".gv-messages")).to_contain_text("待牵头部门核实登记")
    finding = PatrolFinding.objects.get()
    expect(office.locator("dl").first).to_contain_text("来源12345")
    journey.shot(office, "office-finding-recorded")

    # ---- the department registers the finding (属实)
    dept.goto(journey.url("/patrol/findings/"))
    dept.locator("table tbody tr", has_text=finding.number).get_by_role("link").first.click()
    register = dept.locator("section#register")
    register.get_by_label("核实结果").select_option(label="属实")
    register.get_by_label("核实情况").fill("经核实，大楼村后山确有焚烧秸秆痕迹，村里此前未上报。")
    journey.shot(dept, "department-registers-finding")
    register.get_by_role("button", name="核实并登记备案").click()
    expect(dept.locator(".gv-messages")).to_contain_text(f"{finding.number} 已核实登记备案。")
    expect(dept.locator("dl").first).to_contain_text("登记备案吴农业办")
    journey.shot(dept, "department-registered-finding")

    # ---- the office opens 考评通报 for this month: 楼星村 +3 → 63, 大楼村 −2 → 58
    menu(office, "大巡查", "考评通报")
    expect(office.get_by_role("heading", name=re.compile("考评通报"))).to_be_visible()
    office.get_by_label("乡镇").select_option(label="太平镇")
    office.get_by_label("类型").select_option(label="月度通报")
    office.get_by_label("月份").fill(month)
    office.get_by_role("button", name="查看").click()
    circular = office.locator("section#circular")
    expect(circular.get_by_role("heading")).to_have_text(f"太平镇大巡查工作{today.year}年{today.month}月考评情况通报")
    expect(circular).to_contain_text("未发布")
    expect(circular).to_contain_text("合计加 3 分、扣 2 分")
    ranking = office.locator("section#ranking")
    first, second = ranking.locator("tbody tr").nth(0), ranking.locator("tbody tr").nth(1)
    expect(first).to_contain_text("楼星村")
    expect(first.locator("td").nth(3)).to_have_text("3")
    expect(first.locator("td").nth(6)).to_have_text("63")
    expect(second).to_contain_text("大楼村")
    expect(second.locator("td").nth(4)).to_have_text("2")
    expect(second.locator("td").nth(6)).to_have_text("58")
    details = office.locator("section#details")
    expect(details).to_contain_text("楼星村：加 3 分，扣 0 分，得分 63")
    expect(details.locator("tr", has_text="TP-01")).to_contain_text("+3")
    expect(details.locator("tr", has_text="TP-01")).to_contain_text(report.number)
    expect(details).to_contain_text("大楼村：加 0 分，扣 2 分，得分 58")
    deduction = details.locator("tr", has_text="TP-02")
    expect(deduction).to_contain_text("−2")
    expect(deduction).to_contain_text("12345")
    expect(deduction).to_contain_text(finding.number)
    # A month is circulated once it has ended: no publish button while it runs.
    expect(circular.get_by_role("button", name="发布通报")).to_have_count(0)
    expect(circular).to_contain_text(f"{today.year}年{today.month}月尚未结束，月满后才能发布该月考评通报。")
    journey.shot(office, "circular-live")

    # ---- the month ends: rather than wait for it, the journey's records move back into last month
    back = datetime.timedelta(days=today.day)
    ended = today - back
    for record in PatrolReport.objects.all():
        record.occurred_at, record.reported_on = record.occurred_at - back, record.reported_on - back
        record.verified_on, record.registered_at = record.verified_on - back, record.registered_at - back
        record.save(update_fields=["occurred_at", "reported_on", "verified_on", "registered_at"])
    for record in PatrolFinding.objects.all():
        record.discovered_on, record.registered_at = record.discovered_on - back, record.registered_at - back
        record.save(update_fields=["discovered_on", "registered_at"])
    office.get_by_label("月份").fill(f"{ended:%Y-%m}")
    office.get_by_role("button", name="查看").click()
    expect(circular.get_by_role("heading")).to_have_text(f"太平镇大巡查工作{ended.year}年{ended.month}月考评情况通报")
    expect(office.locator("section#details")).to_contain_text("楼星村：加 3 分，扣 0 分，得分 63")
    circular.get_by_role("button", name="发布通报").click()
    expect(office.locator("section#circular")).to_contain_text("已发布")
    expect(office.locator("section#published tbody tr").first).to_contain_text(f"{ended.year}年{ended.month}月")
    journey.shot(office, "circular-published")

    # ---- the village cadre sees the published circular of their township
    cadre.goto(journey.url("/patrol/circulars/"))
    cadre.get_by_label("月份").fill(f"{ended:%Y-%m}")
    cadre.get_by_role("button", name="查看").click()
    expect(cadre.locator("section#circular")).to_contain_text("已发布")
    expect(cadre.locator("section#details")).to_contain_text("楼星村：加 3 分，扣 0 分，得分 63")
    journey.shot(cadre, "village-reads-circular")
    assert not journey.page_errors, journey.page_errors
