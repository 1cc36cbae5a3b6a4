"""The viewflow Site: one Application per area (网格, 大巡查, 巡察, 整改, 系统管理).
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

from dataclasses import dataclass

from viewflow.urls import Application, Site


@dataclass(frozen=True)
class MenuLink:
    title: str
    icon: str
    url_name: str
    perms: tuple[str, ...] = ()  # any of them; empty = every signed-in user
    # Other pages of the area that this link stands for in the menu (highlighted on them), where
    # their addresses do not start with the link's own.
    pages: tuple[str, ...] = ()
    # The area's own front page: highlighted on itself only. The menu's script otherwise marks the
    # link whose address is the longest start of the page's, and the area's root starts them all.
    exact: bool = False

    def allowed(self, user) -> bool:
        if not user.is_authenticated:
            return False
        return not self.perms or user.is_superuser or any(user.has_perm(perm) for perm in self.perms)


class AreaApp(Application):
    """An area of the site; visible to a user who may open at least one of its pages."""

    menu_template_name = "governance/app_menu.html"
    links: tuple[MenuLink, ...] = ()

    def has_view_permission(self, user, obj=None):
        if not user.is_authenticated:
            return True  # the page itself sends anonymous users to the login form
        return any(link.allowed(user) for link in self.links)

    def menu_links(self, user) -> list[tuple[str, str, str, bool]]:
        """(title, icon, url, exact) of the links the user may open."""
        return [(link.title, link.icon, self.reverse(link.url_name), link.exact)
                for link in self.links if link.allowed(user)]

    def current_link_url(self, request) -> str:
        """The address of the menu link that stands for the current page: its own, or the link that
        lists the page's name among its `pages`."""
        match = getattr(request, "resolver_match", None)
        if match is not None and match.app_name == self.app_name:
            for link in self.links:
                if match.url_name in link.pages:
                    return self.reverse(link.url_name)
        return request.path


class SitePageMixin:
    """For views outside the Site's URLs (/jobs/, /api/…, /accounts/two-factor/): the site's frame
    (menu, colours), which the Site's own pages get from viewflow's SiteMiddleware."""

    site: Site | None = None  # the composed Site; the root URLconf sets it once it has built it

    def dispatch(self, request, *args, **kwargs):
        if request.resolver_match is not None and not getattr(request.resolver_match, "site", None):
            request.resolver_match.site = SitePageMixin.site
        return super().dispatch(request, *args, **kwargs)
