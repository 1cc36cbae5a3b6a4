"""Large exports go through a job and hold exactly the rows the user may export; small ones stay immediate."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from grid import services
from grid.job_kinds import EVENT_EXPORT
from grid.models import Event, Role
from inspection.models import CatalogItem, PatrolCategory, PatrolReport, VillagePatrol
from inspection.patrol.job_kinds import DEPARTMENT_BOOK_EXPORT, VILLAGE_LEDGER_EXPORT
from jobs.models import Job

from .conftest import download, sheet_rows, status_of

_keys = itertools.count()


def make_events(region, reporter, category, count, *, title="垃圾堆放"):
    now = timezone.now()
    return Event.objects.bulk_create([
        Event(reporter=reporter, region=region, handling_region=region, category=category, title=f"{title}{n}",
              description="河边垃圾", occurred_at=now - datetime.timedelta(hours=1), idempotency_key=f"k{next(_keys)}")
        for n in range(count)
    ])


@pytest.fixture
def events(county, personas, category):
    member = personas["grid_member"]
    taiping = make_events(county.grid1, member, category, 4) + make_events(county.dalou, member, category, 2,
                                                                           title="路灯损坏")
    zhaocun = make_events(county.henan, member, category, 3)
    return {"taiping": taiping, "zhaocun": zhaocun}


def test_a_large_event_export_runs_as_a_job_with_exactly_the_scoped_rows(client, start, settings, county, personas,
                                                                        events):
    settings.JOBS_EXPORT_THRESHOLD = 3
    office = personas["township_office"]

    response, job = start(office, "get", reverse("grid:event_export"))

    assert response.status_code == 302 and response.url == reverse("jobs:detail", args=[job.pk])
    assert job.kind == EVENT_EXPORT
    state = status_of(client, office, job)
    assert (state["status"], state["done"], state["total"]) == ("succeeded", 6, 6)
    result = download(client, office, job)
    assert result.status_code == 200 and "attachment" in result["Content-Disposition"]
    rows = sheet_rows(result)
    assert rows[0][0] == "编号"
    assert sorted(row[0] for row in rows[1:]) == sorted(event.pk for event in events["taiping"])
    assert AuditEntry.objects.filter(action="event.export", actor=office).count() == 1


def test_the_job_keeps_the_list_filters(client, start, settings, county, personas, events):
    settings.JOBS_EXPORT_THRESHOLD = 1
    office = personas["township_office"]
    _, job = start(office, "get", reverse("grid:event_export"), {"q": "路灯"})
    rows = sheet_rows(download(client, office, job))
    assert sorted(row[0] for row in rows[1:]) == sorted(event.pk for event in events["taiping"][4:])


def test_scope_is_the_owners_own_at_run_time(client, start, settings, county, personas, events):
    settings.JOBS_EXPORT_THRESHOLD = 1
    zhaocun_office, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=zhaocun_office, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    _, job = start(zhaocun_office, "get", reverse("grid:event_export"))
    rows = sheet_rows(download(client, zhaocun_office, job))
    assert sorted(row[0] for row in rows[1:]) == sorted(event.pk for event in events["zhaocun"])
    # The township office of 太平镇 cannot fetch 赵村镇's file.
    assert download(client, personas["township_office"], job).status_code == 404


def test_a_small_export_downloads_at_once(client, settings, personas, events):
    settings.JOBS_EXPORT_THRESHOLD = 2000
    client.force_login(personas["township_office"])
    response = client.get(reverse("grid:event_export"))
    assert response.status_code == 200 and not Job.objects.exists()


def test_export_without_permission_starts_no_job(client, settings, personas, events):
    settings.JOBS_EXPORT_THRESHOLD = 0
    client.force_login(personas["grid_member"])
    assert client.get(reverse("grid:event_export")).status_code == 403 and not Job.objects.exists()


def test_a_large_village_ledger_export_runs_as_a_job(client, start, settings, county, personas):

    settings.JOBS_EXPORT_THRESHOLD = 1
    cadre = personas["village_cadre"]
    for day in (3, 4):
        patrol = VillagePatrol.objects.create(village=county.louxing, date=datetime.date(2026, 1, day), route="村东",
                                              findings="无异常", recorded_by=cadre)
        patrol.patrollers.add(cadre)
    response, job = start(cadre, "get", reverse("patrol:ledger_export"),
                          {"village": county.louxing.pk, "start": "2026-01-01", "end": "2026-01-31"})
    assert response.status_code == 302 and job.kind == VILLAGE_LEDGER_EXPORT
    state = status_of(client, cadre, job)
    assert (state["status"], state["done"], state["total"]) == ("succeeded", 2, 2)
    rows = sheet_rows(download(client, cadre, job))
    assert [row[5] for row in rows[2:]] == ["无异常", "无异常"]
    assert job.region == county.louxing


def test_a_large_department_book_export_runs_as_a_job(client, start, settings, county, personas):

    settings.JOBS_EXPORT_THRESHOLD = 0
    office = personas["township_office"]
    category = PatrolCategory.objects.create(township=county.taiping, name="野外用火", lead_department=county.agriculture)
    item = CatalogItem.objects.create(township=county.taiping, code="TP-02", name="露天焚烧秸秆", category=category,
                                      lead_department=county.agriculture, points=2)
    PatrolReport.objects.create(number="LX-001", township=county.taiping, village=county.louxing, item=item, occurred_at=timezone.now(),
                                location="楼星村", description="焚烧秸秆", reported_on=datetime.date(2026, 1, 4),
                                reporter=personas["village_cadre"])
    response, job = start(office, "get", reverse("patrol:book_export"),
                          {"department": county.agriculture.pk, "start": "2026-01-01", "end": "2026-01-31"})
    assert response.status_code == 302 and job.kind == DEPARTMENT_BOOK_EXPORT
    state = status_of(client, office, job)
    assert (state["status"], state["done"], state["total"]) == ("succeeded", 1, 1)
    rows = sheet_rows(download(client, office, job))
    assert rows[2][1] == "LX-001"
    assert download(client, personas["village_cadre"], job).status_code == 404
