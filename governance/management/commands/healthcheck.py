import json

from django.core.management.base import BaseCommand, CommandError

from governance.health import overall_ok, run_checks


class Command(BaseCommand):
    help = (
        "检查数据库、Redis、Celery worker 与 Celery beat：全部已配置的服务正常时退出码为 0，"
        "任一已配置的服务故障时以非零退出。未配置的服务（嵌入式运行）只作提示。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="以 JSON 输出（与 /healthz 相同的结构）。")

    def handle(self, *args, **options):
        results = run_checks()
        ok = overall_ok(results)
        if options["json"]:
            body = {"status": "ok" if ok else "fail", "checks": {k: r.as_json() for k, r in results.items()}}
            self.stdout.write(json.dumps(body, ensure_ascii=False, indent=2))
        else:
            for result in results.values():
                if result.failing:
                    label = self.style.ERROR("[故障]")
                elif not result.configured:
                    label = "[提示]" if not result.ok else "[未配置]"
                else:
                    label = self.style.SUCCESS("[正常]")
                self.stdout.write(f"{label} {result.name}：{result.detail}")
                if result.error:
                    self.stdout.write(f"       {result.error}")
        if not ok:
            failing = "、".join(r.name for r in results.values() if r.failing)
            raise CommandError(f"健康检查未通过：{failing}。")
        if not options["json"]:
            self.stdout.write("健康检查通过。")
