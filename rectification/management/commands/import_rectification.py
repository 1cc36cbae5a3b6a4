from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.tabular import ImportFailed
from rectification.imports import import_rectification


class Command(BaseCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入纸质整改方案。列：序号、类别、子类、问题、整改情况、状态、责任领导、责任单位、"
        "整改时限、未完成原因、下一步措施。巡察轮次不存在时新建（须给出 --inspected）；同一党组织同一轮次的整改方案"
        "已存在时按序号新增或更新事项。有任何一行出错则不导入任何数据。"
        "例：manage.py import_rectification 整改台账.xlsx --organisation 太平镇 --round 十五届县委第二轮巡察 "
        "--group 县委第一巡察组 --inspected 2024-04-08:2024-05-20 --feedback-date 2024-06-25"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的 .xlsx 或 .csv 文件")
        parser.add_argument("--organisation", required=True, help="整改党组织（乡镇或村）的名称或路径，如 太平镇 或 某县/太平镇/楼星村")
        parser.add_argument("--round", required=True, help="巡察轮次名称，如 十五届县委第二轮巡察")
        parser.add_argument("--group", help="巡察组名称，如 县委第一巡察组")
        parser.add_argument("--inspected", help="巡察进驻和撤回日期，YYYY-MM-DD:YYYY-MM-DD；新建轮次时必填")
        parser.add_argument("--feedback-date", help="反馈日期，YYYY-MM-DD")

    def handle(self, *args, file, organisation, round, group, inspected, feedback_date, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}”。")
        try:
            outcome = import_rectification(
                file, organisation=organisation, round=round, group=group, inspected=inspected,
                feedback_date=feedback_date,
            )
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(str(exc)) from exc
        if outcome.round_created:
            r = outcome.round
            self.stdout.write(
                f"已新建巡察轮次“{r.name}”（{r.term}第 {r.number} 轮，{r.arrival_date} 至 {r.withdrawal_date}）。"
            )
        if outcome.plan_created:
            self.stdout.write(f"已新建整改方案“{outcome.plan.title}”。")
        elif outcome.plan_updated:
            self.stdout.write(f"已更新整改方案“{outcome.plan.title}”的巡察组、巡察日期或反馈日期。")
        self.stdout.write(f"{outcome.summary}。")
        for warning in outcome.result.warnings:
            self.stdout.write(self.style.WARNING(f"提示：{warning}"))
