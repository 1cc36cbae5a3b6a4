from django.core.management.base import BaseCommand, CommandError

from governance import outbox


class Command(BaseCommand):
    help = "把 Redis 不可用期间暂存在数据库中的 Celery 任务发送到队列；Redis 仍不可用时以非零退出，记录保留待下次发送。"

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=10000, help="本次最多发送的条数（默认 10000）。")

    def handle(self, *args, **options):
        result = outbox.flush(limit=options["limit"], include_fresh=True)
        if result.failed:
            raise CommandError(f"队列（Redis）仍不可用：{result}")
        self.stdout.write(str(result))
