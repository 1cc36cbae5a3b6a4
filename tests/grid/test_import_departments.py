import csv

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.models import AuditEntry
from governance.tabular import ImportFailed
from grid.imports import import_departments
from grid.models import Department

HEADER = ["名称", "所属区域"]


def write_csv(tmp_path, rows, *, encoding="utf-8-sig", name="departments.csv"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(tmp_path, rows, *, name="departments.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def counts():
    return Department.objects.count(), AuditEntry.objects.count()


def test_csv_import_creates_departments_at_full_and_short_paths(county, tmp_path):
    before = counts()
    path = write_csv(tmp_path, [
        HEADER,
        ["综治办", "某县/太平镇"],
        ["应急管理办", "太平镇"],
        ["公安局", "某县"],
        ["村务监督委员会", "太平镇/楼星村"],
    ])

    result = import_departments(path)

    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    assert set(county.taiping.departments.values_list("name", flat=True)) == {"农业农村办", "综治办", "应急管理办"}
    assert Department.objects.get(name="公安局").region == county.county
    assert Department.objects.get(name="村务监督委员会").region == county.louxing
    assert counts() == (before[0] + 4, before[1] + 4)
    assert AuditEntry.objects.latest("id").action == "department.create"


def test_xlsx_import_skips_existing_departments(county, tmp_path):
    path = write_xlsx(tmp_path, [HEADER, ["农业农村办", "太平镇"], ["农业农村办", "赵村镇"], [None, None]])

    result = import_departments(path)

    assert (result.created, result.unchanged) == (1, 1)
    assert Department.objects.filter(name="农业农村办").count() == 2
    assert Department.objects.get(name="农业农村办", region=county.zhaocun)


def test_every_bad_row_is_reported_and_nothing_is_written(county, tmp_path):
    before = counts()
    path = write_csv(tmp_path, [
        HEADER,
        ["综治办", "太平镇"],  # 2: good, but must not be written
        ["综治办", "不存在镇"],  # 3
        ["", "太平镇"],  # 4
        ["综治办", "某县/太平镇"],  # 5: the same department as row 2
        ["司法所", ""],  # 6
    ])

    with pytest.raises(ImportFailed) as exc_info:
        import_departments(path)

    assert [(error.row, error.message) for error in exc_info.value.errors] == [
        (3, "找不到区域“不存在镇”"),
        (4, "部门名称不能为空"),
        (5, "“某县/太平镇”的部门“综治办”与第 2 行重复"),
        (6, "所属区域不能为空"),
    ]
    assert str(exc_info.value) == "导入失败：共 4 行有误，未导入任何数据。"
    assert counts() == before


def test_reimporting_the_same_file_changes_nothing(county, tmp_path):
    path = write_csv(tmp_path, [HEADER, ["综治办", "太平镇"], ["农业农村办", "太平镇"], ["民政局", "某县"]])
    import_departments(path)
    after_first = counts()

    result = import_departments(path)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert counts() == after_first


def test_a_gbk_encoded_csv_is_read(county, tmp_path):
    path = write_csv(tmp_path, [HEADER, ["党政综合办", "赵村镇"]], encoding="gbk")

    assert import_departments(path).created == 1
    assert Department.objects.get(name="党政综合办").region == county.zhaocun


def test_missing_columns_are_named(county, tmp_path):
    path = write_csv(tmp_path, [["部门", "所属区域"], ["综治办", "太平镇"]])

    with pytest.raises(ImportFailed, match="缺少必需的列：名称"):
        import_departments(path)


def test_command_prints_a_summary(county, tmp_path, capsys):
    path = write_csv(tmp_path, [HEADER, ["综治办", "太平镇"], ["农业农村办", "太平镇"]])

    call_command("import_departments", str(path))

    assert "部门导入完成：新增 1，更新 0，未变 1。" in capsys.readouterr().out


def test_command_prints_every_bad_row_and_fails(county, tmp_path, capsys):
    before = counts()
    path = write_csv(tmp_path, [HEADER, ["综治办", "太平镇"], ["司法所", "火星镇"], ["", "赵村镇"]])

    with pytest.raises(CommandError, match="导入失败：共 2 行有误"):
        call_command("import_departments", str(path))

    err = capsys.readouterr().err
    assert "第 3 行：找不到区域“火星镇”" in err
    assert "第 4 行：部门名称不能为空" in err
    assert counts() == before


def test_command_refuses_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_departments", str(tmp_path / "部门.csv"))
