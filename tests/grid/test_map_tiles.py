"""一张图's optional 天地图 tiles: with TIANDITU_KEY the map lays Web Mercator tiles (vec_w, cva_w) under the
SVG, in the same viewport, and the site's policy allows images from the tile hosts; without a key the page
names no outside address at all."""

import html
import json
import math
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from grid import map_tiles
from grid.boundaries import set_boundary


def box(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# The demo county's outline (config/demo_boundaries.py as load_demo places it).
DEMO_WEST, DEMO_EAST, DEMO_SOUTH, DEMO_NORTH = 112.519487, 113.159487, 33.438418, 33.858418


@pytest.fixture
def demo_outline(county, personas):
    """The fixture county's two townships splitting the demo county's outline down the middle."""
    middle = (DEMO_WEST + DEMO_EAST) / 2
    set_boundary(county.taiping, box(DEMO_WEST, DEMO_SOUTH, middle, DEMO_NORTH), by=personas["county_office"])
    set_boundary(county.zhaocun, box(middle, DEMO_SOUTH, DEMO_EAST, DEMO_NORTH), by=personas["county_office"])
    return county


def tile_addresses(page: str) -> list[str]:
    return [html.unescape(src) for src in re.findall(r'<img src="([^"]+)"', page) if "tianditu" in src]


def img_src(response) -> list[str]:
    header = response["Content-Security-Policy"]
    return next(part.split()[1:] for part in header.split(";") if part.split() and part.split()[0] == "img-src")


@override_settings(TIANDITU_KEY="k3y/+")
def test_with_a_key_the_county_map_lies_on_the_tiles_that_cover_it(client, personas, demo_outline):
    """By hand: in zoom-0 pixels (256 across the world) the outline runs x 208.0139–208.4690 and
    y 102.3853–102.7441 (y = (1 − ln(tan φ + sec φ)/π)/2 · 256). Fitting 0.3588 tall into 640 − 2·16 units
    gives a scale of 1694.6, log2 10.73, so zoom 11 (2048 tiles across). The 900 × 640 view around the
    centre (208.2414, 102.5647) spans x 207.9758–208.5069 and y 102.3758–102.7535, i.e. columns
    1663.8–1668.1 and rows 819.0–822.03 of 2048: columns 1663–1668, rows 819–822."""
    client.force_login(personas["county_office"])
    response = client.get(reverse("grid:map"))
    addresses = tile_addresses(response.content.decode())
    found = {(int(re.search(r"TILECOL=(\d+)", a)[1]), int(re.search(r"TILEROW=(\d+)", a)[1]),
              re.search(r"LAYER=(\w+)", a)[1]) for a in addresses}
    assert {re.search(r"TILEMATRIX=(\d+)", a)[1] for a in addresses} == {"11"}
    assert found == {(col, row, layer) for col in range(1663, 1669) for row in range(819, 823) for layer in ("vec", "cva")}
    assert ("https://t5.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
            "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX=11&TILEROW=820&TILECOL=1665&tk=k3y%2F%2B") in addresses
    assert all(a.endswith("&tk=k3y%2F%2B") for a in addresses)


def test_tiles_and_shapes_share_one_projection():
    """A tile's corner is where the SVG puts the same longitude and latitude."""
    view = map_tiles.fit([(DEMO_WEST, DEMO_SOUTH), (DEMO_EAST, DEMO_NORTH)], 900, 640, 16)
    tile = next(t for t in map_tiles.tiles_for(view) if (t.col, t.row) == (1665, 820))
    # The north-west corner of tile (1665, 820) at zoom 11, by the inverse Web Mercator formulas.
    lon = 1665 / 2048 * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * 820 / 2048))))
    x, y = view.xy(lon, lat)
    assert (round(x, 6), round(y, 6)) == (round(tile.x, 6), round(tile.y, 6))
    assert tile.size == pytest.approx(256 * view.scale / 2048)


@override_settings(TIANDITU_KEY="")
def test_without_a_key_the_map_names_no_outside_address(client, personas, demo_outline):
    client.force_login(personas["county_office"])
    response = client.get(reverse("grid:map"))
    page = response.content.decode()
    assert "<svg" in page and "tianditu" not in page and "<img src=\"http" not in page
    assert not any("tianditu" in source for source in img_src(response))


@pytest.mark.parametrize("key", ["", "k3y"])
def test_the_policy_allows_the_tile_hosts_only_with_a_key(key):
    """Read from the environment when the settings load, so asked of a fresh interpreter."""
    code = ("import json, django; from django.conf import settings; "
            "print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))")
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "TIANDITU_KEY": key}
    output = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True,
                            cwd=settings.BASE_DIR).stdout
    allowed = json.loads(output.strip().splitlines()[-1])
    assert allowed == ["'self'", "data:", "blob:"] + (map_tiles.TIANDITU_HOSTS if key else [])
