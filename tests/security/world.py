"""A county A full of records, and an unrelated county B with one user per role.

Everything in county A carries the marker text `SECRET` (and clues and draft notices their own
markers), so a page shown to someone from county B can be searched for anything it should not show.
Built once per test module (see `world` fixtures in the tests).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from grid import events as grid_events
from grid import households as grid_households
from grid import patrols as grid_patrols
from grid import services
from grid.models import EventCategory, Role, Tier
from inspection.models import (
    InspectionGroup,
    InspectionLetter,
    LookBack,
    RoundTarget,
    SupervisionGroup,
    TalkRecord,
)
from inspection.patrol import findings as patrol_findings
from inspection.patrol import reports
from inspection.rounds import feedback, onsite
from inspection.rounds import round_services as inspection_rounds
from rectification import notices
from rectification import services as rectification_services
from rectification.models import RectificationItem, RectificationPlan
from tests.conftest import PERSONA_REGIONS, build_county, photo
from tests.inspection.test_reports import make_item
from tests.inspection.test_round_reports import add_finding, make_group, make_round, make_taxonomy

SECRET = "甲县内部ZX9"
CLUE_SECRET = "线索QK7甲县"
DRAFT_SECRET = "草稿通报WV3"
# Working papers of the current round, not yet fed back: hidden from the inspected township itself.
UNRELEASED_SECRET = "未反馈底稿RT5"
TALK_SECRET = "谈话对象TK8"
PASSWORD = "Test@2026pw"
DAY = datetime.timedelta(days=1)

ROLES = list(PERSONA_REGIONS)


@dataclass
class World:
    county: object
    a: dict  # the records of county A by name
    insiders: dict  # county A users by role key (plus helpers)
    outsiders: dict  # county B users by role key
    markers: tuple = field(default=(SECRET, CLUE_SECRET, DRAFT_SECRET))


def build_outsiders() -> dict:
    """County B: 乙县 / 乙镇 / 乙村 / 乙网格, with a department, and one user per role at the tier
    where the role is held in county A."""
    tier = {t.key: t for t in Tier.objects.all()}
    county = services.create_region(parent=None, name="乙县", tier=tier["county"], code="B")
    township = services.create_region(parent=county, name="乙镇", tier=tier["township"], code="B-1")
    village = services.create_region(parent=township, name="乙村", tier=tier["village"], code="B-1-1")
    grid = services.create_region(parent=village, name="乙网格", tier=tier["grid"], households=400)
    department = services.create_department(name="乙镇农业办", region=township)
    at = {"county": county, "zhaocun": township, "taiping": township, "louxing": village, "grid1": grid}
    users = {}
    for role_key, attr in PERSONA_REGIONS.items():
        user, _ = services.ensure_user(f"b_{role_key}", password=PASSWORD)
        services.create_post(user=user, role=Role.objects.get(key=role_key), region=at[attr],
                             department=department if role_key == "department" else None)
        users[role_key] = user
    users["no_post"], _ = services.ensure_user("b_no_post", password=PASSWORD)
    return users


def build_world() -> World:
    county = build_county()
    people = {}
    for role_key, attr in PERSONA_REGIONS.items():
        user, _ = services.ensure_user(role_key, password=PASSWORD)
        services.create_post(user=user, role=Role.objects.get(key=role_key), region=getattr(county, attr),
                             department=county.agriculture if role_key == "department" else None)
        people[role_key] = user
    cadre2, _ = services.ensure_user("cadre2", password=PASSWORD)
    services.create_post(user=cadre2, role=Role.objects.get(key="village_cadre"), region=county.louxing)
    group_leader, _ = services.ensure_user("a_group_leader", password=PASSWORD)
    services.create_post(user=group_leader, role=Role.objects.get(key="inspection_group"), region=county.taiping)
    people.update(cadre2=cadre2, group_leader=group_leader)
    a: dict = {}
    today = timezone.localdate()
    now = timezone.now()

    # ---- grid: an event with a photo, a patrol log, a work diary
    parent = EventCategory.objects.create(code="S", name="安全测试大类")
    category = EventCategory.objects.create(code="S01", name="安全测试类别", parent=parent)
    a["event"], _ = grid_events.report_event(
        by=people["grid_member"], region=county.grid1, category=category, title=f"{SECRET}事件标题",
        description=f"{SECRET}事件描述", occurred_at=now - 2 * datetime.timedelta(hours=1),
        idempotency_key="sec-1", address=f"{SECRET}地址", files=[photo()])
    a["event_attachment"] = a["event"].attachments.first() if hasattr(a["event"], "attachments") else None
    a["patrol_log"] = grid_patrols.record_patrol(  # yesterday: today's 00:30 is still ahead just after midnight
        by=people["grid_member"], region=county.grid1, kind="daily", date=today - datetime.timedelta(days=1),
        started_at=datetime.time(0, 0), ended_at=datetime.time(0, 30), route=f"{SECRET}路线", findings=f"{SECRET}巡查发现")
    a["diary"], _ = grid_patrols.write_diary(by=people["grid_member"], region=county.grid1, date=today,
                                              content=f"{SECRET}工作日志")
    a["household"] = grid_households.add_household(by=people["grid_leader"], region=county.grid1,
                                                   head_name=f"{SECRET}户主", address=f"{SECRET}住址", is_hardship=True)
    a["visit"] = grid_households.record_visit(by=people["grid_member"], household=a["household"], date=today,
                                              note=f"{SECRET}走访情况", photos=[photo()])

    # ---- big patrol: catalog item, ledger, village report with a photo, a finding, a supervision group
    item = make_item(county.taiping, county.agriculture)
    a["catalog_item"] = item
    a["village_patrol"] = reports.record_village_patrol(
        by=people["village_cadre"], village=county.louxing, date=today, patrollers=[people["village_cadre"], cadre2],
        items=[item], route=f"{SECRET}台账路线", findings=f"{SECRET}台账情况")
    a["patrol_report"] = reports.submit_report(
        by=people["village_cadre"], village=county.louxing, item=item, occurred_at=now - datetime.timedelta(hours=3),
        location=f"{SECRET}上报地点", description=f"{SECRET}上报描述", files=[photo()])
    a["patrol_finding"] = patrol_findings.record_finding(
        by=people["department"], village=county.louxing, item=item, source="township_department",
        discovered_on=today, location=f"{SECRET}发现地点", description=f"{SECRET}发现问题描述")
    a["supervision_group"] = SupervisionGroup.objects.filter(township=county.taiping).first()

    # ---- county inspection: a past round fed back (plans, items, notices), clues, talks, letters
    office = people["county_office"]
    round_ = make_round(county, office)
    focus = make_taxonomy(round_)
    group = make_group(round_, county.taiping, [county.louxing], number=1, leader=group_leader,
                       members=[people["inspection_group"]])
    first_focus = next(f for f in focus.values() if f.parent_id)
    a["round"], a["group"] = round_, group
    a["inspection_finding"] = add_finding(group, first_focus, f"{SECRET}巡察问题", village=county.louxing)
    add_finding(group, first_focus, f"{SECRET}镇级问题")
    a["finding_with_photo"] = onsite.record_finding(
        by=group_leader, group=group, target=RoundTarget.objects.get(group=group, organisation=county.taiping),
        focus=first_focus, title=f"{SECRET}带照片的问题", description=f"{SECRET}具体表现", files=[photo()])
    a["talk"] = TalkRecord.objects.create(round=round_, group=group, target=RoundTarget.objects.get(group=group, organisation=county.taiping),
                                          held_on=round_.arrival_date, interviewee=f"{SECRET}谈话对象",
                                          summary=f"{SECRET}谈话要点", recorded_by=group_leader)
    a["clue"] = onsite.record_clue(
        by=people["inspection_group"], group=group, target=RoundTarget.objects.get(group=group, organisation=county.louxing),
        people_involved=f"{CLUE_SECRET}涉及人员", description=f"{CLUE_SECRET}线索内容", source="来信")
    a["letter"] = InspectionLetter.objects.create(
        round=round_, kind="reminder", number="某巡提〔2026〕9号", recipient=county.taiping, subject=f"{SECRET}提醒函",
        body=f"{SECRET}正文", issued_on=today, reply_due=today + 10 * DAY, issued_by=office)
    a["look_back"] = LookBack.objects.create(round=round_, target=RoundTarget.objects.get(group=group, organisation=county.taiping),
                                             scheduled_on=today + 30 * DAY, recorded_by=office)
    group.reported_on = round_.withdrawal_date + 2 * DAY
    group.secretary_meeting_on = round_.withdrawal_date + 5 * DAY
    group.save()
    feedback.feed_back(by=office, group=group, feedback_on=round_.withdrawal_date + 6 * DAY, feedback_document="反馈意见")
    a["plan"] = RectificationPlan.objects.get(organisation=county.taiping, round=round_)
    a["village_plan"] = RectificationPlan.objects.get(organisation=county.louxing, round=round_)
    committee = people["township_committee"]
    for plan in (a["plan"], a["village_plan"]):
        for item_ in plan.items.all():
            RectificationItem.objects.filter(pk=item_.pk).update(
                status="done", result=f"{SECRET}整改情况", responsible_leader="张书记", responsible_unit="党政办")
    a["item"] = a["plan"].items.order_by("number").first()
    rectification_services.update_item(a["item"], by=committee, responsible_leader="张书记", responsible_unit="党政办",
                                       measures=f"{SECRET}整改措施", deadline=today + 30 * DAY)
    a["progress"] = rectification_services.report_progress(a["item"], by=committee, reported_on=today,
                                                            text=f"{SECRET}整改进展", files=[photo()])
    # The village plan's notice is published (public); the township plan's is a draft (never public).
    RectificationPlan.objects.filter(pk=a["plan"].pk).update(next_plan=f"{DRAFT_SECRET}下一步打算")
    a["plan"].refresh_from_db()
    a["draft_notice"] = notices.create_draft(a["plan"], by=committee)
    published = notices.create_draft(a["village_plan"], by=committee)
    notices.approve(published, by=committee)
    a["published_notice"] = notices.publish(published, by=committee)

    # A current round with a mobile-inspection proposal waiting for the leading group.
    current = make_round(county, office, today=today + 58 * DAY)  # arrived 2 days ago
    current_group = InspectionGroup.objects.create(round=current, number=1, name="第一巡察组", township=county.taiping,
                                                   leader=group_leader)
    RoundTarget.objects.create(round=current, group=current_group, organisation=county.taiping)
    a["current_round"], a["current_group"] = current, current_group
    a["proposal"] = inspection_rounds.propose_mobile(by=group_leader, group=current_group, village=county.dalou,
                                                     reason=f"{SECRET}机动巡察理由")

    # The current round's working papers, before feedback: a finding with a photo, a talk and a clue on
    # 太平镇. Its member `a_member` also holds a leading-group post at the county (so may read the
    # county's audit log): a group member and leading-group cadre, whom the clue rule still excludes.
    member, _ = services.ensure_user("a_member", password=PASSWORD)
    services.create_post(user=member, role=Role.objects.get(key="inspection_group"), region=county.taiping)
    services.create_post(user=member, role=Role.objects.get(key="leading_group"), region=county.county)
    current_group.members.add(member)
    people["a_member"] = member
    current_focus = next(f for f in make_taxonomy(current).values() if f.parent_id)
    current_target = RoundTarget.objects.get(group=current_group, organisation=county.taiping)
    a["unreleased_finding"] = onsite.record_finding(
        by=group_leader, group=current_group, target=current_target, focus=current_focus,
        title=f"{UNRELEASED_SECRET}问题标题", description=f"{UNRELEASED_SECRET}具体表现",
        people_involved=f"{UNRELEASED_SECRET}涉及人员", suggestion=f"{UNRELEASED_SECRET}整改建议", files=[photo()])
    a["unreleased_talk"] = onsite.record_talk(
        by=group_leader, group=current_group, target=current_target, held_on=today,
        interviewee=f"{TALK_SECRET}某某", position=f"{TALK_SECRET}职务", summary="谈话要点")
    a["current_clue"] = onsite.record_clue(
        by=member, group=current_group, target=current_target, people_involved=f"{CLUE_SECRET}在办人员",
        description=f"{CLUE_SECRET}在办线索", source="来访")
    return World(county=county, a=a, insiders=people, outsiders=build_outsiders())
