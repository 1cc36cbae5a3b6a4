"""Batches of documents as one ZIP: all villages' circulars of a period, all notices of a round."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from governance.models import AuditEntry
from inspection.patrol import circulars
from inspection.patrol.job_kinds import CIRCULAR_BATCH
from rectification import notices
from rectification.imports import import_rectification
from rectification.job_kinds import NOTICE_BATCH

from .conftest import download, status_of, xlsx_upload, zip_names, zip_text

TITLE = "太平镇大巡查工作2026年1月考评情况通报"


def start_circulars(start, user, county, fmt="xlsx"):
    return start(user, "post", reverse("patrol:circular_batch"),
                 {"township": county.taiping.pk, "kind": "month", "month": "2026-01", "format": fmt})


def test_township_office_gets_the_township_and_every_village_circular_in_one_zip(client, start, county, personas):
    office = personas["township_office"]
    response, job = start_circulars(start, office, county)

    assert response.status_code == 302 and job.kind == CIRCULAR_BATCH
    state = status_of(client, office, job)
    assert (state["status"], state["done"], state["total"]) == ("succeeded", 3, 3)
    assert state["result_url"] == reverse("jobs:result", args=[job.pk])
    result = download(client, office, job)
    assert result["Content-Type"] == "application/zip"
    assert zip_names(result) == sorted([f"{TITLE}.xlsx", f"{TITLE}（楼星村）.xlsx", f"{TITLE}（大楼村）.xlsx",
                                        "生成情况.txt"])
    export = AuditEntry.objects.get(action="patrol_circular.export")
    assert export.after["batch"] is True and export.after["documents"] == 3
    for who in ("township_committee", "village_cadre"):
        assert download(client, personas[who], job).status_code == 404


def test_a_village_circular_holds_only_that_village(client, start, county, personas):


    office = personas["township_office"]
    _, job = start_circulars(start, office, county)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download(client, office, job).streaming_content)))
    sheet = openpyxl.load_workbook(io.BytesIO(archive.read(f"{TITLE}（大楼村）.xlsx")))["排名"]
    villages = [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert villages == ["大楼村"]


def test_a_document_that_fails_is_listed_and_the_rest_delivered(client, start, county, personas, monkeypatch):

    real_render = circulars.render

    def render(data, fmt):
        if data["title"].endswith("（楼星村）"):
            raise ValueError("模板缺少字段")
        return real_render(data, fmt)

    monkeypatch.setattr(circulars, "render", render)
    office = personas["township_office"]
    _, job = start_circulars(start, office, county)

    state = status_of(client, office, job)
    assert state["status"] == "partly_failed" and state["done"] == 3
    assert state["errors"] == [{"row": None, "item": f"{TITLE}（楼星村）.xlsx", "message": "生成失败：模板缺少字段"}]
    result = download(client, office, job)
    assert f"{TITLE}（楼星村）.xlsx" not in zip_names(result)
    assert "生成失败 1 份" in zip_text(download(client, office, job), "生成情况.txt")
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "部分失败" in page and "模板缺少字段" in page and "下载结果" in page


def test_village_cadres_cannot_batch_live_circulars(client, start, county, personas):
    response, job = start_circulars(start, personas["village_cadre"], county)
    assert response.status_code == 422 and job is None
    client.force_login(personas["outsider"])
    assert client.get(reverse("patrol:circular_batch")).status_code == 403


def test_a_pdf_batch_renders_real_pdfs(client, start, county, personas):
    office = personas["township_office"]
    _, job = start_circulars(start, office, county, fmt="pdf")

    archive = zipfile.ZipFile(io.BytesIO(b"".join(download(client, office, job).streaming_content)))
    assert archive.read(f"{TITLE}（楼星村）.pdf").startswith(b"%PDF")


# ---------------------------------------------------------------- notices of a round

RECT_HEADER = ["序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施"]


@pytest.fixture
def round_plans(county, personas, tmp_path):
    rows = [RECT_HEADER, [1, "聚焦党的理论路线", "学习贯彻", "理论学习不深入", "已制定学习计划", "已整改", "张书记", "党政办",
                          "2024-12-31", "", ""]]
    path = tmp_path / "plan.xlsx"
    path.write_bytes(xlsx_upload(rows).read())
    plans = []
    for organisation in (county.taiping, county.louxing, county.zhaocun):
        plans.append(import_rectification(path, organisation=organisation, round="十五届县委第二轮巡察",
                                          inspected="2024-04-08:2024-05-20", feedback_date="2024-06-25").plan)
    return plans


def start_notices(start, user, plans, fmt="docx"):
    return start(user, "post", reverse("rectification:notice_batch"), {"round": plans[0].round_id, "format": fmt})


def test_all_notices_of_a_round_the_user_may_see_in_one_zip(client, start, personas, round_plans):
    committee = personas["township_committee"]  # 太平镇: its own plan and its village's, not 赵村镇's
    response, job = start_notices(start, committee, round_plans)

    assert response.status_code == 302 and job.kind == NOTICE_BATCH
    state = status_of(client, committee, job)
    assert (state["status"], state["done"], state["total"]) == ("succeeded", 2, 2)
    names = zip_names(download(client, committee, job))
    assert len(names) == 3 and "生成情况.txt" in names
    assert any(name.startswith("太平镇_") and name.endswith(".docx") for name in names)
    assert any(name.startswith("楼星村_") for name in names) and not any("赵村镇" in name for name in names)

    _, county_job = start_notices(start, personas["county_office"], round_plans)
    assert status_of(client, personas["county_office"], county_job)["total"] == 3
    assert download(client, committee, county_job).status_code == 404


def test_a_notice_that_fails_is_listed_and_the_others_delivered(client, start, personas, round_plans, monkeypatch):

    real_render = notices.render

    def render(data, fmt):
        if "楼星村" in data["title"]:
            raise RuntimeError("字体缺失")
        return real_render(data, fmt)

    monkeypatch.setattr(notices, "render", render)
    committee = personas["township_committee"]
    _, job = start_notices(start, committee, round_plans)
    state = status_of(client, committee, job)
    assert state["status"] == "partly_failed"
    assert [error["message"] for error in state["errors"]] == ["生成失败：字体缺失"]
    assert state["errors"][0]["item"].startswith("楼星村_")
    assert len(zip_names(download(client, committee, job))) == 2  # 太平镇's notice and 生成情况.txt


def test_when_every_notice_fails_the_job_fails_without_a_file(client, start, personas, round_plans, monkeypatch):

    monkeypatch.setattr(notices, "render", lambda data, fmt: (_ for _ in ()).throw(RuntimeError("坏了")))
    committee = personas["township_committee"]
    _, job = start_notices(start, committee, round_plans)
    state = status_of(client, committee, job)
    assert state["status"] == "failed" and state["result_url"] == "" and len(state["errors"]) == 2
    assert download(client, committee, job).status_code == 404


def test_each_user_gets_the_notices_of_their_own_scope(client, start, personas, round_plans):
    group = personas["inspection_group"]  # posted at 赵村镇: sees 赵村镇's plan only
    _, job = start_notices(start, group, round_plans)
    state = status_of(client, group, job)
    assert (state["status"], state["total"]) == ("succeeded", 1)
    assert any(name.startswith("赵村镇_") for name in zip_names(download(client, group, job)))
    client.force_login(personas["outsider"])
    assert client.get(reverse("rectification:notice_batch")).status_code == 403
