"""The monthly event counts (grid.event_counts) agree with the events after any sequence of the services,
and the dashboards' figures drawn from them equal the figures counted from the events themselves."""

import datetime
import random
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from config import dashboards
from grid import event_counts, events, services
from grid.access import scope
from grid.models import Event, EventCategory, EventMonthCount, Role
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def categories(db):
    safety = EventCategory.objects.create(code="C1", name="安全生产", sort_order=1)
    building = EventCategory.objects.create(code="C2", name="违法建设", sort_order=2)
    return [EventCategory.objects.create(code="C1-1", name="消防隐患", parent=safety),
            EventCategory.objects.create(code="C2-1", name="乱搭乱建", parent=building),
            building]


@pytest.fixture
def people(county, personas):
    """Reporters and leaders in two grids of 楼星村, so that the counts have several areas at each level."""
    member2, _ = services.ensure_user("member2", password="x")
    services.create_post(user=member2, role=Role.objects.get(key="grid_member"), region=county.grid2)
    leader2, _ = services.ensure_user("leader2", password="x")
    services.create_post(user=leader2, role=Role.objects.get(key="grid_leader"), region=county.grid2)
    return {**personas, "member2": member2, "leader2": leader2}


def scanned(user) -> Counter:
    """What the month figure must show, counted from the user's events themselves: (month, outcome) → n."""
    months = dashboards._month_starts(timezone.localdate())
    counts = Counter()
    for created, status in scope(user, Event.objects.all(), "grid.view_event").values_list("created_at", "status"):
        month = event_counts.month_of(created)
        if months[0] <= month <= months[-1]:
            counts[(month, event_counts.outcome_of(status))] += 1
    return counts


def shown(user) -> Counter:
    fig = dashboards.events_by_month(type(user).objects.get(pk=user.pk))
    months = dashboards._month_starts(timezone.localdate())
    keys = [key for key, _label, _statuses in dashboards.STATUS_GROUPS]
    counts = Counter()
    for key, series in zip(keys, fig.series if fig else [], strict=True):
        for month, n in zip(months, series.values, strict=True):
            if n:
                counts[(month, key)] += n
    return counts


def test_counts_agree_with_the_events_after_a_random_sequence_of_the_services(county, people, categories):
    rng = random.Random(26)
    where = {"grid_member": [county.grid1, county.micro1], "member2": [county.grid2]}
    leader_of = {county.grid1.pk: "grid_leader", county.micro1.pk: "grid_leader", county.grid2.pk: "leader2"}
    reported: list[tuple[Event, str]] = []
    for step in range(40):
        open_events = [(e, r) for e, r in reported if Event.objects.get(pk=e.pk).status in Event.OPEN_STATUSES]
        action = rng.choice(["report", "report", "handle", "handle", "verify"]) if open_events else "report"
        if action == "report":
            reporter = rng.choice(list(where))
            event, _ = events.report_event(
                by=people[reporter], region=rng.choice(where[reporter]), category=rng.choice(categories[:2]),
                title=f"事件{step}", description="描述", occurred_at=timezone.now() - datetime.timedelta(hours=1),
                idempotency_key=f"seq-{step}")
            reported.append((event, reporter))
            continue
        event, reporter = rng.choice(open_events)
        event = Event.objects.get(pk=event.pk)
        step_name = events.current_step(event)
        leader = people[leader_of[event.region_id]]
        if action == "handle" and step_name == "handle":
            decision = rng.choice(["resolve", "reject", "merge"])
            if decision == "resolve":
                events.handle_event(event, by=leader, decision="resolve", result="已处置", files=[photo()])
            elif decision == "reject":
                events.handle_event(event, by=leader, decision="reject", reason="不属于网格事件")
            else:
                others = [e for e, _ in reported if e.pk != event.pk and e.region_id == event.region_id]
                target = Event.objects.filter(pk__in=[e.pk for e in others]).exclude(status=Event.Status.MERGED).first()
                if target is None:
                    continue
                events.handle_event(event, by=leader, decision="merge", duplicate_of=target)
        elif step_name == "verify":
            events.verify_event(event, by=people[reporter], satisfied=rng.random() < 0.7, reason="未处理完")
        assert event_counts.differences() == [], f"after step {step} ({action})"
    outcomes = Counter(event_counts.outcome_of(s) for s in Event.objects.values_list("status", flat=True))
    assert len(outcomes) == 3, outcomes  # the sequence went through open, closed and ended
    assert event_counts.differences() == []
    for persona in ("township_committee", "county_office", "village_cadre", "grid_leader"):
        assert shown(people[persona]) == scanned(people[persona]), persona


def test_each_event_is_counted_at_every_region_above_it(county, people, categories):
    event, _ = events.report_event(by=people["grid_member"], region=county.micro1, category=categories[0],
                                   title="微网格事件", description="描述", occurred_at=timezone.now(),
                                   idempotency_key="levels-1")
    rows = {(row.root_id, row.area_id): row.events for row in EventMonthCount.objects.all()}
    assert rows == {(county.county.pk, county.taiping.pk): 1, (county.taiping.pk, county.louxing.pk): 1,
                    (county.louxing.pk, county.grid1.pk): 1, (county.grid1.pk, county.micro1.pk): 1,
                    (county.micro1.pk, county.micro1.pk): 1}
    event_counts.count_new(Event.objects.get(pk=event.pk))  # without its region: the statement cuts the path
    assert sorted(EventMonthCount.objects.values_list("events", flat=True)) == [2] * 5


def test_events_of_another_month_and_an_event_granted_alone_are_shown_as_counted_from_the_events(
        county, people, categories):
    """Report times set back around the services (as the demo's history does), then rebuilt; and a user who
    was granted one event of another township sees it in the figure as the event list does."""
    from guardian.shortcuts import assign_perm

    for number, days in enumerate((0, 40, 100, 400)):
        event, _ = events.report_event(by=people["grid_member"], region=county.grid1, category=categories[0],
                                       title="往月事件", description="描述", occurred_at=timezone.now(),
                                       idempotency_key=f"month-{number}")
        Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - datetime.timedelta(days=days))
    assert event_counts.differences()  # the check notices rows written around the services
    event_counts.rebuild()
    assert event_counts.differences() == []
    outsider_member, _ = services.ensure_user("henan_member", password="x")
    services.create_post(user=outsider_member, role=Role.objects.get(key="grid_member"), region=county.henan)
    far, _ = events.report_event(by=outsider_member, region=county.henan, category=categories[1], title="外镇事件",
                                 description="描述", occurred_at=timezone.now(), idempotency_key="far-1")
    committee = people["township_committee"]
    assign_perm("grid.view_event", committee, far)
    assert shown(committee) == scanned(committee)
    assert sum(scanned(committee).values()) == 4  # three months in the window and the granted event


def test_rebuild_counts_command_checks_and_rebuilds(county, people, categories):
    events.report_event(by=people["grid_member"], region=county.grid1, category=categories[0], title="事件",
                        description="描述", occurred_at=timezone.now(), idempotency_key="cmd-1")
    call_command("rebuild_counts", "--check")
    EventMonthCount.objects.filter(root=county.county).update(events=5)
    with pytest.raises(CommandError, match="不一致"):
        call_command("rebuild_counts", "--check")
    call_command("rebuild_counts")
    call_command("rebuild_counts", "--check")
    assert EventMonthCount.objects.get(root=county.county).events == 1
