"""The overdue scan through Redis and a real Celery worker (.ci/run starts one)."""

import datetime
import time

import pytest
from django.utils import timezone

from governance.models import Notification
from grid import events
from grid.models import EventCategory
from grid.tasks import supervise_overdue

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_overdue_step_raises_a_supervision_notice_through_the_worker(county, personas):
    parent = EventCategory.objects.create(code="W", name="测试大类")
    category = EventCategory.objects.create(code="W01", name="乱堆乱放", parent=parent)
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title="垃圾堆放", description="河边",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="worker-1",
    )
    events.set_step_due(event, timezone.now() - datetime.timedelta(minutes=1))

    outcome = supervise_overdue.delay().get(timeout=60)
    assert outcome["supervised"] == 1  # claimed by the scan; the batch and the escalation are queued

    # The worker then takes the batch (notices, audit) and the escalation, one task each.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        event.refresh_from_db()
        notices = Notification.objects.filter(recipient=personas["grid_leader"], kind="supervision")
        if notices.exists() and event.handling_region_id == county.louxing.pk:
            break
        time.sleep(0.5)
    notice = Notification.objects.get(recipient=personas["grid_leader"], kind="supervision")
    assert f"#{event.pk}" in notice.title
    assert event.handling_region == county.louxing
