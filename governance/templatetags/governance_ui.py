import html

from django import template
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from governance import links
from governance.notifications import unread_count
from governance.site import SitePageMixin
from governance.templatetags.zh_format import zh_count

register = template.Library()


@register.simple_tag
def app_menu_links(app, request):
    """The (title, icon, url, exact, current) links of an area that the user may open; `current`: the
    link stands for the page shown (AreaApp.current_link_url)."""
    if not hasattr(app, "menu_links"):
        return []
    current = app.current_link_url(request)
    return [(*link, link[2] == current) for link in app.menu_links(request.user)]


@register.simple_tag
def frame_site():
    """The site (its title and colours) for a page rendered outside its URLs and views: the error
    pages, which Django renders for addresses that match nothing, or without a request at all."""
    return SitePageMixin.site


@register.simple_tag
def unread_notifications(user) -> int:
    if not user.is_authenticated:
        return 0

    return unread_count(user)


# Where the badge goes in a menu rendered to be kept (config.templatetags.frame_menu): the count is
# read on every page, the rest of the menu is not.
UNREAD_BADGE_MARKER = "<!--gv:unread-badge-->"


def unread_badge_html(user) -> str:
    unread = unread_notifications(user)
    return format_html(' <span class="gv-badge">{}</span>', unread) if unread else ""


@register.simple_tag(takes_context=True)
def unread_badge(context) -> str:
    """The unread-notice count of the menu's 消息 link (nothing when there is none)."""
    if context.get("unread_badge_deferred"):
        return mark_safe(UNREAD_BADGE_MARKER)
    return unread_badge_html(context["request"].user)


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



@register.filter
def pk_url(pk, name: str) -> str:
    """{{ item.pk|pk_url:"rectification:item_detail" }}: the same as {% url name pk %}, reversed once
    per name rather than on every row (governance.links)."""
    return links.pk_url(name, pk)


@register.filter
def figure_rows(figure) -> str:
    """The <tr> rows of a chart's data table: the label, then each series' value as zh_count prints it.
    Written out here, not cell by cell in the template: a county's progress chart has 400 rows."""
    return mark_safe("".join(  # noqa: S308 — every cell escaped here
        f"<tr><td>{_html(label)}</td>{''.join(f'<td>{html.escape(zh_count(value))}</td>' for value in values)}</tr>"
        for label, values in figure.rows()))


def _html(value) -> str:
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))
