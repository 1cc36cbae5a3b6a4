"""Control characters, text-direction overrides and invisible-only text are refused on every text input
(web forms, the admin, the API, Open311, imports) with a Chinese message; and every page, export,
document and API answer survives such characters already stored (older databases hold them)."""

from __future__ import annotations

import datetime
import importlib
import io
import json
import pkgutil
import zipfile
from xml.etree import ElementTree

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from governance import audit
from governance.input_rules import printable, text_problem
from grid.models import Event

PROJECT_PACKAGES = ("governance", "grid", "inspection", "rectification", "api", "jobs", "workflows", "config")
SKIPPED_MODULES = (".migrations", ".management", "config.settings", "config.wsgi", "config.asgi",
                   "governance.celery")
BEL = "甲\x07乙"
# Every C0 and C1 control character but NUL (which PostgreSQL refuses to store), and the bidi overrides.
# ...and non-characters XML cannot hold (U+FFFE, U+FFFF) or that are no characters at all (U+FDD0).
CONTROLS = "".join(chr(code) for code in (*range(0x01, 0x20), *range(0x7F, 0xA0))) + "\u202e\u2066\ufffe\uffff\ufdd0"


def project_modules():
    for package_name in PROJECT_PACKAGES:
        package = importlib.import_module(package_name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if any(part in info.name or info.name.startswith(part) for part in SKIPPED_MODULES):
                continue
            yield importlib.import_module(info.name)


def subclasses(base):
    found, todo = set(), [base]
    while todo:
        for cls in todo.pop().__subclasses__():
            if cls not in found:
                found.add(cls)
                todo.append(cls)
    return found


def project_classes(base):
    list(project_modules())
    return sorted((cls for cls in subclasses(base) if cls.__module__.split(".")[0] in PROJECT_PACKAGES),
                  key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


# ---------------------------------------------------------------- every input refuses


def test_every_form_of_the_project_refuses_control_characters_in_each_text_field(db):
    classes = project_classes(forms.BaseForm)
    assert len(classes) > 80
    checked, accepted = 0, []
    for cls in classes:
        for name, field in cls.base_fields.items():
            if isinstance(field, forms.CharField):
                checked += 1
                try:
                    field.clean(BEL)
                except ValidationError:
                    continue
                accepted.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert checked > 100
    assert not accepted, accepted


def test_every_admin_form_refuses_control_characters(db):
    request = RequestFactory().get("/admin/")
    request.user = User(username="root", is_superuser=True, is_staff=True)
    accepted = []
    for model, model_admin in admin.site._registry.items():
        form = model_admin.get_form(request)
        for name, field in form.base_fields.items():
            if isinstance(field, forms.CharField) and not isinstance(field, forms.JSONField):
                try:
                    field.clean(BEL)
                except ValidationError:
                    continue
                accepted.append(f"{model.__name__}.{name}")
    assert not accepted, accepted


def test_every_serializer_of_the_api_refuses_control_characters(db):
    classes = project_classes(serializers.BaseSerializer)
    assert len(classes) > 20
    checked, accepted = 0, []
    for cls in classes:
        if issubclass(cls, serializers.ListSerializer):
            continue
        for name, field in cls().fields.items():
            if isinstance(field, serializers.CharField) and not field.read_only:
                checked += 1
                try:
                    field.run_validation(BEL)
                except serializers.ValidationError:
                    continue
                accepted.append(f"{cls.__qualname__}.{name}")
    assert checked > 10
    assert not accepted, accepted


def test_a_nul_character_gets_the_control_character_message_in_forms_and_the_api(db):
    """Django's and DRF's own NUL check would answer first, with a Chinese that reads as if the text
    were empty; every text field gives the project's message instead."""
    nul, message = "甲\x00乙", "不能包含控制字符（U+0000）"
    wrong = []
    for cls in project_classes(forms.BaseForm):
        for name, field in cls.base_fields.items():
            if isinstance(field, forms.CharField) and not isinstance(field, forms.JSONField):
                with pytest.raises(ValidationError) as refused:
                    field.clean(nul)
                if not any(message in text for text in refused.value.messages):
                    wrong.append((f"{cls.__qualname__}.{name}", refused.value.messages))
    for cls in project_classes(serializers.BaseSerializer):
        if issubclass(cls, serializers.ListSerializer):
            continue
        for name, field in cls().fields.items():
            if isinstance(field, serializers.CharField) and not field.read_only:
                with pytest.raises(serializers.ValidationError) as refused:
                    field.run_validation(nul)
                if message not in str(refused.value.detail):
                    wrong.append((f"{cls.__qualname__}.{name}", refused.value.detail))
    assert not wrong, wrong[:5]


@pytest.mark.parametrize(("text", "long_text", "message"), [
    ("违建\x1b[31m", False, "控制字符（U+001B）"),
    ("违建\x0b", True, "控制字符（U+000B）"),
    ("\u202etxt.exe", False, "文字方向控制字符（U+202E）"),
    ("违建\ufffe", False, "无效字符（U+FFFE）"),
    ("违建\ud800", True, "无效字符（U+D800）"),
    ("一行\n两行", False, "只能填写一行"),
    ("\u200b\u3000\u2800", False, "不能只填写空格或不可见字符"),
    ("甲" * 5001, True, "不能超过 5000 个字"),
])
def test_the_rule_explains_each_refusal_in_chinese(text, long_text, message):
    assert message in text_problem(text, long_text=long_text)


def test_long_text_keeps_tabs_and_line_breaks():
    assert text_problem("第一段\r\n\t第二段", long_text=True) is None


def test_event_report_page_refuses_a_title_with_bel_and_an_invisible_title(client, county, personas, category):
    client.force_login(personas["grid_member"])
    data = {"idempotency_key": "k1", "region": county.grid1.pk, "category": category.pk, "title": "村口\x07违建",
            "description": "村口新建棚舍\n占道", "urgency": "normal", "source": "patrol",
            "occurred_at": (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    response = client.post(reverse("grid:event_report"), data)
    assert "不能包含控制字符（U+0007）" in response.content.decode()
    response = client.post(reverse("grid:event_report"), {**data, "title": "\u200b\u200b"})
    assert "不能只填写空格或不可见字符" in response.content.decode()
    assert not Event.objects.exists()


def test_api_refuses_an_escape_in_the_title_in_its_error_shape(county, personas, category):
    client = APIClient()
    client.force_authenticate(personas["grid_member"])
    response = client.post(reverse("api:events"), {
        "region": county.grid1.pk, "category": category.pk, "title": "违建\x1b", "description": "描述",
        "occurred_at": timezone.now().isoformat(), "idempotency_key": "api-1"}, format="json")
    assert response.status_code == 400
    assert "标题：不能包含控制字符（U+001B）" in response.json()["errors"][0]
    assert not Event.objects.exists()


def test_api_refuses_a_lone_surrogate_sent_as_a_json_escape(county, personas, category):
    """JSON can spell a half of a UTF-16 pair ("\\ud800"): no character at all, which no database or
    document could store. It is refused like a control character, not a 500."""
    client = APIClient()
    client.force_authenticate(personas["grid_member"])
    fields = {"region": county.grid1.pk, "category": category.pk, "title": "违建", "description": "描述",
              "occurred_at": timezone.now().isoformat(), "idempotency_key": "api-2"}
    body = json.dumps(fields, ensure_ascii=True).replace("\\u8fdd\\u5efa", "\\u8fdd\\u5efa\\ud800")
    response = client.post(reverse("api:events"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("标题：") and "U+D800" in response.json()["errors"][0]
    assert not Event.objects.exists()


def test_open311_refuses_a_vertical_tab_in_the_description(county, personas, category):
    from api import credentials

    _, key = credentials.create_open311_client(by=None, name="热线", jurisdiction=county.county)
    response = APIClient().post(reverse("open311:requests", kwargs={"fmt": "json"}), {
        "api_key": key, "service_code": "T01", "lat": "30.005", "long": "120.005", "description": "占道\x0b经营"})
    assert response.status_code == 400 and "不能包含控制字符（U+000B）" in str(response.json())
    assert not Event.objects.exists()


def test_an_import_row_with_a_control_character_is_reported_with_its_row_number(tmp_path):
    from governance.tabular import ImportFailed, read_table

    path = tmp_path / "rows.csv"
    path.write_text("名称,说明\n甲,正常\n乙\x07,正常\n丙,可以\n换行\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        read_table(path, required=["名称"], optional=["说明"])
    assert [str(error) for error in failed.value.errors] == ["第 3 行：“名称”列不能包含控制字符（U+0007），请删除后重新输入（常见于从其他软件复制的文字）。"]


def test_printable_keeps_line_breaks_and_replaces_the_rest():
    assert printable("a\x07b\tc\nd\u202ee\x85\uffff\ud800") == "a\ufffdb\tc\nde\ufffd\ufffd\ufffd"


# ---------------------------------------------------------------- every writer survives stored controls


@pytest.fixture(scope="module")
def poisoned_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The URL walker's county A, then every text of its event, findings, rectification item, a talk, a
    letter and an audit entry overwritten in the database (no form) with every control character."""
    from django.conf import settings
    from django.db import transaction

    from .world import build_world

    media = tmp_path_factory.mktemp("media")
    old_media = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = media
    with django_db_blocker.unblock():
        with transaction.atomic():
            import config.urls  # noqa: F401 — viewflow's Node.reverse() needs the URLconf

            w = build_world()
            texts = {
                "event": ("title", "description", "address"),
                "inspection_finding": ("title", "description", "people_involved", "suggestion"),
                "finding_with_photo": ("title", "description"),
                "patrol_finding": ("location", "description"),
                "patrol_report": ("location", "description"),
                "item": ("title", "description", "category", "subcategory", "measures", "result", "responsible_leader",
                     "responsible_unit", "unfinished_reason", "next_steps"),
                "talk": ("interviewee", "summary"),
                "letter": ("subject", "body"),
                "plan": ("next_plan",),
            }
            for name, fields in texts.items():
                record = w.a[name]
                model_fields = {f.name for f in record._meta.get_fields()}
                values = {field: f"{name}{CONTROLS}{field}" for field in fields if field in model_fields}
                type(record).objects.filter(pk=record.pk).update(**values)
            w.a["event"].category.__class__.objects.filter(pk=w.a["event"].category_id).update(name=f"类别{CONTROLS}")
            type(w.county.agriculture).objects.filter(pk=w.county.agriculture.pk).update(name=f"农业{CONTROLS}办")
            audit.record("event.update", actor=w.insiders["county_office"], obj=w.a["event"],
                         after={"title": f"标题{CONTROLS}"}, region_path=w.county.grid1.path)
            from api import credentials
            from api.models import Open311Request

            open311_client, key = credentials.create_open311_client(by=None, name="热线", jurisdiction=w.county.county)
            Open311Request.objects.create(event=w.a["event"], client=open311_client, contact=f"联系人{CONTROLS}")
            w.a["open311_key"] = key
            yield w
            transaction.set_rollback(True)
    settings.MEDIA_ROOT = old_media


def parses(response) -> str:
    """'' when the answer is a well-formed document of its type, else what is wrong."""
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    kind = response.get("Content-Type", "")
    try:
        if content.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                for name in archive.namelist():
                    if name.endswith((".xml", ".rels")):
                        ElementTree.fromstring(archive.read(name))
            if "spreadsheet" in kind:
                from openpyxl import load_workbook

                load_workbook(io.BytesIO(content))
            elif "word" in kind:
                from docx import Document

                Document(io.BytesIO(content))
        elif "json" in kind:
            json.loads(content)
        elif "xml" in kind:
            ElementTree.fromstring(content)
        elif "pdf" in kind:
            assert content.startswith(b"%PDF")
    except Exception as exc:  # noqa: BLE001 — any failure to parse is the finding
        return f"{type(exc).__name__}: {exc}"
    return ""


INSIDERS = ("county_office", "township_committee", "group_leader")


@pytest.mark.django_db
def test_every_page_export_document_and_api_answer_survives_stored_control_characters(poisoned_world):
    from .test_url_walk import CASES, OBJECT, PAGE, walked_names

    w = poisoned_world
    problems = []
    for visitor in INSIDERS:
        client = Client(raise_request_exception=False)
        client.force_login(w.insiders[visitor])
        for name in walked_names()[0]:
            case = CASES.get(name)
            if case is None or case.kind not in (OBJECT, PAGE) or name.startswith("admin"):
                continue
            for kwargs, query_string in case.variants(w):
                url = reverse(name, kwargs=kwargs) + (f"?{query_string}" if query_string else "")
                response = client.get(url)
                if response.status_code >= 500:
                    problems.append(f"{visitor} GET {url}: {response.status_code}")
                elif response.status_code == 200 and (problem := parses(response)):
                    problems.append(f"{visitor} GET {url}: {problem}")
    # The ledger exports with a full period (the walk's variants stop at the period form).
    period = f"start={timezone.localdate().replace(month=1, day=1)}&end={timezone.localdate()}"
    office = Client(raise_request_exception=False)
    office.force_login(w.insiders["township_office"])
    for url in (f"{reverse('patrol:book_export')}?department={w.county.agriculture.pk}&{period}",
                f"{reverse('patrol:ledger_export')}?village={w.county.louxing.pk}&{period}"):
        response = office.get(url)
        assert response.status_code == 200 and not parses(response), (url, response.status_code, parses(response))
    for fmt in ("json", "xml"):
        response = APIClient().get(reverse("open311:request_detail", kwargs={"fmt": fmt,
                                                                           "request_id": w.a["event"].pk}),
                                   {"api_key": w.a["open311_key"]})
        assert response.status_code == 200 and not parses(response), (fmt, parses(response))
    assert not problems, "\n".join(problems)

