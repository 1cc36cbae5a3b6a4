"""The API says 超期 as the pages do (grid.models.overdue_q): from the open step's deadline and the clock,
with no 督办 scan run."""

import datetime

from django.urls import reverse
from django.utils import timezone

from grid import events as event_services

from .conftest import api_as


def report(people, county, category, title):
    event, _ = event_services.report_event(
        by=people["grid_member"], region=county.grid1, category=category, title=title, description="村口",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=title)
    return event


def test_my_tasks_put_the_overdue_first_and_the_list_filters_them(county, people, category):
    on_time = report(people, county, category, "垃圾堆放")
    late = report(people, county, category, "路灯损坏")
    event_services.set_step_due(late, timezone.now() - datetime.timedelta(minutes=1))
    leader = api_as(people["grid_leader"])
    tasks = leader.get(reverse("api:tasks")).json()["results"]
    assert [(row["id"], row["is_overdue"]) for row in tasks] == [(late.pk, True), (on_time.pk, False)]
    only = leader.get(reverse("api:events"), {"overdue": "true"}).json()["results"]
    assert [row["id"] for row in only] == [late.pk]
    first = leader.get(reverse("api:events"), {"sort": "overdue"}).json()["results"]
    assert [row["id"] for row in first] == [late.pk, on_time.pk]
    assert leader.get(reverse("api:event_detail", args=[late.pk])).json()["is_overdue"] is True

    escalated = leader.post(reverse("api:event_handle", args=[late.pk]), {"decision": "escalate", "reason": "需村里协调"},
                            format="json")
    assert escalated.status_code == 200 and escalated.json()["is_overdue"] is False
