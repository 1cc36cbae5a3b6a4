"""Importing a rectification plan kept on paper: `manage.py import_rectification`."""

import csv
import datetime
from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from governance.models import AuditEntry
from governance.tabular import ImportFailed
from grid import services
from inspection.models import FocusCategory, InspectionGroup, InspectionRound
from rectification import notices, states
from rectification.imports import import_rectification, parse_deadline, parse_round_name
from rectification.models import ProgressEntry, RectificationItem, RectificationPlan
from rectification.views import progress_rows, township_progress

HEADER = ["序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施"]
ROUND = "十五届县委第二轮巡察"
OPTIONS = {"organisation": "太平镇", "round": ROUND, "group": "县委第一巡察组",
           "inspected": "2024-04-08:2024-05-20", "feedback_date": "2024-06-25"}
D = datetime.date


def item_row(number="1", title="理论学习不深入", status="已整改", deadline="2024-12-31", category="聚焦党的理论路线",
             subcategory="学习贯彻", result="已制定学习计划", leader="张书记", unit="党政办", reason="", steps=""):
    return [number, category, subcategory, title, result, status, leader, unit, deadline, reason, steps]


ROWS = [
    HEADER,
    item_row("1"),
    item_row("2", "“三资”管理不规范", "正在整改中", "2024年12月", "聚焦群众身边腐败问题", "三资管理", "已清查台账",
             "李镇长", "财政所", "涉及历史遗留问题", "2025年3月前完成清理"),
    item_row("3", "村务公开不及时", "已整改到位", "2024/9/30"),
    item_row("4", "作风建设需加强", "", "长期坚持"),
    item_row("5", "发展党员程序不规范", "未整改", "2025年6月底前", reason="待上级复核", steps="按程序补正"),
]


def write_csv(tmp_path, rows, *, name="plan.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(tmp_path, rows, *, name="plan.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def errors_of(exc_info) -> list[tuple[int, str]]:
    return [(error.row, error.message) for error in exc_info.value.errors]


def counts() -> tuple[int, ...]:
    return (InspectionRound.objects.count(), RectificationPlan.objects.count(), RectificationItem.objects.count(),
            AuditEntry.objects.count())


@pytest.fixture
def office_user(county):
    user, _ = services.ensure_user("office", password="Test@2026pw")
    return user


@pytest.fixture
def existing_round(county, office_user):
    return InspectionRound.objects.create(
        county=county.county, term="十五届", number=2, name=ROUND, arrival_date=D(2024, 4, 8),
        withdrawal_date=D(2024, 5, 20), created_by=office_user,
    )


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_rectification", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the good path ---------------------------------------------------------------------------------


def test_csv_import_creates_round_plan_and_items_and_prints_the_plan_id(county, tmp_path):
    before = counts()

    out, _ = run(str(write_csv(tmp_path, ROWS)), "--organisation", "某县/太平镇", "--round", ROUND,
                 "--group", "县委第一巡察组", "--inspected", "2024-04-08:2024-05-20", "--feedback-date", "2024-06-25")

    plan = RectificationPlan.objects.get()
    assert f"整改方案 #{plan.pk} 已导入：新建 5 项，更新 0 项" in out
    assert "已新建巡察轮次“十五届县委第二轮巡察”（十五届第 2 轮" in out
    round_ = InspectionRound.objects.get()
    assert (round_.county, round_.term, round_.number, round_.name, round_.arrival_date, round_.withdrawal_date) == (
        county.county, "十五届", 2, ROUND, D(2024, 4, 8), D(2024, 5, 20))
    assert (plan.organisation, plan.round, plan.group_name, plan.inspected_from, plan.inspected_to, plan.feedback_on) == (
        county.taiping, round_, "县委第一巡察组", D(2024, 4, 8), D(2024, 5, 20), D(2024, 6, 25))
    assert plan.title == "中共太平镇委员会关于十五届县委第二轮巡察反馈问题的整改方案"
    items = {item.number: item for item in plan.items.all()}
    assert [(n, i.status, i.deadline) for n, i in sorted(items.items())] == [
        (1, "done", D(2024, 12, 31)),
        (2, "in_progress", D(2024, 12, 31)),
        (3, "fully_done", D(2024, 9, 30)),
        (4, "ongoing", None),  # 整改时限 长期坚持 with no status: 长期坚持
        (5, "pending", D(2025, 6, 30)),
    ]
    second = items[2]
    assert (second.category, second.subcategory, second.title, second.result, second.responsible_leader,
            second.responsible_unit, second.unfinished_reason, second.next_steps) == (
        "聚焦群众身边腐败问题", "三资管理", "“三资”管理不规范", "已清查台账", "李镇长", "财政所", "涉及历史遗留问题",
        "2025年3月前完成清理")
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 5, before[3] + 7)
    assert AuditEntry.objects.filter(action="rectification_item.import").count() == 5
    assert AuditEntry.objects.filter(action="inspection_round.create", object_id=str(round_.pk)).exists()
    assert AuditEntry.objects.filter(action="rectification_plan.import", object_id=str(plan.pk)).exists()
    assert plan.created_by.username == "system"


