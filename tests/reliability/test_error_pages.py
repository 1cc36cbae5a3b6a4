"""What a user sees when something goes wrong. While the database cannot be reached (PostgreSQL
restarting or down) every address answers 503 with Retry-After, on a page that needs no database
(pages) or in its own shape (API, /healthz), not a 500 page; once it is back the same session goes on.
Every error page (400, 404, 403 for a stale form, 500, 503) carries the site's name and says in Chinese
what to do."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError, connection
from django.test import Client

import config.views

SHUTTING_DOWN = ('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                 "FATAL:  the database system is shutting down")


def unreachable(execute, sql, params, many, context):
    raise OperationalError(SHUTTING_DOWN)


@pytest.fixture
def member(personas):
    client = Client(raise_request_exception=False)
    client.force_login(personas["grid_member"])
    client.get("/")  # the session and access snapshot exist, as for someone mid-work
    return client


def test_a_page_answers_503_with_a_page_that_needs_no_database_and_recovers(member):
    with connection.execute_wrapper(unreachable):
        response = member.get("/grid/events/")
    page = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "10" and response["Cache-Control"] == "no-store"
    assert "暂时无法访问数据库" in page and "<title>503 暂时无法访问 - 基层治理工作平台</title>" in page
    assert "Django Material" not in page and "电子邮件" not in page
    assert member.get("/grid/events/").status_code == 200  # the same session, once it is back


def test_a_form_sent_while_it_is_down_answers_503_too(member, county, category):
    with connection.execute_wrapper(unreachable):
        response = member.post("/grid/events/new/", {"title": "违建", "region": county.grid1.pk, "category": category.pk})
    assert response.status_code == 503
    assert "刚才提交的内容如在恢复后没有出现，请重新提交" in response.content.decode()


def test_the_api_answers_503_in_its_own_shape(personas):
    client = Client(raise_request_exception=False)
    client.force_login(personas["grid_member"])
    with connection.execute_wrapper(unreachable):
        response = client.get("/api/v1/events/")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert json.loads(response.content)["detail"] == "系统暂时无法访问数据库（可能正在重启或维护），请稍后重试。"


@pytest.mark.parametrize("signed_in", [False, True])
def test_healthz_says_degraded_whoever_asks(personas, signed_in):
    client = Client(raise_request_exception=False)
    if signed_in:  # a staff member's session reads the database before the probe's own view runs
        personas["county_office"].is_staff = True
        personas["county_office"].save()
        client.force_login(personas["county_office"])
    with connection.execute_wrapper(unreachable):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["status"] == "degraded"


def test_another_error_is_a_500_page_in_chinese_without_false_promises(member, monkeypatch):
    def broken(self, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(config.views.HomeView, "get_context_data", broken)
    response = member.get("/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "<title>500 系统错误 - 基层治理工作平台</title>" in page and "请联系系统管理员" in page
    assert "Django Material" not in page and "电子邮件" not in page and "Retry-After" not in response


def test_an_address_that_matches_nothing_has_the_sites_404_page(member):
    response = member.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<title>404 页面不存在 - 基层治理工作平台</title>" in page and "--mdc-theme-primary: #b71c1c" in page
    assert "Django Material" not in page


def test_a_form_sent_with_a_stale_token_gets_a_page_that_says_what_to_do(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["grid_member"])
    response = client.post("/grid/events/new/", {"title": "违建"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "<title>403 页面已过期 - 基层治理工作平台</title>" in page and "刷新后重新提交" in page
    assert "DEBUG" not in page and "Forbidden" not in page
