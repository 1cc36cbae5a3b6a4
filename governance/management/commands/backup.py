from django.core.management.base import BaseCommand, CommandError

from governance.backups import BackupError, backup, describe


class Command(BaseCommand):
    help = "备份数据库（一致的快照）与上传文件到一个新目录，附带各文件行数与 SHA-256 校验和的清单。"

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="备份目录（不存在或为空）。")

    def handle(self, *args, **options):
        try:
            summary = backup(options["out"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已备份到 {summary.directory}：{describe(summary.directory)}")
        if summary.missing_media:
            self.stderr.write(f"注意：{len(summary.missing_media)} 个记录中的文件在上传目录中不存在，例如 "
                              f"{', '.join(summary.missing_media[:3])}。")
