"""Regions by id as pages show them (every column but the boundary, with the tier), kept per process.

Each list page, the case page and its record read the few regions their rows name: one query whose
compiling and reading cost about a millisecond, for rows that change a few times a year. A process
keeps the regions it has read while the access version it was read under stands: that version moves
at every save or delete of a region or tier (grid.access_cache watches both), at once and again after
the commit, and every signed-in request reads it (AccessCacheMiddleware), so a renamed region shows on
the next page in every process. Outside a signed-in request (no version known) the regions are read
from the database each time. Callers get copies: what a page sets on a region stays on that page.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable

from . import access_cache
from .models import Region

# A county has a few thousand regions, a prefecture tens of thousands; a process keeps at most this many.
LIMIT = 50_000

_lock = threading.Lock()
_version: object = None
_regions: dict[int, Region] = {}


def _read(ids: Iterable[int]) -> dict[int, Region]:
    return Region.objects.select_related("tier").defer("boundary").in_bulk(list(ids))


def regions_by_id(ids: Iterable[int]) -> dict[int, Region]:
    """The regions with these ids (the ones that exist), each a copy the caller may change."""
    global _version
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    version = access_cache.request_version()
    if version is None:
        return _read(wanted)
    with _lock:
        if _version != version:  # regions or tiers changed (or this is an older request): start again
            _regions.clear()
            _version = version
        found = {pk: _regions[pk] for pk in wanted if pk in _regions}
    missing = wanted - found.keys()
    if missing:
        read = _read(missing)
        with _lock:
            if _version == version and len(_regions) + len(read) <= LIMIT:
                _regions.update(read)
        found.update(read)
    return {pk: copy.copy(region) for pk, region in found.items()}


def clear() -> None:
    """Forget every kept region (tests)."""
    global _version
    with _lock:
        _regions.clear()
        _version = None
