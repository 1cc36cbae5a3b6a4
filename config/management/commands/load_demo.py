import unicodedata

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from config.demo import ADMIN_FULL_NAME, ADMIN_USERNAME, DEMO_PASSWORD, load_demo


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "载入演示县“某县”（8 个乡镇、村、楼星村网格、太平镇部门、巡查目录与示例上报、每个角色一个演示账号）。可重复运行，已有数据不变。"

    def add_arguments(self, parser):
        parser.add_argument("--history", action="store_true",
                            help="另载入楼星村第1网格近一年已办结的事件（工作台统计图用，多用几秒）")

    def handle(self, *args, **options):
        try:
            summary = load_demo(history=options["history"])
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc

        if summary.changed:
            self.stdout.write(
                f"演示县“{summary.county.name}”已载入：新建区域 {summary.regions} 个、部门 {summary.departments} 个、"
                f"巡查目录类别 {summary.patrol_categories} 个、巡查督查组 {summary.supervision_groups} 个、"
                f"用户 {summary.users} 个、岗位 {summary.posts} 个、派单路由 {summary.routes} 条、示例事件 {summary.events} 件、巡查记录 {summary.patrols} 条、"
                f"巡查目录事项 {summary.catalog_items} 项、村级巡查上报 {summary.patrol_reports} 条、巡查发现问题 {summary.patrol_findings} 条、"
                f"巡察轮次 {summary.inspection_rounds} 个、巡察组 {summary.inspection_groups} 个、巡察对象 {summary.round_targets} 个、"
                f"巡察监督重点 {summary.focus_categories} 条、整改事项 {summary.rectification_items} 项、"
                f"区域边界 {summary.boundaries} 个、类别附加字段 {summary.category_attributes} 个。"
            )
        else:
            self.stdout.write(f"演示县“{summary.county.name}”的数据已齐全，未作任何改动。")

        rows = [("用户名", "姓名", "角色", "区域", "密码")]
        rows.append((ADMIN_USERNAME, ADMIN_FULL_NAME, "超级用户（管理后台 /admin/）", "—", DEMO_PASSWORD))
        for login in summary.logins:
            region = f"{login.region}（{login.department}）" if login.department else login.region
            rows.append((login.username, login.full_name, login.role_name, region, DEMO_PASSWORD))
        widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write("演示账号：")
        for row in rows:
            self.stdout.write("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
        self.stdout.write("（运行前已存在的账号保留原密码。）")
