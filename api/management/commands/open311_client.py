"""Create, list or revoke Open311 clients (API keys). The key is printed once, at creation."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from api import credentials
from api.models import Open311Client
from grid.models import Region


class Command(BaseCommand):
    help = "管理 Open311 接入方的 API 密钥：--create 名称 --jurisdiction 县 / --revoke 名称 / 不带参数列出。"

    def add_arguments(self, parser):
        parser.add_argument("--create", metavar="名称", help="新建接入方并打印其 API 密钥（只显示一次）")
        parser.add_argument("--jurisdiction", metavar="县", help="辖区：县的名称或编码（只有一个县时可省略）")
        parser.add_argument("--revoke", metavar="名称", help="吊销接入方的 API 密钥")

    def handle(self, *args, create=None, jurisdiction=None, revoke=None, **options):
        if create:
            counties = Region.objects.filter(depth=1)
            if jurisdiction:
                counties = counties.filter(name=jurisdiction) | counties.filter(code=jurisdiction)
            counties = list(counties.select_related("tier")[:2])
            if len(counties) != 1:
                raise CommandError("请用 --jurisdiction 指定一个县（名称或编码）。" if counties else "找不到该县。")
            try:
                client, key = credentials.create_open311_client(by=None, name=create, jurisdiction=counties[0])
            except ValidationError as exc:
                raise CommandError("；".join(exc.messages)) from exc
            self.stdout.write(f"已新建 Open311 接入方“{client.name}”（辖区 {client.jurisdiction.full_path}，"
                              f"jurisdiction_id={client.jurisdiction.code or client.jurisdiction.name}）。")
            self.stdout.write(f"API 密钥（只显示这一次）：{key}")
            return
        if revoke:
            client = Open311Client.objects.filter(name=revoke).first()
            if client is None:
                raise CommandError(f"没有名为“{revoke}”的接入方。")
            credentials.revoke_open311_client(client, by=None)
            self.stdout.write(f"已吊销“{client.name}”的 API 密钥。")
            return
        for client in Open311Client.objects.select_related("jurisdiction"):
            state = f"已吊销 {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "有效"
            self.stdout.write(f"{client.name}\t{client.jurisdiction.full_path}\t{client.prefix}…\t{state}")
