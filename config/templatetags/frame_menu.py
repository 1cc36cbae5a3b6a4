"""The menu of every page's frame (the area's links and the site's areas), rendered once per user.

Working out which areas and links a user may open asks every permission backend for each link
(several milliseconds of CPU a page). The answer depends only on what the user may do, so the rendered
menu is kept with the user's access snapshot (grid.access_cache.fragment) and dropped with it whenever
posts, roles, grants or regions change or the day turns. What changes from page to page stays out of
the kept HTML: the unread-notice badge (a marker replaced on every page), the highlighted link of the
current page (added to the kept HTML of the area's menu: the page's own link, or the link
standing for it, AreaApp.current_link_url) and whether the device-token links are
shown (part of the key).

    {% load frame_menu %}{% frame_menu %}
"""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from api.templatetags.api_menu import api_menu_shown
from governance.templatetags.governance_ui import UNREAD_BADGE_MARKER, unread_badge_html
from grid import access_cache

register = template.Library()

# How governance/app_menu.html writes a link, and the same link highlighted as the current page.
_LINK = 'vf-page__menu-list-item" href="{}"'
_ACTIVE_LINK = 'vf-page__menu-list-item mdc-list-item--activated mdc-list-item--selected" href="{}"'


class _AnyPage:
    """The request as the kept menu sees it: on no page in particular (no link highlighted)."""

    path = ""
    resolver_match = None

    def __init__(self, request):
        self._request = request

    def __getattr__(self, name):
        return getattr(self._request, name)


def _render(context, name: str, **extra) -> str:
    with context.push(**extra):
        return context.template.engine.get_template(name).render(context)


@register.simple_tag(takes_context=True)
def frame_menu(context) -> str:
    request = context["request"]
    app, site = context.get("app") or None, context.get("site") or None
    app_template = getattr(app, "menu_template_name", None)
    site_template = getattr(site, "menu_template_name", None)
    api_shown = api_menu_shown(request)
    parts = []
    if app_template:
        html = access_cache.fragment(
            request.user, f"frame_menu|app|{app.app_name}|{app_template}",
            lambda: _render(context, app_template, request=_AnyPage(request)))
        path = escape(app.current_link_url(request) if hasattr(app, "current_link_url") else request.path)
        parts.append(html.replace(_LINK.format(path), _ACTIVE_LINK.format(path), 1))
    if site_template:
        html = access_cache.fragment(
            request.user, f"frame_menu|site|{site_template}|{int(api_shown)}",
            lambda: _render(context, site_template, api_shown=api_shown, unread_badge_deferred=True))
        parts.append(html.replace(UNREAD_BADGE_MARKER, unread_badge_html(request.user), 1))
    return mark_safe("".join(parts))
