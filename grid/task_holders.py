"""Who holds an open step of a grid event (and who is above them): the 待办 notices and the overdue
scan (督办) both ask, with the regions and posts read once per scan."""

from __future__ import annotations

from .event_rules import HANDLE_PERMISSION_BY_TIER, verifiers
from .flow_policy import DEFAULT_POLICY, policy_of
from .models import Event, FlowPolicy, Post, Region, paths_from_root


class Holders:
    """Who holds a permission over a region (posts at the region or above), and the regions above,
    read once per scan however many events it meets.

    `narrow`: for one task (its 待办 notice), read only the posts at the regions asked about. A scan
    reads every holder of a permission at once instead, which pays off over many events but for one
    task read thousands of posts of a county (about 16 ms of CPU per notice on the load county)."""

    def __init__(self, *, narrow: bool = False):
        self._narrow = narrow
        self._cache: dict[tuple, list[int]] = {}
        self._posts: dict[str, dict[str, list[tuple[int, int | None]]]] = {}
        self._regions: dict[str, Region] = {}
        self._committees: dict[int, list[int]] = {}

    def load_regions(self, paths) -> None:
        """Read the regions at `paths` and every region above them (one query for those not read yet)."""
        wanted = {prefix for path in paths for prefix in paths_from_root(path)} - self._regions.keys()
        if wanted:
            for region in Region.objects.filter(path__in=wanted).select_related("tier"):
                self._regions[region.path] = region

    def region(self, path: str) -> Region | None:
        if path not in self._regions:
            self.load_regions([path])
        return self._regions.get(path)

    def upper(self, region: Region, policy: FlowPolicy = DEFAULT_POLICY) -> Region | None:
        """The next handling region above `region` in the policy's chain (grid.flow_policy.upper_region,
        from the paths read once)."""
        chain = policy.chain
        if region.tier.key not in chain or region.tier.key == chain[-1]:
            return None
        for path in reversed(paths_from_root(region.path)[:-1]):
            node = self.region(path)
            if node is not None and node.tier.key in chain:
                return node
        return None

    def committee(self, region: Region) -> list[int]:
        """The township party committee, who supervise the township office."""
        if region.pk not in self._committees:
            self._committees[region.pk] = list(
                Post.objects.active().filter(region=region, role__key="township_committee", user__is_active=True)
                .values_list("user_id", flat=True))
        return self._committees[region.pk]

    def of(self, perm: str, region: Region, *, exact: bool = False, department_id: int | None = None) -> list[int]:
        key = (perm, region.pk, exact, department_id)
        if key not in self._cache:
            paths = [region.path] if exact else paths_from_root(region.path)
            by_path = self._holders_at(perm, paths) if self._narrow else self._holders_by_path(perm)
            self._cache[key] = sorted({
                user_id for path in paths for user_id, post_department in by_path.get(path, ())
                if not department_id or post_department == department_id
            })
        return self._cache[key]

    def _holders_by_path(self, perm: str) -> dict[str, list[tuple[int, int | None]]]:
        """Every active holder of `perm` by the path of their post's region: one query per permission
        and scan, however many regions the scan meets."""
        if perm not in self._posts:
            self._posts[perm] = _by_path(Post.objects.active().granting(perm).filter(user__is_active=True))
        return self._posts[perm]

    @staticmethod
    def _holders_at(perm: str, paths: list[str]) -> dict[str, list[tuple[int, int | None]]]:
        """The active holders of `perm` whose post is at one of `paths`, by path (one query)."""
        return _by_path(Post.objects.active().granting(perm).filter(user__is_active=True, region__path__in=paths))


def _by_path(posts) -> dict[str, list[tuple[int, int | None]]]:
    by_path: dict[str, list[tuple[int, int | None]]] = {}
    for path, user_id, department_id in posts.values_list("region__path", "user_id", "department_id"):
        by_path.setdefault(path, []).append((user_id, department_id))
    return by_path


def recipients_of_task(task, event: Event, holders: Holders, *, with_above: bool = True) -> tuple[list[int], list[int]]:
    """(who holds the step, who is above them) for the task of an event; `with_above=False`: the
    holders only (the second list empty, and nothing read for it)."""
    holding = _holding(task, event, holders)
    if not with_above:
        return holding, []
    return holding, [pk for pk in _above(task, event, holders) if pk not in holding]


def _holding(task, event: Event, holders: Holders) -> list[int]:
    region = event.handling_region
    step = getattr(task.flow_task, "name", "")
    policy = policy_of(event)
    if step == "handle":
        perm = HANDLE_PERMISSION_BY_TIER.get(region.tier.key, "grid.dispatch_event")
        holding = [task.owner_id] if task.owner_id else holders.of(perm, region)
    elif step == "department_handle":
        holding = [task.owner_id] if task.owner_id else holders.of(
            "grid.handle_dispatched_event", region, department_id=event.department_id)
    elif policy.verifier == FlowPolicy.Verifier.GRID_LEADER:
        holding = holders.of("grid.verify_event", event.region)
    elif policy.verifier == FlowPolicy.Verifier.CALLBACK:
        holding = holders.of("grid.centre_dispatch_event", event.region)
    else:  # verification by the reporter (the grid leader above them)
        holding = [event.reporter_id]
    if step not in ("handle", "department_handle") and event.disposed_by_id:
        # Not the disposer while someone else may verify (grid.event_rules.verifiers).
        chosen = verifiers(event, policy, holders.of)
        holding = [pk for pk in holding if pk in chosen] or chosen or holding
    return [pk for pk in holding if pk]


def _above(task, event: Event, holders: Holders) -> list[int]:
    region = event.handling_region
    step = getattr(task.flow_task, "name", "")
    policy = policy_of(event)
    if step == "handle":
        upper = holders.upper(region, policy)
        if upper is not None:
            return holders.of(HANDLE_PERMISSION_BY_TIER.get(upper.tier.key, "grid.dispatch_event"), upper, exact=True)
        if region.tier.key == "township":  # the township office is supervised by the township party committee
            return holders.committee(region)
        return []  # the county centre: the county's own holders of the step supervise it
    if step == "department_handle":
        return holders.of(HANDLE_PERMISSION_BY_TIER.get(region.tier.key, "grid.dispatch_event"), region, exact=True)
    if policy.verifier in (FlowPolicy.Verifier.GRID_LEADER, FlowPolicy.Verifier.CALLBACK):
        return []
    return holders.of("grid.verify_event", event.region)  # the grid leader above the verifying reporter
