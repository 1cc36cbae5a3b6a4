"""Fill the working-day calendar from the holidays package (yearly, after the State Council's notice)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workflows.holiday_calendar import NoOfficialData, fill_holidays, official_years


class Command(BaseCommand):
    help = ("从 holidays 数据包导入法定节假日与调休上班日（默认今年和明年中有官方安排的年份）；"
            "手工录入的日期保持不变。例：manage.py fill_holidays --year 2026")

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, action="append", dest="years",
                            help="导入的年份，可重复；不写时为今年与明年（只取有官方安排的）")
        parser.add_argument("--dry-run", action="store_true", help="只显示将作的改动，不写入")

    def handle(self, *args, years, dry_run, **options):
        if not years:
            this_year = timezone.localdate().year
            years = [year for year in (this_year, this_year + 1) if year in official_years()]
            if not years:
                raise CommandError(f"holidays 数据包没有 {this_year} 年的官方放假安排，请先升级数据包。")
            if this_year + 1 not in years:
                self.stdout.write(f"数据包还没有 {this_year + 1} 年的官方放假安排（国务院办公厅通常在年底发布），本次只导入 "
                                  f"{this_year} 年。")
        try:
            result = fill_holidays(years, dry_run=dry_run)
        except NoOfficialData as exc:
            raise CommandError(str(exc)) from exc
        prefix = "（试运行，未写入）" if dry_run else ""
        self.stdout.write(
            f"{prefix}{'、'.join(map(str, result.years))} 年：新增 {result.created} 天、更新 {result.updated} 天、"
            f"删除 {result.deleted} 天、未变 {result.unchanged} 天；保留手工录入 {len(result.kept_manual)} 天"
            + (f"（{'、'.join(str(day) for day in result.kept_manual)}）" if result.kept_manual else "") + "。"
        )
