import time

from django.core.management.base import BaseCommand, CommandError

from config import load


class Command(BaseCommand):
    help = (
        "生成县级规模的基准测试数据（可复现）：区域、岗位、整改事项，以及带流程记录的未办结事件。"
        "再次执行且 --events 更大时，在同一个县里补足事件。"
        "例：manage.py generate_load --villages 400 --events 1000000 --seed 1"
    )

    def add_arguments(self, parser):
        parser.add_argument("--villages", type=int, default=400, help="村数（每乡镇 20 个村、每村 10 个网格），默认 400")
        parser.add_argument("--events", type=int, default=10_000, help="事件总数（已有的不重复生成），默认 10000")
        parser.add_argument("--seed", type=int, default=1, help="随机种子，相同种子与规模生成相同数据，默认 1")

    def handle(self, *args, villages, events, seed, **options):
        if villages < 1:
            raise CommandError("--villages 至少为 1。")
        if events < 0:
            raise CommandError("--events 不能为负数。")
        began = time.perf_counter()
        try:
            written = load.generate(villages=villages, events=events, seed=seed,
                                    log=lambda line: self.stdout.write(line) if options["verbosity"] > 1 else None)
        except ValueError as exc:
            raise CommandError(f"无法生成：{exc}") from exc
        seconds = time.perf_counter() - began
        self.stdout.write(
            f"负载县“{load.COUNTY_NAME}”：新增区域 {written['regions']:,} 个、账号 {written['users']:,} 个、"
            f"事件 {written['events']:,} 个，用时 {seconds:.1f} 秒。所有生成账号的密码：{load.LOAD_PASSWORD}"
        )
