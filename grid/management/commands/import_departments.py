from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.tabular import ImportFailed
from grid.imports import import_departments


class Command(BaseCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入部门。列：名称、所属区域（区域路径，如 太平镇 或 某县/太平镇）。"
        "已有的部门保持不变；有任何一行出错则不导入任何数据。例：manage.py import_departments 部门.csv"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的 .xlsx 或 .csv 文件")

    def handle(self, *args, file, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}”。")
        try:
            result = import_departments(file)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"部门导入完成：{result.summary}。")
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"提示：{warning}"))
