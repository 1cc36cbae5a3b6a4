"""Query counts of the main lists stay flat as data grows, on the generated load county.

`manage.py generate_load` builds a small county here (one township, 20 villages, 200 grids, a
rectification plan per village) with open events at every step; the pages of a county, township,
village and grid user must take the same number of queries with 300 and with 900 events, and no
more than the numbers below (raise one only for a reason, in the same change as the reason).
tests/bench/bench_county.py measures the same pages at 10,000 and 1,000,000 events on PostgreSQL.
"""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Task

from config.dashboards import dashboard_for
from config.load import LOAD_USERS
from grid.event_lists import STEP_BY_STATUS
from grid.events import current_step
from grid.models import Event
from workflows.models import TaskDeadline

VILLAGES = 20
LISTS = {"my tasks": "grid:my_tasks", "region events": "grid:events", "rectification items": "rectification:items"}
# The most queries each page may take: session, user, two-factor device check, permissions and region
# grants (5), the list's regions, the page of rows and its prefetches, the menu's unread count and entries.
MAX_QUERIES = {
    "my tasks": 15,
    "region events": 18,
    "rectification items": 13,
}


@pytest.fixture
def load_county(db):
    call_command("generate_load", villages=VILLAGES, events=300, seed=1, verbosity=0)


def page_queries(client, user, url_name, django_assert_max_num_queries, limit) -> tuple[int, int]:
    client.force_login(user)
    client.get(reverse(url_name))  # warm-up: content types, the menu's permission cache
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(reverse(url_name))
    return response.status_code, len(captured.captured_queries)


def test_generated_events_wait_at_the_step_their_status_says(load_county):
    assert Event.objects.filter(idempotency_key__startswith="load-").count() == 300
    for event in Event.objects.filter(idempotency_key__startswith="load-").order_by("pk")[:40]:
        assert current_step(event) == STEP_BY_STATUS[event.status]
    # every waiting task has one open deadline; some are due and not yet supervised, some were supervised
    waiting = Task.objects.filter(status="NEW", flow_task_type="HUMAN")
    assert waiting.count() == 300
    assert TaskDeadline.objects.filter(is_open=True).count() == 300
    due = TaskDeadline.objects.filter(is_open=True, supervised_at__isnull=True, due_at__lte=timezone.now())
    assert 0 < due.count() < 300
    supervised = TaskDeadline.objects.filter(supervised_at__isnull=False).values_list("task__process__artifact_object_id",
                                                                                      flat=True)
    assert supervised and all(Event.objects.get(pk=int(pk)).is_overdue for pk in supervised)
    # each event carries its open step's deadline, and is overdue exactly when that deadline has passed
    due_at = dict(TaskDeadline.objects.filter(is_open=True).values_list("task__process__artifact_object_id", "due_at"))
    assert {event.pk: event.step_due_at for event in Event.objects.all()} == due_at
    assert Event.objects.overdue().count() == due.count() + len(supervised)


def test_generate_load_refuses_bad_sizes(db):
    with pytest.raises(CommandError):
        call_command("generate_load", villages=0, events=10, verbosity=0)
    call_command("generate_load", villages=VILLAGES, events=0, seed=1, verbosity=0)
    with pytest.raises(CommandError, match="已有"):
        call_command("generate_load", villages=VILLAGES + 1, events=0, seed=1, verbosity=0)


def test_generate_load_adds_only_the_missing_events(load_county):
    call_command("generate_load", villages=VILLAGES, events=300, seed=1, verbosity=0)
    assert Event.objects.count() == 300
    call_command("generate_load", villages=VILLAGES, events=350, seed=1, verbosity=0)
    assert Event.objects.count() == 350
    assert Task.objects.filter(status="NEW", flow_task_type="HUMAN").count() == 350


# Who may not open which list: the rectification items are the inspection side's and the inspected
# organisation's (county office, committees), not a township office's, a village's or a grid's.
REFUSED = {("township", "rectification items"), ("village", "rectification items"), ("grid", "rectification items")}


@pytest.mark.parametrize("who", list(LOAD_USERS))
@pytest.mark.parametrize("page", list(LISTS))
def test_list_queries_do_not_grow_with_the_events(load_county, client, django_user_model, who, page,
                                                  django_assert_max_num_queries):
    user = django_user_model.objects.get(username=LOAD_USERS[who][0])
    status, small = page_queries(client, user, LISTS[page], django_assert_max_num_queries, MAX_QUERIES[page])
    # A change of who may open a list must fail here (and be decided in REFUSED), never pass unmeasured.
    if (who, page) in REFUSED:
        assert status == 403, f"{who} 不应能打开 {page}（得到 {status}）"
        return
    assert status == 200, f"{who} 应能打开 {page}（得到 {status}）"
    call_command("generate_load", villages=VILLAGES, events=900, seed=1, verbosity=0)
    _, large = page_queries(client, user, LISTS[page], django_assert_max_num_queries, MAX_QUERIES[page])
    assert large == small


# The county office's dashboard for a user object loaded afresh (no access snapshot, as the first view
# after a change through a new process): permissions and region grants (5), the single-object grants of
# every model at once (2), tasks, the events' queues and figures from the monthly counts, the
# rectification queues and chart from one aggregate, the inspection and patrol cards.
MAX_COUNTY_DASHBOARD_QUERIES = 23


def test_county_dashboard_queries_do_not_grow_with_the_events(load_county, django_user_model,
                                                              django_assert_max_num_queries):
    username = LOAD_USERS["county"][0]
    dashboard_for(django_user_model.objects.get(username=username))  # warm-up: content types
    cache.clear()  # the event figures computed both times, not kept from the warm-up
    with django_assert_max_num_queries(MAX_COUNTY_DASHBOARD_QUERIES) as small:
        dashboard_for(django_user_model.objects.get(username=username))
    call_command("generate_load", villages=VILLAGES, events=900, seed=1, verbosity=0)
    cache.clear()
    with django_assert_max_num_queries(MAX_COUNTY_DASHBOARD_QUERIES) as large:
        dashboard_for(django_user_model.objects.get(username=username))
    assert len(large.captured_queries) == len(small.captured_queries)
