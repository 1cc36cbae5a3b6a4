"""Journey 3 (整改): the county inspection office imports 太平镇's paper rectification plan (a job) → the township committee fills in an item
(责任、措施、整改情况), reports progress and applies to close it with evidence → the county inspection
office accepts it (销号) → the committee registers a meeting, drafts, approves and publishes the progress
notice → an anonymous visitor reads it at /public/notices/."""

from __future__ import annotations

import csv
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rectification.models import ProgressNotice, RectificationItem, RectificationPlan

from .conftest import exif_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NAMES = {"township_committee": "冯党委", "county_office": "褚巡察办"}
ROUND = "十五届县委第二轮巡察"
HEADER = ["序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施"]
FOCUS_1 = "聚焦群众身边腐败问题和不正之风"
FOCUS_2 = "聚焦基层党组织领导班子和干部队伍建设"
ROWS = [
    ["1", FOCUS_1, "三资管理", "“三资”管理不规范，部分村集体资产未登记入账", "已完成清产核资，资产全部登记入账", "已整改",
     "张某某", "财政所", "2024年12月底前", "", ""],
    ["2", FOCUS_1, "惠民政策", "惠民资金发放公示不及时", "已建立惠民资金发放公示制度", "长期坚持", "李某某", "民政所", "长期坚持",
     "", ""],
    ["3", FOCUS_2, "组织生活", "部分村党支部“三会一课”记录不全", "", "未整改", "", "", "2025年6月30日", "", ""],
    ["4", FOCUS_2, "作风建设", "为民服务意识不强，群众办事多次往返", "已开展专题教育，推行帮办代办", "正在整改中", "王某某",
     "党政办", "2025/3/31", "涉及便民服务中心改造", "2025年3月底前完成改造"],
]
ITEM_3 = "部分村党支部“三会一课”记录不全"


@pytest.fixture
def paper_plan(county, personas, tmp_path):
    """太平镇's rectification plan as kept on paper: a CSV in the import's columns."""
    for key, name in NAMES.items():
        personas[key].first_name = name
        personas[key].save(update_fields=["first_name"])
    path = tmp_path / "太平镇整改台账.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *ROWS])
    return path


def section(page, heading: str):
    return page.locator("section.gv-card", has=page.get_by_role("heading", name=heading, exact=True))


