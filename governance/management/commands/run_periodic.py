"""`manage.py run_periodic`: the periodic work of Celery beat, run in this process (governance.periodic)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from governance.periodic import Scheduler, beat_entries


class Command(BaseCommand):
    help = "按 Celery beat 的同一计划在本进程内运行定时任务（嵌入式运行 make run 使用；生产环境用 Celery beat）"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="每项任务运行一次后退出")

    def handle(self, *args, once: bool = False, **options):
        scheduler = Scheduler(beat_entries())
        names = "、".join(entry.name for entry in scheduler.entries)
        self.stdout.write(f"定时任务（{len(scheduler.entries)} 项）：{names}")
        while True:
            wait = scheduler.tick()
            for name, succeeded, result in scheduler.last_results:
                if succeeded:
                    self.stdout.write(f"已运行 {name}：{result}")
                else:
                    self.stderr.write(f"运行失败 {name}：{result}")
            if once:
                return
            time.sleep(wait)
