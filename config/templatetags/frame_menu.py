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

The rest of the frame is kept the same way: `{% kept_for_user "name" %}…{% endkept_for_user %}` around
the drawer (viewflow's own markup, rendered once per user with the menu and the form token left as
markers filled in on every page), and `{% kept_per_process "name" %}…{% endkept_per_process %}` around
the stylesheet and script links (static URLs, fixed while the process runs).
"""

from __future__ import annotations

import threading

from django import template
from django.core.signals import setting_changed
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

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


# What the kept drawer holds in place of the parts that change from page to page.
_MENU_MARKER = "<!--gv:frame-menu-->"
_TOKEN_MARKER = "gv-form-token-marker"


@register.simple_tag(takes_context=True)
def frame_menu(context) -> str:
    if context.get("gv_frame_menu_deferred"):
        return mark_safe(_MENU_MARKER)
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


class _KeptForUser(template.Node):
    """Renders its content once per user (grid.access_cache.fragment) with the frame's menu and the
    form token as markers, and fills them in on each page. The key holds what else the drawer shows
    that the snapshot does not follow: the language, the user's name and e-mail, the page's Turbo setting."""

    def __init__(self, name: str, nodelist):
        self.name, self.nodelist = name, nodelist

    def render(self, context) -> str:
        request = context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.nodelist.render(context)
        viewset = context.get("viewset")
        key = "|".join(("frame", self.name, get_language() or "", str(bool(context.get("site"))),
                        str(bool(getattr(viewset, "turbo_disabled", False))), user.get_full_name(), user.email))

        def render_with_markers() -> str:
            with context.push(gv_frame_menu_deferred=True, csrf_token=_TOKEN_MARKER):
                return self.nodelist.render(context)

        html = access_cache.fragment(user, key, render_with_markers)
        if _MENU_MARKER in html:
            html = html.replace(_MENU_MARKER, frame_menu(context), 1)
        if _TOKEN_MARKER in html:
            html = html.replace(_TOKEN_MARKER, str(context.get("csrf_token", "")))
        return mark_safe(html)


_per_process: dict[str, str] = {}
_per_process_lock = threading.Lock()


def _forget_per_process(**kwargs) -> None:
    with _per_process_lock:
        _per_process.clear()


setting_changed.connect(_forget_per_process, dispatch_uid="gv_frame_kept_per_process")


class _KeptPerProcess(template.Node):
    """Renders its content once per process: only for content that reads settings alone (static URLs);
    a change of settings (tests) forgets it."""

    def __init__(self, name: str, nodelist):
        self.name, self.nodelist = name, nodelist

    def render(self, context) -> str:
        html = _per_process.get(self.name)
        if html is None:
            html = self.nodelist.render(context)
            with _per_process_lock:
                _per_process[self.name] = html
        return mark_safe(html)


def _kept_tag(node_class, end: str):
    def compile_tag(parser, token):
        bits = token.split_contents()
        if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
            raise template.TemplateSyntaxError(f"{bits[0]} takes one quoted name")
        nodelist = parser.parse((end,))
        parser.delete_first_token()
        return node_class(bits[1][1:-1], nodelist)
    return compile_tag


register.tag("kept_for_user", _kept_tag(_KeptForUser, "endkept_for_user"))
register.tag("kept_per_process", _kept_tag(_KeptPerProcess, "endkept_per_process"))
