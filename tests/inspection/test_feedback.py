"""The timeline after withdrawal (deadlines, overdue steps) and the feedback hand-over to rectification."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from grid.access import scope
from inspection.models import InspectionFinding
from inspection.rounds import feedback
from inspection.rounds import round_services as rounds
from rectification.models import RectificationItem, RectificationPlan

from .test_round_reports import add_finding, build_zhaocun_round, make_group, make_round, make_taxonomy

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def visible_to(user):
    """What a user sees of the round's findings: the on-site module's helper when it exists, else the
    scope plus the fed-back filter it applies to township users."""
    try:
        from inspection.rounds.onsite import visible_findings
    except ImportError:
        return scope(user, InspectionFinding.objects.all(), "inspection.view_inspectionfinding").filter(
            fed_back_at__isnull=False)
    return visible_findings(user)


@pytest.fixture
def taiping(county, personas):
    """The round at 太平镇 (楼星村, 大楼村): two township findings, three in 楼星村, one in 大楼村."""
    office = personas["county_office"]
    round_ = make_round(county, office)
    focus = make_taxonomy(round_)
    group = make_group(round_, county.taiping, [county.louxing, county.dalou], number=1, leader=office)
    findings = [
        add_finding(group, focus["组织生活制度落实方面"], "“三会一课”流于形式", village=county.louxing),
        add_finding(group, focus["巩固拓展脱贫攻坚成果方面"], "防返贫监测不及时"),
        add_finding(group, focus["集体“三资”管理方面"], "集体资产台账不全", village=county.dalou),
        add_finding(group, focus["巩固拓展脱贫攻坚成果方面"], "产业项目收益未分配", village=county.louxing),
        add_finding(group, focus["党费收缴方面"], "党费收缴不规范", village=county.louxing),
        add_finding(group, focus["聚焦群众身边腐败问题和不正之风"], "镇党委“三重一大”执行不严"),
    ]
    return group, findings


def _ready(group, withdrawal_plus=(2, 8)):
    withdrawal = group.round.withdrawal_date
    group.reported_on = withdrawal + withdrawal_plus[0] * DAY
    group.secretary_meeting_on = withdrawal + withdrawal_plus[1] * DAY
    group.save()
    return group


# ---------------------------------------------------------------- deadlines and overdue steps


def test_deadlines_follow_the_plan(taiping):
    group, _ = taiping
    withdrawal = group.round.withdrawal_date
    assert feedback.report_due(group) == withdrawal + 10 * DAY
    assert feedback.meeting_due(group) == withdrawal + 20 * DAY  # not reported yet
    group.reported_on = withdrawal + 4 * DAY
    assert feedback.meeting_due(group) == withdrawal + 14 * DAY


def test_overdue_steps_flag_each_late_step(taiping):
    group, _ = taiping
    withdrawal = group.round.withdrawal_date
    assert feedback.overdue_steps(group, today=withdrawal + 10 * DAY) == []
    steps = feedback.overdue_steps(group, today=withdrawal + 11 * DAY)
    assert [(s.key, s.days_overdue) for s in steps] == [("report", 1)]
    steps = feedback.overdue_steps(group, today=withdrawal + 25 * DAY)
    assert [(s.key, s.days_overdue) for s in steps] == [("report", 15), ("meeting", 5)]
    assert steps[0].status == "已逾期 15 天"
    group.reported_on = withdrawal + 12 * DAY  # late, but done: only the meeting remains, due 10 days after
    assert [s.key for s in feedback.overdue_steps(group, today=withdrawal + 22 * DAY)] == []
    assert [s.key for s in feedback.overdue_steps(group, today=withdrawal + 23 * DAY)] == ["meeting"]
    report = feedback.timeline(group, today=withdrawal + 23 * DAY)[0]
    assert report.late and report.status == "逾期完成"
    group.secretary_meeting_on = withdrawal + 20 * DAY
    assert feedback.overdue_steps(group, today=withdrawal + 60 * DAY) == []


# ---------------------------------------------------------------- recording the timeline


def test_office_records_the_timeline_in_order(taiping, personas):
    group, _ = taiping
    office = personas["county_office"]
    withdrawal = group.round.withdrawal_date
    feedback.record_timeline(by=office, group=group, reported_on=withdrawal + 3 * DAY)
    feedback.record_timeline(by=office, group=group, secretary_meeting_on=withdrawal + 9 * DAY)
    group.refresh_from_db()
    assert (group.reported_on, group.secretary_meeting_on) == (withdrawal + 3 * DAY, withdrawal + 9 * DAY)
    assert AuditEntry.objects.filter(action="inspection_group.timeline", object_id=str(group.pk)).count() == 2


@pytest.mark.parametrize("dates, message", [
    ({"reported_on": -1}, "不能早于撤回日期"),
    ({"reported_on": 5, "secretary_meeting_on": 4}, "书记专题会日期"),
    ({"secretary_meeting_on": 4}, "请先登记向领导小组汇报日期"),
    ({"reported_on": 40}, "不能晚于今天"),
])
def test_timeline_dates_out_of_order_are_refused(taiping, personas, dates, message):
    group, _ = taiping
    withdrawal = group.round.withdrawal_date
    with pytest.raises(ValidationError) as error:
        feedback.record_timeline(by=personas["county_office"], group=group,
                                 **{k: withdrawal + v * DAY for k, v in dates.items()})
    assert message in "".join(error.value.messages)
    group.refresh_from_db()
    assert group.reported_on is None and group.secretary_meeting_on is None


def test_feedback_date_alone_cannot_be_recorded_without_the_hand_over(taiping, personas):
    group, _ = taiping
    _ready(group)
    with pytest.raises(ValidationError, match="反馈须通过"):
        feedback.record_timeline(by=personas["county_office"], group=group,
                                 feedback_on=group.round.withdrawal_date + 9 * DAY)


@pytest.mark.parametrize("name", ["inspection_group", "leading_group", "township_committee", "outsider"])
def test_only_the_office_records_the_timeline_and_feeds_back(taiping, personas, name):
    group, _ = taiping
    _ready(group)
    with pytest.raises(PermissionDenied):
        feedback.record_timeline(by=personas[name], group=group, reported_on=group.round.withdrawal_date + DAY)
    with pytest.raises(PermissionDenied):
        feedback.feed_back(by=personas[name], group=group, feedback_on=timezone.localdate(), feedback_document="反馈意见")
    assert not RectificationPlan.objects.exists()


# ---------------------------------------------------------------- the hand-over


def test_feedback_creates_one_item_per_finding_in_plans_per_organisation(taiping, personas, county):
    group, findings = taiping
    _ready(group)
    day = group.round.withdrawal_date + 9 * DAY
    result = feedback.feed_back(by=personas["county_office"], group=group, feedback_on=day,
                                feedback_document="县委第一巡察组关于巡察太平镇党委的反馈意见")
    assert result.items == len(findings) == RectificationItem.objects.count()
    plans = {plan.organisation.name: plan for plan in RectificationPlan.objects.all()}
    assert set(plans) == {"太平镇", "楼星村", "大楼村"}
    assert all(plan.round == group.round for plan in plans.values())
    assert plans["太平镇"].title == "中共太平镇委员会关于十五届县委第二轮巡察反馈问题的整改方案"

    def items(name):
        return [(i.number, i.title, i.status) for i in plans[name].items.order_by("number")]

    # numbered 1, 2, 3… in focus order (taxonomy order, then recorded order), all pending
    assert items("太平镇") == [(1, "防返贫监测不及时", "pending"), (2, "镇党委“三重一大”执行不严", "pending")]
    assert items("楼星村") == [(1, "产业项目收益未分配", "pending"), (2, "“三会一课”流于形式", "pending"),
                               (3, "党费收缴不规范", "pending")]
    assert items("大楼村") == [(1, "集体资产台账不全", "pending")]
    for finding in findings:
        finding.refresh_from_db()
        assert finding.fed_back_at is not None
        assert finding.rectification_item.description == finding.description
    group.refresh_from_db()
    assert group.feedback_on == day and group.feedback_document.startswith("县委第一巡察组")
    assert AuditEntry.objects.filter(action="inspection_group.feedback").count() == 1
    assert AuditEntry.objects.filter(action="rectification_plan.create").count() == 3


def test_a_second_feedback_refuses_and_creates_nothing(taiping, personas):
    group, _ = taiping
    _ready(group)
    office = personas["county_office"]
    day = group.round.withdrawal_date + 9 * DAY
    feedback.feed_back(by=office, group=group, feedback_on=day, feedback_document="反馈意见")
    counts = (RectificationPlan.objects.count(), RectificationItem.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationError, match="不能重复反馈"):
        feedback.feed_back(by=office, group=group, feedback_on=day + DAY, feedback_document="再次反馈")
    assert (RectificationPlan.objects.count(), RectificationItem.objects.count(), AuditEntry.objects.count()) == counts
    group.refresh_from_db()
    assert group.feedback_on == day and group.feedback_document == "反馈意见"


@pytest.mark.parametrize("meeting, feedback_days, message", [
    (None, 9, "请先登记书记专题会日期"),
    (8, 7, "不能早于书记专题会日期"),
])
def test_feedback_out_of_order_writes_nothing(taiping, personas, meeting, feedback_days, message):
    group, findings = taiping
    withdrawal = group.round.withdrawal_date
    group.reported_on = withdrawal + 2 * DAY
    group.secretary_meeting_on = withdrawal + meeting * DAY if meeting else None
    group.save()
    with pytest.raises(ValidationError, match=message):
        feedback.feed_back(by=personas["county_office"], group=group, feedback_on=withdrawal + feedback_days * DAY,
                           feedback_document="反馈意见")
    assert not RectificationPlan.objects.exists() and not RectificationItem.objects.exists()
    assert not InspectionFinding.objects.filter(fed_back_at__isnull=False).exists()
    group.refresh_from_db()
    assert group.feedback_on is None


def test_township_committee_sees_the_findings_only_after_feedback(taiping, personas, county):
    group, findings = taiping
    _ready(group)
    committee = personas["township_committee"]  # posted at 太平镇
    assert list(visible_to(committee)) == []
    feedback.feed_back(by=personas["county_office"], group=group, feedback_on=group.round.withdrawal_date + 9 * DAY,
                       feedback_document="反馈意见")
    assert {f.pk for f in visible_to(committee)} == {f.pk for f in findings}
    # a township committee elsewhere still sees nothing of 太平镇
    assert list(visible_to(personas["outsider"])) == []


def test_feedback_of_one_group_leaves_another_townships_findings_unfed(taiping, personas, county):
    group, _ = taiping
    _ready(group)
    other = build_zhaocun_round(county, personas)  # a second round at 赵村镇
    feedback.feed_back(by=personas["county_office"], group=group, feedback_on=group.round.withdrawal_date + 9 * DAY,
                       feedback_document="反馈意见")
    assert not InspectionFinding.objects.filter(group=other.group, fed_back_at__isnull=False).exists()
    assert not RectificationPlan.objects.filter(round=other.round).exists()


# ---------------------------------------------------------------- the pages


def test_office_feeds_back_from_the_timeline_page(client, taiping, personas):
    group, findings = taiping
    _ready(group)
    client.force_login(personas["county_office"])
    url = reverse("inspection:round_timeline", args=[group.pk])
    page = client.get(url)
    assert page.status_code == 200 and "反馈" in page.content.decode()
    bad = client.post(reverse("inspection:round_feedback", args=[group.pk]),
                      {"feedback_on": (group.round.withdrawal_date + 3 * DAY).isoformat(), "feedback_document": "意见"})
    assert bad.status_code == 422 and "不能早于书记专题会日期" in bad.content.decode()
    ok = client.post(reverse("inspection:round_feedback", args=[group.pk]),
                     {"feedback_on": (group.round.withdrawal_date + 9 * DAY).isoformat(), "feedback_document": "意见"})
    assert ok.status_code == 302
    assert RectificationItem.objects.count() == len(findings)
    again = client.post(reverse("inspection:round_feedback", args=[group.pk]),
                        {"feedback_on": (group.round.withdrawal_date + 9 * DAY).isoformat(), "feedback_document": "意见"})
    assert again.status_code == 422 and "不能重复反馈" in again.content.decode()


def test_timeline_page_shows_overdue_steps_and_refuses_a_member_the_form(client, taiping, personas, county):
    other = build_zhaocun_round(county, personas)
    client.force_login(personas["inspection_group"])
    page = client.get(reverse("inspection:round_timeline", args=[other.group.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and "已逾期" in body and 'id="feedback"' not in body
    response = client.post(reverse("inspection:round_timeline", args=[other.group.pk]),
                           {"reported_on": other.round.withdrawal_date.isoformat()})
    assert response.status_code == 403


def test_feedback_gives_every_item_the_deadline_of_the_rounds_rectification_period(taiping, personas):
    group, findings = taiping
    _ready(group)
    group.round.rectification_months = 2
    group.round.save()
    day = group.round.withdrawal_date + 9 * DAY
    feedback.feed_back(by=personas["county_office"], group=group, feedback_on=day, feedback_document="反馈意见")
    deadlines = set(RectificationItem.objects.values_list("deadline", flat=True))
    assert deadlines == {feedback.add_months(day, 2)}  # never an item without a deadline


@pytest.mark.parametrize(("day", "months", "expected"), [
    (datetime.date(2025, 3, 10), 1, datetime.date(2025, 4, 10)),
    (datetime.date(2025, 1, 31), 1, datetime.date(2025, 2, 28)),  # the month's last day
    (datetime.date(2025, 12, 15), 1, datetime.date(2026, 1, 15)),
    (datetime.date(2025, 11, 30), 3, datetime.date(2026, 2, 28)),
])
def test_the_rectification_period_counts_calendar_months(day, months, expected):
    assert feedback.add_months(day, months) == expected


def test_a_new_round_has_a_one_month_rectification_period_by_default(county, personas):

    round_ = rounds.create_round(by=personas["county_office"], county=county.county, term="十五届", number=9,
                                 name="十五届县委第九轮巡察", arrival_date=datetime.date(2025, 3, 1),
                                 withdrawal_date=datetime.date(2025, 4, 1))
    assert round_.rectification_months == 1
    with pytest.raises(ValidationError, match="集中整改期须为 1 至 24 个月"):
        rounds.create_round(by=personas["county_office"], county=county.county, term="十五届", number=10,
                            name="十五届县委第十轮巡察", arrival_date=datetime.date(2025, 3, 1),
                            withdrawal_date=datetime.date(2025, 4, 1), rectification_months=0)


@pytest.mark.parametrize(("name", "expected"), [("第一巡察组", "县委第一巡察组"), ("县委第一巡察组", "县委第一巡察组"),
                                                ("太平镇巡察组", "县委第一巡察组")])
def test_plans_created_by_feedback_name_the_group_as_the_notice_does(taiping, personas, name, expected):
    """The notice's opening reads "…县委第一巡察组对太平镇党委开展了巡察…" (the published shape), not the
    group's bare name, and never "县委县委…"."""
    from rectification.notices import build_notice

    group, _ = taiping
    group.name = name
    _ready(group)
    feedback.feed_back(by=personas["county_office"], group=group, feedback_on=group.round.withdrawal_date + 9 * DAY,
                       feedback_document="反馈意见")
    plan = RectificationPlan.objects.get(organisation=group.township)
    assert plan.group_name == expected
    opening = build_notice(plan)["paragraphs"]["opening"]
    assert f"，{expected}对太平镇党委开展了巡察" in opening and "县委县委" not in opening
