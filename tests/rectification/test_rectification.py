"""Rectification (整改): the item flow from feedback to 销号, permissions, overdue letters, pages and the dashboard."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from governance.evidence import attachments_of
from governance.models import AuditEntry, Notification
from grid import services as grid_services
from grid.models import Role
from inspection.models import InspectionLetter
from inspection.rounds import feedback
from rectification import services
from rectification.models import ProgressEntry, RectificationItem, RectificationPlan
from rectification.rectification_flow import RectificationFlow, current_step, ensure_flow, process_of
from rectification.tasks import flag_overdue
from tests.conftest import photo
from tests.inspection.test_round_reports import add_finding, make_group, make_round, make_taxonomy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

DAY = datetime.timedelta(days=1)
Status = RectificationItem.Status


@pytest.fixture(autouse=True)
def _urls():
    import config.urls  # noqa: F401 — Node.reverse() needs the URLconf


@pytest.fixture
def fed_back(county, personas):
    """太平镇 inspected and fed back: the township plan with two items, a 楼星村 plan with one."""
    office = personas["county_office"]
    round_ = make_round(county, office)
    focus = make_taxonomy(round_)
    group = make_group(round_, county.taiping, [county.louxing], number=1, leader=office)
    add_finding(group, focus["巩固拓展脱贫攻坚成果方面"], "防返贫监测不及时")
    add_finding(group, focus["聚焦群众身边腐败问题和不正之风"], "镇党委“三重一大”执行不严")
    add_finding(group, focus["党费收缴方面"], "党费收缴不规范", village=county.louxing)
    withdrawal = round_.withdrawal_date
    group.reported_on, group.secretary_meeting_on = withdrawal + 2 * DAY, withdrawal + 8 * DAY
    group.save()
    feedback.feed_back(by=office, group=group, feedback_on=withdrawal + 9 * DAY, feedback_document="反馈意见")
    return RectificationPlan.objects.get(organisation=county.taiping)


def assign(item, by, deadline=None):
    return services.update_item(item, by=by, responsible_leader="张书记", responsible_unit="党政办",
                                measures="建立防返贫监测台账，逐户排查。", deadline=deadline or timezone.localdate() + 30 * DAY)


def committee_at(region, username):
    user, _ = grid_services.ensure_user(username, password="Test@2026pw")
    grid_services.create_post(user=user, role=Role.objects.get(key="township_committee"), region=region)
    return user


# ---------------------------------------------------------------- the flow


def test_item_goes_from_feedback_through_progress_and_claim_to_closed(fed_back, personas,
                                                                      django_capture_on_commit_callbacks):
    committee, office = personas["township_committee"], personas["county_office"]
    item = fed_back.items.get(number=1)
    assert item.status == Status.PENDING and process_of(item) is None  # feed_back starts no flow

    with django_capture_on_commit_callbacks(execute=True):
        assign(item, committee)
    assert current_step(item) == "progress"
    services.report_progress(item, by=committee, reported_on=timezone.localdate(), text="已排查 120 户。", files=[photo()])
    item.refresh_from_db()
    assert item.status == Status.IN_PROGRESS and current_step(item) == "progress"
    services.report_progress(item, by=committee, reported_on=timezone.localdate(), text="已排查全部农户。")
    with django_capture_on_commit_callbacks(execute=True):
        claim = services.claim_done(item, by=committee, text="监测台账已建立，动态更新。", files=[photo("done.jpg")])
    item.refresh_from_db()
    assert item.status == Status.DONE and current_step(item) == "verify"
    assert attachments_of(claim).count() == 1
    assert Notification.objects.filter(recipient=office, kind=Notification.Kind.TASK).exists()  # 待验收

    with pytest.raises(PermissionDenied):
        services.verify_item(item, by=committee, accept=True)
    with pytest.raises(ValidationError, match="已申请销号"):
        services.report_progress(item, by=committee, reported_on=timezone.localdate(), text="再报")

    services.verify_item(item, by=office, accept=True)
    item.refresh_from_db()
    assert item.status == Status.FULLY_DONE and item.closed_at is not None
    assert current_step(item) is None and process_of(item).finished is not None
    assert list(item.progress.values_list("kind", flat=True)) == ["progress", "progress", "claim", "verified"]
    actions = set(AuditEntry.objects.filter(object_type="rectification.RectificationItem", object_id=str(item.pk))
                  .values_list("action", flat=True))
    assert {"rectification_item.update", "rectification_item.progress", "rectification_item.claim",
            "rectification_item.verify"} <= actions
    with pytest.raises(ValidationError, match="销号"):
        services.report_progress(item, by=committee, reported_on=timezone.localdate(), text="销号后")


def test_office_returns_a_claim_with_reason_and_the_item_goes_back_to_progress(fed_back, personas):
    committee, office = personas["township_committee"], personas["county_office"]
    item = fed_back.items.get(number=2)
    services.claim_done(item, by=committee, text="已整改。", files=[photo()], long_term=True)  # assigns implicitly
    with pytest.raises(ValidationError, match="退回理由"):
        services.verify_item(item, by=office, accept=False, reason="")
    services.verify_item(item, by=office, accept=False, reason="佐证材料不足，缺少会议记录。")
    item.refresh_from_db()
    assert item.status == Status.IN_PROGRESS and item.closed_at is None and current_step(item) == "progress"
    returned = item.progress.get(kind="returned")
    assert returned.text == "佐证材料不足，缺少会议记录。" and returned.reported_by == office

    services.claim_done(item, by=committee, text="补充会议记录。", files=[photo()], long_term=True)
    services.verify_item(item, by=office, accept=True)
    item.refresh_from_db()
    assert item.status == Status.ONGOING and item.closed_at is not None  # 长期坚持, closed
    tasks = process_of(item).task_set.values_list("flow_task", flat=True)
    assert list(tasks).count(RectificationFlow.verify) == 2


def test_claim_without_evidence_is_refused(fed_back, personas):
    item = fed_back.items.get(number=1)
    with pytest.raises(ValidationError, match="佐证"):
        services.claim_done(item, by=personas["township_committee"], text="已整改。", files=[])
    assert not ProgressEntry.objects.exists()


def test_deadline_before_the_feedback_date_is_refused(fed_back, personas):
    item = fed_back.items.get(number=1)
    with pytest.raises(ValidationError, match="不能早于反馈日期"):
        assign(item, personas["township_committee"], deadline=fed_back.feedback_on - DAY)
    item.refresh_from_db()
    assert item.deadline == feedback.add_months(fed_back.feedback_on, 1) and process_of(item) is None  # unchanged


def test_unfinished_item_records_reason_next_steps_and_new_deadline(fed_back, personas):
    item = fed_back.items.get(number=1)
    services.mark_unfinished(item, by=personas["township_committee"], reason="涉及跨部门协调。",
                             next_steps="提请县农业农村局协调。", new_deadline=timezone.localdate() + 60 * DAY)
    item.refresh_from_db()
    assert item.status == Status.IN_PROGRESS and item.next_steps and ensure_flow(item) == process_of(item)


@pytest.mark.parametrize("unit", ["党政办", ""])
def test_unfinished_imported_item_with_its_unit_waits_for_progress_without_a_new_assignment_notice(
        county, personas, unit, django_capture_on_commit_callbacks):
    committee = personas["township_committee"]
    plan = RectificationPlan.objects.create(organisation=county.taiping, title="整改方案", created_by=committee)
    item = RectificationItem.objects.create(plan=plan, number=3, title="集体资产登记不全", responsible_unit=unit,
                                            status=Status.IN_PROGRESS, deadline=timezone.localdate() - DAY)
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_unfinished(item, by=committee, reason="涉及确权争议。", next_steps="协调确权。",
                                 new_deadline=timezone.localdate() + 60 * DAY)
    asked = Notification.objects.filter(recipient=committee, kind=Notification.Kind.TASK, title__startswith="待整改")
    if unit:  # the import named its unit: 报送进展 waits, nobody is asked to 明确责任
        assert current_step(item) == "progress" and not asked.exists()
    else:  # nobody answers for it yet: 明确责任 waits, and the committee is told so
        assert current_step(item) == "assign" and asked.count() == 1


def test_a_meeting_before_the_feedback_or_in_the_future_is_refused_and_not_recorded(client, fed_back, personas):
    committee = personas["township_committee"]
    feedback_on = fed_back.feedback_on
    client.force_login(committee)
    url = reverse("rectification:plan_action", args=[fed_back.pk, "meeting"])
    long_before = feedback_on.replace(year=feedback_on.year - 21)
    refused = client.post(url, {"held_on": long_before.isoformat(), "kind": "党委会", "topic": "研究部署整改工作"})
    assert refused.status_code == 422
    assert (f"会议日期（{long_before.year}年{long_before.month}月{long_before.day}日）不能早于反馈日期"
            f"（{feedback_on.year}年{feedback_on.month}月{feedback_on.day}日）") in refused.content.decode()
    with pytest.raises(ValidationError, match="不能早于反馈日期"):
        services.add_meeting(fed_back, by=committee, held_on=feedback_on - DAY, kind="党委会", topic="x")
    with pytest.raises(ValidationError, match="会议日期不能晚于今天"):
        services.add_meeting(fed_back, by=committee, held_on=timezone.localdate() + DAY, kind="党委会", topic="x")
    assert not fed_back.meetings.exists()
    assert not AuditEntry.objects.filter(action="rectification_plan.meeting").exists()
    services.add_meeting(fed_back, by=committee, held_on=feedback_on, kind="党委会", topic="研究部署整改工作")
    # The feedback date cannot then move past the meeting it was answered by.
    with pytest.raises(ValidationError, match="已登记的整改会议.*早于反馈日期"):
        services.update_plan_header(fed_back, by=committee, feedback_on=feedback_on + DAY)


def test_without_a_feedback_date_a_meeting_may_not_precede_the_plan(county, personas):
    committee = personas["township_committee"]
    plan = RectificationPlan.objects.create(organisation=county.taiping, title="整改方案", created_by=committee)
    with pytest.raises(ValidationError, match="不能早于整改方案登记日期"):
        services.add_meeting(plan, by=committee, held_on=timezone.localdate() - DAY, kind="党委会", topic="x")
    assert services.add_meeting(plan, by=committee, held_on=timezone.localdate(), kind="党委会", topic="x").pk


def test_plan_records_need_the_committee_and_accountability_also_discipline(fed_back, personas):
    committee, discipline, office = personas["township_committee"], personas["discipline"], personas["county_office"]
    services.add_meeting(fed_back, by=committee, held_on=timezone.localdate(), kind="党委会", topic="研究整改方案")
    services.add_measure(fed_back, by=committee, name="村级财务管理制度")
    services.add_recovery(fed_back, by=committee, amount="1200.50", source="违规发放补贴")
    services.add_petition(fed_back, by=committee, summary="反映低保评定不公", received_on=timezone.localdate())
    services.add_accountability(fed_back, by=discipline, person="李某某", level="general", measure="admonishment")
    services.update_plan_header(fed_back, by=committee, document_number="太委〔2024〕9号", first_responsible="王某")
    with pytest.raises(PermissionDenied):
        services.add_meeting(fed_back, by=discipline, held_on=timezone.localdate(), kind="党委会", topic="x")
    with pytest.raises(PermissionDenied):
        services.add_measure(fed_back, by=office, name="x")
    with pytest.raises(ValidationError, match="金额须大于零"):
        services.add_recovery(fed_back, by=committee, amount="-1", source="x")
    fed_back.refresh_from_db()
    assert fed_back.document_number == "太委〔2024〕9号"
    assert (fed_back.meetings.count(), fed_back.measures.count(), fed_back.recoveries.count(),
            fed_back.petitions.count(), fed_back.accountabilities.count()) == (1, 1, 1, 1, 1)


# ---------------------------------------------------------------- overdue letters


def test_overdue_item_gets_a_reminder_then_one_supervision_letter(fed_back, personas):
    committee = personas["township_committee"]
    item = fed_back.items.get(number=1)
    assign(item, committee, deadline=fed_back.feedback_on + DAY)  # already past
    result = flag_overdue()
    item.refresh_from_db()
    assert item.is_overdue and result["flagged"] == 1 and result["reminders"] == 1
    reminder = InspectionLetter.objects.get(kind=InspectionLetter.Kind.REMINDER)
    assert reminder.recipient == fed_back.organisation and "第1项" in reminder.body
    assert Notification.objects.filter(recipient=committee, kind=Notification.Kind.SUPERVISION).count() == 1

    assert flag_overdue()["reminders"] == 0  # idempotent
    assert InspectionLetter.objects.count() == 1
    assert Notification.objects.filter(recipient=committee, kind=Notification.Kind.SUPERVISION).count() == 1

    InspectionLetter.objects.filter(pk=reminder.pk).update(reply_due=timezone.localdate() - 15 * DAY)
    assert flag_overdue()["supervisions"] == 1
    assert flag_overdue()["supervisions"] == 0
    assert InspectionLetter.objects.filter(kind=InspectionLetter.Kind.SUPERVISION).count() == 1
    assert InspectionLetter.objects.filter(kind=InspectionLetter.Kind.REMINDER).count() == 1

    services.mark_unfinished(item, by=committee, reason="原因", next_steps="措施", new_deadline=timezone.localdate() + DAY)
    assert flag_overdue()["flagged"] == 0
    item.refresh_from_db()
    assert not item.is_overdue


def test_overdue_item_of_a_plan_without_round_notifies_the_committee_only(county, personas):
    committee = personas["township_committee"]
    plan = RectificationPlan.objects.create(organisation=county.taiping, title="整改方案", created_by=committee)
    RectificationItem.objects.create(plan=plan, number=1, title="问题", deadline=timezone.localdate() - DAY)
    result = flag_overdue()
    assert result["flagged"] == 1 and result["reminders"] == 0
    assert not InspectionLetter.objects.exists()
    assert Notification.objects.filter(recipient=committee, kind=Notification.Kind.SUPERVISION).count() == 1
    flag_overdue()
    assert Notification.objects.filter(recipient=committee, kind=Notification.Kind.SUPERVISION).count() == 1


# ---------------------------------------------------------------- pages


def test_another_townships_committee_gets_404_and_the_committee_cannot_verify(fed_back, personas, client, county):
    item = fed_back.items.get(number=1)
    client.force_login(committee_at(county.zhaocun, "zhaocun_committee"))
    assert client.get(reverse("rectification:item_detail", args=[item.pk])).status_code == 404
    assert client.get(reverse("rectification:plan_detail", args=[fed_back.pk])).status_code == 404
    assert client.post(reverse("rectification:item_action", args=[item.pk, "progress"]),
                       {"reported_on": timezone.localdate(), "text": "x"}).status_code == 404

    client.force_login(personas["township_committee"])
    assert client.get(reverse("rectification:item_detail", args=[item.pk])).status_code == 200
    response = client.post(reverse("rectification:item_action", args=[item.pk, "verify"]), {"decision": "accept"})
    assert response.status_code == 403
    client.force_login(personas["outsider"])
    assert client.get(reverse("rectification:plans")).status_code == 403


def test_pages_drive_the_flow_and_invalid_input_is_422_with_input_kept(fed_back, personas, client):
    item = fed_back.items.get(number=1)
    client.force_login(personas["township_committee"])
    url = reverse("rectification:item_action", args=[item.pk, "update"])
    response = client.post(url, {"responsible_leader": "张书记", "responsible_unit": "党政办", "measures": "逐户排查",
                                 "deadline": (fed_back.feedback_on - DAY).isoformat()})
    assert response.status_code == 422
    assert "不能早于反馈日期" in response.content.decode() and "逐户排查" in response.content.decode()
    response = client.post(url, {"responsible_leader": "张书记", "responsible_unit": "党政办", "measures": "逐户排查",
                                 "deadline": (timezone.localdate() + 10 * DAY).isoformat()})
    assert response.status_code == 302
    response = client.post(reverse("rectification:item_action", args=[item.pk, "claim"]), {"text": "已完成"})
    assert response.status_code == 422 and "佐证" in response.content.decode()
    response = client.post(reverse("rectification:item_action", args=[item.pk, "claim"]),
                           {"text": "已完成", "files": [photo()]})
    assert response.status_code == 302
    entry = item.progress.get(kind="claim")
    attachment = attachments_of(entry).get()
    page = client.get(reverse("rectification:item_detail", args=[item.pk])).content.decode()
    assert reverse("rectification:item_evidence", args=[item.pk, attachment.pk]) in page
    assert client.get(reverse("rectification:item_evidence", args=[item.pk, attachment.pk])).status_code == 200

    response = client.post(reverse("rectification:plan_action", args=[fed_back.pk, "meeting"]),
                           {"held_on": "", "kind": "党委会", "topic": "研究整改"})
    assert response.status_code == 422 and "研究整改" in response.content.decode()

    client.force_login(personas["county_office"])
    response = client.post(reverse("rectification:item_action", args=[item.pk, "verify"]), {"decision": "accept"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.closed_at is not None


def test_plan_detail_groups_items_under_category_and_subheading(fed_back, personas, client):
    client.force_login(personas["township_committee"])
    page = client.get(reverse("rectification:plan_detail", args=[fed_back.pk])).content.decode()
    assert "防返贫监测不及时" in page and "镇党委“三重一大”执行不严" in page
    assert page.index("防返贫监测不及时") < page.index("镇党委“三重一大”执行不严")
    assert "巩固拓展脱贫攻坚成果方面" in page


# ---------------------------------------------------------------- dashboard


def make_plans(county, user, count: int):
    today = timezone.localdate()
    for index in range(count):
        organisation = county.taiping if index % 2 == 0 else county.zhaocun
        plan = RectificationPlan.objects.create(organisation=organisation, title=f"方案{index}", created_by=user,
                                                feedback_on=today - 90 * DAY)
        for number in range(1, 4):
            RectificationItem.objects.create(
                plan=plan, number=number, title=f"问题{index}-{number}", deadline=today - DAY,
                status=Status.FULLY_DONE if number == 2 else Status.IN_PROGRESS,
                closed_at=timezone.now() - 30 * DAY if number == 2 else None)


def test_dashboard_scopes_plans_office_sees_all_committee_its_own(county, personas, client):
    make_plans(county, personas["county_office"], 4)
    client.force_login(personas["county_office"])
    response = client.get(reverse("rectification:dashboard"))
    assert response.status_code == 200
    # items 1 and 3 of each plan are past their deadline and not closed: overdue, whether flagged or not
    assert len(response.context["plans"]) == 4 and len(response.context["overdue"]) == 8
    assert {name for name, _ in response.context["series"]} == {"太平镇", "赵村镇"}
    assert "<svg" in response.content.decode()

    client.force_login(personas["township_committee"])
    response = client.get(reverse("rectification:dashboard"))
    assert {plan.organisation_id for plan in response.context["plans"]} == {county.taiping.pk}
    assert response.context["total"] == 6
    assert {name for name, _ in response.context["series"]} == {"太平镇"}
    zhaocun_item = RectificationItem.objects.filter(plan__organisation=county.zhaocun).first()
    assert client.get(reverse("rectification:item_detail", args=[zhaocun_item.pk])).status_code == 404


def test_dashboard_query_count_does_not_grow_with_plans(county, personas, client):
    office = personas["county_office"]
    client.force_login(office)
    make_plans(county, office, 2)
    client.get(reverse("rectification:dashboard"))  # warm caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("rectification:dashboard")).status_code == 200
    make_plans(county, office, 18)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("rectification:dashboard"))
    assert len(response.context["plans"]) == 20
    assert len(large.captured_queries) == len(small.captured_queries)


def test_plan_links_to_its_notice_pages(fed_back, personas, client):
    client.force_login(personas["township_committee"])
    page = client.get(reverse("rectification:plan_detail", args=[fed_back.pk])).content.decode()
    url = reverse("rectification:plan_notices", args=[fed_back.pk])
    assert url in page
    assert client.get(url).status_code == 200


def test_the_menu_marks_the_plans_link_on_a_plans_notice_page(fed_back, personas, client):
    """The notices of a plan are the plans' pages: the menu marks 整改方案 there, and the board's link
    (the area's root, the start of every address in it) is left out of the script's marking."""
    client.force_login(personas["township_committee"])
    plans, board = reverse("rectification:plans"), reverse("rectification:dashboard")
    for url, marked in ((reverse("rectification:plan_notices", args=[fed_back.pk]), plans), (board, board),
                        (plans, plans)):
        page = client.get(url).content.decode()
        assert re.findall(r'mdc-list-item--activated mdc-list-item--selected" href="([^"]+)"', page) == [marked], url
        with override_settings(ACCESS_CACHE_SECONDS=0):  # the kept menu reads as one rendered afresh
            assert client.get(url).content.decode().split("vf-page__menu-secondary")[0] == page.split(
                "vf-page__menu-secondary")[0]
        assert re.search(rf'class="mdc-list-item vf-page-navigation__ignore [^"]*" href="{board}"', page)


def test_an_item_claimed_done_and_waiting_for_verification_is_not_overdue(county, personas):
    committee = personas["township_committee"]
    plan = RectificationPlan.objects.create(organisation=county.taiping, title="整改方案", created_by=committee)
    late = timezone.localdate() - DAY
    RectificationItem.objects.create(plan=plan, number=1, title="已申请销号", deadline=late,
                                     status=RectificationItem.Status.DONE, result="已整改")
    RectificationItem.objects.create(plan=plan, number=2, title="仍在整改", deadline=late,
                                     status=RectificationItem.Status.IN_PROGRESS)
    assert flag_overdue()["flagged"] == 1
    assert set(RectificationItem.objects.filter(is_overdue=True).values_list("number", flat=True)) == {2}


def test_a_changed_deadline_drops_the_plans_wording_a_kept_one_keeps_it(fed_back, personas):
    committee = personas["township_committee"]
    item = fed_back.items.get(number=1)
    deadline = timezone.localdate() + 30 * DAY
    RectificationItem.objects.filter(pk=item.pk).update(deadline=deadline, deadline_text="下月底前")
    item.refresh_from_db()
    assign(item, committee, deadline=deadline)
    item.refresh_from_db()
    assert item.deadline_text == "下月底前"
    assign(item, committee, deadline=deadline + DAY)
    item.refresh_from_db()
    assert (item.deadline, item.deadline_text) == (deadline + DAY, "")


def test_an_item_shared_with_one_user_shows_in_their_audit_log_and_no_other_item_does(fed_back, personas, client):
    """The township office may audit 太平镇 but not read its rectification items: only one shared with it."""

    shared, other = fed_back.items.order_by("number")[:2]
    assign(shared, personas["township_committee"])
    assign(other, personas["township_committee"])
    office = personas["township_office"]
    assign_perm("rectification.view_rectificationitem", office, shared)
    client.force_login(office)
    body = client.get(reverse("system:audit"), {"object_type": "rectification.RectificationItem"}).content.decode()
    assert str(shared) in body and str(other) not in body


def test_item_closed_on_a_day_shows_the_day_and_one_closed_at_a_time_shows_the_time(fed_back, personas, client):
    """An import closes an item on its 销号日期 (midnight): the page shows 2022-06-30, not 2022-06-30 00:00."""
    first, second = fed_back.items.get(number=1), fed_back.items.get(number=2)
    midnight = timezone.make_aware(datetime.datetime(2022, 6, 30))
    RectificationItem.objects.filter(pk=first.pk).update(closed_at=midnight)
    RectificationItem.objects.filter(pk=second.pk).update(closed_at=midnight + datetime.timedelta(hours=15, minutes=20))
    client.force_login(personas["county_office"])
    page = client.get(reverse("rectification:item_detail", args=[first.pk])).content.decode()
    assert "<dt>销号时间</dt><dd>2022-06-30</dd>" in page
    page = client.get(reverse("rectification:item_detail", args=[second.pk])).content.decode()
    assert "<dt>销号时间</dt><dd>2022-06-30 15:20</dd>" in page