def test_xlsx_import_reads_numeric_numbers_and_date_cells_and_reuses_the_round(existing_round, county, tmp_path):
    path = write_xlsx(tmp_path, [
        HEADER,
        [1, "聚焦A", "", "问题一", "", "已整改", "", "", datetime.datetime(2024, 12, 31), "", ""],
        [2.0, "聚焦A", "", "问题二", "", "长期坚持", "", "", "2025年12月前", "", ""],
    ])

    outcome = import_rectification(path, organisation="太平镇/楼星村", round=ROUND, feedback_date="2024-06-25")

    assert not outcome.round_created and outcome.plan_created
    assert InspectionRound.objects.count() == 1 and outcome.round == existing_round
    plan = outcome.plan
    assert plan.organisation == county.louxing and plan.title.startswith("楼星村党组织关于")
    # Options left out come from the round.
    assert (plan.inspected_from, plan.inspected_to, plan.group_name) == (D(2024, 4, 8), D(2024, 5, 20), "")
    assert [(i.number, i.deadline, i.status) for i in plan.items.order_by("number")] == [
        (1, D(2024, 12, 31), "done"), (2, D(2025, 12, 31), "ongoing")]


def test_new_plan_takes_group_and_feedback_date_of_the_rounds_group(existing_round, county, tmp_path):
    InspectionGroup.objects.create(round=existing_round, number=1, name="第一巡察组", township=county.taiping,
                                   feedback_on=D(2024, 6, 20))
    outcome = import_rectification(write_csv(tmp_path, [HEADER, item_row("1")]), organisation="太平镇/楼星村",
                                   round=ROUND)
    # named as the notice's opening names it (县委第一巡察组), as the plans the feedback creates
    assert (outcome.plan.group_name, outcome.plan.feedback_on) == ("县委第一巡察组", D(2024, 6, 20))


def test_reimporting_the_same_file_changes_nothing_and_writes_no_audit(county, tmp_path):
    path = write_csv(tmp_path, ROWS)
    first = import_rectification(path, **OPTIONS)
    before = counts()
    last_audit = AuditEntry.objects.order_by("-id").first()

    out, _ = run(str(path), "--organisation", "太平镇", "--round", ROUND, "--group", "县委第一巡察组",
                 "--inspected", "2024-04-08:2024-05-20", "--feedback-date", "2024-06-25")

    assert f"整改方案 #{first.plan.pk} 已导入：新建 0 项，更新 0 项，未变 5 项" in out
    assert "新建巡察轮次" not in out and "新建整改方案" not in out
    assert counts() == before
    assert AuditEntry.objects.order_by("-id").first() == last_audit
    # Without the options the header stays as it is, and still nothing is written.
    again = import_rectification(path, organisation="太平镇", round=ROUND)
    assert again.plan == first.plan and not again.plan_updated and counts() == before


