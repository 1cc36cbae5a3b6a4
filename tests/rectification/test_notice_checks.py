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
