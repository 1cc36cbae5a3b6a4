from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.tabular import ImportFailed
from inspection.imports import import_patrol_catalog, resolve_township


class Command(BaseCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入乡镇巡查目录（附件2）。列：编号、事项、类别、牵头部门、分值、佐证要求。"
        "类别不存在时自动新建；牵头部门须为该乡镇已有的部门；分值须大于 0。编号已存在的事项按文件更新。"
        "有任何一行出错则不导入任何数据。例：manage.py import_patrol_catalog 巡查目录.xlsx --township 太平镇"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的 .xlsx 或 .csv 文件")
        parser.add_argument("--township", required=True, help="乡镇名称或路径，如 太平镇 或 某县/太平镇")

    def handle(self, *args, file, township, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}”。")
        try:
            region = resolve_township(township)
            result = import_patrol_catalog(file, township=region)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{region.name}巡查目录导入完成：{result.summary}。")
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"提示：{warning}"))