def test_changed_rows_update_items_by_number_and_audit_only_the_changes(county, tmp_path):
    plan = import_rectification(write_csv(tmp_path, ROWS), **OPTIONS).plan
    rows = [HEADER, item_row("2", "“三资”管理不规范", "已整改", "2024年12月", "聚焦群众身边腐败问题", "三资管理",
                                 "已完成清理", "李镇长", "财政所"), item_row("6", "新增问题")]
    audit_before = AuditEntry.objects.count()

    outcome = import_rectification(write_csv(tmp_path, rows, name="second.csv"), organisation="太平镇", round=ROUND,
                                   group="县委第二巡察组")

    assert outcome.plan == plan and outcome.plan_updated
    assert (outcome.result.created, outcome.result.updated, outcome.result.unchanged) == (1, 1, 0)
    item = plan.items.get(number=2)
    assert (item.status, item.result, item.unfinished_reason, item.next_steps) == ("done", "已完成清理", "", "")
    assert plan.items.count() == 6  # items the file does not name stay
    plan.refresh_from_db()
    assert plan.group_name == "县委第二巡察组" and plan.feedback_on == D(2024, 6, 25)
    update = AuditEntry.objects.get(action="rectification_item.update")
    assert set(update.after) == {"status", "result", "unfinished_reason", "next_steps", "closed_at"}  # 销号 as the import
    assert AuditEntry.objects.count() == audit_before + 3  # plan header, one update, one create


def test_round_name_without_a_number_takes_the_next_free_number(existing_round, tmp_path):
    outcome = import_rectification(write_csv(tmp_path, [HEADER, item_row()]), organisation="赵村镇",
                                   round="十五届县委专项巡察", inspected="2024-09-02:2024-10-15")
    assert outcome.round_created
    assert (outcome.round.term, outcome.round.number) == ("十五届", 3)
    assert outcome.plan.title.startswith("中共赵村镇委员会")


def test_categories_are_checked_against_the_rounds_focus_taxonomy(existing_round, tmp_path):
    title = "聚焦群众身边腐败问题和不正之风"
    FocusCategory.objects.create(round=existing_round, title=title, applies_to="township")
    FocusCategory.objects.create(round=existing_round, title="聚焦基层党组织领导班子和干部队伍建设", applies_to="township")
    rows = [HEADER, item_row("1", category="二、聚焦群众身边腐败问题"), item_row("2", category="聚焦乡村振兴")]

    with pytest.raises(ImportFailed) as exc_info:
        import_rectification(write_csv(tmp_path, rows), organisation="太平镇", round=ROUND)
    assert [row for row, _ in errors_of(exc_info)] == [3]
    assert "类别“聚焦乡村振兴”不是本轮巡察的监督重点" in errors_of(exc_info)[0][1]

    outcome = import_rectification(write_csv(tmp_path, rows[:2], name="ok.csv"), organisation="太平镇", round=ROUND)
    assert outcome.plan.items.get().category == title  # stored under the taxonomy's own title


# --- dates as users write them ---------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2024-12-31", D(2024, 12, 31)),
    ("2024/12/31", D(2024, 12, 31)),
    ("2024.3.5", D(2024, 3, 5)),
    ("2024年12月31日", D(2024, 12, 31)),
    ("2024 年 6 月 30 日前", D(2024, 6, 30)),
    ("2024年12月", D(2024, 12, 31)),
    ("2024年2月", D(2024, 2, 29)),
    ("2024-11", D(2024, 11, 30)),
    ("2024年12月前", D(2024, 12, 31)),
    ("2024年12月底前", D(2024, 12, 31)),
    ("2024年9月底", D(2024, 9, 30)),
    ("2024年底前", D(2024, 12, 31)),
    ("２０２４年１２月", D(2024, 12, 31)),
    ("2024-02-30", None),
    ("2024年13月", None),
    ("年底", None),
    ("尽快", None),
    ("", None),
])
def test_parse_deadline(text, expected):
    assert parse_deadline(text) == expected


@pytest.mark.parametrize("name, expected", [
    ("十五届县委第二轮巡察", ("十五届", 2)),
    ("县委第十五届第十二轮巡察", ("十五届", 12)),
    ("十四届县委第二十轮巡察", ("十四届", 20)),
    ("十五届县委专项巡察", ("十五届", None)),
    ("2024年第二轮巡察", ("", 2)),
])
def test_parse_round_name(name, expected):
    assert parse_round_name(name) == expected


def test_long_term_deadline_accepts_any_status(county, tmp_path):
    outcome = import_rectification(write_csv(tmp_path, [HEADER, item_row("1", status="已整改", deadline="长期坚持")]),
                                   **OPTIONS)
    item = outcome.plan.items.get()
    assert (item.status, item.deadline) == ("done", None)


