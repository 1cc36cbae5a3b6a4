from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.tabular import ImportFailed
from grid.imports import import_regions


class Command(BaseCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入区域树。列：路径、层级、编码（可空）、户数（可空）。"
        "路径从县写起，如 某县/太平镇/楼星村/第1网格；有任何一行出错则不导入任何数据。"
        "例：manage.py import_regions 区域.xlsx"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的 .xlsx 或 .csv 文件")

    def handle(self, *args, file, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}”。")
        try:
            result = import_regions(file)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"区域导入完成：{result.summary}。")
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"提示：{warning}"))
