"""`manage.py render_notice --plan ID --out FILE`: the plan's progress notice as .pdf, .html or .docx.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from rectification import notices
from rectification.models import RectificationPlan


class Command(BaseCommand):
    help = "按整改方案生成整改进展情况通报（按 --out 的扩展名输出 .pdf、.html 或 .docx）。"

    def add_arguments(self, parser):
        parser.add_argument("--plan", required=True, help="整改方案 ID")
        parser.add_argument("--out", required=True, help="输出文件（.pdf、.html 或 .docx）")

    def handle(self, *args, plan, out, **options):
        path = Path(out)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in notices.FORMATS:
            raise CommandError(f"不支持的文件类型“{path.suffix or '（无扩展名）'}”：输出文件须以 .pdf、.html 或 .docx 结尾。")
        try:
            plan_obj = RectificationPlan.objects.get(pk=int(plan))
        except (ValueError, RectificationPlan.DoesNotExist):
            raise CommandError(f"整改方案不存在：{plan}。") from None
        data = notices.build_notice(plan_obj)
        content = notices.render(data, fmt)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        except OSError as exc:
            raise CommandError(f"无法写入 {path}：{exc.strerror or exc}") from None
        c = data["counts"]
        self.stdout.write(f"已生成 {path}（{len(content):,} 字节）：问题 {c['problems']} 个，已整改 {c['done']} 个，"
                          f"正在整改中 {c['in_progress']} 个，长期坚持 {c['ongoing']} 个。")