def test_committee_progresses_an_item_and_publishes_the_notice_read_by_the_public(journey, paper_plan):
    today = timezone.localdate()

    # ---- the county inspection office imports the paper plan (整改 → 导入整改方案), run as a job
    office = journey.sign_in("county_office", start="/rectification/plans/")
    office.locator("vf-page-menu-navigation a", has_text="导入整改方案").first.click()
    expect(office.get_by_role("heading", name="导入整改方案")).to_be_visible()
    office.get_by_label("整改党组织").select_option(label="太平镇")
    office.get_by_label("巡察轮次").fill(ROUND)
    office.get_by_label("巡察组").fill("县委第一巡察组")
    office.get_by_label("进驻日期").fill("2024-04-08")
    office.get_by_label("撤回日期").fill("2024-05-20")
    office.get_by_label("反馈日期").fill("2024-06-25")
    office.get_by_label("文件").set_input_files(str(paper_plan))
    journey.shot(office, "office-import-form")
    office.get_by_role("button", name="上传并导入").click()
    job = office.locator("section.gv-job")
    expect(job.locator("[data-job-field=status_label]")).to_have_text("已完成")
    expect(job).to_contain_text(f"已新建巡察轮次“{ROUND}”")
    expect(job).to_contain_text("新建 4 项")
    journey.shot(office, "office-import-done")
    office.get_by_role("link", name="查看导入结果").click()
    plan = RectificationPlan.objects.get()
    expect(office.get_by_role("heading", name=plan.title)).to_be_visible()
    assert plan.title == f"中共太平镇委员会关于{ROUND}反馈问题的整改方案"

    # ---- the committee finds the imported plan under 整改 → 整改方案
    committee = journey.sign_in("township_committee", start="/rectification/plans/")
    expect(committee.get_by_role("heading", name="整改方案")).to_be_visible()
    committee.get_by_role("link", name=plan.title).click()
    expect(committee.get_by_role("heading", name=plan.title)).to_be_visible()
    # the paper plan's 已整改 and 长期坚持 items are closed as the import; items 3 and 4 are past their deadlines
    expect(committee.locator("dl").first).to_contain_text("共 4 项：未整改 1 项，正在整改中 1 项，已整改 1 项")
    expect(committee.locator("dl").first).to_contain_text("已销号 2 项")
    expect(committee.locator("dl").first).to_contain_text("已逾期 2 项")
    expect(committee.locator("dl").first).to_contain_text(f"{ROUND}（县委第一巡察组）")
    items = committee.locator("section#items")
    for _number, _focus, _sub, title, *_rest in ROWS:
        expect(items).to_contain_text(title)
    expect(items.locator("tr", has_text=ITEM_3)).to_contain_text("未整改")
    journey.shot(committee, "imported-plan")

    # ---- the notice cannot be drafted into a publishable text yet: item 3 has no 整改情况
    committee.get_by_role("link", name="整改进展情况通报").click()
    expect(committee.get_by_role("alert").filter(has_text="缺少整改状态")).to_contain_text("第 3 项问题缺少整改状态或整改情况")
    journey.shot(committee, "notice-blocked-by-item-3")
    committee.go_back()

    # ---- item 3: responsibility and measures, a progress report, then 申请销号 with evidence
    items.get_by_role("link", name=ITEM_3).click()
    expect(committee.get_by_role("heading", name=re.compile(rf"3\. {ITEM_3}"))).to_contain_text("未整改")
    # An imported item without responsibility waits for 明确责任 (its flow starts at the first action).
    expect(committee.locator("dl").first).to_contain_text("当前环节明确责任")
    update = committee.locator("section#update")
    update.get_by_label("责任领导").fill("冯书记")
    update.get_by_label("责任单位").fill("党建办")
    update.get_by_label("整改措施").fill("逐村检查“三会一课”记录，统一记录本，组织委员每月抽查。")
    update.get_by_label("整改时限").fill("2025-06-30")
    update.get_by_label("整改情况").fill("已对 23 个村党支部“三会一课”记录逐一检查，统一配发记录本")
    journey.shot(committee, "item-3-assign")
    update.get_by_role("button", name="保存").click()
    expect(committee.locator(".gv-messages")).to_contain_text("整改责任与措施已保存。")
    expect(committee.locator("dl")).to_contain_text("责任领导冯书记")
    expect(committee.locator("dl")).to_contain_text("当前环节报送整改进展")

    progress = committee.locator("section#progress")
    progress.get_by_label("进展日期").fill(today.isoformat())
    progress.get_by_label("进展情况").fill("已完成 23 个村的记录检查，12 个村补齐记录。")
    progress.get_by_label("佐证材料").set_input_files(
        [{"name": "检查记录.jpg", "mimeType": "image/jpeg", "buffer": exif_jpeg(latitude=34.1, longitude=112.6)}])
    progress.get_by_role("button", name="报送").click()
    expect(committee.locator(".gv-messages")).to_contain_text("整改进展已报送。")
    heading = committee.get_by_role("heading", name=re.compile(rf"3\. {ITEM_3}"))
    expect(heading).to_contain_text("正在整改中")
    expect(committee.locator("section#timeline")).to_contain_text("已完成 23 个村的记录检查")
    expect(committee.locator("section#timeline")).to_contain_text("检查记录.jpg")

    claim = committee.locator("section#claim")
    # Its label points at the progress form's textarea (both are id_text; see report), so by name here.
    expect(claim.get_by_text("整改完成情况")).to_be_visible()
    claim.locator("textarea[name=text]").fill("各村“三会一课”记录已全部补齐，建立每月抽查制度")
    claim.locator("input[type=file]").set_input_files(
        [{"name": "抽查制度.jpg", "mimeType": "image/jpeg", "buffer": exif_jpeg(latitude=34.1, longitude=112.6)}])
    journey.shot(committee, "item-3-claim")
    claim.get_by_role("button", name="申请销号").click()
    expect(committee.locator(".gv-messages")).to_contain_text("已申请销号，等待县委巡察办验收。")
    expect(heading).to_contain_text("已整改")
    expect(committee.locator("dl")).to_contain_text("当前环节县委巡察办验收")
    expect(committee.locator("section#progress")).to_have_count(0)
    journey.shot(committee, "item-3-claimed")

    # ---- the county inspection office accepts it (销号)
    office.locator("vf-page-menu-navigation a", has_text="整改事项").first.click()
    expect(office.get_by_role("heading", name="整改事项")).to_be_visible()
    office.get_by_role("link", name=ITEM_3).click()
    verify = office.locator("section#verify-section")
    verify.get_by_label("验收通过，予以销号").check()
    verify.get_by_label("验收意见或退回理由").fill("经抽查 5 个村，记录完整规范，同意销号。")
    journey.shot(office, "office-verifies-item-3")
    verify.get_by_role("button", name="提交验收结果").click()
    expect(office.locator(".gv-messages")).to_contain_text("验收通过，已销号。")
    expect(office.get_by_role("heading", name=re.compile(rf"3\. {ITEM_3}"))).to_contain_text("已销号")
    expect(office.locator("dl")).to_contain_text("当前环节已销号")
    journey.shot(office, "office-closed-item-3")
    item = RectificationItem.objects.get(plan=plan, number=3)
    assert item.status == RectificationItem.Status.FULLY_DONE and item.closed_at is not None

    # ---- the committee registers the meeting, then drafts → approves → publishes the notice
    committee.goto(journey.url(f"/rectification/plans/{plan.pk}/"))
    expect(committee.locator("dl").first).to_contain_text("已销号 3 项")
    meeting = committee.locator("section#meeting")
    meeting.locator("summary").click()  # the plan page folds its registration forms
    meeting.get_by_label("会议日期").fill("2024-07-15")
    meeting.get_by_label("会议类型").fill("党委会")
    meeting.get_by_label("议题").fill("传达学习巡察反馈意见，研究部署整改工作")
    meeting.get_by_role("button", name="登记").click()
    expect(committee.locator(".gv-messages")).to_contain_text("整改会议已登记。")
    expect(committee.locator("section#records")).to_contain_text("2024-07-15 党委会：传达学习巡察反馈意见")
    journey.shot(committee, "plan-with-meeting")

    committee.get_by_role("link", name="整改进展情况通报").click()
    expect(committee.get_by_role("alert")).to_have_count(0)  # nothing missing any more
    page_card = section(committee, f"整改进展情况通报 · {plan.title}")
    expect(page_card).to_contain_text("巡察反馈问题 4 个，已整改 2 个，正在整改中 1 个，长期坚持 1 个，未整改 0 个")
    committee.get_by_role("button", name="起草通报").click()
    expect(committee.locator(".gv-messages")).to_contain_text("已起草第1版通报。")
    versions = section(committee, "各版本")
    expect(versions.locator("tbody tr").first).to_contain_text("草稿")
    journey.shot(committee, "notice-drafted")
    versions.get_by_role("button", name="审定").click()
    expect(committee.locator(".gv-messages")).to_contain_text("第1版通报已审定。")
    expect(versions.locator("tbody tr").first).to_contain_text("已审定")
    versions.get_by_role("button", name="公开").click()
    expect(committee.locator(".gv-messages")).to_contain_text("第1版通报已公开。")
    expect(versions.locator("tbody tr").first).to_contain_text("已公开")
    expect(versions.get_by_role("link", name="公开页面")).to_be_visible()
    journey.shot(committee, "notice-published")
    notice = ProgressNotice.objects.get(plan=plan)
    assert notice.state == ProgressNotice.State.PUBLISHED

    # ---- an anonymous visitor (no account, on a phone) reads it
    visitor = journey.open(phone=True)
    visitor.goto(journey.url("/public/notices/"))
    expect(visitor.get_by_role("heading", name="巡察整改进展情况通报")).to_be_visible()
    entry = visitor.locator("li.notice", has_text="中共太平镇委员会关于巡察整改进展情况的通报")
    expect(entry).to_contain_text(f"太平镇 · 第1版 · {today.year}年{today.month}月{today.day}日公开")
    journey.shot(visitor, "public-list")
    entry.get_by_role("link", name="中共太平镇委员会关于巡察整改进展情况的通报").click()
    expect(visitor).to_have_url(re.compile(rf"/public/notices/{notice.pk}/$"))
    body = visitor.locator("body")
    expect(body).to_contain_text("中共太平镇委员会关于巡察整改进展情况的通报")
    expect(body).to_contain_text("县委第一巡察组")
    expect(body).to_contain_text(ITEM_3)
    expect(body).to_contain_text("已整改到位。各村“三会一课”记录已全部补齐，建立每月抽查制度")
    expect(body).to_contain_text("传达学习巡察反馈意见")
    expect(visitor.get_by_role("link", name="下载 PDF")).to_be_visible()
    journey.shot(visitor, "public-notice")
    pdf = visitor.request.get(journey.url(visitor.get_by_role("link", name="下载 PDF").get_attribute("href")))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    # The visitor is not signed in: the committee's pages stay closed to them.
    visitor.goto(journey.url(f"/rectification/plans/{plan.pk}/"))
    expect(visitor).to_have_url(re.compile(r"/accounts/login/"))
    assert not journey.page_errors, journey.page_errors
