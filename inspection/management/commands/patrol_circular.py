from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance import chinese_dates
from grid.regions import RegionNotFound, find_region
from inspection.patrol import circulars
from inspection.patrol.circular_access import circular_data


class Command(BaseCommand):
    help = (
        "生成乡镇大巡查月度考评情况通报或季度考评表，按 --out 的扩展名输出 PDF（.pdf）、Excel（.xlsx）或 Word（.docx）。"
        "--month YYYY-MM：各村（居）得分排名、按部门与事项的加扣分明细、督查组未督查的村（居）、逾期确认的部门；"
        "--quarter YYYYQn：各村（居）三个月得分、月平均分、等次及各等次村数。"
        "已发布的期次输出发布时的通报（与考评通报页面、下载和接口相同），未发布的期次按当前数据生成。"
        "例：manage.py patrol_circular --township 太平镇 --month 2026-03 --out 2026年3月通报.pdf；"
        "manage.py patrol_circular --township 某县/太平镇 --quarter 2026Q1 --out 2026Q1考评.xlsx"
    )

    def add_arguments(self, parser):
        parser.add_argument("--township", required=True, help="乡镇名称或路径，如 太平镇 或 某县/太平镇")
        parser.add_argument("--month", help="月份，格式 YYYY-MM，如 2026-03")
        parser.add_argument("--quarter", help="季度，格式 YYYYQn，如 2026Q1")
        parser.add_argument("--out", required=True, help="输出文件，扩展名 .pdf、.xlsx 或 .docx")

    def handle(self, *args, township, month, quarter, out, **options):
        if bool(month) == bool(quarter):
            raise CommandError("请指定 --month YYYY-MM 或 --quarter YYYYQn 中的一个（不能同时指定，也不能都不指定）。")
        path = Path(out)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in circulars.FORMATS:
            raise CommandError(f"不支持的输出格式“{path.suffix or '（无扩展名）'}”：--out 的扩展名应为 .pdf、.xlsx 或 .docx。")
        try:
            region = find_region(township)
        except RegionNotFound as exc:
            raise CommandError(str(exc)) from exc
        if region.tier.key != "township":
            raise CommandError(f"“{region.full_path}”是{region.tier.name}，不是乡镇：请填写乡镇名称或路径，如 太平镇。")
        if month:
            start = chinese_dates.parse_month(month)
            if start is None:
                raise CommandError(f"月份“{month}”格式不对，应为 YYYY-MM，如 2026-03。")
            data, _circular = circular_data(region, True, "month", start)
        else:
            parsed = chinese_dates.parse_quarter(quarter)
            if parsed is None:
                raise CommandError(f"季度“{quarter}”格式不对，应为 YYYYQn（n 为 1–4），如 2026Q1。")
            data, _circular = circular_data(region, True, "quarter", parsed)
        content = circulars.export_circular(data, fmt, by=None, township=region)
        try:
            path.write_bytes(content)
        except OSError as exc:
            raise CommandError(f"无法写入“{out}”：{exc.strerror or exc}") from exc
        count = data["totals"]["villages"]
        self.stdout.write(f"已生成《{data['title']}》（{count} 个村（居））：{path}")
