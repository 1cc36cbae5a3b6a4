"""Which townships' big-patrol circulars a user may see, and a period's circular for one of them.

A township is visible to a user holding inspection.view_circular on it (or above it): the live figures
(`full`); holding it only on a village of the township: the township's published circulars only.
"""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.http import Http404

from grid.access import region_grants, require_perm
from grid.models import Region

from . import circulars
from .scoring import month_start

VIEW_PERM = "inspection.view_circular"


def circular_townships(user) -> dict[int, tuple[Region, bool]]:
    """Townships whose circulars the user may see: pk → (township, full). `full` is True where the
    grant covers the township itself (live figures, downloads), False where it only covers a village
    of it (published circulars only). Two queries."""
    townships = Region.objects.filter(tier__key="township").select_related("tier").order_by("path")
    if user.is_superuser:
        return {t.pk: (t, True) for t in townships[:500]}
    prefixes = region_grants(user).paths(VIEW_PERM)
    if not prefixes:
        return {}
    full = Q(pk__in=[])
    for prefix in prefixes:
        full |= Q(path__startswith=prefix)
    ancestors = {prefix[:length] for prefix in prefixes for length in range(1, len(prefix))}
    result = {}
    for township in townships.filter(full | Q(path__in=ancestors))[:500]:
        covered = any(township.path.startswith(prefix) for prefix in prefixes)
        result[township.pk] = (township, covered)
    return result


def township_for(user, pk) -> tuple[Region, bool]:
    require_perm(user, VIEW_PERM)
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("乡镇不存在或无权查看。") from None
    found = circular_townships(user).get(pk)
    if found is None:
        raise Http404("乡镇不存在或无权查看。")
    return found


def period_first_day(kind: str, period) -> datetime.date:
    """The first day of a month (a date) or of a quarter ((year, quarter))."""
    return month_start(period) if kind == "month" else circulars.quarter_months(*period)[0]


def circular_data(township: Region, full: bool, kind: str, period):
    """(data, published circular) for the period: the published snapshot where there is one, else the
    live figures for a user who may see them, else (None, None)."""
    circular = circulars.published_circular(township, kind, period_first_day(kind, period))
    if circular is not None and isinstance(circular.scores, dict) and circular.scores.get("kind") == kind:
        return circular.scores, circular
    if not full:
        return None, circular
    if kind == "month":
        return circulars.build_month_circular(township, period), circular
    return circulars.build_quarter_circular(township, *period), circular