def test_the_plans_deadline_wording_is_kept_beside_the_date_and_printed_in_the_notice(county, tmp_path):

    outcome = import_rectification(write_csv(tmp_path, ROWS), **OPTIONS)
    items = {item.number: item for item in outcome.plan.items.all()}
    assert [(items[n].deadline, items[n].deadline_text) for n in (2, 3, 5)] == [
        (D(2024, 12, 31), "2024年12月"), (D(2024, 9, 30), "2024/9/30"), (D(2025, 6, 30), "2025年6月底前")]
    section_four = {u["number"]: u["deadline"] for u in notices.build_notice(outcome.plan)["unfinished"]}
    assert section_four == {2: "2024年12月", 5: "2025年6月底前"}


# --- bad rows --------------------------------------------------------------------------------------


def test_every_bad_row_is_reported_and_nothing_is_written(county, tmp_path):
    rows = [
        HEADER,
        item_row("1"),
        item_row("2", status="差不多了"),  # unknown status
        item_row("3", title=""),  # empty 问题
        item_row("1", title="重复的序号"),  # duplicate 序号
        item_row("四", title="中文序号"),  # non-numeric 序号
        item_row("6", deadline="2024-06-01"),  # before the feedback date 2024-06-25
        item_row("7", deadline="尽快"),  # not a date
        item_row("8", status=""),  # no status
        item_row("0"),
    ]
    before = counts()

    with pytest.raises(ImportFailed) as exc_info:
        import_rectification(write_csv(tmp_path, rows), **OPTIONS)

    assert errors_of(exc_info) == [
        (3, "状态“差不多了”无效，应为未整改、正在整改中、已整改、已整改到位、长期坚持之一"),
        (4, "问题不能为空"),
        (5, "序号 1 与第 2 行重复"),
        (6, "序号“四”不是正整数"),
        (7, "整改时限 2024-06-01（“2024-06-01”）早于反馈日期 2024-06-25"),
        (8, "整改时限“尽快”不是有效日期（如 2024-12-31、2024年12月、2024年12月底前、长期坚持）"),
        (9, "状态不能为空（未整改、正在整改中、已整改、已整改到位、长期坚持）"),
        (10, "序号“0”不是正整数"),
    ]
    assert str(exc_info.value) == "导入失败：共 8 行有误，未导入任何数据。"
    assert counts() == before  # not even the round


def test_deadline_is_checked_against_the_feedback_date_of_an_existing_plan(county, tmp_path):
    import_rectification(write_csv(tmp_path, ROWS), **OPTIONS)
    with pytest.raises(ImportFailed) as exc_info:
        import_rectification(write_csv(tmp_path, [HEADER, item_row("9", deadline="2024年5月")], name="late.csv"),
                             organisation="太平镇", round=ROUND)
    assert errors_of(exc_info) == [(2, "整改时限 2024-05-31（“2024年5月”）早于反馈日期 2024-06-25")]


def test_xlsx_bad_rows_are_reported_with_their_row_numbers(county, tmp_path):
    path = write_xlsx(tmp_path, [HEADER, item_row("1"), [], item_row("x1"), item_row("3", status="已销号")])
    with pytest.raises(ImportFailed) as exc_info:
        import_rectification(path, **OPTIONS)
    assert [row for row, _ in errors_of(exc_info)] == [4, 5]


def test_command_prints_every_bad_row_and_fails(county, tmp_path):
    path = write_csv(tmp_path, [HEADER, item_row("1", title=""), item_row("1", status="好了")])
    before = counts()
    err = StringIO()
    with pytest.raises(CommandError, match="共 2 行有误，未导入任何数据"):
        call_command("import_rectification", str(path), "--organisation", "太平镇", "--round", ROUND,
                     "--inspected", "2024-04-08:2024-05-20", stdout=StringIO(), stderr=err)
    assert "第 2 行：问题不能为空" in err.getvalue()
    assert "第 3 行：序号 1 与第 2 行重复" in err.getvalue()
    assert "第 3 行：状态“好了”无效" in err.getvalue()
    assert counts() == before


def test_missing_column_is_refused(county, tmp_path):
    with pytest.raises(ImportFailed, match="缺少必需的列：状态"):
        import_rectification(write_csv(tmp_path, [[h for h in HEADER if h != "状态"], ["1"] * 10]), **OPTIONS)


