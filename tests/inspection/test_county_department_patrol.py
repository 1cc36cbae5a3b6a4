"""A county department (县直部门, the department role posted at the county) takes no part in a township's
big patrol: it neither records, registers nor sees the villages' findings, reports and photos, which a
department of the township (镇部门) does. Its department post still handles the events dispatched to it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from api.views import VIEW_REPORT
from governance.models import Attachment
from grid import services
from grid.access import region_grants
from grid.models import Post, Role
from inspection.models import CatalogItem, PatrolCategory, PatrolFinding
from inspection.patrol import findings, reports
from tests.api.conftest import api_as
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")

Source = PatrolFinding.Source


@pytest.fixture
def county_department(county):
    """韩住建局: a user of 县住房和城乡建设局, posted at the county with the department role."""
    user, _ = services.ensure_user("zhujianju", password="Test@2026pw")
    construction = services.create_department(name="县住房和城乡建设局", region=county.county)
    services.create_post(user=user, role=Role.objects.get(key="department"), region=county.county,
                         department=construction)
    return user


@pytest.fixture
def item(county):
    category = PatrolCategory.objects.create(township=county.taiping, name="农业", lead_department=county.agriculture)
    return CatalogItem.objects.create(township=county.taiping, code="A01", name="秸秆焚烧", category=category,
                                      lead_department=county.agriculture, points=Decimal("2"))


def record_by_office(personas, county, item) -> PatrolFinding:
    return findings.record_finding(
        by=personas["township_office"], village=county.louxing, item=item, source=Source.CITY,
        discovered_on=timezone.localdate() - datetime.timedelta(days=1), location="村东头", description="麦田焚烧秸秆")


def test_county_department_post_grants_no_big_patrol_permission_but_keeps_its_events(county, personas,
                                                                                      county_department):
    county_grants = region_grants(county_department).perms
    assert not {perm for perm in county_grants if perm.startswith("inspection.")}
    assert {"grid.view_dispatched_event", "grid.handle_dispatched_event"} <= county_grants
    township_grants = region_grants(personas["department"]).perms
    assert {"inspection.add_patrolfinding", "inspection.register_patrolfinding",
            "inspection.view_patrolreport"} <= township_grants
    # Other users' posts are read by the same rule (registrars told of a finding, holders of a step).
    registering = set(Post.objects.active().granting("inspection.register_patrolfinding").values_list("user", flat=True))
    assert personas["department"].pk in registering and county_department.pk not in registering
    handling = set(Post.objects.active().granting("grid.handle_dispatched_event").values_list("user", flat=True))
    assert {personas["department"].pk, county_department.pk} <= handling


def test_county_department_does_not_see_an_unregistered_finding_the_township_department_sees(
    client, county, personas, county_department, item,
):
    finding = record_by_office(personas, county, item)
    assert findings.visible_findings(personas["department"]).filter(pk=finding.pk).exists()
    assert not findings.visible_findings(county_department).exists()
    client.force_login(county_department)
    # Without any big-patrol permission the whole patrol section is closed to it (403), as to an outsider.
    assert client.get(reverse("patrol:finding_detail", args=[finding.pk])).status_code in (403, 404)
    assert client.get(reverse("patrol:findings")).status_code == 403
    client.force_login(personas["department"])
    assert client.get(reverse("patrol:finding_detail", args=[finding.pk])).status_code == 200
    assert finding.number in client.get(reverse("patrol:findings")).content.decode()


def test_county_department_cannot_record_a_township_department_finding(client, county, personas, county_department,
                                                                      item):
    with pytest.raises(PermissionDenied):
        findings.record_finding(by=county_department, village=county.louxing, item=item,
                                source=Source.TOWNSHIP_DEPARTMENT, discovered_on=timezone.localdate(),
                                location="村东头", description="麦田焚烧秸秆")
    assert not findings.capacities(county_department, county.louxing).sources()
    client.force_login(county_department)
    assert client.get(reverse("patrol:finding_new")).status_code == 403
    assert PatrolFinding.objects.count() == 0
    # A department of the township records it.
    finding = findings.record_finding(by=personas["department"], village=county.louxing, item=item,
                                      source=Source.TOWNSHIP_DEPARTMENT, discovered_on=timezone.localdate(),
                                      location="村东头", description="麦田焚烧秸秆")
    assert finding.source == Source.TOWNSHIP_DEPARTMENT


def test_county_department_cannot_register_a_finding_even_of_an_item_it_leads(county, personas, county_department,
                                                                             item):
    led = CatalogItem.objects.create(
        township=county.taiping, code="J01", name="违法建设", points=Decimal("3"), category=item.category,
        lead_department=county_department.posts.get().department)
    finding = record_by_office(personas, county, led)
    assert not findings.may_register(county_department, finding)
    with pytest.raises(PermissionDenied):
        findings.verify_and_register_finding(finding, by=county_department, is_true=True)


def test_county_department_sees_no_village_report_nor_its_photo(client, county, personas, county_department, item):
    cadre2, _ = services.ensure_user("cadre2", password="x")
    services.create_post(user=cadre2, role=Role.objects.get(key="village_cadre"), region=county.louxing)
    report = reports.submit_report(
        by=personas["village_cadre"], village=county.louxing, item=item,
        occurred_at=timezone.now() - datetime.timedelta(hours=3), location="楼星村三组", description="焚烧秸秆",
        files=[photo()])
    attachment = Attachment.objects.get()
    pages = [reverse("patrol:report_detail", args=[report.pk]),
             reverse("patrol:report_evidence", args=[report.pk, attachment.pk]),
             reverse("evidence", args=[attachment.pk])]
    client.force_login(county_department)
    for page in pages:
        assert client.get(page).status_code in (403, 404), page
    assert not county_department.has_perm(VIEW_REPORT)
    home = client.get("/").content.decode()
    assert "大巡查村级上报" not in home and "待核实的村级上报" not in home
    assert api_as(county_department).get(reverse("api:patrol_report_detail", args=[report.pk])).status_code in (403, 404)
    client.force_login(personas["department"])
    for page in pages:
        assert client.get(page).status_code == 200, page
    home = client.get("/").content.decode()
    assert "大巡查村级上报" in home and "待核实的村级上报" in home
    assert api_as(personas["department"]).get(reverse("api:patrol_report_detail", args=[report.pk])).status_code == 200
