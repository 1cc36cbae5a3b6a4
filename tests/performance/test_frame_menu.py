"""The page frame's menu is rendered once per user and access version (config.templatetags.frame_menu,
kept with grid.access_cache): never another user's menu, changed at once by a post, and the same HTML as
a menu rendered on every page."""

import datetime
import re

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from governance.notifications import notify
from governance.site import AreaApp
from grid import services
from grid.event_rows import event_detail_url
from grid.models import Post, Role

MENU = re.compile(r'<div class="vf-page__menu-primary">(.*?)<div class="vf-page__menu-secondary">', re.S)


def menu_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return MENU.search(response.content.decode()).group(1)


def uncached_menu_of(client, url) -> str:
    with override_settings(ACCESS_CACHE_SECONDS=0):
        return menu_of(client, url)


def test_a_menu_kept_for_one_user_is_never_shown_to_another(client, personas):
    client.force_login(personas["county_office"])
    office_menu = menu_of(client, reverse("grid:events"))
    assert menu_of(client, reverse("grid:events")) == office_menu  # now the kept one
    assert "整改" in office_menu and "巡察" in office_menu

    client.force_login(personas["grid_member"])
    member_menu = menu_of(client, reverse("grid:events"))
    assert member_menu != office_menu
    assert "整改" not in member_menu and "巡察" not in member_menu
    assert member_menu == uncached_menu_of(client, reverse("grid:events"))


def test_a_new_post_changes_the_menu_on_the_next_page(client, county, personas):
    user = personas["grid_member"]
    client.force_login(user)
    assert "巡察" not in menu_of(client, reverse("grid:my_tasks"))
    services.create_post(user=user, role=Role.objects.get(key="county_office"), region=county.county)
    assert "巡察" in menu_of(client, reverse("grid:my_tasks"))
    services.end_post(Post.objects.get(user=user, role__key="county_office"), by=personas["county_office"])
    assert "巡察" not in menu_of(client, reverse("grid:my_tasks"))


def test_the_menu_is_worked_out_once_and_not_on_every_page(client, personas, monkeypatch):
    asked = []
    menu_links = AreaApp.menu_links
    monkeypatch.setattr(AreaApp, "menu_links", lambda self, user: asked.append(self) or menu_links(self, user))
    client.force_login(personas["county_office"])
    menu_of(client, reverse("grid:events"))
    assert asked, "the first page works the menu out"
    asked.clear()
    menu_of(client, reverse("grid:my_tasks"))
    menu_of(client, reverse("grid:events"))
    assert asked == []


def test_the_current_page_link_is_highlighted_as_without_the_cache(client, personas):
    client.force_login(personas["grid_leader"])
    for url in (reverse("grid:my_tasks"), reverse("grid:events"), reverse("grid:my_tasks"), reverse("grid:events")):
        menu = menu_of(client, url)
        assert menu == uncached_menu_of(client, url)
        active = re.findall(r'mdc-list-item--activated mdc-list-item--selected" href="([^"]+)"', menu)
        assert active == [url]


def test_the_unread_badge_is_counted_on_every_page(client, personas):
    user = personas["grid_member"]
    client.force_login(user)
    assert "gv-badge" not in menu_of(client, reverse("grid:my_tasks"))
    notify(user, kind="test", title="新的待办")
    notify(user, kind="test", title="另一条")
    menu = menu_of(client, reverse("grid:my_tasks"))
    assert '消息 <span class="gv-badge">2</span>' in menu
    assert menu == uncached_menu_of(client, reverse("grid:my_tasks"))


def test_event_links_and_times_print_as_url_and_date_would():
    assert event_detail_url(42) == reverse("grid:event_detail", args=[42])
    template = Template('{% load zh_format %}{{ value|minute }}|{{ value|date:"Y-m-d H:i" }}')
    moment = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)  # the next day in Asia/Shanghai
    for value in (moment, timezone.now(), datetime.datetime(2026, 3, 1, 8, 5), None, ""):
        mine, django = template.render(Context({"value": value})).split("|")
        assert mine == django
    assert template.render(Context({"value": moment})).startswith("2026-03-02 07:30")


@pytest.mark.parametrize("persona", ["grid_member", "township_office", "inspection_group", "outsider"])
def test_each_personas_menu_is_the_one_rendered_without_the_cache(client, personas, persona):
    client.force_login(personas[persona])
    url = reverse("inbox")
    menu_of(client, url)
    assert menu_of(client, url) == uncached_menu_of(client, url)


# Made afresh for every page, cache or none: the form token's mask and the report form's key.
FRESH_EACH_PAGE = re.compile(r'name="(csrfmiddlewaretoken|idempotency_key)" value="[^"]*"')


def page_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return FRESH_EACH_PAGE.sub(r'name="\1" value="…"', response.content.decode())


@pytest.mark.parametrize("persona", ["county_office", "township_office", "grid_member"])
def test_the_kept_frame_is_the_frame_rendered_on_every_page(client, personas, persona, monkeypatch):
    """The drawer (kept per user) and the stylesheet and script links (kept per process) print as
    viewflow's templates print them on each page, the current page's link and the form token included."""
    from config.templatetags import frame_menu

    client.force_login(personas[persona])
    urls = [reverse("grid:events"), reverse("grid:my_tasks"), reverse("inbox"), reverse("grid:events")]
    if persona == "grid_member":
        urls.append(reverse("grid:event_report"))
    kept = [page_of(client, url) for url in urls]
    monkeypatch.setattr(frame_menu._KeptForUser, "render", lambda self, context: self.nodelist.render(context))
    monkeypatch.setattr(frame_menu._KeptPerProcess, "render", lambda self, context: self.nodelist.render(context))
    assert kept == [page_of(client, url) for url in urls]
    assert "vf-page__menu-secondary" in kept[0] and "viewflow.min.js" in kept[0]


def test_the_kept_drawer_signs_out_with_the_token_of_its_own_page(personas):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas["grid_member"])
    browser.get(reverse("grid:events"))
    page = browser.get(reverse("grid:my_tasks")).content.decode()
    form = page.split('<form method="post" action="/accounts/logout/">', 1)[1].split("</form>", 1)[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    assert browser.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert browser.get(reverse("grid:my_tasks")).status_code == 302  # signed out: to the sign-in page


def test_a_new_name_shows_in_the_drawer_on_the_next_page(client, personas):
    user = personas["grid_member"]
    client.force_login(user)
    assert "新名字" not in page_of(client, reverse("grid:events"))
    user.first_name = "新名字"
    user.save(update_fields=["first_name"])
    assert "新名字" in page_of(client, reverse("grid:events"))
