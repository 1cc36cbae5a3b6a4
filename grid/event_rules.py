"""Who may take each step of a grid event's flow, and the close the flow's last step performs; read by
EventFlow and the event services alike. The event's flow policy version says who verifies."""

from __future__ import annotations

from django.utils import timezone

from . import event_counts
from .flow_policy import policy_of
from .models import Event, FlowPolicy, Post, Region, paths_from_root

# Which permission lets a user take the "handle at this tier" step, by the tier's key.
HANDLE_PERMISSION_BY_TIER = {
    "grid": "grid.triage_event",
    "village": "grid.handle_village_event",
    "township": "grid.dispatch_event",
    "county": "grid.centre_dispatch_event",
}


def step_token(event: Event) -> str:
    """Which step the event waits at (status, handling region, department), as a step form carries it:
    a form shown before someone else took the step no longer matches."""
    return f"{event.status}:{event.handling_region_id}:{event.department_id or ''}"


def handle_permission_for(region: Region) -> str:
    return HANDLE_PERMISSION_BY_TIER.get(region.tier.key, "grid.dispatch_event")


# Who sees events at all: region-wide (view_event), or a department the events it handles
# (view_dispatched_event, read by grid.access.scope as a view_event on those events).
EVENT_VIEW_PERMS = ("grid.view_event", "grid.view_dispatched_event")


def may_view_events(user) -> bool:
    """Whether `user` may see some events (lists, charts); which ones is scope(user, …, "grid.view_event")."""
    return any(user.has_perm(perm) for perm in EVENT_VIEW_PERMS)


def _policy_lets_verify(user, event: Event, policy: FlowPolicy) -> bool:
    """The policy's verifier: the reporter, the grid leader, both, or the county centre's callback."""
    verifier = policy.verifier
    if verifier == FlowPolicy.Verifier.REPORTER:
        return user.pk == event.reporter_id
    if verifier == FlowPolicy.Verifier.GRID_LEADER:
        return user.has_perm("grid.verify_event", event.region)
    if verifier == FlowPolicy.Verifier.CALLBACK:
        return user.has_perm("grid.centre_dispatch_event", event.region)
    return user.pk == event.reporter_id or user.has_perm("grid.verify_event", event.region)


def verify_candidates(event: Event, policy: FlowPolicy, holders_of) -> list[int]:
    """Everyone (user ids) the policy lets verify `event`: its reporter if still active, and/or the
    active holders of the verifying permission over its region by their posts (`holders_of(perm,
    region)`, e.g. grid.task_holders.Holders.of)."""
    verifier = policy.verifier
    ids: list[int] = []
    if verifier in (FlowPolicy.Verifier.REPORTER, FlowPolicy.Verifier.REPORTER_OR_GRID_LEADER):
        if event.reporter_id and event.reporter.is_active:
            ids.append(event.reporter_id)
    if verifier in (FlowPolicy.Verifier.GRID_LEADER, FlowPolicy.Verifier.REPORTER_OR_GRID_LEADER):
        ids += holders_of("grid.verify_event", event.region)
    if verifier == FlowPolicy.Verifier.CALLBACK:
        ids += holders_of("grid.centre_dispatch_event", event.region)
    return list(dict.fromkeys(ids))


def verifiers(event: Event, policy: FlowPolicy, holders_of) -> list[int]:
    """Who verifies `event`: the candidates other than whoever recorded its disposal, so that a result
    is checked by someone else; the disposer only when nobody else may (e.g. a grid leader who
    reported, disposed and is the grid's only leader)."""
    candidates = verify_candidates(event, policy, holders_of)
    others = [pk for pk in candidates if pk != event.disposed_by_id]
    return others or candidates


def holders_by_post(perm: str, region: Region) -> list[int]:
    """The active users whose posts hold `perm` at `region` or above (one query)."""
    return list(Post.objects.active().granting(perm).filter(region__path__in=paths_from_root(region.path),
                                                            user__is_active=True)
                .values_list("user_id", flat=True).distinct())


def may_verify(user, event: Event, policy: FlowPolicy) -> bool:
    """The policy lets `user` verify, and the result is not theirs to check while someone else may."""
    if not _policy_lets_verify(user, event, policy):
        return False
    if event.disposed_by_id != user.pk:
        return True
    chosen = verifiers(event, policy, holders_by_post)
    return not chosen or user.pk in chosen  # (nobody by post: the policy's word stands)


# The flow step an open event waits at, by its status (kept in step with the flow's open task by grid.events).
STEP_BY_STATUS = {
    Event.Status.HANDLING: "handle",
    Event.Status.DISPATCHED: "department",
    Event.Status.VERIFYING: "verify",
}


def may_take_step(user, event: Event, step: str) -> bool:
    """Whether `user` may take the flow step `step` ("handle", "department", "verify") of `event` now."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if step == "handle":
        region = event.handling_region
        return user.has_perm(handle_permission_for(region), region)
    if step == "department":
        if not event.department_id or not user.has_perm("grid.handle_dispatched_event", event.handling_region):
            return False
        return Post.objects.active().filter(user=user, department_id=event.department_id).exists()
    if step == "verify":
        return may_verify(user, event, policy_of(event))
    return False


def department_step_posts():
    """The active posts that may take a department's step (may_take_step): of the department, with a
    role that handles dispatched events."""
    return Post.objects.active().granting("grid.handle_dispatched_event").filter(user__is_active=True)


def department_staffed(department) -> bool:
    """Someone holds the department's step. A dispatch to nobody would wait unseen, 督办 included."""
    return department_step_posts().filter(department=department).exists()


def mark_closed(event: Event) -> None:
    """Called by the flow's close node once verification is satisfied; moves the event's monthly count
    (grid.event_counts) in the same transaction."""
    before = Event.objects.filter(pk=event.pk).values_list("status", flat=True).get()
    closed_at = timezone.now()
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CLOSED, closed_at=closed_at, step_due_at=None)
    event.status, event.closed_at, event.step_due_at = Event.Status.CLOSED, closed_at, None
    event_counts.outcome_changed(event, before)
