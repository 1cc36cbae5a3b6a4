"""What the public may see of grid events (Open311 without a key): the one rule for it.

Only events of categories the county marks public (the category and its 大类 both public), and of
them only the category, the status, the times, the place rounded to the grid (or the village, or the
township where the event is above grid level) and the position rounded to about a hundred metres.
Names, phones, descriptions, handling opinions and evidence never leave through here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet

from .models import PATH_SEPARATOR, Event, Region

# Three decimals of a degree: about 110 m north–south, enough to see the street, not the house.
PUBLIC_COORDINATE = Decimal("0.001")
# The deepest tier named in a public address (a micro-grid is shown as its grid).
PUBLIC_ADDRESS_TIERS = ("county", "township", "village", "grid")


def public_events(jurisdiction: Region | None = None) -> QuerySet[Event]:
    """Events of public categories (in the jurisdiction, when one is given)."""
    events = Event.objects.filter(category__is_public=True, category__parent__is_public=True)
    if jurisdiction is not None:
        events = events.filter(region__path__startswith=jurisdiction.path)
    return events


def public_place(event: Event) -> str:
    """The event's region named down to the grid at most, without the county: 太平镇/楼星村/第1网格."""
    names = event.region.full_path.split(PATH_SEPARATOR)
    depth = min(event.region.depth, len(PUBLIC_ADDRESS_TIERS))
    return PATH_SEPARATOR.join(names[1:depth]) or names[0]


def public_coordinate(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(value).quantize(PUBLIC_COORDINATE, rounding=ROUND_HALF_UP))
