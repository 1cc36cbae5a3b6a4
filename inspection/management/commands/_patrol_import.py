"""What the import_patrol_* commands share: a file, --township, the importer, the summary, CommandError.

The leading underscore keeps Django from listing this module as a command.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.tabular import ImportFailed
from inspection.patrol.imports import resolve_township


class PatrolImportCommand(BaseCommand):
    """Subclasses set `help`, `importer` (staticmethod(import_patrol_…)) and `what` (named in the summary)."""

    importer = None
    what = ""

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的 .xlsx 或 .csv 文件")
        parser.add_argument("--township", required=True, help="乡镇名称或路径，如 太平镇 或 某县/太平镇")

    def handle(self, *args, file, township, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}”。")
        try:
            region = resolve_township(township)
            result = self.importer(file, township=region)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{region.name}{self.what}导入完成：{result.summary}。")
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"提示：{warning}"))
