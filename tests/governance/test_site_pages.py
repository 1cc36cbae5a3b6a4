"""Every page in every user's menu opens; users see only the areas they may use; login works."""

import pytest
from django.urls import reverse

from api.credentials import create_device_token
from config.urls import site


def menu_urls(user):
    urls = []
    for area in site.menu_items():
        if area.has_view_permission(user):
            urls += [url for _, _, url, _ in area.menu_links(user)]
    return urls


@pytest.mark.parametrize("role_key", [
    "grid_member", "grid_leader", "grid_instructor", "village_cadre", "township_office", "department",
    "supervision_group", "township_committee", "county_office", "inspection_group", "leading_group", "discipline",
])
def test_every_menu_page_opens_for_each_role(client, personas, role_key):
    user = personas[role_key]
    client.force_login(user)
    home = client.get("/")
    assert home.status_code == 200
    assert "您可以做什么" in home.content.decode()
    urls = [url for url in menu_urls(user) if not url.startswith("/system/admin")]
    assert urls, f"{role_key} has no pages"
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url


def test_home_page_lists_posts_and_what_the_user_may_do(client, personas):
    client.force_login(personas["grid_member"])
    page = client.get("/").content.decode()
    assert "网格员" in page and "某县/太平镇/楼星村/第1网格" in page
    assert "上报网格事件" in page and "派单" not in page


def test_user_without_posts_sees_no_areas(client, personas):
    client.force_login(personas["outsider"])
    page = client.get("/").content.decode()
    assert "没有任何在任岗位" in page
    assert menu_urls(personas["outsider"]) == []
    assert client.get(reverse("grid:events")).status_code == 403


def test_anonymous_users_are_sent_to_login(client):
    for url in ("/", reverse("grid:events"), reverse("grid:event_report"), reverse("inbox")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_logout_and_password_change(client, personas):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    response = client.post("/accounts/login/", {"username": "grid_member", "password": "Test@2026pw"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    response = client.post("/accounts/password_change/", {
        "old_password": "Test@2026pw", "new_password1": "Another#2027pw", "new_password2": "Another#2027pw",
    })
    assert response.status_code == 302
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
    assert client.login(username="grid_member", password="Another#2027pw")


def test_wrong_password_gets_a_chinese_error(client, personas):
    response = client.post("/accounts/login/", {"username": "grid_member", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_a_message_is_shown_once_inline_not_again_as_a_toast(client, personas):
    from django.contrib import messages as django_messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = personas["grid_member"]
    request.session = client.session
    request._messages = FallbackStorage(request)
    django_messages.success(request, "上报成功，编号 E-TEST-1")
    html = render_to_string("governance/page.html", {"page_title": "测试"}, request=request)
    assert html.count("上报成功，编号 E-TEST-1") == 1
    assert "gv-message--success" in html


def test_two_factor_is_offered_on_the_home_page_to_county_and_township_posts_only(client, personas):
    client.force_login(personas["county_office"])
    assert "/accounts/two-factor/" in client.get("/").content.decode()
    client.force_login(personas["grid_member"])
    assert "/accounts/two-factor/" not in client.get("/").content.decode()


def test_account_menu_links_to_jobs_and_to_api_pages_only_for_token_holders(client, personas):
    member = personas["grid_member"]
    client.force_login(member)
    page = client.get("/").content.decode()
    assert 'href="/jobs/"' in page
    assert 'href="/api/tokens/"' not in page and 'href="/api/docs/"' not in page  # no technical pages for a grid member
    create_device_token(by=member, name="手机")
    page = client.get("/").content.decode()
    for url in ("/jobs/", "/api/tokens/", "/api/docs/"):
        assert f'href="{url}"' in page
