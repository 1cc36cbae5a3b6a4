"""Every menu page of eight demo roles reads as Chinese: on the demo county, each page that a role's
navigation, home tiles and 等待我处理 counters lead to opens, and shows no English word outside the
allow list, no raw code (snake_case, ---------, 2026Q4) and no error before the first submit.

The checks are those of scripts/menu_screenshots.py (which also takes the screenshots people look at);
the demo is loaded once for the module, in a transaction rolled back at the end.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client

from config.demo import ADMIN_USERNAME, DEMO_USERS, load_demo

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _checks():
    spec = importlib.util.spec_from_file_location("menu_screenshots", ROOT / "scripts" / "menu_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checks = _checks()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    old_media = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock():
        with transaction.atomic():
            import config.urls  # noqa: F401 — viewflow's Node.reverse() needs the URLconf

            load_demo()
            yield
            transaction.set_rollback(True)
    settings.MEDIA_ROOT = old_media


def walk(client: Client) -> dict[str, tuple[int, str]]:
    """Breadth first from the home page through the menu links of every page reached: url → (status, html)."""
    pages, queue = {}, ["/"]
    while queue:
        url = queue.pop(0)
        if url in pages:
            continue
        response = client.get(url, follow=True)
        html = response.content.decode()
        pages[url] = (response.status_code, html)
        queue += [link for link in checks.menu_links(html) if link not in pages]
    return pages


@pytest.mark.parametrize("username", checks.ROLE_USERS)
def test_every_menu_page_of_the_role_reads_as_chinese_without_codes_or_early_errors(demo, username):
    client = Client()
    client.force_login(next(user for user in _users() if user.username == username))
    pages = walk(client)
    assert len(pages) >= 8, f"{username} 的菜单只有 {len(pages)} 页"
    problems = {url: checks.page_problems(html) for url, (_, html) in pages.items()}
    bad_status = {url: status for url, (status, _) in pages.items() if status != 200}
    assert not bad_status, bad_status
    assert not {url: found for url, found in problems.items() if found}


def _users():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username__in=checks.ROLE_USERS)


def test_the_roles_walked_are_eight_distinct_demo_roles():
    roles = {demo.username: demo.role for demo in DEMO_USERS}
    assert set(checks.ROLE_USERS) <= set(roles)
    assert len({roles[username] for username in checks.ROLE_USERS}) >= 8


def test_the_scripts_login_names_are_the_demos():
    assert checks.DEMO_LOGINS == {demo.username for demo in DEMO_USERS} | {ADMIN_USERNAME, "system"}


@pytest.mark.parametrize("html, found", [
    ("<p>Status: pending</p>", "英文单词：Status、pending"),
    ("<td>rectification_item.import</td>", "下划线代码：rectification_item.import"),
    ("<select><option>---------</option></select>", "空白选项：---------"),
    ("<input type='text' value='2026Q4'>", "季度代码：2026Q4"),
    ("<ul class='errorlist'><li>该字段是必填项。</li></ul>", "未提交就显示错误"),
])
def test_the_checks_find_what_a_reader_should_not_meet(html, found):
    assert found in checks.page_problems(f"<html><body>{html}</body></html>")


def test_the_checks_pass_icons_file_formats_login_names_and_scripts():
    html = ("<html><head><title>x</title></head><body><i class='material-icons'>home</i><a>导出 PDF</a>"
            "<td>wanggeyuan</td><script>var done = true;</script><template><b>pending</b></template></body></html>")
    assert checks.page_problems(html) == []
