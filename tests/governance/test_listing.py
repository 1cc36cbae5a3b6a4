"""The shared list tools: a choice of order and the audited, formula-safe .xlsx of a list."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from governance.listing import Sorts, xlsx_export
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
                           filename="测试清单", by=user, action="test.export", query="a=1", limit=2)
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
