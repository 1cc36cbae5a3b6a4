from django.core.management.base import BaseCommand, CommandError

from grid import event_counts


class Command(BaseCommand):
    help = ("重新统计工作台使用的预汇总计数（事件按月、区域、类别、结果的计数），或用 --check 只核对它们与事件是否一致。"
            "例：manage.py rebuild_counts；manage.py rebuild_counts --check")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="只核对，不改写；不一致时列出差异并以非零状态退出")

    def handle(self, *args, check: bool, **options):
        if check:
            found = event_counts.differences()
            if found:
                raise CommandError("预汇总计数与事件不一致（可执行 manage.py rebuild_counts 重新统计）：\n" + "\n".join(found))
            self.stdout.write("预汇总计数与事件一致。")
            return
        rows = event_counts.rebuild()
        self.stdout.write(f"已重新统计事件月度计数：{rows} 行。")
