"""One long document as a job: the download link starts it, its page shows 排队中 / 生成中 N% / 已完成 and
the file, only to the user who asked while they may still see the document."""

from __future__ import annotations

import datetime
import io
import re
import shutil
import subprocess
import tempfile

import pytest
from django.urls import reverse
from docx import Document

from governance import pdf
from governance.models import AuditEntry
from grid import services
from inspection.patrol import circulars
from inspection.patrol.job_kinds import CIRCULAR_DOCUMENT
from jobs.models import Job
from jobs.runner import start_job
from rectification import notices
from rectification.imports import import_rectification
from rectification.job_kinds import NOTICE_DOCUMENT

from .conftest import download, status_of, xlsx_upload

TITLE = "太平镇大巡查工作2026年1月考评情况通报"


def circular_query(county, **extra):
    return {"township": county.taiping.pk, "kind": "month", "month": "2026-01", **extra}


def ask_for_circular(start, user, county, fmt="pdf"):
    return start(user, "get", reverse("patrol:circular_download", args=[fmt]), circular_query(county))


def file_of(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("需要 poppler-utils 的 pdftotext")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(content)
        handle.flush()
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", handle.name, "-"], capture_output=True, check=True)
    return "".join(out.stdout.decode("utf-8").split())


def test_circular_pdf_link_starts_a_job_whose_page_offers_the_same_document(client, start, county, personas):
    office = personas["township_office"]
    response, job = ask_for_circular(start, office, county)

    assert job.kind == CIRCULAR_DOCUMENT and job.owner == office
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "已完成" in page and f"下载结果：{TITLE}.pdf" in page
    state = status_of(client, office, job)
    assert (state["status_label"], state["percent"], state["result_name"]) == ("已完成", 100, f"{TITLE}.pdf")

    result = download(client, office, job)
    assert result["Content-Type"] == "application/pdf"
    data = circulars.build_month_circular(county.taiping, datetime.date(2026, 1, 1))
    assert pdf_text(file_of(result)) == pdf_text(circulars.render_pdf(data))  # the same document as before
    assert AuditEntry.objects.filter(action="patrol_circular.export", after__format="pdf").count() == 1


def test_circular_word_file_is_a_job_too_and_the_spreadsheet_downloads_at_once(client, start, county, personas):
    office = personas["township_office"]
    _, job = ask_for_circular(start, office, county, fmt="docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(file_of(download(client, office, job)))).paragraphs)
    assert TITLE in text
    response, none = ask_for_circular(start, office, county, fmt="xlsx")
    assert none is None and response.status_code == 200 and response.content.startswith(b"PK")


@pytest.mark.parametrize("who", ["township_committee", "village_cadre", "outsider"])
def test_another_user_cannot_open_the_job_its_progress_or_its_file(client, start, county, personas, who):
    _, job = ask_for_circular(start, personas["township_office"], county)
    client.force_login(personas[who])
    for name in ("jobs:detail", "jobs:status", "jobs:result"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404, name


def test_a_user_who_may_not_see_the_circular_starts_no_job(client, start, county, personas):
    response, job = ask_for_circular(start, personas["village_cadre"], county)  # not published: 404
    assert response.status_code == 404 and job is None
    response, job = ask_for_circular(start, personas["outsider"], county)
    assert response.status_code == 403 and job is None


def test_the_job_page_shows_queued_then_generating_with_its_percent(client, county, personas):
    office = personas["township_office"]
    job = start_job(kind=CIRCULAR_DOCUMENT, owner=office, region=county.taiping, title="生成通报（PDF）",
                    params={"township": county.taiping.pk, "kind": "month", "period": "2026-01", "format": "pdf"})
    client.force_login(office)
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "排队中" in page and 'http-equiv="refresh"' in page and "jobs/progress.js" in page
    assert "cdn" not in page.lower()

    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, done=1, total=3, stage="排版")
    state = status_of(client, office, job)
    assert (state["status_label"], state["percent"], state["stage"], state["finished"]) == ("生成中", 33, "排版", False)
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "生成中" in page and "33" in page and "下载结果" not in page


def test_a_second_click_while_it_runs_opens_the_same_job(client, county, personas):
    office = personas["township_office"]
    client.force_login(office)
    first = client.get(reverse("patrol:circular_download", args=["pdf"]), circular_query(county))
    second = client.get(reverse("patrol:circular_download", args=["pdf"]), circular_query(county))
    assert first["Location"] == second["Location"] and Job.objects.count() == 1  # not run: on_commit not executed


def test_a_failed_document_says_why_in_chinese(client, start, county, personas, monkeypatch):
    def broken(html, **kwargs):
        raise RuntimeError("font missing")

    monkeypatch.setattr(pdf, "html_to_pdf", broken)
    monkeypatch.setattr(circulars, "html_to_pdf", broken)
    office = personas["township_office"]
    _, job = ask_for_circular(start, office, county)
    state = status_of(client, office, job)
    assert state["status"] == "failed" and state["result_url"] == ""
    assert re.search(r"[\u4e00-\u9fff]", state["summary"]) and "font missing" not in state["summary"]
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "失败" in page and state["summary"] in page


# ---------------------------------------------------------------- a rectification notice

RECT_HEADER = ["序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施"]


@pytest.fixture
def draft(county, personas, tmp_path):
    rows = [RECT_HEADER, [1, "聚焦党的理论路线", "学习贯彻", "理论学习不深入", "已制定学习计划", "已整改", "张书记", "党政办",
                          "2024-12-31", "", ""]]
    path = tmp_path / "plan.xlsx"
    path.write_bytes(xlsx_upload(rows).read())
    plan = import_rectification(path, organisation=county.taiping, round="十五届县委第二轮巡察",
                                inspected="2024-04-08:2024-05-20", feedback_date="2024-06-25").plan
    return notices.create_draft(plan, by=personas["township_committee"])


def test_notice_pdf_is_a_job_for_the_committee_and_nobody_else(client, start, personas, draft):
    committee = personas["township_committee"]
    response, job = start(committee, "get", reverse("rectification:notice_download", args=[draft.pk, "pdf"]))
    assert response.status_code == 302 and job.kind == NOTICE_DOCUMENT
    content = file_of(download(client, committee, job))
    assert "理论学习不深入" in pdf_text(content)
    for who in ("grid_member", "outsider", "county_office"):  # county_office may see the plan, not this job
        assert download(client, personas[who], job).status_code == 404
    response, none = start(committee, "get", reverse("rectification:notice_download", args=[draft.pk, "html"]))
    assert response.status_code == 200 and none is None


def test_the_job_closes_when_its_owner_loses_sight_of_the_notice(client, start, personas, draft):
    committee = personas["township_committee"]
    _, job = start(committee, "get", reverse("rectification:notice_download", args=[draft.pk, "docx"]))
    assert download(client, committee, job).status_code == 200
    for post in committee.posts.all():
        services.end_post(post)
    client.force_login(committee)
    assert client.get(reverse("jobs:detail", args=[job.pk])).status_code == 404
    assert download(client, committee, job).status_code == 404
