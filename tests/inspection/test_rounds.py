"""County inspection rounds: rounds, groups and targets, MobileInspectionFlow, scoping,
class counts, coverage, and the pages."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from governance.models import AuditEntry, Notification
from grid import services
from grid.models import Post, Role
from inspection.models import InspectionGroup, InspectionRound, MobileProposal, RoundTarget
from inspection.rounds import round_services as rounds
from inspection.rounds.mobile_inspection_flow import MobileInspectionFlow


def days(n: int) -> datetime.date:
    """Today plus n days, today read when the test runs (not when the module is imported)."""
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def people(county, personas):
    """The personas, 3 more villages of 赵村镇, a group member of 赵村镇 (zu_member), an inspection-group
    user posted at 太平镇 (taiping_leader) and a second 赵村镇 inspection-group user (other_leader)."""
    village = county.tier("village")
    extra = [services.create_region(parent=county.zhaocun, name=name, tier=village) for name in ("东村", "西村", "北村")]
    county.zhaocun_villages = [county.henan, *extra]
    role = Role.objects.get(key="inspection_group")
    users = dict(personas)
    for username, region in (("zu_member", county.zhaocun), ("taiping_leader", county.taiping),
                             ("other_leader", county.zhaocun)):
        users[username], _ = services.ensure_user(username, password="x")
        services.create_post(user=users[username], role=role, region=region)
    return users


def make_round(people, county, *, number=2, arrival=None, term="十五届"):
    arrival = arrival or days(-2)
    return rounds.create_round(
        by=people["county_office"], county=county.county, term=term, number=number,
        name=f"{term}县委第{number}轮巡察", arrival_date=arrival, withdrawal_date=arrival + datetime.timedelta(days=50),
    )


def make_group(people, round, township, *, leader="inspection_group", number=1, **rule):
    fields = dict(fixed_villages=2, mobile_villages=2, mobile_days=7)
    fields.update(rule)
    return rounds.add_group(
        by=people["county_office"], round=round, number=number, name=f"第{number}巡察组", township=township,
        leader=people[leader] if leader else None, deputies=[], members=[people["zu_member"]] if leader == "inspection_group" else [],
        **fields,
    )


@pytest.fixture
def round_(people, county):
    return make_round(people, county)


@pytest.fixture
def group(people, county, round_):
    return make_group(people, round_, county.zhaocun)


# ---------------------------------------------------------------- rounds and groups


def test_round_with_dates_out_of_order_is_refused(people, county):
    with pytest.raises(rounds.RoundError) as exc:
        rounds.create_round(by=people["county_office"], county=county.county, term="十五届", number=2, name="第二轮",
                            arrival_date=datetime.date(2022, 6, 10), withdrawal_date=datetime.date(2022, 4, 21))
    assert "撤回日期（2022-04-21）须晚于进驻日期（2022-06-10）" in exc.value.messages[0]
    assert not InspectionRound.objects.exists()


def test_only_the_office_creates_rounds(people, county):
    for username in ("inspection_group", "leading_group", "township_committee", "outsider"):
        with pytest.raises(PermissionDenied):
            make_round({**people, "county_office": people[username]}, county)
    round = make_round(people, county)
    assert AuditEntry.objects.filter(action="inspection_round.create", object_id=str(round.pk)).exists()


def test_group_makes_the_township_committee_a_target(people, county, group):
    targets = list(group.targets.select_related("organisation"))
    assert [target.organisation for target in targets] == [county.zhaocun]
    assert group.leader == people["inspection_group"]
    assert list(group.members.all()) == [people["zu_member"]]


def test_group_people_need_an_inspection_group_post_over_the_township(people, county, round_):
    with pytest.raises(rounds.RoundError) as exc:
        make_group(people, round_, county.taiping)  # inspection_group is posted at 赵村镇, not 太平镇
    assert "没有覆盖太平镇的在岗“巡察组”岗位" in exc.value.messages[0]
    with pytest.raises(rounds.RoundError):
        make_group(people, round_, county.zhaocun, leader="outsider")
    assert not InspectionGroup.objects.exists() and not RoundTarget.objects.exists()


def test_group_township_must_be_a_township_of_the_county(people, county, round_):
    with pytest.raises(rounds.RoundError) as exc:
        make_group(people, round_, county.henan, leader=None)
    assert "巡察乡镇须为某县的乡镇" in exc.value.messages[0]


def test_group_inspecting_all_villages_targets_them_all(people, county, round_):
    group = make_group(people, round_, county.taiping, leader="taiping_leader", inspect_all_villages=True)
    assert set(group.targets.values_list("organisation", flat=True)) == {county.taiping.pk, county.louxing.pk, county.dalou.pk}
    rounds.set_targets(by=people["county_office"], group=group, classes={county.louxing: "key"})
    assert group.targets.get(organisation=county.louxing).mode == "直接巡察"
    assert group.targets.count() == 3


# ---------------------------------------------------------------- targets


def test_village_outside_the_township_is_refused(people, county, group):
    with pytest.raises(rounds.RoundError) as exc:
        rounds.set_targets(by=people["county_office"], group=group, villages=[county.henan, county.louxing])
    assert "楼星村 不是赵村镇所辖的村（社区）" in exc.value.messages[0]
    assert group.targets.count() == 1  # nothing half-written


def test_more_villages_than_the_fixed_number_are_refused(people, county, group):
    with pytest.raises(rounds.RoundError) as exc:
        rounds.set_targets(by=people["county_office"], group=group, villages=county.zhaocun_villages[:3])
    assert "固定巡察 2 个村，已选 3 个" in exc.value.messages[0]


def test_only_the_office_sets_targets(people, county, group):
    with pytest.raises(PermissionDenied):
        rounds.set_targets(by=people["inspection_group"], group=group, villages=[county.henan])


def test_targets_with_classes_and_counts(people, county, group):
    henan, east, west, _north = county.zhaocun_villages
    rounds.set_targets(by=people["county_office"], group=group, villages=[henan, east],
                       classes={henan: "key", east.pk: "ordinary"})
    assert {t.organisation.name: (t.village_class, t.mode) for t in group.targets.exclude(organisation=county.zhaocun)} == {
        "河南村": ("key", "直接巡察"), "东村": ("ordinary", "延伸巡察")}
    [row] = rounds.class_counts(group.round)
    assert (row["key"], row["advanced"], row["ordinary"], row["mobile"], row["total"]) == (1, 0, 1, 0, 2)
    # Choosing again replaces the fixed villages and keeps the committee.
    rounds.set_targets(by=people["county_office"], group=group, villages=[west], classes={west: "advanced"})
    [row] = rounds.class_counts(group.round)
    assert (row["key"], row["advanced"], row["ordinary"], row["total"]) == (0, 1, 0, 1)
    assert group.targets.filter(organisation=county.zhaocun).exists()
    assert AuditEntry.objects.filter(action="inspection_group.set_targets").count() == 2


# ---------------------------------------------------------------- mobile inspection


def propose(people, group, village, who="inspection_group"):
    return rounds.propose_mobile(by=people[who], group=group, village=village, reason="群众来信反映集体资金使用不规范")


def test_proposal_after_the_deadline_is_refused_naming_the_deadline(people, county):
    round = make_round(people, county, arrival=days(-10))
    group = make_group(people, round, county.zhaocun)
    with pytest.raises(rounds.RoundError) as exc:
        propose(people, group, county.henan)
    assert f"截止日期为 {days(-3):%Y-%m-%d}" in exc.value.messages[0]
    assert not MobileProposal.objects.exists()


def test_proposal_on_the_last_day_is_accepted(people, county):
    round = make_round(people, county, arrival=days(-7))
    group = make_group(people, round, county.zhaocun)
    assert propose(people, group, county.henan).decision == "pending"


def test_proposal_beyond_the_allowed_number_is_refused(people, county, round_):
    group = make_group(people, round_, county.zhaocun, mobile_villages=1)
    _henan, east, west, _north = county.zhaocun_villages
    propose(people, group, east)
    with pytest.raises(rounds.RoundError) as exc:
        propose(people, group, west)
    assert "机动巡察村数上限为 1 个" in exc.value.messages[0]


def test_rejected_proposal_frees_its_place(people, county, round_):
    group = make_group(people, round_, county.zhaocun, mobile_villages=1)
    _henan, east, west, _north = county.zhaocun_villages
    rounds.decide_proposal(propose(people, group, east), by=people["leading_group"], approve=False, note="不符合条件")
    assert propose(people, group, west).decision == "pending"


def test_proposal_of_a_village_outside_the_township_or_already_a_target(people, county, group):
    with pytest.raises(rounds.RoundError) as exc:
        propose(people, group, county.louxing)
    assert "楼星村 不是赵村镇所辖的村（社区）" in exc.value.messages[0]
    rounds.set_targets(by=people["county_office"], group=group, villages=[county.henan])
    with pytest.raises(rounds.RoundError) as exc:
        propose(people, group, county.henan)
    assert "河南村已是本轮巡察对象" in exc.value.messages[0]


def test_only_the_leader_or_a_deputy_proposes(people, county, group):
    for username in ("zu_member", "other_leader", "county_office", "leading_group"):
        with pytest.raises(PermissionDenied):
            propose(people, group, county.henan, who=username)
    group.deputies.add(people["other_leader"])
    assert propose(people, group, county.henan, who="other_leader").proposed_by == people["other_leader"]


def test_leading_group_approves_and_the_village_becomes_a_mobile_target(people, county, group, django_capture_on_commit_callbacks):
    east = county.zhaocun_villages[1]
    with django_capture_on_commit_callbacks(execute=True):
        proposal = propose(people, group, east)
    process = Process.objects.get(flow_class=MobileInspectionFlow, artifact_object_id=proposal.pk)
    assert process.task_set.get(flow_task=MobileInspectionFlow.decide).status == "NEW"
    notice = Notification.objects.get(recipient=people["leading_group"], kind=Notification.Kind.TASK)
    assert "机动巡察东村" in notice.title and notice.url == reverse("inspection:proposal_detail", args=[proposal.pk])
    assert not Notification.objects.filter(recipient=people["inspection_group"], kind=Notification.Kind.TASK).exists()

    with pytest.raises(PermissionDenied):
        rounds.decide_proposal(proposal, by=people["inspection_group"], approve=True)
    with pytest.raises(PermissionDenied):
        rounds.decide_proposal(proposal, by=people["county_office"], approve=True)
    with django_capture_on_commit_callbacks(execute=True):
        rounds.decide_proposal(proposal, by=people["leading_group"], approve=True, note="同意")
    target = RoundTarget.objects.get(round=group.round, organisation=east)
    assert target.is_mobile and target.group == group
    process.refresh_from_db()
    assert process.status == "DONE"
    assert process.task_set.filter(flow_task=MobileInspectionFlow.end).exists()
    assert Notification.objects.filter(recipient=people["inspection_group"], kind=Notification.Kind.RESULT).exists()
    assert rounds.class_counts(group.round)[0]["mobile"] == 1
    with pytest.raises(rounds.RoundError):
        rounds.decide_proposal(proposal, by=people["leading_group"], approve=False, note="再议")


def test_leading_group_rejects_and_no_target_is_added(people, county, group):
    east = county.zhaocun_villages[1]
    proposal = propose(people, group, east)
    with pytest.raises(rounds.RoundError) as exc:
        rounds.decide_proposal(proposal, by=people["leading_group"], approve=False, note="")
    assert "不同意时须填写审批意见" in exc.value.messages[0]
    rounds.decide_proposal(proposal, by=people["leading_group"], approve=False, note="该村上一轮已巡察")
    assert not RoundTarget.objects.filter(organisation=east).exists()
    process = Process.objects.get(flow_class=MobileInspectionFlow, artifact_object_id=proposal.pk)
    assert process.status == "DONE"
    assert process.task_set.filter(flow_task=MobileInspectionFlow.end_rejected).exists()
    assert set(AuditEntry.objects.filter(object_id=str(proposal.pk), object_type="inspection.MobileProposal")
               .values_list("action", flat=True)) == {"mobile_proposal.propose", "mobile_proposal.rejected"}


def test_flow_permissions_exist_and_the_task_is_only_for_the_leading_group(people, county, group):
    assert Permission.objects.filter(content_type__app_label="workflows", codename="view_mobileinspectionprocess").exists()
    proposal = propose(people, group, county.henan)
    task = Task.objects.get(process__artifact_object_id=proposal.pk, flow_task=MobileInspectionFlow.decide)
    node = MobileInspectionFlow.decide
    assert node.can_assign(people["leading_group"], task)
    assert not node.can_assign(people["inspection_group"], task)
    assert not node.can_assign(people["county_office"], task)


# ---------------------------------------------------------------- who sees what


def test_group_members_see_only_their_own_rounds_targets(people, county, group):
    rounds.set_targets(by=people["county_office"], group=group, villages=[county.henan])
    other = make_round(people, county, number=3)
    other_zhaocun = rounds.add_group(by=people["county_office"], round=other, number=1, name="第一巡察组",
                                     township=county.zhaocun, leader=people["other_leader"])
    other_taiping = make_group(people, other, county.taiping, leader="taiping_leader", number=2)

    mine = set(rounds.targets_visible(people["inspection_group"]))
    assert mine == set(group.round.targets.all()) and mine
    # Posted at 赵村镇 too, but not a member of this round: sees nothing of it.
    assert not rounds.targets_visible(people["other_leader"]).filter(round=group.round).exists()
    assert not rounds.targets_visible(people["taiping_leader"]).filter(round=group.round).exists()
    assert set(rounds.targets_visible(people["taiping_leader"])) == set(other.targets.all())
    assert other_zhaocun.targets.exists() and other_taiping.targets.exists()
    for username in ("county_office", "leading_group"):
        assert set(rounds.targets_visible(people[username])) == set(RoundTarget.objects.all())
    for username in ("township_committee", "discipline", "outsider", "grid_member"):
        assert not rounds.targets_visible(people[username]).exists()


def test_a_group_member_whose_post_ended_sees_nothing(people, county, group):

    Post.objects.filter(user=people["zu_member"]).update(end_date=timezone.localdate())
    assert not rounds.targets_visible(people["zu_member"]).exists()


# ---------------------------------------------------------------- coverage


def test_coverage_counts_townships_and_villages_by_term(people, county, group):
    rounds.set_targets(by=people["county_office"], group=group, villages=county.zhaocun_villages[:2])
    later = make_round(people, county, number=3)
    taiping = make_group(people, later, county.taiping, leader="taiping_leader", inspect_all_villages=True)
    assert taiping.targets.count() == 3
    make_round(people, county, number=1, term="十四届")  # another term: not counted

    data = rounds.coverage(county.county, "十五届")
    assert (data.townships_covered, data.townships_total) == (2, 2)
    assert (data.villages_covered, data.villages_total) == (4, 6)  # 2 of 赵村镇's 4, both of 太平镇's
    assert (data.organisations_covered, data.organisations_total) == (6, 8)
    rows = {row.township.name: row for row in data.townships}
    assert rows["太平镇"].share == 1.0 and rows["赵村镇"].share == 0.5
    assert rows["赵村镇"].committee_rounds == ["十五届县委第2轮巡察"]
    assert [(row.round.number, row.townships, row.villages) for row in data.rounds] == [(2, 1, 2), (3, 1, 2)]
    svg = rounds.coverage_svg(data)
    assert svg.startswith("<svg") and "赵村镇" in svg and "2/4 50%" in svg and "6/8 75%" in svg
    assert rounds.coverage(county.county, "十四届").organisations_covered == 0


# ---------------------------------------------------------------- pages


def as_user(client, user):
    client.force_login(user)
    return client


def test_pages_end_to_end(client, county, people):
    as_user(client, people["county_office"])
    assert client.get(reverse("inspection:rounds")).status_code == 200
    data = {"county": county.county.pk, "term": "十五届", "number": 2, "name": "十五届县委第二轮巡察",
            "arrival_date": days(-5).isoformat(), "withdrawal_date": days(-6).isoformat()}
    response = client.post(reverse("inspection:round_new"), data)
    assert response.status_code == 422
    assert "须晚于进驻日期" in response.content.decode() and "十五届县委第二轮巡察" in response.content.decode()
    data["withdrawal_date"] = days(40).isoformat()
    response = client.post(reverse("inspection:round_new"), data)
    round = InspectionRound.objects.get()
    assert response.status_code == 302 and response.url == reverse("inspection:round_detail", args=[round.pk])

    group_data = {"number": 1, "name": "第一巡察组", "township": county.zhaocun.pk, "leader": people["inspection_group"].pk,
                  "members": [people["zu_member"].pk], "fixed_villages": 1, "mobile_villages": 2, "mobile_days": 7}
    response = client.post(reverse("inspection:round_group_new", args=[round.pk]), {**group_data, "leader": people["outsider"].pk})
    assert response.status_code == 422  # not a choice: the outsider holds no inspection-group post
    response = client.post(reverse("inspection:round_group_new", args=[round.pk]), group_data)
    group = InspectionGroup.objects.get()
    assert response.status_code == 302

    henan, east, west, north = county.zhaocun_villages
    page = client.get(reverse("inspection:round_group", args=[group.pk])).content.decode()
    assert "确定巡察村" in page and "东村" in page
    choose = {f"village_{v.pk}": "-" for v in county.zhaocun_villages}
    response = client.post(reverse("inspection:round_group", args=[group.pk]),
                           {**choose, f"village_{henan.pk}": "key", f"village_{east.pk}": "advanced"})
    assert response.status_code == 422 and "固定巡察 1 个村，已选 2 个" in response.content.decode()
    response = client.post(reverse("inspection:round_group", args=[group.pk]), {**choose, f"village_{henan.pk}": "key"})
    assert response.status_code == 302
    detail = client.get(reverse("inspection:round_detail", args=[round.pk])).content.decode()
    assert "河南村" in detail and "直接巡察" in detail and "赵村镇党委" in detail
    assert f"{days(2):%Y-%m-%d}" in detail  # the mobile deadline: arrival + 7 days
    assert client.get(reverse("inspection:proposal_new", args=[group.pk])).status_code == 403

    as_user(client, people["inspection_group"])
    assert client.get(reverse("inspection:round_group", args=[group.pk])).status_code == 200
    response = client.post(reverse("inspection:round_group", args=[group.pk]), {**choose, f"village_{west.pk}": "key"})
    assert response.status_code == 403
    response = client.post(reverse("inspection:proposal_new", args=[group.pk]), {"village": east.pk, "reason": ""})
    assert response.status_code == 422 and "必填项" in response.content.decode()
    response = client.post(reverse("inspection:proposal_new", args=[group.pk]), {"village": east.pk, "reason": "群众反映强烈"})
    proposal = MobileProposal.objects.get()
    assert response.status_code == 302 and response.url == reverse("inspection:proposal_detail", args=[proposal.pk])
    page = client.get(response.url).content.decode()
    assert "待审批" in page and "<svg" in page and "领导小组审批" in page
    assert client.post(response.url, {"decision": "approve"}).status_code == 403

    as_user(client, people["leading_group"])
    assert "待审批的机动巡察" in client.get(reverse("inspection:round_detail", args=[round.pk])).content.decode()
    response = client.post(reverse("inspection:proposal_detail", args=[proposal.pk]), {"decision": "reject", "note": ""})
    assert response.status_code == 422 and "不同意时须填写审批意见" in response.content.decode()
    response = client.post(reverse("inspection:proposal_detail", args=[proposal.pk]), {"decision": "approve", "note": "同意"})
    assert response.status_code == 302
    assert RoundTarget.objects.get(organisation=east).is_mobile
    chart = client.get(reverse("inspection:proposal_chart", args=[proposal.pk]))
    assert chart.status_code == 200 and "<svg" in chart.content.decode()
    assert client.get(reverse("inspection:proposal_flow_chart") + "?format=bpmn")["Content-Type"] == "application/xml"
    coverage = client.get(reverse("inspection:coverage")).content.decode()
    assert "<svg" in coverage and "已巡察乡镇党委 1/2 个、村级党组织 2/6 个" in coverage

    # Another round's member, a township committee and an outsider.
    as_user(client, people["taiping_leader"])
    assert client.get(reverse("inspection:round_detail", args=[round.pk])).status_code == 404
    assert client.get(reverse("inspection:round_group", args=[group.pk])).status_code == 404
    assert client.get(reverse("inspection:proposal_detail", args=[proposal.pk])).status_code == 404
    assert "十五届县委第二轮巡察" not in client.get(reverse("inspection:rounds")).content.decode()
    assert client.get(reverse("inspection:coverage")).status_code == 403
    as_user(client, people["outsider"])
    assert client.get(reverse("inspection:rounds")).status_code == 403
    assert client.get(reverse("inspection:round_new")).status_code == 403
    # No inspection permission at all: the whole 巡察 area is closed to them (403 from the site).
    assert client.get(reverse("inspection:round_detail", args=[round.pk])).status_code == 403


def test_no_group_is_formed_for_a_round_that_has_withdrawn(client, county, people):
    """After the withdrawal date a round's groups are a record: the office is told so on the round's
    page, the form refuses with the reason, and the service refuses too (nothing written)."""
    past = make_round(people, county, arrival=days(-60))  # withdrew ten days ago
    current = make_round(people, county, number=3)
    as_user(client, people["county_office"])
    page = client.get(reverse("inspection:round_detail", args=[past.pk])).content.decode()
    assert "组建巡察组</a>" not in page and f"本轮已于{past.withdrawal_date:%Y-%m-%d}撤回，不再组建巡察组。" in page
    assert "组建巡察组</a>" in client.get(reverse("inspection:round_detail", args=[current.pk])).content.decode()
    for method in (client.get, client.post):
        response = method(reverse("inspection:round_group_new", args=[past.pk]))
        assert response.status_code == 403 and "撤回，不能再组建巡察组" in response.content.decode()
    with pytest.raises(rounds.RoundError, match="撤回，不能再组建巡察组"):
        make_group(people, past, county.zhaocun)
    assert not InspectionGroup.objects.filter(round=past).exists()
    assert make_group(people, current, county.zhaocun).round == current


def test_a_new_round_starts_with_the_focus_taxonomy_its_problems_are_classified_by(county, people):
    """Without it no problem could be recorded (the category is required) and the office has no page
    for it: the county's first round gets the round plan's three focuses, a later one the previous
    round's taxonomy as the office last left it."""
    from inspection.models import FocusCategory
    from inspection.rounds.focus_taxonomy import STANDARD_FOCUS_TAXONOMY

    first = make_round(people, county)
    tops = list(first.focus_categories.filter(parent=None).order_by("order"))
    assert [(top.applies_to, top.title) for top in tops] == [(a, t) for a, t, _ in STANDARD_FOCUS_TAXONOMY]
    assert first.focus_categories.count() == sum(1 + len(headings) for _, _, headings in STANDARD_FOCUS_TAXONOMY)
    assert AuditEntry.objects.filter(action="focus_category.create").count() == first.focus_categories.count()
    FocusCategory.objects.filter(round=first, title="了解污染防治攻坚战情况").update(title="了解生态环境保护情况")
    later = make_round(people, county, number=3)
    assert later.focus_categories.filter(title="了解生态环境保护情况", parent__applies_to="village").exists()
    assert not later.focus_categories.filter(title="了解污染防治攻坚战情况").exists()
    assert later.focus_categories.count() == first.focus_categories.count()
