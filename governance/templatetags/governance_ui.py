from django import template
from django.utils.http import urlencode

from governance.notifications import unread_count

register = template.Library()


@register.simple_tag
def app_menu_links(app, user):
    """The (title, icon, url) links of an area that the user may open."""
    return app.menu_links(user) if hasattr(app, "menu_links") else []


@register.simple_tag
def unread_notifications(user) -> int:
    if not user.is_authenticated:
        return 0

    return unread_count(user)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (pagination links keep the filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(sorted(params.lists()), doseq=True) if params else "?"

