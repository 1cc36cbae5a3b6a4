"""The shared list tools: a choice of order and the audited, formula-safe .xlsx of a list."""

import datetime
import io
from decimal import Decimal

import pytest
from django import forms
from openpyxl import load_workbook

from governance.listing import FilterForm, ListSelect, Sorts, xlsx_export
from governance.models import AuditEntry

SORTS = Sorts(("最新在前", ("-id",)), oldest=("最早在前", ("id",)))


def test_sorts_default_and_unknown_key_fall_back_to_the_first_order():
    assert SORTS.ordering("") == ("-id",)
    assert SORTS.ordering("oldest") == ("id",)
    assert SORTS.ordering("nonsense") == ("-id",)
    field = SORTS.field()
    assert [label for _key, label in field.choices] == ["最新在前", "最早在前"]
    assert SORTS.keys() == ["oldest"]


@pytest.mark.django_db
def test_xlsx_export_writes_rows_safely_audits_and_says_when_cut(django_user_model):
    user = django_user_model.objects.create_user("exporter", password="x")
    rows = [[1, "=HYPERLINK(\"http://evil\")", Decimal("1.5"), True, datetime.date(2026, 1, 2)],
            [2, "普通文字", None, False, None],
            [3, "第三行", None, False, None]]
    response = xlsx_export(rows=rows, headers=["编号", "标题", "数值", "超期", "日期"], sheet_title="测试",
                           filename="测试清单", by=user, action="test.export", about=None, query="a=1", limit=2)
    assert response["X-Export-Truncated"] == "2"
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["编号", "标题", "数值", "超期", "日期"]
    assert values[1][1] == "=HYPERLINK(\"http://evil\")" and sheet.cell(2, 2).data_type == "s"
    assert values[1][2] == 1.5 and values[1][3] == "是"
    assert [row[0] for row in values[1:3]] == [1, 2]
    assert "仅导出前 2 行" in values[3][0]
    entry = AuditEntry.objects.get(action="test.export")
    assert entry.actor == user and entry.after["rows"] == 2 and entry.after["truncated"] is True


@pytest.mark.django_db
def test_an_export_is_read_by_the_auditors_of_the_exporters_region_not_by_others(county, personas, client):
    """An export has no record of its own: its audit entry belongs to the exporter's broadest region."""
    from django.urls import reverse

    from grid import services
    from grid.models import Role

    exporter = personas["township_committee"]  # 太平镇
    services.create_post(user=exporter, role=Role.objects.get(key="village_cadre"), region=county.louxing)
    xlsx_export(rows=[[1]], headers=["编号"], sheet_title="测试", filename="测试", by=exporter, action="test.export",
                about=None)
    entry = AuditEntry.objects.get(action="test.export")
    assert entry.region_path == county.taiping.path  # the township, not the village post it also holds

    client.force_login(personas["township_office"])  # an auditor of 太平镇
    assert "test.export" in client.get(reverse("system:audit")).content.decode()
    other_auditor, _ = services.ensure_user("zhaocun_office", password="Test@2026pw")
    services.create_post(user=other_auditor, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    client.force_login(other_auditor)  # an auditor of the neighbouring township
    page = client.get(reverse("system:audit"))
    assert page.status_code == 200 and "test.export" not in page.content.decode()


def test_filter_selects_are_drawn_in_python_with_the_markup_of_djangos_select():
    class Form(FilterForm):
        plan = forms.TypedChoiceField(label="方案", required=False, coerce=int, empty_value=None,
                                      choices=[("", "全部"), (1, "甲<村>方案"), (2, "乙村 & 丙村")])
        grouped = forms.ChoiceField(label="分组", required=False, choices=[("地区", [("a", "东"), ("b", "西")])])
        # None stands for "", and only the first option of a repeated value is selected, as in Django's
        twice = forms.ChoiceField(label="重复", required=False, choices=[(None, "无"), ("x", "甲"), ("x", "又一个甲")])

    form = Form({"plan": "2", "grouped": "b", "twice": "x"})
    assert isinstance(form.fields["plan"].widget, ListSelect)
    for name in ("plan", "grouped", "twice"):
        field = form[name]
        plain = forms.Select(choices=form.fields[name].choices).render(field.html_name, field.value(),
                                                                        {"id": field.auto_id})
        drawn = str(field)
        assert " ".join(drawn.split()) == " ".join(plain.replace("\n", "").split()).replace("> <", "><")
    assert '<option value="2" selected>乙村 &amp; 丙村</option>' in str(form["plan"])
    assert "甲&lt;村&gt;方案" in str(form["plan"])
