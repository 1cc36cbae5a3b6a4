"""Links to events for the lists, which print one on every row.

    {% load event_links %}<a href="{{ event.pk|event_url }}">

The detail URL is reversed once (governance.links.pk_url), not on every row.
"""

from __future__ import annotations

from django import template

from governance.links import pk_url

register = template.Library()


def event_detail_url(pk) -> str:
    """reverse("grid:event_detail", args=[pk])."""
    return pk_url("grid:event_detail", pk)


@register.filter
def event_url(pk) -> str:
    return event_detail_url(pk)
