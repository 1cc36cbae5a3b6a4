"""Who reviews work diaries is a setting per region (工作日志审核设置).

The city-community plan: 工作日志…须经社区党委书记审核确认. Case: 楼星村 is set to 社区党委书记; 太平镇 to
网格长 (as the default). A diary of 楼星村/第1网格 is then reviewed by the secretary of 楼星村 only: the
grid leader and the instructor get 403 and no queue; a diary of 大楼村 (governed by 太平镇's setting) is
still reviewed by its grid leader. Without any setting, the grid leader reviews (as before).
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from config import worklist
from grid import patrols, services
from grid.models import DiaryReviewRule, Role, WorkDiary


def queue(user) -> int | None:
    return {q.label: q.count for q in worklist.waiting_for(user)}.get("待审核的工作日志")


@pytest.fixture
def diaries(county, personas):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    louxing = WorkDiary.objects.create(author=personas["grid_member"], region=county.grid1, date=yesterday,
                                       content="走访困难户")
    dalou_member, _ = services.ensure_user("dalou_member", password="x")
    dalou_leader, _ = services.ensure_user("dalou_leader", password="x")
    services.create_post(user=dalou_member, role=Role.objects.get(key="grid_member"), region=county.dalou)
    services.create_post(user=dalou_leader, role=Role.objects.get(key="grid_leader"), region=county.dalou)
    dalou = WorkDiary.objects.create(author=dalou_member, region=county.dalou, date=yesterday, content="巡查河堤")
    secretary, _ = services.ensure_user("secretary", password="x")
    services.create_post(user=secretary, role=Role.objects.get(key="community_secretary"), region=county.louxing)
    return {"louxing": louxing, "dalou": dalou, "dalou_leader": dalou_leader, "secretary": secretary}


def set_reviewers(county):
    DiaryReviewRule.objects.create(region=county.louxing, reviewer_role=Role.objects.get(key="community_secretary"))
    DiaryReviewRule.objects.create(region=county.taiping, reviewer_role=Role.objects.get(key="grid_leader"))


def test_without_a_setting_the_grid_leader_reviews(county, personas, diaries):
    assert patrols.may_review(personas["grid_leader"], diaries["louxing"])
    assert queue(personas["grid_leader"]) == 1


def test_the_secretary_reviews_where_the_region_says_so(client, county, personas, diaries):
    set_reviewers(county)
    leader, secretary = personas["grid_leader"], diaries["secretary"]
    assert not patrols.may_review(leader, diaries["louxing"]) and queue(leader) == 0
    assert not patrols.may_review(personas["grid_instructor"], diaries["louxing"])
    client.force_login(leader)
    url = reverse("grid:diary_review", args=[diaries["louxing"].pk])
    assert client.post(url, {"comment": "已阅"}).status_code == 403
    with pytest.raises(PermissionDenied):
        patrols.review_diary(diaries["louxing"], by=personas["grid_instructor"])

    assert queue(secretary) == 1
    client.force_login(secretary)
    listed = client.get(reverse("grid:diaries"), {"show": "review"}).content.decode()
    assert "走访困难户" in listed and "巡查河堤" not in listed
    assert client.post(url, {"comment": "已阅"}).status_code == 302
    diaries["louxing"].refresh_from_db()
    assert diaries["louxing"].reviewed_by == secretary and queue(secretary) == 0


def test_the_nearest_setting_decides(county, personas, diaries):
    set_reviewers(county)
    assert patrols.may_review(diaries["dalou_leader"], diaries["dalou"])  # 太平镇's setting: 网格长
    assert not patrols.may_review(diaries["secretary"], diaries["dalou"])  # not his village either
    assert list(patrols.reviewable_diaries(diaries["dalou_leader"])) == [diaries["dalou"]]


def test_a_setting_made_while_the_leader_is_signed_in_takes_effect_on_the_next_page(client, county, personas, diaries):
    """The settings and the leader's posts are kept with the leader's cached access between pages."""
    client.force_login(personas["grid_leader"])
    listed = client.get(reverse("grid:diaries"), {"show": "review"}).content.decode()
    assert "走访困难户" in listed
    set_reviewers(county)
    listed = client.get(reverse("grid:diaries"), {"show": "review"}).content.decode()
    assert "走访困难户" not in listed
