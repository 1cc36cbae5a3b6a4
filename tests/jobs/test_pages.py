"""The job pages: progress without JavaScript, the JSON the progress bar polls, my jobs, menu links."""

from __future__ import annotations

from django.urls import reverse

from grid.job_kinds import EVENT_EXPORT
from jobs.models import Job

from .conftest import status_of


def make_job(user, **fields) -> Job:
    fields.setdefault("title", "导出网格事件（Excel）")
    return Job.objects.create(kind=EVENT_EXPORT, owner=user, **fields)


def test_a_running_job_page_refreshes_itself_without_javascript_and_polls_with_it(client, personas):
    job = make_job(personas["township_office"], status=Job.Status.RUNNING, done=1340, total=5200, stage="写入 Excel")
    client.force_login(personas["township_office"])
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "jobs/progress.js" in page and f'data-job-status-url="{reverse("jobs:status", args=[job.pk])}"' in page
    assert "进行中" in page and "1340" in page and "5200" in page and "width: 25%" in page
    assert "下载结果" not in page


def test_a_finished_job_page_stops_refreshing(client, personas):
    job = make_job(personas["township_office"], status=Job.Status.SUCCEEDED, done=3, total=3, summary="已导出 3 条。")
    client.force_login(personas["township_office"])
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page and 'data-job-finished="1"' in page and "已导出 3 条。" in page


def test_the_status_json_is_what_the_bar_needs_and_is_not_cached(client, personas):
    job = make_job(personas["township_office"], status=Job.Status.RUNNING, done=50, total=200, stage="写入 Excel",
                   errors=[{"row": 3, "item": "", "message": "坏行"}])
    client.force_login(personas["township_office"])
    response = client.get(reverse("jobs:status", args=[job.pk]))
    assert response["Cache-Control"] == "no-store"
    state = status_of(client, personas["township_office"], job)
    assert state == {
        "id": job.pk, "title": "导出网格事件（Excel）", "status": "running", "status_label": "进行中", "finished": False,
        "stage": "写入 Excel", "done": 50, "total": 200, "percent": 25, "summary": "", "error_count": 1,
        "errors": [{"row": 3, "item": "", "message": "坏行"}], "result_url": "", "result_name": "", "record_url": "",
    }


def test_my_jobs_lists_only_my_own(client, personas):
    mine = make_job(personas["township_office"], title="我的导出")
    make_job(personas["county_office"], title="别人的导出")
    client.force_login(personas["township_office"])
    page = client.get(reverse("jobs:list")).content.decode()
    assert "我的导出" in page and "别人的导出" not in page and reverse("jobs:detail", args=[mine.pk]) in page


def test_a_job_without_a_file_has_no_download(client, personas):
    job = make_job(personas["township_office"], status=Job.Status.FAILED)
    client.force_login(personas["township_office"])
    assert client.get(reverse("jobs:result", args=[job.pk])).status_code == 404


def test_anonymous_users_are_sent_to_the_login_form(client, personas):
    job = make_job(personas["township_office"])
    for name, args in (("jobs:list", []), ("jobs:detail", [job.pk]), ("jobs:status", [job.pk]),
                       ("jobs:result", [job.pk])):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_menu_links_show_where_users_would_look(client, personas):
    client.force_login(personas["township_office"])
    page = client.get(reverse("patrol:catalog")).content.decode()
    assert "导入大巡查数据" in page and "批量生成各村通报" in page
    client.force_login(personas["village_cadre"])  # reads published circulars only
    page = client.get(reverse("patrol:ledger")).content.decode()
    assert "批量生成各村通报" not in page and "导入大巡查数据" not in page
    client.force_login(personas["county_office"])
    page = client.get(reverse("rectification:plans")).content.decode()
    assert "导入整改方案" in page and "批量生成通报" in page
    client.force_login(personas["township_committee"])
    page = client.get(reverse("rectification:plans")).content.decode()
    assert "导入整改方案" not in page and "批量生成通报" in page
