"""The admin of county inspection rounds and rectification: pages open, changes are audited and
validated, records written by flows are view only, and problem clues only show as `visible_clues` says."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from governance.models import AuditEntry
from grid import services
from inspection.models import (
    FocusCategory,
    InspectionFinding,
    InspectionGroup,
    InspectionLetter,
    InspectionRound,
    LookBack,
    MobileProposal,
    ProblemClue,
    RoundTarget,
    TalkRecord,
)
from rectification.models import RectificationItem, RectificationPlan
from tests.governance.test_admin import admin_url, change_form_data, last_entry

User = get_user_model()
pytestmark = pytest.mark.django_db

NEW_MODELS = [InspectionRound, InspectionGroup, RoundTarget, MobileProposal, FocusCategory, InspectionFinding,
              TalkRecord, ProblemClue, InspectionLetter, LookBack, RectificationPlan, RectificationItem]


@dataclass
class Data:
    round: InspectionRound
    taiping_group: InspectionGroup
    zhaocun_group: InspectionGroup
    leader: object
    top: FocusCategory
    sub: FocusCategory
    taiping_clue: ProblemClue
    zhaocun_clue: ProblemClue
    finding: InspectionFinding
    plan: RectificationPlan
    item: RectificationItem


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin", "admin@example.com", "Admin@2026pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def data(county, personas) -> Data:
    office = personas["county_office"]
    leader, _ = services.ensure_user("group_leader", password="Test@2026pw")
    round_ = InspectionRound.objects.create(
        county=county.county, term="十五届", number=2, name="十五届县委第二轮巡察",
        arrival_date=datetime.date(2026, 3, 1), withdrawal_date=datetime.date(2026, 4, 15), created_by=office,
    )
    taiping_group = InspectionGroup.objects.create(round=round_, number=1, name="第一巡察组", township=county.taiping,
                                                   leader=leader)
    taiping_group.members.add(personas["inspection_group"])
    zhaocun_group = InspectionGroup.objects.create(round=round_, number=2, name="第二巡察组", township=county.zhaocun)
    taiping = RoundTarget.objects.create(round=round_, group=taiping_group, organisation=county.taiping)
    louxing = RoundTarget.objects.create(round=round_, group=taiping_group, organisation=county.louxing, village_class="key")
    zhaocun = RoundTarget.objects.create(round=round_, group=zhaocun_group, organisation=county.zhaocun)
    top = FocusCategory.objects.create(round=round_, title="聚焦群众身边腐败问题和不正之风", order=1)
    sub = FocusCategory.objects.create(round=round_, parent=top, title="集体“三资”管理方面", order=1)
    finding = InspectionFinding.objects.create(
        round=round_, group=taiping_group, target=louxing, village=county.louxing, focus=sub, title="集体资金坐收坐支",
        description="2025年集体资金坐收坐支3笔。", recorded_by=leader,
    )
    TalkRecord.objects.create(round=round_, group=taiping_group, target=taiping, held_on=datetime.date(2026, 3, 2),
                              interviewee="王某", position="镇党委书记", summary="介绍情况。", recorded_by=leader)
    MobileProposal.objects.create(group=taiping_group, village=county.dalou, reason="群众反映集中",
                                  proposed_by=leader, proposed_on=datetime.date(2026, 3, 3))
    taiping_clue = ProblemClue.objects.create(round=round_, group=taiping_group, target=louxing,
                                              people_involved="楼星村会计李某", description="虚报冒领补贴。",
                                              recorded_by=leader)
    zhaocun_clue = ProblemClue.objects.create(round=round_, group=zhaocun_group, target=zhaocun,
                                              people_involved="赵村镇干部周某", description="违规收受礼金。",
                                              recorded_by=office)
    InspectionLetter.objects.create(round=round_, kind="reminder", number="某巡提〔2026〕1号", recipient=county.taiping,
                                    subject="提醒", body="正文", issued_on=datetime.date(2026, 3, 10), issued_by=office)
    LookBack.objects.create(round=round_, target=louxing, scheduled_on=datetime.date(2026, 10, 1), recorded_by=office)
    plan = RectificationPlan.objects.create(organisation=county.louxing, round=round_, title="楼星村巡察整改方案",
                                           created_by=office)
    item = RectificationItem.objects.create(plan=plan, finding=finding, number=1, title=finding.title)
    return Data(round_, taiping_group, zhaocun_group, leader, top, sub, taiping_clue, zhaocun_clue, finding, plan, item)


def staff_with(user, *codenames):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


# ---------------------------------------------------------------- pages


def test_every_new_model_is_registered_and_its_pages_open(admin_client, data, rf, superuser):
    request = rf.get("/admin/")
    request.user = superuser
    for model in NEW_MODELS:
        assert model in admin.site._registry, model
        model_admin = admin.site._registry[model]
        assert admin_client.get(admin_url(model, "changelist")).status_code == 200, model
        if model_admin.has_add_permission(request):
            assert admin_client.get(admin_url(model, "add")).status_code == 200, model
        if model is ProblemClue:
            continue  # a superuser as such sees no clue (below)
        obj = model._default_manager.order_by("pk").first()
        assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200, model
        assert admin_client.get(admin_url(model, "changelist") + "?q=某").status_code == 200, model


@pytest.mark.parametrize("model", [MobileProposal, InspectionFinding, TalkRecord, ProblemClue])
def test_records_written_by_flows_are_view_only(admin_client, data, model):
    obj = model._default_manager.order_by("pk").first()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code in (302, 403)
    assert admin_client.get(admin_url(model, "delete", obj.pk)).status_code in (302, 403)
    assert model._default_manager.filter(pk=obj.pk).exists()


# ---------------------------------------------------------------- problem clues


def test_superuser_without_a_clue_post_sees_no_clue(admin_client, data):
    page = admin_client.get(admin_url(ProblemClue, "changelist"))
    assert page.status_code == 200
    assert "李某" not in page.content.decode() and "周某" not in page.content.decode()
    assert admin_client.get(admin_url(ProblemClue, "change", data.taiping_clue.pk)).status_code == 302
    assert admin_client.get(admin_url(ProblemClue, "history", data.taiping_clue.pk)).status_code == 302


def test_staff_with_view_permission_but_not_allowed_by_visible_clues_sees_an_empty_changelist(client, data, personas, rf):
    # A deputy or member of the group, the leading group, a township: not allowed by visible_clues.
    member = staff_with(personas["inspection_group"], "view_problemclue")
    client.force_login(member)
    page = client.get(admin_url(ProblemClue, "changelist"))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 0 and "李某" not in page.content.decode()
    assert client.get(admin_url(ProblemClue, "changelist") + "?q=李某").context["cl"].result_count == 0
    assert client.get(admin_url(ProblemClue, "change", data.taiping_clue.pk)).status_code == 302
    request = rf.get("/admin/")
    request.user = member
    clue_admin = admin.site._registry[ProblemClue]
    assert clue_admin.has_view_permission(request) is True
    assert clue_admin.has_view_permission(request, data.taiping_clue) is False


def test_staff_without_view_permission_is_refused(client, data, personas):
    client.force_login(staff_with(personas["discipline"]))
    assert client.get(admin_url(ProblemClue, "changelist")).status_code == 403


def test_discipline_sees_the_clues_of_its_region_and_the_leader_those_of_his_group(client, data, personas):
    discipline = staff_with(personas["discipline"], "view_problemclue")  # posted at 太平镇
    client.force_login(discipline)
    page = client.get(admin_url(ProblemClue, "changelist"))
    assert [clue.pk for clue in page.context["cl"].result_list] == [data.taiping_clue.pk]
    assert client.get(admin_url(ProblemClue, "change", data.taiping_clue.pk)).status_code == 200
    assert client.get(admin_url(ProblemClue, "change", data.zhaocun_clue.pk)).status_code == 302

    client.force_login(staff_with(data.leader, "view_problemclue"))
    page = client.get(admin_url(ProblemClue, "changelist"))
    assert [clue.pk for clue in page.context["cl"].result_list] == [data.taiping_clue.pk]


def test_delete_pages_do_not_name_the_clues_that_block_them(admin_client, data):
    for model, obj in [(InspectionRound, data.round), (InspectionGroup, data.taiping_group),
                       (RoundTarget, data.taiping_clue.target)]:
        page = admin_client.get(admin_url(model, "delete", obj.pk))
        assert page.status_code == 200
        content = page.content.decode()
        # Clues are view only here, so the page names only the model it may not delete, never a clue.
        assert "李某" not in content and "周某" not in content, model
        assert "问题线索" in page.context["perms_lacking"], model
    assert InspectionRound.objects.filter(pk=data.round.pk).exists()


# ---------------------------------------------------------------- configuration, validated and audited


def test_adding_a_round_records_its_creator_and_is_audited(admin_client, county, superuser):
    data = {"county": county.county.pk, "term": "十五届", "number": 3, "name": "十五届县委第三轮巡察",
            "arrival_date": "2026-09-01", "withdrawal_date": "2026-08-01"}
    page = admin_client.post(admin_url(InspectionRound, "add"), data)
    assert page.status_code == 200 and "撤回日期须晚于进驻日期" in page.content.decode()
    data["withdrawal_date"] = "2026-10-15"
    assert admin_client.post(admin_url(InspectionRound, "add"), data).status_code == 302
    round_ = InspectionRound.objects.get(number=3)
    assert round_.created_by == superuser
    assert last_entry("admin.inspectionround.create").object_id == str(round_.pk)
    data.update(county=county.taiping.pk, number=4)
    assert admin_client.post(admin_url(InspectionRound, "add"), data).status_code == 200


def test_group_rules_and_audit(admin_client, data, county, personas, rf, superuser):
    group = data.zhaocun_group
    request = rf.get("/")
    request.user = superuser
    model_admin = admin.site._registry[InspectionGroup]
    leader = personas["inspection_group"]
    bad = change_form_data(model_admin, group, request, leader=leader.pk, members=[leader.pk])
    page = admin_client.post(admin_url(InspectionGroup, "change", group.pk), bad)
    assert page.status_code == 200 and "组长不能同时为副组长或组员" in page.content.decode()
    bad = change_form_data(model_admin, group, request, township=county.henan.pk)
    page = admin_client.post(admin_url(InspectionGroup, "change", group.pk), bad)
    assert page.status_code == 200 and "巡察乡镇须为某县的乡镇" in page.content.decode()
    good = change_form_data(model_admin, group, request, leader=leader.pk, deputies=[personas["discipline"].pk])
    response = admin_client.post(admin_url(InspectionGroup, "change", group.pk), good)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = last_entry("admin.inspectiongroup.change")
    assert entry.after == {"leader": leader.pk, "deputies": [personas["discipline"].pk]}


def test_a_target_lies_in_its_groups_township(admin_client, data, county):
    post = {"round": data.round.pk, "group": data.taiping_group.pk, "organisation": county.henan.pk,
            "village_class": "ordinary"}
    page = admin_client.post(admin_url(RoundTarget, "add"), post)
    assert page.status_code == 200 and "被巡察党组织须为太平镇或其所辖村（社区）" in page.content.decode()
    post["organisation"] = county.dalou.pk
    assert admin_client.post(admin_url(RoundTarget, "add"), post).status_code == 302
    target = RoundTarget.objects.get(round=data.round, organisation=county.dalou)
    assert last_entry("admin.roundtarget.create").object_id == str(target.pk)


def test_focus_parent_is_a_top_level_category_of_the_same_round(admin_client, data, county, personas, rf, superuser):
    other = InspectionRound.objects.create(
        county=county.county, term="十五届", number=9, name="十五届县委第九轮巡察",
        arrival_date=datetime.date(2026, 9, 1), withdrawal_date=datetime.date(2026, 10, 1),
        created_by=personas["county_office"],
    )
    other_top = FocusCategory.objects.create(round=other, title="聚焦基层党组织软弱涣散问题")
    post = {"round": data.round.pk, "parent": other_top.pk, "title": "党费收缴方面", "applies_to": "both", "order": 2}
    page = admin_client.post(admin_url(FocusCategory, "add"), post)
    assert page.status_code == 200 and not FocusCategory.objects.filter(title="党费收缴方面").exists()
    post["parent"] = data.sub.pk
    assert admin_client.post(admin_url(FocusCategory, "add"), post).status_code == 200
    post["parent"] = data.top.pk
    assert admin_client.post(admin_url(FocusCategory, "add"), post).status_code == 302
    assert last_entry("admin.focuscategory.create").after["parent"] == data.top.pk
    # A category with sub-headings cannot itself get a parent; the change form offers only its round's.
    request = rf.get("/")
    request.user = superuser
    form = admin.site._registry[FocusCategory].get_form(request, data.top, change=True)(instance=data.top)
    assert set(form.fields["parent"].queryset) == set()
    post = {"round": data.round.pk, "parent": other_top.pk, "title": data.top.title, "applies_to": "both", "order": 1}
    assert admin_client.post(admin_url(FocusCategory, "change", data.top.pk), post).status_code == 200
    data.top.refresh_from_db()
    assert data.top.parent_id is None


def test_letters_follow_the_recipient_rule_and_a_reply_clears_overdue(admin_client, data, county, superuser):
    finance = services.create_department(name="县财政局", region=county.county)
    post = {"round": data.round.pk, "kind": "recommendation", "number": "某巡建〔2026〕1号", "recipient": county.taiping.pk,
            "recipient_department": "", "subject": "建议", "body": "正文", "issued_on": "2026-04-20",
            "reply_due": "2026-04-01", "replied_on": "", "reply_summary": ""}
    page = admin_client.post(admin_url(InspectionLetter, "add"), post)
    assert page.status_code == 200
    assert "书面回复期限不能早于发文日期" in page.content.decode()
    post.update(recipient="", recipient_department=finance.pk, reply_due="2026-05-20")
    response = admin_client.post(admin_url(InspectionLetter, "add"), post)
    assert response.status_code == 302, response.content.decode()[:3000]
    letter = InspectionLetter.objects.get(number="某巡建〔2026〕1号")
    assert letter.issued_by == superuser
    InspectionLetter.objects.filter(pk=letter.pk).update(is_overdue=True)
    post.update(replied_on="2026-05-25", reply_summary="已书面回复")
    assert admin_client.post(admin_url(InspectionLetter, "change", letter.pk), post).status_code == 302
    letter.refresh_from_db()
    assert not letter.is_overdue
    entry = last_entry("admin.inspectionletter.change")
    assert entry.before["is_overdue"] is True and entry.after["is_overdue"] is False


def test_a_look_back_target_belongs_to_its_round(admin_client, data, county, personas, superuser):
    other = InspectionRound.objects.create(
        county=county.county, term="十五届", number=9, name="十五届县委第九轮巡察",
        arrival_date=datetime.date(2026, 9, 1), withdrawal_date=datetime.date(2026, 10, 1),
        created_by=personas["county_office"],
    )
    target = data.taiping_clue.target
    post = {"round": other.pk, "target": target.pk, "scheduled_on": "2026-11-01", "done_on": "", "result": ""}
    assert admin_client.post(admin_url(LookBack, "add"), post).status_code == 200
    post["round"] = data.round.pk
    assert admin_client.post(admin_url(LookBack, "add"), post).status_code == 302
    look_back = LookBack.objects.get(scheduled_on=datetime.date(2026, 11, 1))
    assert look_back.recorded_by == superuser
    assert last_entry("admin.lookback.create").object_id == str(look_back.pk)


# ---------------------------------------------------------------- rectification


def inline_post(plan, items, **plan_changes) -> dict:
    post = {"organisation": plan.organisation_id, "round": plan.round_id or "", "title": plan.title,
            "items-TOTAL_FORMS": len(items), "items-INITIAL_FORMS": sum(1 for item in items if item.get("id")),
            "items-MIN_NUM_FORMS": 0, "items-MAX_NUM_FORMS": 1000}
    post.update(plan_changes)
    for index, item in enumerate(items):
        for key, value in item.items():
            post[f"items-{index}-{key}"] = value
        post[f"items-{index}-plan"] = plan.pk
    return post


def test_plan_inline_changes_are_audited_per_item_and_the_finding_stays(admin_client, data, county):
    plan, item = data.plan, data.item
    other_finding = InspectionFinding.objects.create(
        round=data.round, group=data.taiping_group, target=data.finding.target, focus=data.sub, title="另一问题",
        description="……", recorded_by=data.leader,
    )
    items = [
        {"id": item.pk, "number": 1, "title": item.title, "description": "", "status": "in_progress",
         "finding": other_finding.pk},
        {"id": "", "number": 2, "title": "村务公开不及时", "description": "", "status": "pending"},
    ]
    response = admin_client.post(admin_url(RectificationPlan, "change", plan.pk), inline_post(plan, items))
    assert response.status_code == 302, response.content.decode()[:3000]
    item.refresh_from_db()
    assert item.status == "in_progress" and item.finding_id == data.finding.pk
    entry = last_entry("admin.rectificationitem.change")
    assert entry.object_id == str(item.pk)
    assert entry.before == {"status": "pending"} and entry.after == {"status": "in_progress"}
    new = RectificationItem.objects.get(plan=plan, number=2)
    assert last_entry("admin.rectificationitem.create").object_id == str(new.pk)

    items = [
        {"id": item.pk, "number": 1, "title": item.title, "description": "", "status": "in_progress"},
        {"id": new.pk, "number": 2, "title": new.title, "description": "", "status": "pending", "DELETE": "on"},
    ]
    response = admin_client.post(admin_url(RectificationPlan, "change", plan.pk), inline_post(plan, items))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not RectificationItem.objects.filter(pk=new.pk).exists()
    entry = last_entry("admin.rectificationitem.delete")
    assert entry.object_id == str(new.pk) and entry.before["title"] == "村务公开不及时"


def test_a_plan_is_for_a_target_of_its_round(admin_client, data, county, superuser):
    post = inline_post(RectificationPlan(organisation=county.henan, round=data.round, title="河南村整改方案"), [])
    page = admin_client.post(admin_url(RectificationPlan, "add"), post)
    assert page.status_code == 200 and "不是十五届县委第二轮巡察的巡察对象" in page.content.decode()
    post = inline_post(RectificationPlan(organisation=county.taiping, round=data.round, title="太平镇整改方案"), [])
    assert admin_client.post(admin_url(RectificationPlan, "add"), post).status_code == 302
    plan = RectificationPlan.objects.get(title="太平镇整改方案")
    assert plan.created_by == superuser
    assert last_entry("admin.rectificationplan.create").object_id == str(plan.pk)


def test_item_status_is_editable_from_the_list_and_audited(admin_client, data):
    item = data.item
    post = {"form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "form-MIN_NUM_FORMS": 0, "form-MAX_NUM_FORMS": 1000,
            "form-0-id": item.pk, "form-0-status": "done", "_save": "保存"}
    response = admin_client.post(admin_url(RectificationItem, "changelist"), post)
    assert response.status_code == 302, response.content.decode()[:3000]
    item.refresh_from_db()
    assert item.status == "done"
    entry = last_entry("admin.rectificationitem.change")
    assert entry.before == {"status": "pending"} and entry.after == {"status": "done"}
    assert AuditEntry.objects.filter(action="admin.rectificationitem.change", object_id=str(item.pk)).count() == 1
