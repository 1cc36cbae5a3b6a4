from django.core.management.base import BaseCommand, CommandError

from governance.audit import verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链：完整时退出码为 0；有记录被修改或删除时指出第一条断裂的记录并以非零退出。"

    def handle(self, *args, **options):
        checked, broken = verify_chain()
        if broken is None:
            self.stdout.write(f"审计链完整：共校验 {checked} 条记录。")
            return
        where = f"第 {broken.entry_id} 号记录" if broken.entry_id is not None else "链尾"
        raise CommandError(f"审计链断裂：{where}，{broken.reason}（此前 {checked} 条完好）。")
