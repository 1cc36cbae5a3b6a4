"""Every menu page of eight demo roles reads as Chinese: on the demo county, each page that a role's
navigation, home tiles and 等待我处理 counters lead to opens, and shows no English word outside the
allow list, no raw code (snake_case, ---------, 2026Q4, 60.00) and no error before the first submit.
So does one page of each kind those pages lead to (a record's page, its forms, flow charts, the account
and job pages), and a form submitted wrongly shows its errors in Chinese.

The checks are those of scripts/menu_screenshots.py (which also takes the screenshots people look at);
the demo is loaded once for the module, in a transaction rolled back at the end.
"""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.demo import ADMIN_USERNAME, DEMO_USERS, load_demo
from grid.models import Event, HouseholdVisit, PatrolLog, Region, WorkDiary
from inspection.models import (
    InspectionFinding,
    InspectionGroup,
    InspectionLetter,
    InspectionRound,
    LookBack,
    PatrolFinding,
    PatrolReport,
    ProblemClue,
)
from inspection.rounds import round_services
from rectification.models import RectificationItem, RectificationPlan

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
    ("<td>60.00</td><td>33.738000</td>", "多余的小数位：60.00"),
    ("<ul class='errorlist'><li>该字段是必填项。</li></ul>", "未提交就显示错误"),
])
def test_the_checks_find_what_a_reader_should_not_meet(html, found):
    assert found in checks.page_problems(f"<html><body>{html}</body></html>")


def test_the_checks_pass_icons_file_formats_login_names_and_scripts():
    html = ("<html><head><title>x</title></head><body><i class='material-icons'>home</i><a>导出 PDF</a>"
            "<td>wanggeyuan</td><code>Authorization: Token</code><script>var done = true;</script><template><b>pending</b></template></body></html>")
    assert checks.page_problems(html) == []


# ---------------------------------------------------------------- pages reached from the menu pages

def _first(model, **filters):
    record = model.objects.filter(**filters).order_by("pk").first()
    assert record is not None, f"演示数据中没有 {model.__name__} {filters}"
    return record


def _coming_round(county) -> InspectionRound:
    """The demo's rounds have withdrawn (no group is formed for them): a round still to come."""
    today = timezone.localdate()
    return round_services.create_round(
        by=get_user_model().objects.get(username="xunchaban"), county=county, term="十六届", number=1,
        name="十六届县委第一轮巡察", arrival_date=today + datetime.timedelta(days=10),
        withdrawal_date=today + datetime.timedelta(days=60))


def _record_pages() -> list[tuple[str, str]]:
    """(user, url): one page of each kind a menu page leads to (a record's page, its forms, flow charts,
    account pages), as the role that opens it, on the demo county's own records."""
    county = _first(Region, depth=1)
    group = _first(InspectionGroup, round__withdrawal_date__isnull=False)
    rounds = InspectionRound.objects.order_by("pk")
    pages = [
        ("wanggeyuan", reverse("grid:event_detail", args=[_first(Event, reporter__username="wanggeyuan").pk])),
        ("wanggezhang", reverse("grid:event_detail", args=[_first(Event, status="dispatched").pk])),
        ("wanggeyuan", reverse("grid:event_process_chart", args=[_first(Event, reporter__username="wanggeyuan").pk])),
        ("wanggeyuan", reverse("grid:patrol_detail", args=[_first(PatrolLog).pk])),
        ("zhidaoyuan", reverse("grid:diary_detail", args=[_first(WorkDiary).pk])),
        ("wanggeyuan", reverse("grid:household_detail", args=[_first(HouseholdVisit).household_id])),
        ("xunchaban", reverse("grid:flow_policy_new", args=[county.pk])),
        ("wanggeyuan", reverse("grid:event_report")), ("wanggeyuan", reverse("grid:patrol_new")),
        ("wanggeyuan", reverse("grid:diary_write")), ("wanggeyuan", reverse("grid:mobile")),
        ("zongheban", reverse("patrol:finding_new")), ("duchazu", reverse("patrol:check_new")),
        ("cunganbu", reverse("patrol:ledger_new")), ("cunganbu", reverse("patrol:report_new")),
        ("zongheban", reverse("patrol:patrol_import")),
        ("zongheban", reverse("patrol:report_detail", args=[_first(PatrolReport, verdict="true").pk])),
        ("cunganbu", reverse("patrol:report_detail", args=[_first(PatrolReport, verdict="pending").pk])),
        ("zongheban", reverse("patrol:report_chart", args=[_first(PatrolReport).pk])),
        ("zongheban", reverse("patrol:finding_detail", args=[_first(PatrolFinding).pk])),
        ("xunchaban", reverse("inspection:round_new")), ("xunchaban", reverse("inspection:letter_new")),
        ("xunchaban", reverse("inspection:onsite_lookback_new")),
        ("xunchazu", reverse("inspection:onsite_finding_new")), ("xunchazu", reverse("inspection:onsite_talk_new")),
        ("xunchazu", reverse("inspection:onsite_clue_new")),
        *[("xunchaban", reverse("inspection:round_detail", args=[round.pk])) for round in rounds],
        *[("zhendangwei", reverse("inspection:township_round_detail", args=[round.pk])) for round in rounds
          if round.targets.filter(organisation__name="太平镇").exists()],
        ("xunchaban", reverse("inspection:round_group_new", args=[_coming_round(county).pk])),
        ("xunchaban", reverse("inspection:round_group", args=[group.pk])),
        ("xunchazu", reverse("inspection:proposal_new", args=[group.pk])),
        ("xunchaban", reverse("inspection:round_reports", args=[group.pk])),
        ("xunchaban", reverse("inspection:round_timeline", args=[group.pk])),
        ("xunchaban", reverse("inspection:onsite_finding_detail", args=[_first(InspectionFinding).pk])),
        ("xunchaban", reverse("inspection:onsite_clue_detail", args=[_first(ProblemClue).pk])),
        *[("xunchaban", reverse("inspection:onsite_lookback_result", args=[look.pk])) for look in LookBack.objects.all()],
        ("zhendangwei", reverse("inspection:letter_detail", args=[_first(InspectionLetter).pk])),
        ("zhendangwei", reverse("rectification:plan_detail", args=[_first(RectificationPlan).pk])),
        ("zhendangwei", reverse("rectification:plan_notices", args=[_first(RectificationPlan).pk])),
        *[("zhendangwei", reverse("rectification:item_detail", args=[item.pk]))
          for item in RectificationItem.objects.order_by("pk")],
        ("xunchaban", reverse("rectification:notice_template_county", args=[county.pk])),
        ("xunchaban", reverse("rectification:plan_import")), ("zhendangwei", reverse("rectification:notice_batch")),
        ("xunchaban", reverse("system:region_detail", args=[county.pk])),
        ("wanggeyuan", reverse("flow_charts")), ("xunchaban", reverse("flow_charts")),
        ("wanggeyuan", reverse("password_change")), ("wanggeyuan", reverse("password_change_done")),
        ("xunchaban", reverse("two_factor_setup")), ("wanggeyuan", reverse("api_tokens")),
        ("zongheban", reverse("jobs:list")),
    ]
    return pages


