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

    def menu_links(self, user) -> list[tuple[str, str, str]]:
        return [(link.title, link.icon, self.reverse(link.url_name)) for link in self.links if link.allowed(user)]


class SitePageMixin:
    """For views outside the Site's URLs (/jobs/, /api/…, /accounts/two-factor/): the site's frame
    (menu, colours), which the Site's own pages get from viewflow's SiteMiddleware."""

    site: Site | None = None  # the composed Site; the root URLconf sets it once it has built it

    def dispatch(self, request, *args, **kwargs):
        if request.resolver_match is not None and not getattr(request.resolver_match, "site", None):
            request.resolver_match.site = SitePageMixin.site
        return super().dispatch(request, *args, **kwargs)
