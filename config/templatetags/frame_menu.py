"""The menu of every page's frame (the area's links and the site's areas), rendered once per user.

Working out which areas and links a user may open asks every permission backend for each link
(about 8 ms of CPU a page). The answer depends only on what the user may do, so the rendered menu is
kept with the user's access snapshot (grid.access_cache.fragment) and dropped with it whenever posts,
roles, grants or regions change or the day turns. What does change from page to page stays out of the
kept HTML: the unread-notice badge (a marker replaced on every page), the highlighted link of the
current page and whether the device-token links are shown (both part of the key).

    {% load frame_menu %}{% frame_menu %}
"""

from __future__ import annotations

from django import template
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe

from api.templatetags.api_menu import api_menu_shown
from governance.templatetags.governance_ui import UNREAD_BADGE_MARKER, unread_badge_html
from grid import access_cache

register = template.Library()

_link_urls: dict[tuple[str, str], frozenset[str]] = {}


def _app_link_urls(app) -> frozenset[str]:
    """Every menu link URL of an area, whoever may open it (the same for every user)."""
    key = (app.app_name, get_script_prefix())
    if key not in _link_urls:
        _link_urls[key] = frozenset(app.reverse(link.url_name) for link in getattr(app, "links", ()))
    return _link_urls[key]


@register.simple_tag(takes_context=True)
def frame_menu(context) -> str:
    request = context["request"]
    app, site = context.get("app") or None, context.get("site") or None
    names = [getattr(app, "menu_template_name", None), getattr(site, "menu_template_name", None)]
    names = [name for name in names if name]
    if not names:
        return ""
    active = request.path if app is not None and request.path in _app_link_urls(app) else ""
    api_shown = api_menu_shown(request)
    key = f"frame_menu|{getattr(app, 'app_name', '')}|{active}|{int(api_shown)}|{'|'.join(names)}"

    def render() -> str:
        with context.push(api_shown=api_shown, unread_badge_deferred=True):
            return "".join(context.template.engine.get_template(name).render(context) for name in names)

    html = access_cache.fragment(request.user, key, render)
    return mark_safe(html.replace(UNREAD_BADGE_MARKER, unread_badge_html(request.user), 1))
