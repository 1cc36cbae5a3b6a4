"""Contradictions in a progress notice are shown on the draft and refused at 审定."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from rectification import checks, notices
from rectification.models import ProgressNotice

from .test_notices import make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(county, personas):
    return make_plan(county.taiping, personas["township_committee"], 6)


def test_a_consistent_plan_has_no_warnings_and_is_approved(plan, personas):
    assert checks.notice_warnings(plan, notices.build_notice(plan)) == []
    notice = notices.create_draft(plan, by=personas["township_committee"])
    assert notices.approve(notice, by=personas["township_committee"]).state == ProgressNotice.State.APPROVED


def test_a_next_step_after_the_deadline_without_a_new_deadline_is_refused_at_approval(plan, personas, client):
    item = plan.items.filter(status="in_progress").first()
    item.new_deadline, item.next_steps = None, "协调县自然资源局，2027年6月底前完成剩余2个村的确权登记"
    item.save()
    user = personas["township_committee"]
    notice = notices.create_draft(plan, by=user)
    client.force_login(user)
    page = client.get(reverse("rectification:plan_notices", args=[plan.pk]))
    expected = f"第{item.number}项的下一步措施写明2027年6月30日，晚于整改时限2024年12月31日，但未填写新的整改时限"
    assert any(expected in warning for warning in page.context["warnings"])
    assert expected in page.content.decode()
    with pytest.raises(ValidationError, match="不能审定"):
        notices.approve(notice, by=user)
    refused = client.post(reverse("rectification:notice_action", args=[notice.pk, "approve"]), follow=True)
    said = [str(message) for message in refused.context["messages"]]
    assert said == [f"通报存在矛盾，不能审定：{expected}。"]  # no stray "；" after the colon
    notice.refresh_from_db()
    assert notice.state == ProgressNotice.State.DRAFT and notice.content is None  # nothing half-written
    item.new_deadline = datetime.date(2027, 6, 30)
    item.save()
    assert notices.approve(notice, by=user).state == ProgressNotice.State.APPROVED


@pytest.mark.parametrize("contact", ["电话 0000-0000000", "联系电话：1111111", "待定", "xxx@xxx", "电话：***"])
def test_a_placeholder_contact_is_a_warning(plan, contact):
    plan.contact = contact
    plan.save()
    assert any("占位内容" in warning for warning in checks.notice_warnings(plan))


@pytest.mark.parametrize("contact", ["电话 0391-1234567", "邮箱 tpzhengai@example.cn", ""])
def test_a_real_contact_is_not_a_warning(plan, contact):
    plan.contact = contact
    plan.save()
    assert checks.notice_warnings(plan) == []


def test_counts_typed_in_the_plan_text_or_stale_in_the_notice_are_refused(plan, personas):
    data = notices.build_notice(plan)
    done = data["counts"]["done"]
    plan.organisation_text = f"截至目前，已整改{done + 1}个问题。"
    plan.save()
    warnings = checks.notice_warnings(plan, data)
    assert any(f"“已整改{done + 1}个”，与整改事项不一致（已整改实为 {done} 个）" in w for w in warnings)
    plan.organisation_text = f"截至目前，已整改{done}个问题。"
    plan.save()
    assert checks.notice_warnings(plan, data) == []
    stale = {**data, "counts": {**data["counts"], "done": done - 1}}
    assert any("通报中的计数与整改事项不一致" in w for w in checks.notice_warnings(plan, stale))
    with pytest.raises(ValidationError):
        checks.refuse_contradictions(plan, stale)


def test_dates_named_in_a_sentence():
    assert checks.dates_in("2025年6月底前完成，2025-03-15 复查，2026年底前巩固") == [
        datetime.date(2025, 6, 30), datetime.date(2025, 3, 15), datetime.date(2026, 12, 31)]


def _appended_to_organisation(plan, text):
    return {"organisation": notices.build_notice(plan)["texts"]["organisation"] + "\n" + text}


# The plan of 6: 4 已整改 (1 of them 已整改到位), item 3 正在整改中, 1 长期坚持.
@pytest.mark.parametrize(("edit", "expected"), [
    (lambda plan: _appended_to_organisation(plan, "目前巡察反馈的6个问题已全部整改完成，已整改5个。"),
     ["一、组织落实整改情况：写有“已全部整改”，但尚有 1 个问题未完成整改",
      "一、组织落实整改情况：写有“已整改5个”，与整改事项不一致（已整改实为 4 个）"]),
    (lambda plan: {"result:3": "已全部完成确权登记，已整改到位。"},
     ["二、第3项问题的整改情况：文字称已完成整改，事项状态为“正在整改中”"]),
    (lambda plan: {"next_plan": "巡察反馈的6个问题已整改6个。"},
     ["五、下一步计划：写有“已整改6个”，与整改事项不一致（已整改实为 4 个）"]),
], ids=["organisation", "result", "next_plan"])
def test_a_notice_text_edited_to_contradict_the_items_is_shown_and_refused_at_approval(
        plan, personas, client, edit, expected):
    user = personas["township_committee"]
    notice = notices.create_draft(plan, by=user)
    client.force_login(user)
    saved = client.post(reverse("rectification:notice_edit", args=[notice.pk]), edit(plan))
    assert saved.status_code == 302
    edit_page = client.get(reverse("rectification:notice_edit", args=[notice.pk])).content.decode()
    listing = client.get(reverse("rectification:plan_notices", args=[plan.pk]))
    warnings = listing.context["warnings"]
    for sentence in expected:
        assert any(sentence in warning for warning in warnings), warnings
        assert sentence.partition("：")[2] in edit_page  # beside the text it is in
    refused = client.post(reverse("rectification:notice_action", args=[notice.pk, "approve"]), follow=True)
    # The refusal is the page's list, word for word.
    assert [str(message) for message in refused.context["messages"]] == ["通报存在矛盾，不能审定：" + "".join(warnings)]
    notice.refresh_from_db()
    assert notice.state == ProgressNotice.State.DRAFT and notice.content is None
    with pytest.raises(ValidationError, match="不能审定"):
        notices.approve(notice, by=user)


def test_a_promise_to_finish_is_not_a_claim_that_all_is_done(plan, personas):
    user = personas["township_committee"]
    notice = notices.create_draft(plan, by=user)
    notices.edit_sections(notice, {"next_plan": "对正在整改的问题倒排工期，确保2024年底前全部完成整改。",
                                   "reason:3": "涉及历史遗留问题，确保年底前全部完成。"}, by=user)
    assert checks.notice_warnings(plan, notices.notice_data(notice)) == []
    assert notices.approve(notice, by=user).state == ProgressNotice.State.APPROVED
