"""Links to events for the lists, which print one on every row.

    {% load event_links %}<a href="{{ event.pk|event_url }}">

`{% url 'grid:event_detail' event.pk %}` walks the URL resolver on each call (a tenth of a row's
cost); the detail URL is the same text around the number, so it is reversed once per script prefix.
"""

from __future__ import annotations

from django import template
from django.urls import get_script_prefix, reverse

register = template.Library()

_SAMPLE = 987654321
_around: dict[str, tuple[str, str]] = {}


def event_detail_url(pk) -> str:
    """reverse("grid:event_detail", args=[pk])."""
    prefix = get_script_prefix()
    if prefix not in _around:
        head, _, tail = reverse("grid:event_detail", args=[_SAMPLE]).partition(str(_SAMPLE))
        _around[prefix] = (head, tail)
    head, tail = _around[prefix]
    return f"{head}{int(pk)}{tail}"


@register.filter
def event_url(pk) -> str:
    return event_detail_url(pk)
