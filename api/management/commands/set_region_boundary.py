"""Set (or clear) a region's boundary from a GeoJSON file: used by Open311 to find the grid of a point."""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grid.boundaries import set_boundary
from grid.models import Region


class Command(BaseCommand):
    help = "设置区域边界：set_region_boundary 太平镇/楼星村/第1网格 边界.geojson（--clear 清除）。"

    def add_arguments(self, parser):
        parser.add_argument("region", help="区域路径，如 太平镇/楼星村/第1网格 或 某县/太平镇")
        parser.add_argument("geojson", nargs="?", help="GeoJSON 文件：Polygon、MultiPolygon，或含其一的 Feature")
        parser.add_argument("--clear", action="store_true", help="清除边界")

    def handle(self, *args, region, geojson=None, clear=False, **options):
        found = Region.objects.filter(full_path=region).first() or Region.objects.filter(
            full_path__endswith=f"/{region}", depth__gt=1).order_by("depth").first()
        if found is None:
            raise CommandError(f"区域“{region}”不存在。")
        if clear:
            set_boundary(found, None, by=None)
            self.stdout.write(f"已清除 {found.full_path} 的边界。")
            return
        if not geojson:
            raise CommandError("请给出 GeoJSON 文件，或用 --clear 清除边界。")
        try:
            data = json.loads(Path(geojson).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"无法读取 GeoJSON 文件：{exc}") from exc
        if isinstance(data, dict) and data.get("type") == "Feature":
            data = data.get("geometry")
        try:
            set_boundary(found, data, by=None)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        self.stdout.write(f"已设置 {found.full_path} 的边界。")