def _client(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_every_page_a_menu_page_leads_to_reads_as_chinese(demo):
    problems = {}
    with transaction.atomic():  # the round still to come stays out of the other tests' demo
        pages = _record_pages()
        assert len(pages) >= 60
        for username, url in pages:
            response = _client(username).get(url)
            if response.status_code != 200:
                problems[(username, url)] = [f"状态 {response.status_code}"]
                continue
            found = checks.page_problems(response.content.decode())
            if found:
                problems[(username, url)] = found
        transaction.set_rollback(True)
    assert not problems


def test_a_background_job_page_reads_as_chinese(demo):
    """The office downloads a circular: the job page it lands on (queued, in the test) reads as Chinese."""
    township = Region.objects.get(name="太平镇")
    client = _client("zongheban")
    month = timezone.localdate().strftime("%Y-%m")
    response = client.get(reverse("patrol:circular_download", args=["pdf"]),
                          {"township": township.pk, "kind": "month", "month": month}, follow=True)
    assert response.status_code == 200 and "/jobs/" in response.redirect_chain[-1][0]
    assert checks.page_problems(response.content.decode()) == []
    # the audit log names the job's entries in Chinese too (后台任务, not jobs.Job)
    audit = client.get(reverse("system:audit"), {"object_type": "jobs.Job"}).content.decode()
    assert "开始后台任务" in audit and checks.page_problems(audit) == []


BAD_SUBMITS = [
    # (user, form page, posted data): an empty required field, an impossible date, a control character
    ("wanggeyuan", "grid:event_report", {"title": "标题\x07", "description": "", "occurred_at": "2026-02-30T10:00"}),
    ("wanggeyuan", "grid:diary_write", {"date": "2026-02-30", "content": ""}),
    ("cunganbu", "patrol:report_new", {"description": "\x01", "occurred_at": "2026-13-01 10:00"}),
    ("xunchaban", "inspection:round_new", {"term": "", "arrival_date": "2026-02-30", "withdrawal_date": "2026-02-31"}),
    ("xunchaban", "inspection:letter_new", {"reply_due": "2026-02-30"}),
    ("zongheban", "patrol:finding_new", {"discovered_on": "2026-02-30", "description": ""}),
    ("wanggeyuan", "password_change", {"old_password": "错误", "new_password1": "abc", "new_password2": "abd"}),
]


@pytest.mark.parametrize("username, name, data", BAD_SUBMITS, ids=[case[1] for case in BAD_SUBMITS])
def test_a_wrong_submit_shows_chinese_errors_on_the_form(demo, username, name, data):
    response = _client(username).post(reverse(name), data)
    html = response.content.decode()
    assert response.status_code in (200, 422), response.status_code
    page = checks.visible_text(html)
    assert page.errors or "gv-error" in html, "提交错误后没有显示错误提示"
    assert [problem for problem in checks.page_problems(html) if problem != "未提交就显示错误"] == []
