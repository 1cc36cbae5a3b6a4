import datetime
import json
import unicodedata

from django.core.management.base import BaseCommand, CommandError

from governance import chinese_dates
from grid.regions import RegionNotFound, find_region
from inspection.patrol.scoring import decimal_text, grade_rule_text, month_scores, quarter_scores, ranked

KIND_LABEL = {"addition": "加分", "deduction": "扣分", "veto": "一票否决", "excused": "已上报不扣分"}


class Command(BaseCommand):
    help = (
        "计算乡镇大巡查各村（居）的月度得分或季度考评等次（规则见 docs/users/patrol.md 的“计分规则”）。"
        "--month YYYY-MM：每村基础分、加分、扣分、是否一票否决、得分及加扣分明细；"
        "--quarter YYYYQn：每村三个月得分、月平均分与等次。"
        "--json 输出 JSON 列表，分值一律为保留两位小数的字符串（如 \"63.00\"），按 Decimal 精确计算，不经浮点；"
        "不加 --json 时输出中文表格。"
        "例：manage.py patrol_score --township 太平镇 --month 2026-01 --json；"
        "manage.py patrol_score --township 某县/太平镇 --quarter 2026Q1"
    )

    def add_arguments(self, parser):
        parser.add_argument("--township", required=True, help="乡镇名称或路径，如 太平镇 或 某县/太平镇")
        parser.add_argument("--month", help="月份，格式 YYYY-MM，如 2026-01")
        parser.add_argument("--quarter", help="季度，格式 YYYYQn，如 2026Q1")
        parser.add_argument("--json", dest="as_json", action="store_true", help="输出 JSON（分值为两位小数的字符串）")

    def handle(self, *args, township, month, quarter, as_json: bool, **options):
        if bool(month) == bool(quarter):
            raise CommandError("请指定 --month YYYY-MM 或 --quarter YYYYQn 中的一个（不能同时指定，也不能都不指定）。")
        region = resolve_township(township)
        if month:
            start = parse_month(month)
            scores = month_scores(region, start)
            if as_json:
                self._write_json([{"rank": rank, **score.as_dict()} for rank, score in ranked(scores)])
            else:
                self._write_month(region, start, scores)
        else:
            year, number = parse_quarter(quarter)
            quarters = quarter_scores(region, year, number)
            if as_json:
                self._write_json([{"quarter": f"{year}Q{number}", **entry.as_dict()} for entry in quarters])
            else:
                self._write_quarter(region, year, number, quarters)

    def _write_json(self, data) -> None:
        self.stdout.write(json_dumps(data))

    def _write_month(self, region, start, scores) -> None:
        self.stdout.write(f"{region.name} {start.year}年{start.month}月 大巡查考评得分（基础分 60，最高 100）")
        if not scores:
            self.stdout.write(f"{region.name}没有村（居）。")
            return
        rows = [["排名", "村（居）", "基础分", "加分", "扣分", "一票否决", "得分"]]
        for rank, score in ranked(scores):
            rows.append([str(rank), score.village.name, decimal_text(score.base), decimal_text(score.additions),
                         decimal_text(score.deductions), "是" if score.veto else "否", decimal_text(score.score)])
        self._write_table(rows, right=(0, 2, 3, 4, 6))
        detailed = [score for score in scores if score.entries]
        if not detailed:
            return
        self.stdout.write("")
        self.stdout.write("加扣分明细：")
        for score in detailed:
            self.stdout.write(f"{score.village.name}：")
            for entry in score.entries:
                amount = {"addition": f"+{decimal_text(entry.amount)}", "deduction": f"-{decimal_text(entry.amount)}"}
                source = f"，{entry.source}发现" if entry.source else ""
                multiplier = f" × {entry.multiplier}" if entry.kind == "deduction" else ""
                self.stdout.write(
                    f"  {entry.date} {entry.number} {KIND_LABEL[entry.kind]} {amount.get(entry.kind, '0')}"
                    f"（{entry.item_code} {entry.item_name}，{decimal_text(entry.points)} 分{multiplier}，"
                    f"{entry.department}{source}）{entry.note}"
                )

    def _write_quarter(self, region, year, number, quarters) -> None:
        months = "、".join(f"{month}月" for month in range(3 * number - 2, 3 * number + 1))
        self.stdout.write(f"{region.name} {year}年第{number}季度 大巡查考评（{months}）")
        if not quarters:
            self.stdout.write(f"{region.name}没有村（居）。")
            return
        first = 3 * number - 2
        rows = [["村（居）", f"{first}月", f"{first + 1}月", f"{first + 2}月", "月平均分", "等次"]]
        for entry in quarters:
            rows.append([entry.village.name, *(decimal_text(score) for score in entry.months),
                         decimal_text(entry.average), entry.grade])
        self._write_table(rows, right=(1, 2, 3, 4))
        self.stdout.write(f"等次：{grade_rule_text()}。")

    def _write_table(self, rows: list[list[str]], right: tuple[int, ...]) -> None:
        widths = [max(display_width(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            cells = [pad(cell, widths[column], right=column in right) for column, cell in enumerate(row)]
            self.stdout.write("  ".join(cells).rstrip())


def resolve_township(text: str):
    """The township named by `--township`: a name (`太平镇`) or a path (`某县/太平镇`)."""
    try:
        region = find_region(text)
    except RegionNotFound as exc:
        raise CommandError(str(exc)) from exc
    if region.tier.key != "township":
        raise CommandError(f"“{region.full_path}”是{region.tier.name}，不是乡镇：请填写乡镇名称或路径，如 太平镇。")
    return region


def parse_month(text: str) -> datetime.date:
    """The month of `--month`, or the command's error."""
    month = chinese_dates.parse_month(text)
    if month is None:
        raise CommandError(f"月份“{text}”格式不对，应为 YYYY-MM，如 2026-01。")
    return month


def parse_quarter(text: str) -> tuple[int, int]:
    quarter = chinese_dates.parse_quarter(text)
    if quarter is None:
        raise CommandError(f"季度“{text}”格式不对，应为 YYYYQn（n 为 1–4），如 2026Q1。")
    return quarter


def json_dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int, *, right: bool) -> str:
    space = " " * (width - display_width(text))
    return space + text if right else text + space
