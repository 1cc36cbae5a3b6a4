"""What a signed-in user may do, read once and kept in the cache across their requests.

Every page asks the same questions before it shows anything: the user's own and group permissions
(Django's model backend, two queries), the region grants of their posts and of guardian (three
queries), and a few facts the menu needs (registered by higher layers, e.g. "leads an inspection
group"). None of them changes while the user clicks through pages, so `AccessCacheMiddleware` keeps
one snapshot per user in Django's cache (Redis in production) and puts it back on `request.user`,
where the backends and `grid.access.region_grants` look first.

A snapshot is used only while all of these hold (otherwise it is computed again):
- the access version is the one it was made under: any change to posts, roles' permissions, groups,
  users' permissions, guardian grants, regions (tiers, event categories, departments) or a registered
  fact's models moves the version, at once and again after the commit (a request that read the old
  rows in between is not kept);
- it was made today (posts start and end by date, without any write);
- the user's superuser and active flags, name and joining time are the same (read with the user row);
- it is younger than ACCESS_CACHE_SECONDS (so a change made around the signals, e.g. by raw SQL,
  is seen within that time).
Pieces of HTML that follow from what the user may do and nothing else (the site's menu) are kept with
the snapshot too (`fragment`), so they live and die with it.
ACCESS_CACHE_SECONDS = 0 turns the cache off. Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from governance import notifications

from .access import _CACHE_ATTR, EXPLICIT_ATTR, read_small_subtrees, region_grants
from .models import Department, EventCategory, Post, Region, Role, Tier

logger = logging.getLogger(__name__)

# Processes that share one Redis but not one database (parallel test workers) keep apart.
_NAMESPACE = getattr(settings, "ACCESS_CACHE_NAMESPACE", "")
VERSION_KEY = f"gv:access:{_NAMESPACE}version"
FRAGMENTS_ATTR = "_gv_access_fragments"
FACTS_ATTR = "_gv_access_facts"
_PERM_ATTRS = ("_perm_cache", "_user_perm_cache", "_group_perm_cache")

# Part of each snapshot's key: a release that changes what a snapshot holds (e.g. a new field of
# RegionGrants) gives it a new number, so that no process reads a snapshot of the old shape.
SNAPSHOT_FORMAT = 2

_facts: dict[str, Callable[[Any], Any]] = {}
_request = threading.local()  # the access version the current signed-in request runs under


def _key(user_pk) -> str:
    return f"gv:access:{_NAMESPACE}user:{user_pk}:{SNAPSHOT_FORMAT}"


def seconds() -> int:
    return getattr(settings, "ACCESS_CACHE_SECONDS", 300)


def request_version():
    """The access version this thread's signed-in request read (None outside one): what was read
    from the tables it covers under the same version is still what they hold."""
    return getattr(_request, "version", None)


@contextmanager
def under_stored_version() -> Iterator[None]:
    """Background work (a queued notice) runs under the access version stored now, as a request does:
    what processes keep under that version (grid.region_memo) serves it, and a change committed before
    it started has already moved the version. Without the cache (turned off, Redis unreachable, no
    version yet) nothing kept is used and everything is read from the database."""
    version = None
    if seconds() > 0:
        try:
            version = cache.get(VERSION_KEY)
        except (redis.ConnectionError, redis.TimeoutError):
            logger.warning("access cache: could not read the version (Redis unreachable)")
    previous = getattr(_request, "version", None)
    _request.version = version
    try:
        yield
    finally:
        _request.version = previous


def register_fact(name: str, compute: Callable[[Any], Any], models: Iterable[type] = (),
                  m2m: Iterable[type] = ()) -> None:
    """A per-user fact kept with the snapshot (picklable, e.g. a bool); a save or delete of any of
    `models`, or a change of any many-to-many `m2m` (its through model), moves the access version.
    Call from an AppConfig.ready()."""
    _facts[name] = compute
    for model in models:
        watch(model)
    for through in m2m:
        m2m_changed.connect(bump, sender=through, dispatch_uid=f"gv_access_m2m_{through._meta.label_lower}", weak=False)


def user_fact(user, name: str):
    """The fact for this user: from this request's snapshot when there is one, else computed now."""
    facts = _facts_of(user)
    if name not in facts:
        facts[name] = _facts[name](user)
    return facts[name]


def fragment(user, key: str, render: Callable[[], str]) -> str:
    """A piece of HTML that depends only on what `user` may do (their permissions, region grants and
    facts, all under the snapshot's access version and date) and on `key`: rendered once and kept with
    the user's snapshot. Without a snapshot (cache off, anonymous) it is rendered every time."""
    return kept(user, key, render)


def kept(user, key: str, compute: Callable[[], Any]) -> Any:
    """A picklable value that, like a fragment, follows only from what `user` may do and from the rows
    of the watched models (e.g. the regions where they hold a permission): computed once and kept with
    the user's snapshot; without one, computed every time."""
    fragments = getattr(user, FRAGMENTS_ATTR, None)
    if fragments is None:
        return compute()
    if key not in fragments:
        fragments[key] = compute()
    return fragments[key]


def _facts_of(user) -> dict:
    # getattr/setattr, not __dict__: request.user is a lazy proxy of the user
    facts = getattr(user, FACTS_ATTR, None)
    if facts is None:
        facts = {}
        setattr(user, FACTS_ATTR, facts)
    return facts


