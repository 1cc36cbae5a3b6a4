from django.core.management.base import BaseCommand, CommandError

from governance.backups import BackupError, describe, restore


class Command(BaseCommand):
    help = (
        "从 backup 生成的目录恢复数据库与上传文件：先核对校验和，再在一个事务中载入全部数据（pg_dump 备份用 "
        "pg_restore），最后校验审计链。"
        "目标数据库须为空（或刚迁移的新库）；要覆盖已有数据须加 --force。"
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="backup --out 生成的备份目录。")
        parser.add_argument("--force", action="store_true", help="目标数据库已有数据时也恢复（现有数据将被替换）。")

    def handle(self, *args, **options):
        try:
            self.stdout.write(describe(options["directory"]))
            summary = restore(options["directory"], force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"恢复完成：{summary.models} 张表共 {summary.rows} 行，上传文件 {summary.media_files} 个；"
            f"审计链完整，共校验 {summary.audit_checked} 条记录。"
        )
