"""Fixtures of the API tests: API clients with device tokens, and one record of each kind in 太平镇/楼星村."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from api import credentials
from grid import events as event_services
from grid import services
from grid.models import Role
from inspection.models import CatalogItem, PatrolCategory
from inspection.patrol import reports
from rectification.models import ProgressNotice
from tests.conftest import photo


@pytest.fixture(autouse=True)
def _files_in_tmp(media_in_tmp):
    """Every test in this folder keeps its files in its own folder."""


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _urls():
    import config.urls  # noqa: F401 — Node.reverse() needs the URLconf


def api_as(user) -> APIClient:
    """An API client authenticated with a fresh device token of `user` (as a field app is)."""
    _, key = credentials.create_device_token(by=user, name="测试设备")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def people(county, personas):
    """The personas, plus users holding the same roles in 赵村镇 (another township): they may use every
    endpoint, but must never see 太平镇's records."""
    users = dict(personas)
    for key, role, region in (("zhaocun_office", "township_office", county.zhaocun),
                              ("zhaocun_committee", "township_committee", county.zhaocun),
                              ("henan_cadre", "village_cadre", county.henan),
                              ("leader2", "grid_leader", county.grid2)):
        users[key], _ = services.ensure_user(key, password="Test@2026pw")
        services.create_post(user=users[key], role=Role.objects.get(key=role), region=region)
    return users


@pytest.fixture
def event(county, people, category):
    event, _ = event_services.report_event(
        by=people["grid_member"], region=county.grid1, category=category, title="村口违建", description="村口新建棚舍占道",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="fixture-1",
        latitude="30.1", longitude="120.1", files=[photo()],
    )
    return event


@pytest.fixture
def patrol_report(county, people):
    category_, _ = PatrolCategory.objects.get_or_create(
        township=county.taiping, name="农业类", defaults={"lead_department": county.agriculture})
    item = CatalogItem.objects.create(township=county.taiping, code="A01", name="违法占用宅基地", category=category_,
                                      lead_department=county.agriculture, points=Decimal("3"))
    cadre2, _ = services.ensure_user("cadre2", password="x")
    services.create_post(user=cadre2, role=Role.objects.get(key="village_cadre"), region=county.louxing)
    return reports.submit_report(by=people["village_cadre"], village=county.louxing, item=item,
                                 occurred_at=timezone.now() - datetime.timedelta(hours=3), location="楼星村东",
                                 description="新建住宅未审批", files=[photo()], idempotency_key="r-1")


@pytest.fixture
def plan(county, personas):
    from inspection.rounds import feedback
    from rectification.models import RectificationPlan
    from tests.inspection.test_round_reports import add_finding, make_group, make_round, make_taxonomy

    office = personas["county_office"]
    round_ = make_round(county, office)
    focus = make_taxonomy(round_)
    group = make_group(round_, county.taiping, [county.louxing], number=1, leader=office)
    add_finding(group, focus["巩固拓展脱贫攻坚成果方面"], "防返贫监测不及时")
    withdrawal = round_.withdrawal_date
    group.reported_on, group.secretary_meeting_on = withdrawal + datetime.timedelta(days=2), withdrawal + datetime.timedelta(days=8)
    group.save()
    feedback.feed_back(by=office, group=group, feedback_on=withdrawal + datetime.timedelta(days=9), feedback_document="反馈意见")
    return RectificationPlan.objects.get(organisation=county.taiping)


@pytest.fixture
def published_notice(plan, personas):
    return ProgressNotice.objects.create(plan=plan, version=1, state=ProgressNotice.State.PUBLISHED, title="公开通报",
                                         content={"title": "公开通报"}, published_at=timezone.now(),
                                         created_by=personas["township_committee"])