# --- bad options -----------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, message", [
    ({"organisation": "太平镇/不存在村"}, "--organisation：找不到区域“太平镇/不存在村”"),
    ({"organisation": "某县"}, "整改党组织须为乡镇或村（社区）"),
    ({"inspected": "2024-04-08"}, "--inspected“2024-04-08”格式不正确"),
    ({"inspected": "2024-04-08:2024-13-01"}, "--inspected“2024-04-08:2024-13-01”中的日期无效"),
    ({"inspected": "2024-05-20:2024-04-08"}, "撤回日期 2024-04-08 须晚于进驻日期 2024-05-20"),
    ({"feedback_date": "2024年6月"}, "--feedback-date“2024年6月”不是有效日期"),
    ({"feedback_date": "2024-05-01"}, "反馈日期 2024-05-01 早于撤回日期 2024-05-20"),
    ({"inspected": None}, "新建轮次须用 --inspected 给出进驻和撤回日期"),
    ({"round": "2024年第二轮巡察"}, "新建轮次时名称中须写明届次"),
    ({"group": "县委第二巡察组\x07"}, r"--group：不能包含控制字符（U\+0007）"),
    ({"round": "十五届县委第二轮\x1b巡察"}, r"--round：不能包含控制字符（U\+001B）"),
])
def test_bad_options_are_refused_before_anything_is_written(county, tmp_path, changes, message):
    before = counts()
    with pytest.raises(ImportFailed, match=message):
        import_rectification(write_csv(tmp_path, ROWS), **{**OPTIONS, **changes})
    assert counts() == before


def test_a_new_round_name_may_not_take_the_number_of_another_round(existing_round, tmp_path):
    with pytest.raises(ImportFailed, match="十五届第 2 轮巡察已存在，名称为“十五届县委第二轮巡察”"):
        import_rectification(write_csv(tmp_path, ROWS), **{**OPTIONS, "round": "县委十五届第二轮巡察"})


def test_command_reports_bad_options_and_a_missing_file(county, tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        run(str(tmp_path / "nope.csv"), "--organisation", "太平镇", "--round", ROUND)
    with pytest.raises(CommandError, match="--organisation：找不到区域“无此镇”"):
        run(str(write_csv(tmp_path, ROWS)), "--organisation", "无此镇", "--round", ROUND,
            "--inspected", "2024-04-08:2024-05-20")


# --- 销号日期 and items imported under the earlier rule ----------------------------------------------


def with_closed_on(rows, days: dict[str, str]):
    """The rows with the optional 销号日期 column, filled for the given 序号."""
    return [rows[0] + ["销号日期"]] + [row + [days.get(row[0], "")] for row in rows[1:]]


def test_closed_date_column_gives_imported_items_their_real_closed_date_and_progress(county, tmp_path):
    rows = with_closed_on(ROWS, {"1": "2024-08-15", "3": "2024年9月30日"})
    plan = import_rectification(write_csv(tmp_path, rows), **OPTIONS).plan
    items = {item.number: item for item in plan.items.all()}
    assert states.closed_on(items[1]) == D(2024, 8, 15)
    assert states.closed_on(items[3]) == D(2024, 9, 30)
    assert states.closed_on(items[4]) == timezone.localdate()  # no date given: closed as the import
    assert items[2].closed_at is None and items[5].closed_at is None
    # the 销号进度 line rises in the months the items were really closed
    months, series = township_progress(progress_rows(plan.items.all(), [county.taiping]), [county.taiping],
                                       D(2024, 10, 31))
    progress = dict(zip(months, series[0][1], strict=True))
    assert (progress[D(2024, 7, 31)], progress[D(2024, 8, 31)], progress[D(2024, 9, 30)]) == (0.0, 20.0, 40.0)


@pytest.mark.parametrize("cell, status, message", [
    ("2024-02-30", "已整改", "销号日期“2024-02-30”不是有效日期"),
    ("2024年13月1日", "已整改", "不是有效日期"),
    ("下个月", "已整改", "不是有效日期"),
    ("2099-01-01", "已整改", "晚于今天"),
    ("2024-06-01", "已整改", "早于反馈日期 2024-06-25"),
    ("2024-08-15", "正在整改中", "状态为正在整改中的事项尚未完成，不能填写销号日期"),
    ("2024-08-15\x07", "已整改", ""),  # a control character: refused by the reader, in Chinese
])
def test_bad_closed_dates_are_refused_in_chinese_and_nothing_is_written(county, tmp_path, cell, status, message):
    before = counts()
    rows = [HEADER + ["销号日期"], item_row("1", status=status, reason="原因", steps="措施") + [cell]]
    with pytest.raises(ImportFailed) as exc:
        import_rectification(write_csv(tmp_path, rows), **OPTIONS)
    [(row, text)] = errors_of(exc)
    assert row == 2 and message in text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)
    assert counts() == before


