"""Work on site in a county inspection round: working papers, talks, clues, look-back, pages.

Clue confidentiality is proven for every role on every path: the service, the list, the detail page,
search, the .xlsx export and the menu.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import Attachment, AuditEntry
from grid import services
from grid.models import Role
from inspection.models import (
    FocusCategory,
    InspectionFinding,
    InspectionGroup,
    InspectionRound,
    LookBack,
    ProblemClue,
    RoundTarget,
)
from inspection.rounds import onsite
from inspection.rounds.onsite_views import ClueMenuLink
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")


def xlsx_text(content: bytes) -> str:
    """Every cell of an .xlsx export, as one text to look for names in."""
    sheet = load_workbook(io.BytesIO(content)).active
    return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None)


@dataclass
class Round:
    round: InspectionRound
    group1: InspectionGroup  # 赵村镇: leader1, deputy1, member inspection_group
    group2: InspectionGroup  # 太平镇: leader2, member2
    zhaocun: RoundTarget
    henan: RoundTarget
    taiping: RoundTarget
    louxing: RoundTarget
    focus: FocusCategory
    sub_focus: FocusCategory
    other_focus: FocusCategory  # of another round
    other_round: InspectionRound
    other_member: object  # member of a group of the other round
    users: dict


def group_user(name, region):
    user, _ = services.ensure_user(name, password="x")
    services.create_post(user=user, role=Role.objects.get(key="inspection_group"), region=region)
    return user


def build_round(county, personas) -> Round:
    today = timezone.localdate()
    office = personas["county_office"]
    users = dict(personas)
    for name, region in (("leader1", county.zhaocun), ("deputy1", county.zhaocun), ("leader2", county.taiping),
                         ("member2", county.taiping), ("other_member", county.zhaocun)):
        users[name] = group_user(name, region)
    users["root"] = get_user_model().objects.create_superuser("root", password="x")
    round_ = InspectionRound.objects.create(
        county=county.county, term="十五届", number=2, name="十五届县委第二轮巡察",
        arrival_date=today - datetime.timedelta(days=40), withdrawal_date=today - datetime.timedelta(days=5),
        created_by=office)
    group1 = InspectionGroup.objects.create(round=round_, number=1, name="第一巡察组", township=county.zhaocun,
                                            leader=users["leader1"])
    group1.deputies.add(users["deputy1"])
    group1.members.add(personas["inspection_group"])
    group2 = InspectionGroup.objects.create(round=round_, number=2, name="第二巡察组", township=county.taiping,
                                            leader=users["leader2"])
    group2.members.add(users["member2"])
    targets = {
        "zhaocun": RoundTarget.objects.create(round=round_, group=group1, organisation=county.zhaocun),
        "henan": RoundTarget.objects.create(round=round_, group=group1, organisation=county.henan, village_class="key"),
        "taiping": RoundTarget.objects.create(round=round_, group=group2, organisation=county.taiping),
        "louxing": RoundTarget.objects.create(round=round_, group=group2, organisation=county.louxing),
    }
    focus = FocusCategory.objects.create(round=round_, title="聚焦贯彻落实党的路线方针政策和党中央重大决策部署")
    sub_focus = FocusCategory.objects.create(round=round_, parent=focus, title="落实乡村振兴战略方面")
    other_round = InspectionRound.objects.create(
        county=county.county, term="十五届", number=3, name="十五届县委第三轮巡察",
        arrival_date=today - datetime.timedelta(days=3), withdrawal_date=today + datetime.timedelta(days=40),
        created_by=office)
    other_group = InspectionGroup.objects.create(round=other_round, number=1, name="第一巡察组", township=county.zhaocun)
    other_group.members.add(users["other_member"])
    RoundTarget.objects.create(round=other_round, group=other_group, organisation=county.zhaocun)
    other_focus = FocusCategory.objects.create(round=other_round, title="聚焦群众身边不正之风和腐败问题")
    return Round(round_, group1, group2, targets["zhaocun"], targets["henan"], targets["taiping"], targets["louxing"],
                 focus, sub_focus, other_focus, other_round, users["other_member"], users)


@pytest.fixture
def r(county, personas) -> Round:
    return build_round(county, personas)


def finding(r, **changes):
    fields = dict(by=r.users["inspection_group"], group=r.group1, target=r.zhaocun, focus=r.sub_focus,
                  title="村集体经济发展缓慢", description="河南村集体经济年收入不足 5 万元，无稳定增收项目。")
    fields.update(changes)
    return onsite.record_finding(**fields)


def clue(r, **changes):
    fields = dict(by=r.users["inspection_group"], group=r.group1, target=r.zhaocun, people_involved="赵村镇某站所长张某",
                  description="反映其在危房改造补助发放中优亲厚友。", source="来信")
    fields.update(changes)
    return onsite.record_clue(**fields)


def messages_of(excinfo) -> str:
    return "；".join(excinfo.value.messages)


# ------------------------------------------------------------------ working papers


def test_member_records_a_finding_with_a_photo_and_an_audit_row(r, county):
    found = finding(r, village=county.henan, files=[photo()], people_involved="河南村党支部书记",
                    for_secretary_meeting=True)
    assert found.round == r.round and found.group == r.group1 and found.village == county.henan
    assert Attachment.objects.filter(owner_id=found.pk, original_name="p.jpg").count() == 1
    entry = AuditEntry.objects.get(action="inspection_finding.record")
    assert entry.object_id == str(found.pk) and entry.after["attachments"] == 1


def test_finding_without_a_target_is_refused(r):
    with pytest.raises(onsite.OnsiteError) as excinfo:
        finding(r, target=None)
    assert "请选择巡察对象" in messages_of(excinfo)
    assert not InspectionFinding.objects.exists()


def test_village_outside_the_target_township_is_refused(r, county):
    with pytest.raises(onsite.OnsiteError) as excinfo:
        finding(r, village=county.louxing, files=[photo()])
    assert "楼星村不在赵村镇辖区内" in messages_of(excinfo)
    assert not InspectionFinding.objects.exists() and not Attachment.objects.exists()


def test_village_target_may_not_name_a_village_of_another_township(r, county):
    with pytest.raises(onsite.OnsiteError) as excinfo:
        finding(r, target=r.henan, village=county.louxing)
    assert "楼星村不在赵村镇辖区内" in messages_of(excinfo)


def test_village_of_the_same_township_must_itself_be_a_target(r, county):
    with pytest.raises(onsite.OnsiteError) as excinfo:
        finding(r, by=r.users["member2"], group=r.group2, target=r.louxing, village=county.dalou)
    assert "大楼村不是本轮巡察对象" in messages_of(excinfo)
    # under the township target, any village of the township is fine
    assert finding(r, by=r.users["member2"], group=r.group2, target=r.taiping, village=county.dalou).village == county.dalou


def test_focus_of_another_round_is_refused(r):
    with pytest.raises(onsite.OnsiteError) as excinfo:
        finding(r, focus=r.other_focus)
    assert "不属于本轮巡察的监督重点" in messages_of(excinfo)


def test_member_of_another_group_is_refused(r):
    with pytest.raises(PermissionDenied):
        finding(r, by=r.users["member2"])
    with pytest.raises(PermissionDenied):
        finding(r, by=r.other_member)
    with pytest.raises(PermissionDenied):
        finding(r, by=r.users["county_office"])


def test_target_of_another_group_is_refused(r):
    with pytest.raises(onsite.OnsiteError) as excinfo:
        finding(r, target=r.taiping)
    assert "太平镇不是第一巡察组的巡察对象" in messages_of(excinfo)


def test_finding_needs_title_and_description(r):
    with pytest.raises(onsite.OnsiteError) as excinfo:
        finding(r, title=" ", description="", for_secretary_meeting=True)
    text = messages_of(excinfo)
    assert "请填写问题" in text and "请填写具体表现" in text and "须写明涉及人员" in text


# ------------------------------------------------------------------ who sees findings


def test_findings_visibility_by_role(r, county):
    own = finding(r)
    fed_back_louxing = finding(r, by=r.users["member2"], group=r.group2, target=r.louxing, title="楼星村三资管理不规范")
    not_fed_back_taiping = finding(r, by=r.users["member2"], group=r.group2, target=r.taiping, title="镇党委议事规则不落实")
    fed_back_zhaocun = finding(r, title="赵村镇问题已反馈")
    now = timezone.now()
    InspectionFinding.objects.filter(pk__in=[fed_back_louxing.pk, fed_back_zhaocun.pk]).update(fed_back_at=now)
    everything = {own, fed_back_louxing, not_fed_back_taiping, fed_back_zhaocun}

    def seen(name):
        return set(onsite.visible_findings(r.users[name]))

    assert seen("inspection_group") == everything  # a member sees the whole round's findings
    assert seen("leader2") == everything
    assert seen("county_office") == everything
    assert seen("leading_group") == everything
    assert seen("discipline") == {fed_back_louxing, not_fed_back_taiping}  # all of 太平镇, fed back or not
    assert seen("township_committee") == {fed_back_louxing}  # 太平镇: only what was fed back to it
    assert seen("other_member") == set()  # a member of another round
    assert seen("outsider") == set()
    assert seen("root") == everything


# ------------------------------------------------------------------ clues: nobody else sees them


CLUE_VIEWERS = {
    # who: (sees the 赵村镇 clue, sees the 太平镇 clue)
    "leader1": (True, False),
    "county_office": (True, True),
    "discipline": (False, True),  # discipline's post is at 太平镇
    "leader2": (False, True),
}
CLUE_BLIND = ["inspection_group", "deputy1", "member2", "other_member", "leading_group", "township_committee",
              "outsider", "root", "grid_member", "village_cadre", "township_office"]
OUTSIDE_THE_AREA = {"outsider", "grid_member", "village_cadre", "township_office"}


@pytest.fixture
def clues(r):
    zhaocun = clue(r)
    taiping = clue(r, by=r.users["member2"], group=r.group2, target=r.taiping, people_involved="太平镇财政所会计李某",
                   description="套取项目资金。")
    return zhaocun, taiping


def test_clue_is_recorded_without_its_content_in_the_audit_log(r, clues):
    entry = AuditEntry.objects.filter(action="inspection_clue.record").first()
    assert entry is not None
    assert "张某" not in str(entry.after) and "张某" not in entry.object_repr and "危房" not in str(entry.after)


def test_only_group_members_record_clues(r):
    with pytest.raises(PermissionDenied):
        clue(r, by=r.users["member2"])
    with pytest.raises(PermissionDenied):
        clue(r, by=r.users["discipline"])
    with pytest.raises(onsite.OnsiteError) as excinfo:
        clue(r, target=None)
    assert "请选择巡察对象" in messages_of(excinfo)


@pytest.mark.parametrize("name", sorted(CLUE_VIEWERS))
def test_clue_viewers_see_exactly_their_clues_everywhere(r, clues, client, name):
    zhaocun, taiping = clues
    sees_zhaocun, sees_taiping = CLUE_VIEWERS[name]
    user = r.users[name]
    expected = {c for c, sees in ((zhaocun, sees_zhaocun), (taiping, sees_taiping)) if sees}
    assert set(onsite.visible_clues(user)) == expected
    assert ClueMenuLink("问题线索", "lock", "onsite_clues").allowed(user)
    client.force_login(user)
    listing = client.get(reverse("inspection:onsite_clues")).content.decode()
    assert ("张某" in listing) == sees_zhaocun and ("李某" in listing) == sees_taiping
    for one, sees in ((zhaocun, sees_zhaocun), (taiping, sees_taiping)):
        assert client.get(reverse("inspection:onsite_clue_detail", args=[one.pk])).status_code == (200 if sees else 404)
    links = {one: reverse("inspection:onsite_clue_detail", args=[one.pk]) + '"' for one in clues}
    searched = client.get(reverse("inspection:onsite_clues"), {"q": "张某"}).content.decode()
    assert (links[zhaocun] in searched) == sees_zhaocun and links[taiping] not in searched
    searched = client.get(reverse("inspection:onsite_clues"), {"q": "套取"}).content.decode()
    assert (links[taiping] in searched) == sees_taiping and links[zhaocun] not in searched
    export = xlsx_text(client.get(reverse("inspection:onsite_clue_export")).content)
    assert ("张某" in export) == sees_zhaocun and ("李某" in export) == sees_taiping


@pytest.mark.parametrize("name", CLUE_BLIND)
def test_nobody_else_sees_any_clue_anywhere(r, clues, client, name):
    user = r.users[name]
    assert not onsite.visible_clues(user).exists()
    assert not ClueMenuLink("问题线索", "lock", "onsite_clues").allowed(user)
    client.force_login(user)
    assert client.get(reverse("inspection:onsite_clues")).status_code == 403
    assert client.get(reverse("inspection:onsite_clues"), {"q": "张某"}).status_code == 403
    assert client.get(reverse("inspection:onsite_clue_export")).status_code == 403
    for one in clues:
        response = client.get(reverse("inspection:onsite_clue_detail", args=[one.pk]))
        # Users without any 巡察 page are stopped at the area's gate (403) before the record is looked up.
        assert response.status_code == (403 if name in OUTSIDE_THE_AREA else 404)
        assert "张某" not in response.content.decode()
    # nor do the other on-site pages leak a clue
    for url in ("inspection:onsite_findings", "inspection:onsite_talks", "inspection:letters"):
        body = client.get(reverse(url), {"q": "张某"}).content.decode()
        assert "危房改造补助" not in body and "套取项目资金" not in body


def test_anonymous_user_is_sent_to_login_for_clues(client, clues):
    response = client.get(reverse("inspection:onsite_clues"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_member_reports_a_clue_through_the_page_and_cannot_read_it_back(r, client):
    client.force_login(r.users["inspection_group"])
    response = client.post(reverse("inspection:onsite_clue_new"), {
        "target": r.zhaocun.pk, "people_involved": "村会计王某", "description": "虚报冒领低保金。", "source": "谈话"})
    assert response.status_code == 302 and response["Location"] == reverse("inspection:onsite_clue_new")
    saved = ProblemClue.objects.get()
    assert client.get(reverse("inspection:onsite_clue_detail", args=[saved.pk])).status_code == 404
    client.force_login(r.users["leader1"])
    assert "虚报冒领低保金" in client.get(reverse("inspection:onsite_clue_detail", args=[saved.pk])).content.decode()


def test_clue_form_errors_are_422_and_keep_input(r, client):
    client.force_login(r.users["inspection_group"])
    response = client.post(reverse("inspection:onsite_clue_new"), {"target": r.taiping.pk, "people_involved": "王某",
                                                                     "description": "保留的内容"})
    assert response.status_code == 422
    assert "保留的内容" in response.content.decode()
    assert not ProblemClue.objects.exists()


# ------------------------------------------------------------------ pages of working papers


def test_member_records_a_finding_through_the_page_with_photos(r, client):
    client.force_login(r.users["inspection_group"])
    assert client.get(reverse("inspection:onsite_finding_new")).status_code == 200
    response = client.post(reverse("inspection:onsite_finding_new"), {
        "target": r.zhaocun.pk, "focus": r.sub_focus.pk, "title": "党员发展不规范", "description": "2021 年发展党员程序倒置。",
        "files": [photo("a.jpg"), photo("b.jpg")]})
    found = InspectionFinding.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("inspection:onsite_finding_detail", args=[found.pk])
    detail = client.get(response["Location"]).content.decode()
    assert "党员发展不规范" in detail and "a.jpg" in detail
    attachment = Attachment.objects.filter(owner_id=found.pk).first()
    evidence = client.get(reverse("inspection:onsite_finding_evidence", args=[found.pk, attachment.pk]))
    assert evidence.status_code == 200


def test_finding_form_offers_the_focus_in_taxonomy_order_and_tells_like_named_ones_apart(r, client):
    """A round may hold the same 聚焦 for 乡镇党委 and for 村级党组织: the choice says which; sub-headings
    come right under their 聚焦 (not after every top-level one)."""
    Applies = FocusCategory.AppliesTo
    r.focus.applies_to = Applies.TOWNSHIP
    r.focus.save()
    village = FocusCategory.objects.create(round=r.round, title=r.focus.title, applies_to=Applies.VILLAGE, order=1)
    village_sub = FocusCategory.objects.create(round=r.round, parent=village, title="了解三资管理情况")
    client.force_login(r.users["inspection_group"])
    form = client.get(reverse("inspection:onsite_finding_new")).context["form"]
    choices = [(value.value if value else None, label) for value, label in form.fields["focus"].choices][1:]
    assert choices == [
        (r.focus.pk, f"{r.focus.title}（乡镇党委）"), (r.sub_focus.pk, f"\u3000\u3000{r.sub_focus.title}"),
        (village.pk, f"{village.title}（村级党组织）"), (village_sub.pk, "\u3000\u3000了解三资管理情况"),
    ]


def test_finding_page_refuses_a_village_outside_the_township_with_422(r, client, county):
    client.force_login(r.users["inspection_group"])
    response = client.post(reverse("inspection:onsite_finding_new"), {
        "target": r.zhaocun.pk, "focus": r.sub_focus.pk, "village": county.louxing.pk, "title": "保留的标题",
        "description": "具体表现"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "保留的标题" in body and ("不在本组巡察范围内" in body or "不在赵村镇辖区内" in body)
    assert not InspectionFinding.objects.exists()


def test_finding_page_refuses_a_target_of_another_group(r, client):
    client.force_login(r.users["inspection_group"])
    response = client.post(reverse("inspection:onsite_finding_new"), {
        "target": r.taiping.pk, "focus": r.sub_focus.pk, "title": "问题", "description": "表现"})
    assert response.status_code == 422 and "不是本组的巡察对象" in response.content.decode()


def test_non_members_may_not_open_the_finding_form(r, client):
    for name in ("county_office", "township_committee", "outsider"):
        client.force_login(r.users[name])
        assert client.get(reverse("inspection:onsite_finding_new")).status_code == 403


def test_finding_list_filters_and_search(r, client):
    finding(r, title="村集体经济发展缓慢")
    finding(r, title="党费收缴不规范", focus=r.focus)
    client.force_login(r.users["county_office"])
    url = reverse("inspection:onsite_findings")
    body = client.get(url, {"q": "党费"}).content.decode()
    assert "党费收缴不规范" in body and "村集体经济发展缓慢" not in body
    body = client.get(url, {"focus": r.focus.pk}).content.decode()  # a heading includes its sub-headings
    assert "党费收缴不规范" in body and "村集体经济发展缓慢" in body
    body = client.get(url, {"focus": r.sub_focus.pk}).content.decode()
    assert "党费收缴不规范" not in body and "村集体经济发展缓慢" in body


def test_township_sees_only_fed_back_findings_on_the_pages(r, client):
    hidden = finding(r, by=r.users["member2"], group=r.group2, target=r.taiping, title="尚未反馈的问题")
    shown = finding(r, by=r.users["member2"], group=r.group2, target=r.louxing, title="已经反馈的问题")
    InspectionFinding.objects.filter(pk=shown.pk).update(fed_back_at=timezone.now())
    client.force_login(r.users["township_committee"])
    body = client.get(reverse("inspection:onsite_findings")).content.decode()
    assert "已经反馈的问题" in body and "尚未反馈的问题" not in body
    assert client.get(reverse("inspection:onsite_finding_detail", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("inspection:onsite_finding_detail", args=[shown.pk])).status_code == 200


def test_outsider_gets_403_on_lists_and_404_on_records(r, client):
    found = finding(r)
    client.force_login(r.users["outsider"])  # no 巡察 page at all: stopped at the area's gate
    assert client.get(reverse("inspection:onsite_findings")).status_code == 403
    assert client.get(reverse("inspection:onsite_talks")).status_code == 403
    assert client.get(reverse("inspection:onsite_finding_detail", args=[found.pk])).status_code == 403
    client.force_login(r.users["discipline"])  # in the area, but 赵村镇 is outside its region
    assert client.get(reverse("inspection:onsite_finding_detail", args=[found.pk])).status_code == 404
    client.force_login(r.users["township_committee"])  # 太平镇: no talks to see
    assert client.get(reverse("inspection:onsite_talks")).status_code == 403
    client.force_login(r.other_member)
    assert client.get(reverse("inspection:onsite_finding_detail", args=[found.pk])).status_code == 404


# ------------------------------------------------------------------ talks


def test_talks_are_recorded_by_members_and_hidden_from_townships(r, client):
    talk = onsite.record_talk(by=r.users["deputy1"], group=r.group1, target=r.zhaocun, held_on=timezone.localdate(),
                              interviewee="张三", position="赵村镇党委书记", summary="了解班子运行情况。")
    assert set(onsite.visible_talks(r.users["county_office"])) == {talk}
    assert set(onsite.visible_talks(r.users["inspection_group"])) == {talk}
    assert not onsite.visible_talks(r.users["township_committee"]).exists()
    assert not onsite.visible_talks(r.other_member).exists()
    with pytest.raises(onsite.OnsiteError) as excinfo:
        onsite.record_talk(by=r.users["deputy1"], group=r.group1, target=r.zhaocun,
                           held_on=timezone.localdate() + datetime.timedelta(days=1), interviewee="", summary="")
    text = messages_of(excinfo)
    assert "谈话日期不能晚于今天" in text and "请填写谈话对象" in text
    client.force_login(r.users["inspection_group"])
    response = client.post(reverse("inspection:onsite_talk_new"), {"target": r.zhaocun.pk, "held_on": "",
                                                                     "interviewee": "李四", "summary": "要点"})
    assert response.status_code == 422 and "李四" in response.content.decode()
    response = client.post(reverse("inspection:onsite_talk_new"), {
        "target": r.zhaocun.pk, "held_on": timezone.localdate().isoformat(), "interviewee": "李四", "summary": "要点"})
    assert response.status_code == 302
    assert "李四" in client.get(reverse("inspection:onsite_talks")).content.decode()


# ------------------------------------------------------------------ look-back


def test_office_schedules_a_look_back_after_withdrawal_and_records_the_result(r, client):
    office = r.users["county_office"]
    with pytest.raises(onsite.OnsiteError) as excinfo:
        onsite.schedule_look_back(by=office, target=r.zhaocun, scheduled_on=r.round.withdrawal_date)
    assert "撤回" in messages_of(excinfo)
    with pytest.raises(PermissionDenied):
        onsite.schedule_look_back(by=r.users["leader1"], target=r.zhaocun, scheduled_on=timezone.localdate())
    look_back = onsite.schedule_look_back(by=office, target=r.zhaocun, scheduled_on=timezone.localdate())
    with pytest.raises(PermissionDenied):
        onsite.record_look_back_result(look_back, by=r.users["township_committee"], done_on=timezone.localdate(),
                                       result="x")
    onsite.record_look_back_result(look_back, by=office, done_on=timezone.localdate(), result="整改基本到位，2 项仍在推进。")
    look_back.refresh_from_db()
    assert look_back.done_on == timezone.localdate() and "仍在推进" in look_back.result
    assert AuditEntry.objects.filter(action="inspection_look_back.result").exists()

    client.force_login(office)
    response = client.post(reverse("inspection:onsite_lookback_new"), {"target": r.henan.pk,
                                                                         "scheduled_on": r.round.arrival_date.isoformat()})
    assert response.status_code == 422 and "回头看须安排在本轮巡察撤回" in response.content.decode()
    response = client.post(reverse("inspection:onsite_lookback_new"), {"target": r.henan.pk,
                                                                         "scheduled_on": timezone.localdate().isoformat()})
    assert response.status_code == 302 and LookBack.objects.count() == 2
    assert "河南村" in client.get(reverse("inspection:onsite_lookbacks")).content.decode()
    client.force_login(r.users["inspection_group"])
    assert client.get(reverse("inspection:onsite_lookback_new")).status_code == 403
    assert client.get(reverse("inspection:onsite_lookback_result", args=[look_back.pk])).status_code == 403
    client.force_login(r.users["discipline"])  # no look-backs to see: 404 for the record
    assert client.get(reverse("inspection:onsite_lookback_result", args=[look_back.pk])).status_code == 404
