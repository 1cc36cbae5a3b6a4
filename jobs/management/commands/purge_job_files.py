from django.core.management.base import BaseCommand, CommandError

from jobs.retention import purge_job_files


class Command(BaseCommand):
    help = ("删除结束超过保留天数（默认 JOBS_KEEP_DAYS，7 天）的后台任务的上传文件与结果文件（任务记录保留），"
            "并把超过 24 小时没有进展的排队中或进行中任务标记为失败。例：manage.py purge_job_files --days 7")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="保留天数（不小于 0）")

    def handle(self, *args, days=None, **options):
        if days is not None and days < 0:
            raise CommandError("--days 不能小于 0。")
        outcome = purge_job_files(days=days)
        self.stdout.write(f"已删除 {outcome['purged']} 个任务的文件；{outcome['stale']} 个中断的任务已标记为失败。")