@pytest.fixture
def imported_under_the_earlier_rule(county, tmp_path):
    """A plan imported before imports closed finished items: its 已整改 / 已整改到位 / 长期坚持 items are
    open, and its 持续整改 item was taken for 长期坚持; item 1 was then claimed (申请销号) in the system."""
    rows = ROWS + [item_row("6", "村规民约修订滞后", "持续整改", "2024年12月", reason="需村民代表会议表决", steps="年底前表决")]
    path = write_csv(tmp_path, rows)
    plan = import_rectification(path, **OPTIONS).plan
    plan.items.filter(number__in=[1, 3, 4]).update(closed_at=None)
    plan.items.filter(number=6).update(status=RectificationItem.Status.ONGOING)
    committee, _ = services.ensure_user("committee", password="Test@2026pw")
    ProgressEntry.objects.create(item=plan.items.get(number=1), reported_on=D(2024, 9, 30), text="申请销号",
                                 kind="claim", reported_by=committee)
    return plan, rows


def test_reimport_brings_items_imported_under_the_earlier_rule_to_the_current_rule(imported_under_the_earlier_rule,
                                                                                  tmp_path):
    plan, rows = imported_under_the_earlier_rule
    imported_at = {entry.object_id: entry.created_at for entry in AuditEntry.objects.filter(action="rectification_item.import")}
    audit_before = AuditEntry.objects.count()

    outcome = import_rectification(write_csv(tmp_path, with_closed_on(rows, {"3": "2024-08-15"}), name="again.csv"),
                                   **OPTIONS)

    items = {item.number: item for item in plan.items.all()}
    assert states.closed_on(items[3]) == D(2024, 8, 15)  # the file's 销号日期
    assert items[4].closed_at == imported_at[str(items[4].pk)]  # closed as its first import
    assert items[1].closed_at is None and states.is_awaiting(items[1])  # claimed in the system: the office decides
    assert items[6].status == RectificationItem.Status.IN_PROGRESS and items[6].closed_at is None  # 持续整改
    assert (outcome.result.updated, outcome.result.created) == (3, 0)
    assert [warning.message for warning in outcome.result.warnings if "申请销号" in warning.message] == [
        "序号 1 已在系统中申请销号，等待县委巡察办验收，本次导入不代为销号"]
    updates = AuditEntry.objects.filter(action="rectification_item.update").order_by("id")
    assert AuditEntry.objects.count() == audit_before + 3
    assert {entry.object_id: (entry.before.get("closed_at"), bool(entry.after.get("closed_at"))) for entry in updates
            if "closed_at" in entry.after} == {str(items[3].pk): (None, True), str(items[4].pk): (None, True)}
    assert updates.get(object_id=str(items[6].pk)).after == {"status": "in_progress"}


def test_a_reimport_with_one_bad_row_leaves_the_earlier_items_as_they_were(imported_under_the_earlier_rule, tmp_path):
    plan, rows = imported_under_the_earlier_rule
    before = counts()
    bad = with_closed_on(rows, {"3": "2024-08-15", "6": "2024-08-15"})  # item 6 is unfinished
    with pytest.raises(ImportFailed):
        import_rectification(write_csv(tmp_path, bad, name="bad.csv"), **OPTIONS)
    assert counts() == before
    assert plan.items.get(number=3).closed_at is None and plan.items.get(number=6).status == "ongoing"


def test_the_optional_measures_column_fills_the_measures_and_a_file_without_it_keeps_them(county, tmp_path):
    rows = [ROWS[0] + ["整改措施"]] + [row + [f"第{row[0]}项的整改措施"] for row in ROWS[1:]]
    plan = import_rectification(write_csv(tmp_path, rows), **OPTIONS).plan
    assert dict(plan.items.values_list("number", "measures")) == {n: f"第{n}项的整改措施" for n in range(1, 6)}
    outcome = import_rectification(write_csv(tmp_path, ROWS, name="again.csv"), **OPTIONS)
    assert outcome.result.updated == 0
    assert plan.items.get(number=2).measures == "第2项的整改措施"
