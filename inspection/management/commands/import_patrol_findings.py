from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.tabular import ImportFailed
from inspection.imports import import_patrol_findings, resolve_township


class Command(BaseCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入巡查发现问题（督查组、部门、上级、12345、信访、中央发现）。"
        "列：编号、村(居)、目录编号、发现日期、来源、是否属实（是/否/空为待核实）、对应上报编号（可空）。"
        "有任何一行出错则不导入任何数据。例：manage.py import_patrol_findings 发现问题.xlsx --township 太平镇"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的 .xlsx 或 .csv 文件")
        parser.add_argument("--township", required=True, help="乡镇名称或路径，如 太平镇 或 某县/太平镇")

    def handle(self, *args, file, township, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}”。")
        try:
            region = resolve_township(township)
            result = import_patrol_findings(file, township=region)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{region.name}巡查发现问题导入完成：{result.summary}。")
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"提示：{warning}"))
