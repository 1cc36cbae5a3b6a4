"""Kinds of job come from the apps' job_kinds modules: jobs/ names none, pages show the registered label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from jobs import kinds
from jobs.models import Job
from rectification.job_kinds import RECTIFICATION_IMPORT

pytestmark = pytest.mark.django_db

APP_KINDS = {
    "event_export": "导出网格事件",
    "rectification_import": "导入整改方案",
    "notice_batch": "批量生成整改进展情况通报",
    "notice_document": "生成整改进展情况通报",
    "patrol_catalog_import": "导入巡查目录",
    "patrol_reports_import": "导入村（居）历史上报",
    "patrol_findings_import": "导入巡查发现问题",
    "circular_batch": "批量生成各村考评通报",
    "circular_document": "生成考评通报",
    "round_report_document": "生成巡察报告",
    "village_ledger_export": "导出村级巡查工作台账",
    "department_book_export": "导出部门登记备案台账",
}


def test_the_kind_field_has_no_choices_and_the_jobs_package_names_no_kind():
    assert not Job._meta.get_field("kind").choices
    source = "\n".join(path.read_text(encoding="utf-8") for path in Path("jobs").rglob("*.py")
                       if "migrations" not in path.parts)
    assert not [key for key in APP_KINDS if key in source]
    assert not re.search(r"class Kind\b", source)


def test_every_app_kind_is_registered_with_its_chinese_label():
    assert {kind.key: kind.label for kind in kinds.registered()} == APP_KINDS


def test_job_pages_show_the_registered_label_and_never_a_raw_key(client, personas):
    owner = personas["county_office"]
    job = Job.objects.create(kind=RECTIFICATION_IMPORT, owner=owner, title="太平镇：整改方案")
    gone = Job.objects.create(kind="retired_kind", owner=owner, title="旧任务")
    client.force_login(owner)
    detail = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "<dt>类型</dt><dd>导入整改方案</dd>" in detail
    listing = client.get(reverse("jobs:list")).content.decode()
    assert '<td data-label="类型">导入整改方案</td>' in listing
    assert '<td data-label="类型">后台任务</td>' in listing and "retired_kind" not in listing
    assert gone.get_kind_display() == "后台任务"


def test_a_kind_without_a_label_is_refused_at_registration():
    with pytest.raises(ValueError):
        kinds.register("nameless", lambda job, progress: None, label="")
