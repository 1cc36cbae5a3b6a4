"""Counties configure their event flow: the same event runs to close along each county's own path,
taken at each step by the right people only; a township escalates to the county centre (镇呼县应);
a policy changed while cases are in flight leaves each of them completable."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from config import dashboards
from governance.models import Notification
from grid import events, services
from grid.flow_policy import policy_in_force
from grid.models import Event, FlowPolicy, Role, Tier
from grid.supervision import supervise_overdue
from tests.conftest import photo

pytestmark = pytest.mark.usefixtures("media_in_tmp")
_keys = itertools.count()


class Place:
    """One county with a township, a village and a grid; a person per post; a township office and a
    county department with the county grid service centre."""

    def __init__(self, name: str):
        tier = {key: Tier.objects.get(key=key) for key in ("county", "township", "village", "grid")}
        self.county = services.create_region(parent=None, name=name, tier=tier["county"])
        self.township = services.create_region(parent=self.county, name="城关镇", tier=tier["township"])
        self.village = services.create_region(parent=self.township, name="东村", tier=tier["village"])
        self.grid = services.create_region(parent=self.village, name="第1网格", tier=tier["grid"])
        self.office = services.create_department(name="综合执法办", region=self.township)
        self.centre = services.create_department(name="网格化服务中心", region=self.county, is_grid_centre=True)
        self.bureau = services.create_department(name="住建局", region=self.county)
        self.people = {}
        for username, role, region, department in (
            ("member", "grid_member", self.grid, None),
            ("leader", "grid_leader", self.grid, None),
            ("cadre", "village_cadre", self.village, None),
            ("office", "township_office", self.township, None),
            ("officedept", "department", self.township, self.office),
            ("centre", "grid_centre", self.county, self.centre),
            ("bureau", "department", self.county, self.bureau),
        ):
            user, _ = services.ensure_user(f"{name}-{username}", password="x")
            services.create_post(user=user, role=Role.objects.get(key=role), region=region, department=department)
            self.people[username] = user

    def policy(self, **fields) -> FlowPolicy:
        return services.create_flow_policy(by=None, region=self.county, **fields)

    def report(self, category) -> Event:
        event, _ = events.report_event(
            by=self.people["member"], region=self.grid, category=category, title="违建", description="村口新建棚舍",
            occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=f"k{next(_keys)}",
        )
        return event


def act(place: Place, event: Event, who: str, step: str, decision: str, **extra) -> Event:
    """`who` takes the step; everybody else of the county is refused it first."""
    event.refresh_from_db()
    assert events.current_step(event) == step
    for other, user in place.people.items():
        if other != who:
            assert not events.may_take_step(user, event, step), f"{other} may take {step}"
    user = place.people[who]
    if step == "handle":
        events.handle_event(event, by=user, decision=decision, reason="处置不了", result="已处置",
                            files=[photo()] if decision == "resolve" else (), **extra)
    elif step == "department":
        events.department_handle_event(event, by=user, decision=decision, result="已办结", reason="非本部门职责",
                                       files=[photo()])
    else:
        events.verify_event(event, by=user, satisfied=decision == "satisfied", reason="未办好")
    event.refresh_from_db()
    return event


def test_three_counties_run_the_same_event_along_their_own_paths(db, category):
    # 甲县: every tier, the township dispatches, the reporter verifies.
    full = Place("甲县")
    full.policy(verifier=FlowPolicy.Verifier.REPORTER)
    event = full.report(category)
    assert event.handling_region == full.grid and events.current_step_name(event) == "网格处置"
    event = act(full, event, "leader", "handle", "escalate")
    assert events.current_step_name(event) == "村级处置"
    event = act(full, event, "cadre", "handle", "escalate")
    assert events.current_step_name(event) == "乡镇处置"
    event = act(full, event, "office", "handle", "dispatch", department=full.office)
    assert events.current_step_name(event) == "部门办理"
    event = act(full, event, "officedept", "department", "resolve")
    event = act(full, event, "member", "verify", "satisfied")
    assert event.status == Event.Status.CLOSED

    # 乙县: no village step; the grid leader dispatches to the township's offices and verifies.
    short = Place("乙县")
    short.policy(use_village=False, dispatch_at_grid=True, verifier=FlowPolicy.Verifier.GRID_LEADER)
    event = short.report(category)
    assert events.handle_decisions(event) == {"resolve", "escalate", "dispatch", "merge", "reject"}
    event = act(short, event, "leader", "handle", "dispatch", department=short.office)
    event = act(short, event, "officedept", "department", "resolve")
    assert events.current_step_name(event) == "核实办结"
    event = act(short, event, "leader", "verify", "satisfied")
    assert event.status == Event.Status.CLOSED

    # 丙县: grid → township → county centre (镇呼县应), verified by the centre's telephone callback.
    county = Place("丙县")
    county.policy(use_village=False, use_county=True, dispatch_at_township=False, dispatch_at_county=True,
                  verifier=FlowPolicy.Verifier.CALLBACK)
    event = county.report(category)
    event = act(county, event, "leader", "handle", "escalate")
    assert event.handling_region == county.township and "dispatch" not in events.handle_decisions(event)
    event = act(county, event, "office", "handle", "escalate")
    assert event.handling_region == county.county and events.current_step_name(event) == "县网格化中心派单"
    event = act(county, event, "centre", "handle", "dispatch", department=county.bureau)
    event = act(county, event, "bureau", "department", "resolve")
    assert events.current_step_name(event) == "中心回访核实"
    event = act(county, event, "centre", "verify", "satisfied")
    assert event.status == Event.Status.CLOSED


def test_a_step_of_another_county_is_refused_with_403(db, category, client):
    first, second = Place("甲县"), Place("乙县")
    first.policy(use_county=True, dispatch_at_county=True)
    event = first.report(category)
    client.force_login(second.people["leader"])
    response = client.post(f"/grid/events/{event.pk}/handle/", {"decision": "escalate", "reason": "x"})
    assert response.status_code == 404  # outside its regions the event does not exist for the user
    client.force_login(first.people["cadre"])  # the right county, the wrong tier
    response = client.post(f"/grid/events/{event.pk}/handle/", {"decision": "escalate", "reason": "x"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.handling_region == first.grid


def test_a_township_escalates_to_the_county_centre_which_dispatches_to_a_county_department(db, category):
    place = Place("丁县")
    place.policy(use_county=True, dispatch_at_county=True, verifier=FlowPolicy.Verifier.REPORTER)
    event = place.report(category)
    event = act(place, event, "leader", "handle", "escalate")
    event = act(place, event, "cadre", "handle", "escalate")
    assert "escalate" in events.handle_decisions(event)  # no more "乡镇不能上报上一级"
    event = act(place, event, "office", "handle", "escalate")
    assert event.handling_region == place.county
    board = dashboards.dashboard_for(place.people["centre"])  # the county's home page counts it
    assert board.handles_events and board.task_count == 1 and board.tasks[0].step == "县网格化中心派单"
    assert dashboards.dashboard_for(place.people["office"]).task_count == 0
    with pytest.raises(events.EventError, match="县直部门"):
        events.handle_event(event, by=place.people["centre"], decision="dispatch", department=place.office)
    with pytest.raises(events.EventError, match="县直部门"):
        events.handle_event(event, by=place.people["centre"], decision="dispatch", department=place.centre)
    assert list(events.dispatch_departments(event)) == [place.bureau]
    event = act(place, event, "centre", "handle", "dispatch", department=place.bureau)
    assert event.status == Event.Status.DISPATCHED and event.department == place.bureau
    # The bureau sends it back once; the centre dispatches again; the bureau handles it.
    event = act(place, event, "bureau", "department", "send_back")
    assert events.current_step_name(event) == "县网格化中心派单"
    event = act(place, event, "centre", "handle", "dispatch", department=place.bureau)
    event = act(place, event, "bureau", "department", "resolve")
    event = act(place, event, "member", "verify", "satisfied")
    assert event.status == Event.Status.CLOSED


def test_the_county_centre_and_department_get_their_task_notices(db, category, django_capture_on_commit_callbacks):
    place = Place("戊县")
    place.policy(use_village=False, use_county=True, dispatch_at_county=True)
    event = place.report(category)
    act(place, event, "leader", "handle", "escalate")
    with django_capture_on_commit_callbacks(execute=True):
        act(place, event, "office", "handle", "escalate")
    assert Notification.objects.filter(recipient=place.people["centre"], title__contains="待县网格化中心派单").exists()
    with django_capture_on_commit_callbacks(execute=True):
        act(place, event, "centre", "handle", "dispatch", department=place.bureau)
    assert Notification.objects.filter(recipient=place.people["bureau"], title__contains="待部门办理").exists()
    assert not Notification.objects.filter(recipient=place.people["officedept"], title__contains="待部门办理").exists()


def test_department_send_back_follows_the_policy(db, category):
    place = Place("己县")
    place.policy(use_village=False, department_may_send_back=False)
    event = place.report(category)
    event = act(place, event, "leader", "handle", "escalate")
    event = act(place, event, "office", "handle", "dispatch", department=place.office)
    assert events.available_decisions(place.people["officedept"], event) == {"department": {"resolve"}}
    with pytest.raises(events.EventError, match="不能退回"):
        events.department_handle_event(event, by=place.people["officedept"], decision="send_back", reason="x")

    limited = Place("庚县")
    limited.policy(use_village=False, send_back_limit=1)
    event = limited.report(category)
    event = act(limited, event, "leader", "handle", "escalate")
    event = act(limited, event, "office", "handle", "dispatch", department=limited.office)
    event = act(limited, event, "officedept", "department", "send_back")
    event = act(limited, event, "office", "handle", "dispatch", department=limited.office)
    with pytest.raises(events.EventError, match="上限"):
        events.department_handle_event(event, by=limited.people["officedept"], decision="send_back", reason="x")


def test_returns_beyond_the_policy_limit_go_up_a_tier(db, category):
    place = Place("辛县")
    place.policy(returns_before_escalation=1, verifier=FlowPolicy.Verifier.REPORTER)
    event = place.report(category)
    event = act(place, event, "leader", "handle", "resolve")
    event = act(place, event, "member", "verify", "return")
    assert event.handling_region == place.grid  # the first return stays at the grid
    event = act(place, event, "leader", "handle", "resolve")
    event = act(place, event, "member", "verify", "return")
    assert event.handling_region == place.village and events.current_step_name(event) == "村级处置"


def test_a_policy_changed_while_cases_are_in_flight_leaves_each_completable(db, category):
    place = Place("壬县")
    old = place.policy(use_county=True, dispatch_at_county=True, verifier=FlowPolicy.Verifier.CALLBACK)
    at_grid, at_county, at_department, at_verify = (place.report(category) for _ in range(4))
    for event in (at_county, at_department, at_verify):
        event = act(place, event, "leader", "handle", "escalate")
        event = act(place, event, "cadre", "handle", "escalate")
        event = act(place, event, "office", "handle", "escalate")
    act(place, at_department, "centre", "handle", "dispatch", department=place.bureau)
    act(place, at_verify, "centre", "handle", "dispatch", department=place.bureau)
    act(place, at_verify, "bureau", "department", "resolve")

    # The county drops its centre and the village step, and lets the reporter verify.
    new = place.policy(use_village=False, verifier=FlowPolicy.Verifier.REPORTER)
    assert policy_in_force(place.grid) == new and new.version == old.version + 1
    fresh = place.report(category)
    assert fresh.flow_policy == new

    # Each case in flight finishes under the version it was reported under.
    event = act(place, at_grid, "leader", "handle", "escalate")
    assert event.flow_policy == old and event.handling_region == place.village
    event = act(place, event, "cadre", "handle", "escalate")
    event = act(place, event, "office", "handle", "escalate")
    event = act(place, event, "centre", "handle", "dispatch", department=place.bureau)
    event = act(place, event, "bureau", "department", "resolve")
    assert act(place, event, "centre", "verify", "satisfied").status == Event.Status.CLOSED
    event = act(place, at_county, "centre", "handle", "dispatch", department=place.bureau)
    event = act(place, event, "bureau", "department", "resolve")
    assert act(place, event, "centre", "verify", "satisfied").status == Event.Status.CLOSED
    event = act(place, at_department, "bureau", "department", "resolve")
    assert act(place, event, "centre", "verify", "satisfied").status == Event.Status.CLOSED
    assert act(place, at_verify, "centre", "verify", "satisfied").status == Event.Status.CLOSED

    # The new case runs the new path: grid → township, verified by its reporter.
    event = act(place, fresh, "leader", "handle", "escalate")
    assert event.handling_region == place.township and "escalate" not in events.handle_decisions(event)
    event = act(place, event, "office", "handle", "dispatch", department=place.office)
    event = act(place, event, "officedept", "department", "resolve")
    assert act(place, event, "member", "verify", "satisfied").status == Event.Status.CLOSED


def test_the_county_office_cannot_take_an_event_step(db, category):
    place = Place("癸县")
    place.policy(use_county=True, dispatch_at_county=True)
    office_user, _ = services.ensure_user("癸县-xunchaban", password="x")
    services.create_post(user=office_user, role=Role.objects.get(key="county_office"), region=place.county)
    event = place.report(category)
    with pytest.raises(PermissionDenied):
        events.handle_event(event, by=office_user, decision="escalate", reason="x")


def test_the_case_history_and_task_list_name_each_step_by_its_tier(db, category, client):
    place = Place("子县")
    place.policy(use_village=False, use_county=True, dispatch_at_county=True)
    event = place.report(category)
    event = act(place, event, "leader", "handle", "escalate")
    event = act(place, event, "office", "handle", "escalate")
    client.force_login(place.people["centre"])
    assert "县网格化中心派单" in client.get("/grid/tasks/").content.decode()
    event = act(place, event, "centre", "handle", "dispatch", department=place.bureau)
    page = client.get(f"/grid/events/{event.pk}/").content.decode()
    assert "上报上一级（网格处置）" in page and "上报上一级（乡镇处置）" in page
    assert "派单至部门（县网格化中心派单）" in page and "村级处置" not in page


@pytest.mark.parametrize("action, escalates, superior_told", [
    ("supervise", False, False),
    ("escalate", True, False),
    ("escalate_notify", True, True),
])
def test_a_timeout_does_what_the_policy_says(db, category, action, escalates, superior_told):
    place = Place("丑县")
    place.policy(deadlines=[{"tier": "grid", "urgency": "normal", "hours": 2, "action": action}])
    event = place.report(category)
    assert supervise_overdue(now=timezone.now() + datetime.timedelta(hours=1)).supervised == 0  # its own 2 hours
    result = supervise_overdue(now=timezone.now() + datetime.timedelta(hours=3))
    assert result.supervised == 1 and result.escalated == int(escalates)
    event.refresh_from_db()
    assert event.handling_region == (place.village if escalates else place.grid)
    notices = Notification.objects.filter(kind=Notification.Kind.SUPERVISION)
    assert notices.filter(recipient=place.people["leader"]).exists()
    assert notices.filter(recipient=place.people["cadre"]).exists() == superior_told
