"""Orders and exports of the system lists (审计日志, 岗位与人员), and the filters of my jobs and my inbox.

The exports must hold exactly the rows of their list under the same query string, in the same order,
scoped like the list, refused to users without the view permission, and audited.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import AuditEntry
from governance.notifications import mark_read, notify
from grid import services
from grid.job_kinds import EVENT_EXPORT
from grid.models import Post, Role, Tier
from jobs.models import Job

pytestmark = pytest.mark.django_db


def sheet_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows()]


def page_of(client, url_name, **query) -> list:
    response = client.get(reverse(url_name), query)
    assert response.status_code == 200
    return list(response.context["page"])


# ---------------------------------------------------------------- 审计日志


@pytest.fixture
def trail(county, personas):
    """Three region changes in 太平镇 (oldest first) and one in 赵村镇."""
    office = personas["township_office"]
    services.update_region(county.grid2, households=455, by=office)
    services.update_region(county.grid1, households=430, by=office)
    services.create_department(name="平安办", region=county.taiping, by=personas["county_office"])
    services.create_region(parent=county.zhaocun, name="赵村新村", tier=Tier.objects.get(key="village"),
                           by=personas["county_office"])
    return office


def test_audit_sort_oldest_reverses_the_order(client, trail):
    client.force_login(trail)
    newest = [entry.pk for entry in page_of(client, "system:audit")]
    oldest = [entry.pk for entry in page_of(client, "system:audit", sort="oldest")]
    assert len(newest) >= 3 and newest == sorted(newest, reverse=True) and oldest == sorted(newest)
    response = client.get(reverse("system:audit"), {"sort": "bogus"})
    assert response.status_code == 200 and "选择一个有效的选项" in response.content.decode()


def test_audit_export_is_the_page_under_the_same_query_and_is_scoped(client, trail, personas):
    client.force_login(trail)
    query = {"action": "region.update", "sort": "oldest"}
    shown = page_of(client, "system:audit", **query)
    rows = sheet_rows(client.get(reverse("system:audit_export"), query))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["时间", "操作人", "操作", "操作代码"]
    assert [row[header.index("对象")] for row in body] == [entry.object_repr for entry in shown]
    assert [row[header.index("对象")].split("/")[-1] for row in body] == ["第2网格", "第1网格"]
    assert body[0][header.index("操作")] == "修改区域" and body[0][header.index("操作人")] == "township_office"
    assert '"households": 455' in body[0][header.index("变更后")]
    assert body[0][0] == f"{timezone.localtime(shown[0].created_at):%Y-%m-%d %H:%M:%S}"

    everything = [row[header.index("对象")] or "" for row in sheet_rows(client.get(reverse("system:audit_export")))[1:]]
    assert "平安办" in " ".join(everything) and "赵村新村" not in " ".join(everything)  # 赵村镇 is not theirs
    export = AuditEntry.objects.filter(action="governance.audit.export", actor=trail).order_by("id").first()
    assert export.after["rows"] == 2 and "region.update" in export.after["query"]

    client.force_login(personas["grid_member"])
    assert client.get(reverse("system:audit_export")).status_code == 403
    client.logout()
    assert client.get(reverse("system:audit_export")).status_code == 302


# ---------------------------------------------------------------- 岗位与人员


def test_post_sorts_change_the_order(client, county, personas):
    client.force_login(personas["township_office"])
    default = page_of(client, "system:posts")
    paths = [post.region.path for post in default]
    assert paths == sorted(paths) and default[0].region == county.taiping  # 太平镇 itself before its villages
    by_name = [post.user.username for post in page_of(client, "system:posts", sort="name")]
    assert by_name == sorted(by_name) and by_name != [post.user.username for post in default]
    by_role = [post.role_id for post in page_of(client, "system:posts", sort="role")]
    assert by_role == sorted(by_role) and by_role != [post.role_id for post in default]
    newcomer, _ = services.ensure_user("newcomer")
    services.create_post(user=newcomer, role=Role.objects.get(key="grid_member"), region=county.grid2,
                         start_date=timezone.localdate() - datetime.timedelta(days=1))
    Post.objects.exclude(user=newcomer).update(start_date=timezone.localdate() - datetime.timedelta(days=30))
    assert page_of(client, "system:posts", sort="newest")[0].user == newcomer
    assert page_of(client, "system:posts")[0].user != newcomer


def test_post_export_is_the_roster_of_the_list_and_is_scoped(client, county, personas):
    client.force_login(personas["township_office"])
    query = {"region": "楼星村", "sort": "name"}
    shown = page_of(client, "system:posts", **query)
    rows = sheet_rows(client.get(reverse("system:post_export"), query))
    header, body = rows[0], rows[1:]
    assert header == ["姓名", "账号", "角色", "区域", "部门", "任职起", "任职止", "状态"]
    assert [row[1] for row in body] == [post.user.username for post in shown]
    assert [row[1] for row in body] == sorted(["grid_member", "grid_leader", "grid_instructor", "village_cadre"])
    assert all(row[7] == "在任" and "楼星村" in row[3] for row in body)
    assert body[0][5] == f"{shown[0].start_date:%Y-%m-%d}"
    everyone = [row[1] for row in sheet_rows(client.get(reverse("system:post_export")))[1:]]
    assert "township_office" in everyone and "inspection_group" not in everyone and "county_office" not in everyone
    entry = AuditEntry.objects.filter(action="grid.post.export").order_by("id").first()
    assert entry.actor == personas["township_office"] and entry.after["rows"] == 4

    client.force_login(personas["grid_member"])
    assert client.get(reverse("system:post_export")).status_code == 403


# ---------------------------------------------------------------- my jobs, my inbox


def test_my_jobs_filter_by_status_and_sort(client, personas):
    owner = personas["township_office"]
    done = Job.objects.create(kind=EVENT_EXPORT, owner=owner, title="已完成的导出", status=Job.Status.SUCCEEDED)
    running = Job.objects.create(kind=EVENT_EXPORT, owner=owner, title="进行中的导出", status=Job.Status.RUNNING)
    failed = Job.objects.create(kind=EVENT_EXPORT, owner=owner, title="失败的导入", status=Job.Status.FAILED)
    Job.objects.create(kind=EVENT_EXPORT, owner=personas["county_office"], title="别人的", status=Job.Status.RUNNING)
    client.force_login(owner)
    assert page_of(client, "jobs:list") == [failed, running, done]
    assert page_of(client, "jobs:list", sort="oldest") == [done, running, failed]
    assert page_of(client, "jobs:list", status="running") == [running]
    assert page_of(client, "jobs:list", status="open") == [running]
    assert page_of(client, "jobs:list", status="failed", sort="oldest") == [failed]
    response = client.get(reverse("jobs:list"), {"status": "nope"})
    assert response.status_code == 200 and "选择一个有效的选项" in response.content.decode()


def test_inbox_unread_only_and_search(client, personas):
    member = personas["grid_member"]
    read = notify(member, kind="task", title="事件待处置", body="第1网格乱堆乱放")
    mark_read(member, ids=[read.pk])
    supervision = notify(member, kind="supervision", title="督办：事件超期", body="请尽快处置占道经营")
    notify(personas["grid_leader"], kind="task", title="别人的督办")
    client.force_login(member)
    assert page_of(client, "inbox") == [supervision, read]
    assert page_of(client, "inbox", unread="on") == [supervision]
    assert page_of(client, "inbox", q="乱堆") == [read]  # the body
    assert page_of(client, "inbox", q="督办") == [supervision]  # the title, never another's
    assert page_of(client, "inbox", q="督办", unread="on") == [supervision]
    assert page_of(client, "inbox", q="乱堆", unread="on") == []


def test_audit_list_shows_chinese_action_names_and_finds_them(client, trail):
    client.force_login(trail)
    by_name = [entry.pk for entry in page_of(client, "system:audit", action="修改区域")]
    by_code = [entry.pk for entry in page_of(client, "system:audit", action="region.update")]
    assert by_name and by_name == by_code
    page = client.get(reverse("system:audit"), {"action": "修改区域"}).content.decode()
    assert '<td data-label="操作" title="region.update">修改区域</td>' in page
    assert ">region.update<" not in page  # the code is no longer printed in the cell
