"""Talk records (谈话记录) are seen by their own group only, the office and the leading group: never by the
other groups of the same round, nor by another round's group of the same township, wherever talk data
goes (list, search, export, documents, the audit log's and the evidence route's rule, home cards)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from config.worklist import group_cards
from governance import visibility
from grid import services
from grid.models import Role
from inspection.rounds import group_reports as round_reports
from inspection.rounds import onsite
from tests.inspection.test_onsite import build_round, xlsx_text

pytestmark = pytest.mark.usefixtures("media_in_tmp")

SECRET = "反映镇党委书记违规插手工程T9"


@pytest.fixture
def r(county, personas):
    return build_round(county, personas)


@pytest.fixture
def talk(r):
    """A talk of 赵村镇's group (第一巡察组) in the round."""
    return onsite.record_talk(by=r.users["deputy1"], group=r.group1, target=r.zhaocun, held_on=timezone.localdate(),
                              interviewee="谈话对象甲T9", position="副镇长", summary=SECRET)


def outsiders(r) -> dict:
    """Group members who must not read 第一巡察组's talks: the leader and a member of 太平镇's group of the
    same round, and a member of 赵村镇's group in another round (posted at 赵村镇 himself)."""
    return {"leader2": r.users["leader2"], "member2": r.users["member2"], "other_member": r.other_member}


def test_a_member_of_another_group_does_not_see_the_talk(r, talk):
    for name, user in outsiders(r).items():
        assert not onsite.visible_talks(user).exists(), name
        assert not onsite.talk_groups(user).filter(pk=r.group1.pk).exists(), name
        assert visibility.may_see(user, talk) is False, name  # the audit log's and the evidence route's rule
    for name in ("leader1", "deputy1", "inspection_group", "county_office", "leading_group"):
        assert set(onsite.visible_talks(r.users[name])) == {talk}, name
    for name in ("discipline", "township_committee"):
        assert not onsite.visible_talks(r.users[name]).exists(), name


def test_a_member_of_another_group_sees_his_own_groups_talk_only(r, talk):
    own = onsite.record_talk(by=r.users["member2"], group=r.group2, target=r.taiping, held_on=timezone.localdate(),
                             interviewee="谈话对象乙T9", summary="了解财务管理情况。")
    assert set(onsite.visible_talks(r.users["leader2"])) == {own}
    assert set(onsite.visible_talks(r.users["leader1"])) == {talk}


def test_the_talk_list_search_and_export_of_another_group_hold_no_trace_of_it(r, talk, client):
    for name, user in outsiders(r).items():
        client.force_login(user)
        for query in ({}, {"round": r.round.pk}, {"q": "违规插手"}):
            body = client.get(reverse("inspection:onsite_talks"), query).content.decode()
            assert SECRET not in body and "谈话对象甲T9" not in body, (name, query)
        export = client.get(reverse("inspection:onsite_talk_export"), {"round": r.round.pk})
        assert export.status_code == 200
        assert "谈话对象甲T9" not in xlsx_text(export.content), name
    client.force_login(r.users["leader1"])
    assert SECRET in client.get(reverse("inspection:onsite_talks")).content.decode()


def test_the_talk_report_of_a_group_is_refused_to_another_rounds_member_of_the_same_township(r, talk, client):
    member = r.other_member  # reaches 第一巡察组's page through his post at 赵村镇, not its talks
    assert round_reports.may_view_reports(member, r.group1)
    assert not round_reports.may_view_document(member, r.group1, "talks")
    with pytest.raises(PermissionDenied):
        round_reports.build_talk_report(r.group1, user=member)
    assert "个别谈话" not in round_reports.opening(round_reports.build_situation_report(r.group1, user=member))
    client.force_login(member)
    for fmt in ("docx", "pdf"):
        url = reverse("inspection:round_report_download", args=[r.group1.pk, "talks", fmt])
        assert client.get(url).status_code == 403, fmt
    response = client.get(reverse("inspection:round_reports", args=[r.group1.pk]))
    assert response.status_code == 200
    page = response.content.decode()  # nor the documents built from the working papers, which he does not read
    assert 'id="doc-' not in page and "个别谈话" not in page
    discipline, _ = services.ensure_user("zhaocun_discipline", password="x")  # the situation report, no talks
    services.create_post(user=discipline, role=Role.objects.get(key="discipline"), region=r.group1.township)
    client.force_login(discipline)
    page = client.get(reverse("inspection:round_reports", args=[r.group1.pk])).content.decode()
    assert 'id="doc-situation"' in page and 'id="doc-talks"' not in page and "个别谈话" not in page
    client.force_login(r.users["leader1"])
    assert 'id="doc-talks"' in client.get(reverse("inspection:round_reports", args=[r.group1.pk])).content.decode()
    data = round_reports.build_talk_report(r.group1, user=r.users["leader1"])
    assert data["totals"]["talks"] == 1
    assert "个别谈话 1 人次" in round_reports.opening(round_reports.build_situation_report(r.group1,
                                                                                      user=r.users["county_office"]))


def test_home_cards_count_only_the_cards_groups_talks(r, talk):
    cards = group_cards(r.users["leader2"])
    assert [(card.group, card.talks) for card in cards] == [(r.group2, 0)]
    assert [(card.group, card.talks) for card in group_cards(r.users["leader1"])] == [(r.group1, 1)]
