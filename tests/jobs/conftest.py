"""Fixtures of the job tests: media in a temporary folder, a helper that starts a job through a page
and lets its task run (in-process, as in the embedded run), and file builders."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.models import Job


@pytest.fixture(autouse=True)
def _files_in_tmp(media_in_tmp):
    """Every test in this folder keeps its files in its own folder."""


@pytest.fixture
def start(client, django_capture_on_commit_callbacks):
    """start(user, method, url, data) → (response, job): the page call with its on-commit work run."""

    def call(user, method: str, url: str, data=None, **extra):
        client.force_login(user)
        before = Job.objects.order_by("-id").values_list("id", flat=True).first() or 0
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client, method)(url, data or {}, **extra)
        job = Job.objects.filter(id__gt=before).order_by("id").first()
        return response, job

    return call


def status_of(client, user, job) -> dict:
    client.force_login(user)
    response = client.get(reverse("jobs:status", args=[job.pk]))
    assert response.status_code == 200
    return response.json()


def download(client, user, job):
    client.force_login(user)
    return client.get(reverse("jobs:result", args=[job.pk]))


def zip_names(response) -> list[str]:
    content = b"".join(response.streaming_content)
    return sorted(zipfile.ZipFile(io.BytesIO(content)).namelist())


def zip_text(response, name: str) -> str:
    content = b"".join(response.streaming_content)
    return zipfile.ZipFile(io.BytesIO(content)).read(name).decode("utf-8")


def csv_upload(rows, name="file.csv"):

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")


def xlsx_upload(rows, name="file.xlsx"):

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def sheet_rows(response) -> list[tuple]:
    content = b"".join(response.streaming_content)
    return list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
