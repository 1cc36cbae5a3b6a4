"""The home page shows each role its work: what waits for me, my deadlines this week, an inspection
group's round, and the 整改/通报 entries of the township committee."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config import dashboards, worklist
from grid import services
from grid.access import scope
from grid.models import Role, WorkDiary
from inspection.models import (
    FocusCategory,
    InspectionFinding,
    InspectionLetter,
    ProblemClue,
    RoundTarget,
    TalkRecord,
)
from inspection.rounds import round_services as rounds
from rectification import states
from rectification.models import ProgressNotice, RectificationItem, RectificationPlan


def days(n: int) -> datetime.date:
    """Today plus n days, today read when the test runs (not when the module is imported)."""
    return timezone.localdate() + datetime.timedelta(days=n)


def labels(queues) -> dict[str, int]:
    return {queue.label: queue.count for queue in queues}


# ---------------------------------------------------------------- grid leader


def test_grid_leader_is_told_that_diaries_wait_for_review(client, county, personas):
    member = personas["grid_member"]
    WorkDiary.objects.create(author=member, region=county.grid1, date=days(-1), content="入户走访")
    WorkDiary.objects.create(author=member, region=county.grid1, date=days(-2), content="巡查河道",
                             reviewed_by=personas["grid_leader"], reviewed_at=timezone.now())
    WorkDiary.objects.create(author=member, region=county.dalou, date=days(-3), content="别的村")  # not his grid
    assert labels(worklist.waiting_for(personas["grid_leader"]))["待审核的工作日志"] == 1
    client.force_login(personas["grid_leader"])
    page = client.get("/").content.decode()
    assert "等待我处理" in page and "待审核的工作日志" in page and "/grid/diaries/?show=review" in page


def test_grid_member_has_no_review_queue(county, personas):
    assert "待审核的工作日志" not in labels(worklist.waiting_for(personas["grid_member"]))


# ---------------------------------------------------------------- township committee


@pytest.fixture
def plan(county, personas):
    plan = RectificationPlan.objects.create(organisation=county.taiping, title="太平镇整改方案",
                                            created_by=personas["township_committee"])
    RectificationItem.objects.create(plan=plan, number=1, title="账目不清", deadline=days(3))
    RectificationItem.objects.create(plan=plan, number=2, title="会议记录缺失", deadline=days(-5))
    RectificationItem.objects.create(plan=plan, number=3, title="长远问题", deadline=days(60))
    RectificationItem.objects.create(plan=plan, number=4, title="已申请销号", deadline=days(2),
                                     status=RectificationItem.Status.DONE)
    ProgressNotice.objects.create(plan=plan, version=1, title="整改进展情况通报", created_by=personas["township_committee"])
    other = RectificationPlan.objects.create(organisation=county.zhaocun, title="赵村镇整改方案",
                                             created_by=personas["county_office"])
    RectificationItem.objects.create(plan=other, number=1, title="别镇的事项", deadline=days(1))
    return plan


def test_township_committee_home_has_rectification_and_notice_work(client, county, personas, plan):
    committee = personas["township_committee"]
    queues = labels(worklist.waiting_for(committee))
    assert queues["未销号的整改事项"] == 4  # as the list 未销号 counts: the claimed item too
    assert queues["待验收的整改事项"] == 1  # ... which waits for the office, not the committee
    assert queues["逾期未销号的整改事项"] == 1
    assert queues["待审定的整改通报"] == 1
    client.force_login(committee)
    page = client.get("/").content.decode()
    for text in ("报送整改进展、申请销号", "起草整改进展情况通报", "审定并公开整改通报", "本周到期"):
        assert text in page


@pytest.mark.parametrize("persona", ["township_committee", "county_office"])
def test_each_rectification_tile_counts_what_the_list_it_opens_lists(client, county, personas, plan, persona):
    user = personas[persona]
    tiles = [queue for queue in worklist.waiting_for(user) if queue.url.startswith("/rectification/items/")]
    assert tiles
    client.force_login(user)
    for tile in tiles:
        listed = client.get(tile.url).context["page"].object_list
        assert len(listed) == tile.count, tile.label
        if "未销号" in tile.label:
            assert all(item.closed_at is None for item in listed)


def test_committee_deadlines_this_week_are_its_own_items_earliest_first(county, personas, plan):
    rows = worklist.deadlines_this_week(personas["township_committee"])
    assert [row.title for row in rows] == ["太平镇：2. 会议记录缺失", "太平镇：1. 账目不清"]
    assert rows[0].overdue and rows[0].left == "已超期 5 天"
    assert not rows[1].overdue and rows[1].left == "剩 3 天"


def test_county_office_sees_items_awaiting_verification(county, personas, plan):
    assert labels(worklist.waiting_for(personas["county_office"]))["待验收销号的整改事项"] == 1
    assert "待验收销号的整改事项" not in labels(worklist.waiting_for(personas["township_committee"]))


def test_rectification_queues_and_chart_count_from_one_aggregate_equal_to_the_states(
        county, personas, plan):
    office = personas["county_office"]
    items = scope(office, RectificationItem.objects.all(), "rectification.view_rectificationitem")
    derived = states.figures(items)
    with CaptureQueriesContext(connection) as ctx:
        queues = labels(worklist.waiting_for(office))
        chart = dashboards.rectification_progress(office)
    assert queues["待验收销号的整改事项"] == derived.awaiting == 1
    assert queues["逾期未销号的整改事项"] == derived.overdue == 1
    assert f"共 {derived.total} 项" in chart.caption and f"已逾期 {derived.overdue} 项" in chart.caption
    assert sum('"rectification_rectificationitem"' in query["sql"] for query in ctx.captured_queries) == 1


def test_verification_queue_counts_its_own_scope_when_it_differs_from_the_viewing_one(county, personas, plan):
    committee = personas["township_committee"]  # sees 太平镇's items (one of them awaits verification)
    verifier = Role.objects.create(key="item_verifier", name="验收员")
    verifier.permissions.add(Permission.objects.get(codename="verify_rectificationitem"))
    services.create_post(user=committee, role=verifier, region=county.zhaocun)
    zhaocun_plan = RectificationPlan.objects.get(organisation=county.zhaocun)
    RectificationItem.objects.create(plan=zhaocun_plan, number=2, title="已整改待验收", status=RectificationItem.Status.DONE)
    RectificationItem.objects.create(plan=zhaocun_plan, number=3, title="也已整改", status=RectificationItem.Status.ONGOING)
    committee = type(committee).objects.get(pk=committee.pk)
    assert labels(worklist.waiting_for(committee))["待验收销号的整改事项"] == 2  # 赵村镇's, not 太平镇's one


def test_letters_to_answer_are_counted_for_the_recipient(county, personas):
    round_ = rounds.create_round(by=personas["county_office"], county=county.county, term="十五届", number=2,
                                 name="十五届县委第二轮巡察", arrival_date=days(-30), withdrawal_date=days(10))
    InspectionLetter.objects.create(round=round_, kind=InspectionLetter.Kind.REMINDER, number="巡提〔2026〕1号",
                                    recipient=county.taiping, subject="提醒", body="正文", issued_on=days(-3),
                                    reply_due=days(4), issued_by=personas["county_office"])
    assert labels(worklist.waiting_for(personas["county_office"]))["待回复的巡察文书"] == 1
    rows = worklist.deadlines_this_week(personas["county_office"])
    assert [row.kind for row in rows] == ["巡察提醒函回复"]


# ---------------------------------------------------------------- inspection group


@pytest.fixture
def group(county, personas):
    office = personas["county_office"]
    round_ = rounds.create_round(by=office, county=county.county, term="十五届", number=2, name="十五届县委第二轮巡察",
                                 arrival_date=days(-3), withdrawal_date=days(40))
    group = rounds.add_group(by=office, round=round_, number=1, name="第一巡察组", township=county.zhaocun,
                             leader=personas["inspection_group"], deputies=[], members=[],
                             fixed_villages=2, mobile_villages=2, mobile_days=7)
    target = RoundTarget.objects.create(round=round_, group=group, organisation=county.henan)
    focus = FocusCategory.objects.create(round=round_, title="聚焦落实党中央决策部署")
    leader = personas["inspection_group"]
    InspectionFinding.objects.create(round=round_, group=group, target=target, focus=focus, title="问题",
                                     description="表现", recorded_by=leader)
    for name in ("张三", "李四"):
        TalkRecord.objects.create(round=round_, group=group, target=target, held_on=days(-1), interviewee=name,
                                  summary="要点", recorded_by=leader)
    ProblemClue.objects.create(round=round_, group=group, target=target, people_involved="王五", description="线索",
                               recorded_by=leader)
    return group


def test_inspection_group_home_shows_round_targets_timeline_and_counts(client, county, personas, group):
    card, = worklist.group_cards(personas["inspection_group"])
    assert (card.findings, card.talks, card.clues) == (1, 2, 1)
    assert card.targets == ["赵村镇", "河南村"]  # the township committee is always a target
    assert [m.label for m in card.timeline][:3] == ["进驻", "确定机动巡察村", "撤回"]
    assert [m.passed for m in card.timeline][:3] == [True, False, False]
    client.force_login(personas["inspection_group"])
    page = client.get("/").content.decode()
    for text in ("十五届县委第二轮巡察 · 第一巡察组", "巡察乡镇：<strong>赵村镇</strong>", "河南村", "问题底稿", "谈话记录",
                 "问题线索", "确定机动巡察村"):
        assert text in page
    # 确定机动巡察村 falls within this week: it is one of the leader's deadlines
    assert any(row.kind == "巡察时间节点" for row in worklist.deadlines_this_week(personas["inspection_group"]))


def test_group_member_sees_no_clue_count(client, county, personas, group):
    member = personas["township_committee"]  # any user: made a plain member of the group
    group.members.add(member)
    card, = worklist.group_cards(type(member).objects.get(pk=member.pk))
    assert card.clues is None


def test_user_outside_the_group_sees_no_group_card(client, county, personas, group):
    client.force_login(personas["county_office"])
    page = client.get("/").content.decode()
    assert "巡察乡镇：" not in page
    assert worklist.group_cards(personas["outsider"]) == []


def test_deadlines_this_week_take_an_extended_item_by_its_new_deadline(county, personas, plan):
    """Twelve rows at most, earliest first by the deadline in force: an item long overdue but extended to
    six days ahead does not push out an item due in five days."""
    extended = RectificationItem.objects.create(plan=plan, number=20, title="已延期", deadline=days(-30),
                                                new_deadline=days(6))
    for number in range(21, 21 + worklist.DEADLINE_ROWS):
        RectificationItem.objects.create(plan=plan, number=number, title=f"第{number}项", deadline=days(5))
    rows = worklist.deadlines_this_week(personas["township_committee"])
    assert len(rows) == worklist.DEADLINE_ROWS
    assert [row.due for row in rows] == sorted(row.due for row in rows)
    assert f"太平镇：{extended.number}. 已延期" not in [row.title for row in rows]  # due latest of them all
    assert rows[0].title == "太平镇：2. 会议记录缺失" and rows[-1].due == days(5)
