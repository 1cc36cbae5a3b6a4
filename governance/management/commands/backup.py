from django.core.management.base import BaseCommand, CommandError

from governance.backups import METHOD_JSON, BackupError, backup, describe


class Command(BaseCommand):
    help = (
        "备份数据库（一致的快照）与上传文件到一个新目录，附带各文件行数与 SHA-256 校验和的清单。"
        "PostgreSQL 用 pg_dump（自定义格式），其他数据库导出为 JSON。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="备份目录（不存在或为空）。")
        parser.add_argument("--json", action="store_true",
                            help="PostgreSQL 上也导出为 JSON（可恢复到 SQLite 等其他数据库；数据量大时较慢）。")

    def handle(self, *args, **options):
        try:
            summary = backup(options["out"], method=METHOD_JSON if options["json"] else None)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已备份到 {summary.directory}：{describe(summary.directory)}")
        if summary.missing_media:
            self.stderr.write(f"注意：{len(summary.missing_media)} 个记录中的文件在上传目录中不存在，例如 "
                              f"{', '.join(summary.missing_media[:3])}。")
