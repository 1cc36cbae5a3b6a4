"""A job through Redis and a real Celery worker (.ci/run starts one): queued by the page, run by the
worker, progress read by the owner's polling, the file downloaded."""

from __future__ import annotations

import datetime
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from grid.models import Event, EventCategory
from jobs.models import Job

from .conftest import sheet_rows

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def media_in_tmp():
    """The worker writes the result under its own MEDIA_ROOT: the test reads it from the same place."""


def test_a_large_export_is_run_by_the_worker_and_downloaded_by_its_owner(client, settings, county, personas):
    settings.JOBS_EXPORT_THRESHOLD = 5
    parent = EventCategory.objects.create(code="W", name="测试大类")
    category = EventCategory.objects.create(code="W01", name="乱堆乱放", parent=parent)
    now = timezone.now()
    Event.objects.bulk_create([
        Event(reporter=personas["grid_member"], region=county.grid1, handling_region=county.grid1, category=category,
              title=f"事件{n}", description="描述", occurred_at=now - datetime.timedelta(hours=1),
              idempotency_key=f"w{n}")
        for n in range(30)
    ])
    office = personas["township_office"]
    client.force_login(office)

    response = client.get(reverse("grid:event_export"))

    job = Job.objects.get(owner=office)
    assert response.status_code == 302 and response.url == reverse("jobs:detail", args=[job.pk])
    deadline = time.monotonic() + 60
    state = {}
    while time.monotonic() < deadline:
        state = client.get(reverse("jobs:status", args=[job.pk])).json()
        if state["finished"]:
            break
        time.sleep(0.3)
    assert (state["status"], state["done"], state["total"]) == ("succeeded", 30, 30), state
    try:
        rows = sheet_rows(client.get(reverse("jobs:result", args=[job.pk])))
        assert len(rows) == 31
    finally:
        job.refresh_from_db()
        job.result_file.delete(save=False)
