"""The 巡察轮次 pages of an inspected township: the rounds in which its committee is a target, and only
what the township may see of them (its own row; feedback, deadlines and findings once released)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from config.demo import DEMO_PASSWORD, DEMO_RECTIFICATION_ROUND, load_demo
from grid import services
from grid.models import Role
from inspection.models import RoundTarget, TalkRecord
from inspection.rounds import feedback
from rectification.models import RectificationPlan

from .test_round_reports import add_finding, make_group, make_round, make_taxonomy

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def round_at_two_townships(county, personas):
    """One round with a group at 太平镇 and one at 赵村镇, each with a finding and a talk."""
    office = personas["county_office"]
    round_ = make_round(county, office)
    focus = make_taxonomy(round_)
    taiping = make_group(round_, county.taiping, [county.louxing], number=1, leader=office)
    zhaocun = make_group(round_, county.zhaocun, [county.henan], number=2, leader=office)
    add_finding(taiping, focus["党费收缴方面"], "太平镇党费收缴不规范", village=county.louxing)
    add_finding(zhaocun, focus["党费收缴方面"], "赵村镇集体资产台账不全")
    for group, township in ((taiping, county.taiping), (zhaocun, county.zhaocun)):
        TalkRecord.objects.create(round=round_, group=group, target=RoundTarget.objects.get(group=group, organisation=township),
                                  held_on=round_.arrival_date, interviewee="王某", position="镇党委书记",
                                  summary=f"{township.name}谈话要点保密", recorded_by=office)
    return round_, taiping, zhaocun


def _feed_back(group, office):
    withdrawal = group.round.withdrawal_date
    group.reported_on, group.secretary_meeting_on = withdrawal + 2 * DAY, withdrawal + 8 * DAY
    group.save()
    feedback.feed_back(by=office, group=group, feedback_on=withdrawal + 9 * DAY, feedback_document="第一巡察组反馈意见")


def test_township_committee_sees_the_round_its_township_is_a_target_of(client, round_at_two_townships, personas):
    round_, taiping, _ = round_at_two_townships
    client.force_login(personas["township_committee"])  # posted at 太平镇
    listing = client.get(reverse("inspection:township_rounds")).content.decode()
    assert round_.name in listing and taiping.name in listing
    page = client.get(reverse("inspection:township_round_detail", args=[round_.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "太平镇党委" in html and taiping.name in html
    assert "赵村镇" not in html and "第2巡察组" not in html  # another township's row and group


def test_another_township_does_not_see_the_round(client, round_at_two_townships, county, personas):
    round_, taiping, zhaocun = round_at_two_townships
    TalkRecord.objects.filter(group=zhaocun).delete()
    zhaocun.findings.all().delete()
    zhaocun.delete()  # only 太平镇 is a target now
    elsewhere, _ = services.ensure_user("zhaocun_committee", password="x")
    services.create_post(user=elsewhere, role=Role.objects.get(key="township_committee"), region=county.zhaocun)
    client.force_login(elsewhere)
    assert round_.name not in client.get(reverse("inspection:township_rounds")).content.decode()
    assert client.get(reverse("inspection:township_round_detail", args=[round_.pk])).status_code == 404
    client.force_login(personas["outsider"])  # no inspection area at all
    assert client.get(reverse("inspection:township_round_detail", args=[round_.pk])).status_code == 403


def test_unreleased_findings_are_never_shown_and_released_ones_only_of_the_own_township(
        client, round_at_two_townships, personas):
    round_, taiping, _ = round_at_two_townships
    client.force_login(personas["township_committee"])
    url = reverse("inspection:township_round_detail", args=[round_.pk])
    before = client.get(url).content.decode()
    assert "太平镇党费收缴不规范" not in before and "尚未反馈" in before
    _feed_back(taiping, personas["county_office"])
    after = client.get(url).content.decode()
    assert "太平镇党费收缴不规范" in after and "第一巡察组反馈意见" in after
    deadline = feedback.rectification_deadline(round_, taiping.round.withdrawal_date + 9 * DAY)
    assert f"{deadline:%Y-%m-%d}" in after  # the end of the 集中整改期
    plan = RectificationPlan.objects.get(round=round_, organisation=taiping.township)
    assert reverse("rectification:plan_detail", args=[plan.pk]) in after
    # never the other township's findings (not fed back), nor any talk
    assert "赵村镇集体资产台账不全" not in after and "谈话要点保密" not in after


def test_committee_menu_leads_to_the_township_page_and_the_office_list_redirects(client, round_at_two_townships,
                                                                                  personas):
    client.force_login(personas["township_committee"])
    response = client.get(reverse("inspection:rounds"))
    assert response.status_code == 302 and response.url == reverse("inspection:township_rounds")
    page = client.get(reverse("inspection:township_rounds")).content.decode()
    assert f'href="{reverse("inspection:township_rounds")}"' in page  # the menu
    assert f'href="{reverse("inspection:rounds")}"' not in page
    home = client.get("/").content.decode()  # the home page
    assert "本镇被巡察轮次" in home
    client.force_login(personas["county_office"])
    assert client.get(reverse("inspection:rounds")).status_code == 200
    assert client.get(reverse("inspection:township_rounds")).content.decode().count("本镇暂未列为县委巡察对象") == 1


def test_demo_taiping_plan_cites_a_round_the_township_sees(client):
    load_demo()
    plan = RectificationPlan.objects.select_related("round").get(organisation__name="太平镇", round__name=DEMO_RECTIFICATION_ROUND)
    assert client.login(username="zhendangwei", password=DEMO_PASSWORD)
    plan_page = client.get(reverse("rectification:plan_detail", args=[plan.pk])).content.decode()
    assert reverse("inspection:township_round_detail", args=[plan.round.pk]) in plan_page
    assert plan.round.name in client.get(reverse("inspection:township_rounds")).content.decode()
    html = client.get(reverse("inspection:township_round_detail", args=[plan.round.pk])).content.decode()
    assert "县委第三巡察组" in html and reverse("rectification:plan_detail", args=[plan.pk]) in html
