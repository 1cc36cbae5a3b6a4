import csv

import openpyxl
import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from governance.models import AuditEntry
from governance.tabular import ImportFailed
from grid.imports import import_regions
from grid.models import Region

HEADER = ["路径", "层级", "编码", "户数"]


def write_csv(tmp_path, rows, *, encoding="utf-8-sig", name="regions.csv"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(tmp_path, rows, *, name="regions.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def counts():
    return Region.objects.count(), AuditEntry.objects.count()


def errors_of(exc_info) -> list[tuple[int, str]]:
    return [(error.row, error.message) for error in exc_info.value.errors]


def test_csv_import_builds_the_tree_with_tiers_codes_and_households(db, tmp_path):
    path = write_csv(tmp_path, [
        HEADER,
        ["某县", "county", "C", ""],
        ["某县/太平镇", "乡镇", "C-TP", ""],
        [" 某县 / 太平镇 / 楼星村 ", "村(社区)", "", ""],
        ["某县/太平镇/楼星村/第1网格", "grid", "", "420"],
        ["某县/太平镇/楼星村/第1网格/第1微网格", "微网格", "C-TP-LX-1-1", "120"],
    ])

    result = import_regions(path)

    assert (result.created, result.updated, result.unchanged) == (5, 0, 0)
    assert result.warnings == []
    grid = Region.objects.get(full_path="某县/太平镇/楼星村/第1网格")
    assert (grid.name, grid.tier.key, grid.code, grid.households) == ("第1网格", "grid", None, 420)
    assert Region.objects.get_parent(grid).full_path == "某县/太平镇/楼星村"
    assert Region.objects.get_parent(grid).tier.key == "village"
    micro = Region.objects.get(code="C-TP-LX-1-1")
    assert (micro.tier.key, micro.households, Region.objects.get_parent(micro)) == ("microgrid", 120, grid)
    assert Region.objects.get_parent(Region.objects.get(code="C-TP")).full_path == "某县"
    assert AuditEntry.objects.filter(action="region.create").count() == 5


def test_xlsx_import_reads_numeric_cells_as_text_and_skips_blank_rows(db, tmp_path):
    path = write_xlsx(tmp_path, [
        HEADER,
        ["某县", "县", 4201, None],
        [None, None, None, None],
        ["某县/太平镇", "township", 420102.0, None],
        ["某县/太平镇/楼星村", "村", None, None],
        ["某县/太平镇/楼星村/第1网格", "网格", None, 380.0],
    ])

    result = import_regions(path)

    assert result.created == 4
    assert Region.objects.get(full_path="某县").code == "4201"
    assert Region.objects.get(full_path="某县/太平镇").code == "420102"
    assert Region.objects.get(full_path="某县/太平镇/楼星村/第1网格").households == 380


def test_parents_may_come_earlier_in_the_same_file_below_an_existing_tree(county, tmp_path):
    path = write_csv(tmp_path, [
        HEADER,
        ["某县/赵村镇/新建村", "village", "C-ZC-XJ", ""],
        ["某县/赵村镇/新建村/第1网格", "grid", "", "320"],
        ["某县/赵村镇/新建村/第1网格/第1微网格", "microgrid", "", "110"],
    ])

    result = import_regions(path)

    assert result.created == 3
    village = Region.objects.get(full_path="某县/赵村镇/新建村")
    assert Region.objects.get_parent(village) == county.zhaocun
    assert [child.name for child in Region.objects.get_children(village)] == ["第1网格"]
    assert Region.objects.get(full_path="某县/赵村镇/新建村/第1网格/第1微网格").depth == 5


def test_a_parent_on_a_later_row_is_refused(db, tmp_path):
    path = write_csv(tmp_path, [HEADER, ["某县/太平镇", "township", "", ""], ["某县", "county", "", ""]])

    with pytest.raises(ImportFailed) as exc_info:
        import_regions(path)

    assert errors_of(exc_info) == [(2, "上级区域“某县”须写在本行之前（现在第 3 行）")]
    assert Region.objects.count() == 0


def test_every_bad_row_is_reported_and_nothing_is_written(county, tmp_path):
    before = counts()
    path = write_csv(tmp_path, [
        HEADER,
        ["某县/赵村镇/好村", "village", "", ""],  # 2: good, but must not be written
        ["某县/赵村镇/甲村", "镇长", "", ""],  # 3
        ["某县/太平镇/楼星村/乙村", "village", "", ""],  # 4: a village under a village
        ["另一县镇", "township", "", ""],  # 5: a top-level row that is not a county
        ["某县/不存在镇/丙村", "village", "", ""],  # 6
        ["某县/赵村镇/好村", "village", "", ""],  # 7: duplicate of row 2
        ["某县/赵村镇/丁村", "village", "", "-3"],  # 8
        ["某县/赵村镇/戊村", "village", "", "12.5"],  # 9
        ["某县/赵村镇/己村", "village", "C-TP", ""],  # 10: code of 太平镇
        ["某县/赵村镇/庚村", "village", "X-1", ""],  # 11
        ["某县/赵村镇/辛村", "village", "X-1", ""],  # 12: code twice in the file
        ["某县//赵村镇/壬村", "village", "", ""],  # 13: an empty name inside the path
        ["", "village", "", ""],  # 14
        ["某县/赵村镇/癸村", "", "", ""],  # 15
    ])

    with pytest.raises(ImportFailed) as exc_info:
        import_regions(path)

    errors = errors_of(exc_info)
    assert [row for row, _ in errors] == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15]
    messages = dict(errors)
    assert messages[3].startswith("未知层级“镇长”，可用层级：县（county）、乡镇（township）")
    assert messages[4] == "“村(社区)”不能设在“村(社区)”（某县/太平镇/楼星村）之下"
    assert messages[5] == "顶级区域“另一县镇”的层级必须是“县”，不能是“乡镇”"
    assert messages[6] == "上级区域“某县/不存在镇”不存在"
    assert messages[7] == "路径“某县/赵村镇/好村”与第 2 行重复"
    assert messages[8] == "户数“-3”不是非负整数"
    assert messages[9] == "户数“12.5”不是非负整数"
    assert messages[10] == "编码“C-TP”已被区域“某县/太平镇”使用"
    assert messages[12] == "编码“X-1”与第 11 行重复"
    assert messages[13] == "路径“某县//赵村镇/壬村”中有空的名称（连续的“/”）"
    assert messages[14] == "路径不能为空"
    assert messages[15] == "层级不能为空"
    assert str(exc_info.value) == "导入失败：共 12 行有误，未导入任何数据。"
    assert counts() == before
    assert not Region.objects.filter(full_path="某县/赵村镇/好村").exists()


def test_a_failure_while_writing_rolls_back_the_rows_already_written(county, tmp_path, monkeypatch):
    from django.core.exceptions import ValidationError

    from grid import services

    real_create_region = services.create_region

    def create_region_failing_on_the_second_call(**kwargs):
        if Region.objects.filter(full_path="某县/赵村镇/一村").exists():
            raise ValidationError("模拟的写入失败")
        return real_create_region(**kwargs)

    monkeypatch.setattr(services, "create_region", create_region_failing_on_the_second_call)
    before = counts()
    path = write_csv(tmp_path, [HEADER, ["某县/赵村镇/一村", "village", "", ""], ["某县/赵村镇/二村", "village", "", ""]])

    with pytest.raises(ImportFailed) as exc_info:
        import_regions(path)

    assert errors_of(exc_info) == [(3, "模拟的写入失败")]
    assert counts() == before


def test_a_path_not_starting_at_the_county_gets_a_hint(county, tmp_path):
    path = write_csv(tmp_path, [HEADER, ["太平镇/楼星村/第3网格", "grid", "", ""]])

    with pytest.raises(ImportFailed) as exc_info:
        import_regions(path)

    assert errors_of(exc_info) == [
        (2, "上级区域“太平镇/楼星村”不存在（路径须从县级区域写起，如“某县/太平镇/楼星村/第3网格”）")
    ]


def test_reimporting_the_same_file_changes_nothing(db, tmp_path):
    path = write_xlsx(tmp_path, [
        HEADER,
        ["某县", "county", "C", None],
        ["某县/太平镇", "township", "C-TP", None],
        ["某县/太平镇/楼星村", "village", None, None],
        ["某县/太平镇/楼星村/第1网格", "grid", None, 420],
    ])
    import_regions(path)
    after_first = counts()

    result = import_regions(path)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert counts() == after_first


def test_a_row_with_new_values_updates_the_existing_region_and_audits_it(county, tmp_path):
    before = counts()
    path = write_csv(tmp_path, [
        HEADER,
        ["某县/太平镇", "township", "", ""],  # blank code: 太平镇 keeps C-TP
        ["某县/太平镇/楼星村/第2网格", "grid", "C-TP-LX-2", "450"],
        ["某县/太平镇/大楼村", "village", "", ""],
    ])

    result = import_regions(path)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    county.grid2.refresh_from_db()
    assert (county.grid2.code, county.grid2.households) == ("C-TP-LX-2", 450)
    county.taiping.refresh_from_db()
    assert county.taiping.code == "C-TP"
    assert counts() == (before[0], before[1] + 1)
    entry = AuditEntry.objects.latest("id")
    assert entry.action == "region.update"
    assert (entry.before["code"], entry.after["code"]) == (None, "C-TP-LX-2")
    assert (entry.before["households"], entry.after["households"]) == (380, 450)


def test_a_tier_change_that_would_leave_a_child_above_its_parent_is_refused(county, tmp_path):
    path = write_csv(tmp_path, [HEADER, ["某县/太平镇/楼星村/第1网格", "microgrid", "", ""]])

    with pytest.raises(ImportFailed) as exc_info:
        import_regions(path)

    assert errors_of(exc_info) == [
        (2, "层级改为“微网格”后，下级区域“某县/太平镇/楼星村/第1网格/第1微网格”（微网格）将不低于它")
    ]
    county.grid1.refresh_from_db()
    assert county.grid1.tier.key == "grid"


def test_tier_changes_are_applied_parents_first_whatever_the_row_order(db, tmp_path):
    import_regions(write_csv(tmp_path, [
        HEADER, ["某县", "county", "", ""], ["某县/甲", "village", "", ""], ["某县/甲/乙", "microgrid", "", ""],
    ]))
    # Applied child first, 乙 (now a village) would sit under 甲 while 甲 is still a village.
    rows = [HEADER, ["某县/甲/乙", "village", "", ""], ["某县/甲", "township", "", ""]]
    path = write_csv(tmp_path, rows, name="tiers.csv")

    result = import_regions(path)

    assert (result.created, result.updated) == (0, 2)
    assert Region.objects.get(full_path="某县/甲").tier.key == "township"
    assert Region.objects.get(full_path="某县/甲/乙").tier.key == "village"
    assert AuditEntry.objects.filter(action="region.update").count() == 2


def test_tiers_are_found_by_key_name_or_the_parts_of_a_name(county, tmp_path):
    path = write_csv(tmp_path, [
        HEADER,
        ["某县/赵村镇/一村", "村", "", ""],
        ["某县/赵村镇/二社区", "社区", "", ""],
        ["某县/赵村镇/三村", "村（社区）", "", ""],
        ["某县/赵村镇/四村", "VILLAGE", "", ""],
    ])

    assert import_regions(path).created == 4
    villages = Region.objects.filter(full_path__startswith="某县/赵村镇/", depth=3)
    assert villages.count() == 5
    assert set(villages.values_list("tier__key", flat=True)) == {"village"}


def test_a_gbk_encoded_csv_as_excel_saves_it_is_read(county, tmp_path):
    path = write_csv(tmp_path, [HEADER, ["某县/赵村镇/河南村/第1网格", "网格", "C-ZC-HN-1", "350"]], encoding="gbk")

    assert import_regions(path).created == 1
    assert Region.objects.get(code="C-ZC-HN-1").full_path == "某县/赵村镇/河南村/第1网格"


def test_a_utf8_csv_without_bom_is_read(county, tmp_path):
    path = write_csv(tmp_path, [HEADER, ["某县/赵村镇/河北村", "village", "", ""]], encoding="utf-8")

    assert import_regions(path).created == 1


def test_household_norms_come_back_as_warnings_not_errors(county, tmp_path):
    path = write_csv(tmp_path, [
        HEADER,
        ["某县/太平镇/大楼村/第1网格", "grid", "", "50"],
        ["某县/太平镇/大楼村/第2网格", "grid", "", "400"],
    ])

    result = import_regions(path)

    assert result.created == 2
    assert [str(warning) for warning in result.warnings] == [
        "第 2 行：某县/太平镇/大楼村/第1网格：网格户数 50 超出规范范围 300–500 户"
    ]


def test_missing_columns_are_named(db, tmp_path):
    path = write_csv(tmp_path, [["名称", "编码"], ["某县", "C"]])

    with pytest.raises(ImportFailed, match="缺少必需的列：路径、层级（第 1 行现有的列：名称、编码）"):
        import_regions(path)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("regions.txt", b"x", "不支持的文件类型“.txt”"),
        ("regions.xls", b"x", "不支持“.xls”格式，请在 Excel/WPS 中另存为 .xlsx 或 .csv"),
        ("regions.xlsx", b"not a zip file", "无法读取文件“regions.xlsx”"),
        ("regions.csv", b"", "文件为空或第 1 行不是表头"),
    ],
)
def test_unreadable_files_are_refused_in_chinese(db, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(ImportFailed, match=message):
        import_regions(path)


def test_command_prints_a_summary_and_the_warnings(county, tmp_path, capsys):
    path = write_csv(tmp_path, [
        HEADER,
        ["某县/赵村镇/河南村/第1网格", "grid", "", "50"],
        ["某县/太平镇/楼星村/第2网格", "grid", "", "390"],
        ["某县/太平镇", "township", "", ""],
    ])

    call_command("import_regions", str(path))

    out = capsys.readouterr().out
    assert "区域导入完成：新增 1，更新 1，未变 1。" in out
    assert "提示：第 2 行：某县/赵村镇/河南村/第1网格：网格户数 50 超出规范范围 300–500 户" in out


def test_command_prints_every_bad_row_and_fails(county, tmp_path, capsys):
    before = counts()
    path = write_csv(tmp_path, [
        HEADER,
        ["某县/赵村镇/好村", "village", "", ""],
        ["某县/赵村镇/甲村", "镇长", "", ""],
        ["某县/赵村镇/乙村", "village", "", "很多"],
    ])

    with pytest.raises(CommandError, match="导入失败：共 2 行有误，未导入任何数据。"):
        call_command("import_regions", str(path))

    err = capsys.readouterr().err
    assert "第 3 行：未知层级“镇长”" in err
    assert "第 4 行：户数“很多”不是非负整数" in err
    assert "第 2 行" not in err
    assert counts() == before


def test_command_refuses_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_regions", str(tmp_path / "无此文件.xlsx"))


def test_command_exits_non_zero_from_the_command_line(county, tmp_path, capsys):
    path = write_csv(tmp_path, [HEADER, ["某县/不存在镇/村", "village", "", ""]])

    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "import_regions", str(path)]).execute()

    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "第 2 行：上级区域“某县/不存在镇”不存在" in err
    assert "导入失败" in err