def bump(**kwargs) -> None:
    """Move the access version now and again after the current transaction commits."""
    _move_version()
    transaction.on_commit(_move_version)


def _move_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value invalidates every snapshot
        cache.set(VERSION_KEY, time.time_ns(), None)
    except (redis.ConnectionError, redis.TimeoutError):
        # Redis is down: no snapshot can be read now either; the ones stored before the outage
        # expire within ACCESS_CACHE_SECONDS.
        logger.warning("access cache: could not move the version (Redis unreachable)")


def watch(model: type) -> None:
    uid = f"gv_access_{model._meta.label_lower}"
    post_save.connect(bump, sender=model, dispatch_uid=uid + "_save", weak=False)
    post_delete.connect(bump, sender=model, dispatch_uid=uid + "_delete", weak=False)


def connect_signals() -> None:
    # Categories and tiers: the kept filter bars of the lists offer them; departments: the home page's
    # kept list of the user's posts names them.
    for model in (Post, Region, Role, Group, UserObjectPermission, GroupObjectPermission, EventCategory, Tier,
                  Department):
        watch(model)
    user_model = get_user_model()
    for through in (Role.permissions.through, Group.permissions.through, user_model.groups.through,
                    user_model.user_permissions.through):
        m2m_changed.connect(bump, sender=through, dispatch_uid=f"gv_access_m2m_{through._meta.label_lower}",
                            weak=False)


def _compute(user) -> dict:
    ModelBackend().get_all_permissions(user)  # fills the model backend's three caches on the user
    read_small_subtrees(region_grants(user))  # kept with the snapshot, which a change of any region drops
    facts = _facts_of(user)
    for name, compute in _facts.items():
        if name not in facts:
            facts[name] = compute(user)
    state = {attr: getattr(user, attr) for attr in _PERM_ATTRS if hasattr(user, attr)}
    state[_CACHE_ATTR] = getattr(user, _CACHE_ATTR)
    explicit = getattr(user, EXPLICIT_ATTR, None)
    if explicit is None:
        explicit = {}
        setattr(user, EXPLICIT_ATTR, explicit)
    return {"perms": state, "facts": dict(facts), "explicit": explicit, "fragments": {}}


def _stamp(user, version) -> tuple:
    # The user's own row too: a user deleted and made again under the same id is someone else.
    return (version, timezone.localdate().isoformat(), user.is_superuser, user.is_active,
            user.get_username(), user.date_joined.isoformat() if user.date_joined else "")


def load(user) -> dict | None:
    """Put the user's snapshot on `user` (computing and storing it when missing or stale) and return
    it; `store_additions` saves what the request added to it."""
    ttl = seconds()
    if ttl <= 0 or not user.is_authenticated:
        return None
    found = cache.get_many([VERSION_KEY, _key(user.pk), notifications.unread_key(user.pk)])
    # The menu's unread badge, read in the same round trip (None: not kept, counted when asked).
    setattr(user, notifications.UNREAD_ATTR, found.get(notifications.unread_key(user.pk)))
    version = found.get(VERSION_KEY)
    if version is None:
        version = time.time_ns()
        cache.add(VERSION_KEY, version, None)
        version = cache.get(VERSION_KEY, version)
    snapshot = found.get(_key(user.pk))
    if snapshot is not None and snapshot["stamp"] == _stamp(user, version):
        for attr, value in snapshot["perms"].items():
            setattr(user, attr, value)
        setattr(user, FACTS_ATTR, dict(snapshot["facts"]))
        snapshot["explicit"] = dict(snapshot["explicit"])
        setattr(user, EXPLICIT_ATTR, snapshot["explicit"])
        snapshot["fragments"] = dict(snapshot.get("fragments", {}))
        setattr(user, FRAGMENTS_ATTR, snapshot["fragments"])
        snapshot["known"] = (len(snapshot["explicit"]), len(snapshot["fragments"]))
        return snapshot
    state = _compute(user)
    state["stamp"] = _stamp(user, version)
    cache.set(_key(user.pk), state, ttl)
    setattr(user, FRAGMENTS_ATTR, state["fragments"])
    state["known"] = (len(state["explicit"]), 0)
    return state


def store_additions(user, snapshot: dict) -> None:
    """Single-object grants read and fragments rendered during the request join the stored snapshot,
    unless the version moved meanwhile (then the next request computes a new one anyway)."""
    explicit = getattr(user, EXPLICIT_ATTR, None)
    fragments = getattr(user, FRAGMENTS_ATTR, None)
    if explicit is not snapshot["explicit"] or fragments is not snapshot["fragments"]:
        return  # replaced during the request (e.g. the user signed out and in): not this snapshot's
    if (len(explicit), len(fragments)) == snapshot["known"]:
        return
    if cache.get(VERSION_KEY) == snapshot["stamp"][0]:
        cache.set(_key(user.pk), {k: v for k, v in snapshot.items() if k != "known"}, seconds())


class AccessCacheMiddleware:
    """After AuthenticationMiddleware: the signed-in user's permissions and menu facts from the cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        snapshot = load(user) if user is not None and user.is_authenticated and user.is_active else None
        _request.version = snapshot["stamp"][0] if snapshot is not None else None
        try:
            response = self.get_response(request)
        finally:
            _request.version = None
        if snapshot is not None:
            store_additions(user, snapshot)
        return response
