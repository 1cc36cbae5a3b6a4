"""The map's projection (Web Mercator, as web map tiles use) and the optional 天地图 tile layer under it.

The SVG of grid.region_map and the tiles share one viewport: a point's place on the map is its Web
Mercator position (in "zoom 0 pixels", 0–256 across the world) moved and scaled, and a tile at zoom z
covers 256 / 2^z of those units. 天地图's vec_w / cva_w layers are in Web Mercator with the usual
column and row numbering (row 0 at the top), on CGCS2000, which is WGS-84 to within centimetres, so our
GPS coordinates need no shift (unlike GCJ-02 maps). Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

TILE_SIZE = 256
MAX_ZOOM = 18  # 天地图's vector layers go to 18
TIANDITU_HOSTS = [f"https://t{n}.tianditu.gov.cn" for n in range(8)]  # allowed by config/settings.py's CSP with a key
TIANDITU_LAYERS = ("vec", "cva")  # the vector map, then its Chinese labels on top
MAX_LATITUDE = 85.05112878


def mercator(longitude: float, latitude: float) -> tuple[float, float]:
    """(x, y) in zoom-0 pixels: x from 0 at 180°W eastwards, y from 0 at the top (85.05°N) southwards."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, latitude))
    sin = math.sin(math.radians(lat))
    x = (longitude + 180.0) / 360.0 * TILE_SIZE
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * TILE_SIZE
    return x, y


@dataclass(frozen=True)
class Viewport:
    """A width × height drawing whose top-left corner is the world point (left, top), `scale` drawing
    units per zoom-0 pixel."""

    width: int
    height: int
    left: float
    top: float
    scale: float

    def xy(self, longitude: float, latitude: float) -> tuple[float, float]:
        x, y = mercator(longitude, latitude)
        return (x - self.left) * self.scale, (y - self.top) * self.scale


def fit(points: list[tuple[float, float]], width: int, height: int, pad: int) -> Viewport:
    """The viewport that shows all (lon, lat) points, centred, with `pad` units of margin."""
    xs, ys = zip(*(mercator(lon, lat) for lon, lat in points), strict=True)
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    # A single point (or a straight line) would zoom without end: stop at the tiles' deepest zoom.
    scale = min((width - 2 * pad) / span_x if span_x else math.inf,
                (height - 2 * pad) / span_y if span_y else math.inf, 2.0 ** MAX_ZOOM)
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    return Viewport(width, height, centre_x - width / 2 / scale, centre_y - height / 2 / scale, scale)


@dataclass(frozen=True)
class Tile:
    zoom: int
    col: int
    row: int
    x: float  # its place and size in the drawing's units
    y: float
    size: float
    width: int  # the drawing's size, for the percentages below
    height: int

    @property
    def style(self) -> str:
        """Its place as percentages of the drawing, so that it scales with the SVG above it."""
        return (f"left:{100 * self.x / self.width:.4f}%;top:{100 * self.y / self.height:.4f}%;"
                f"width:{100 * self.size / self.width:.4f}%;height:{100 * self.size / self.height:.4f}%")


def zoom_for(view: Viewport) -> int:
    """The tile zoom nearest the viewport's scale: tiles are drawn 181–362 units wide."""
    return max(0, min(MAX_ZOOM, round(math.log2(view.scale))))


def tiles_for(view: Viewport) -> list[Tile]:
    """The tiles that cover the viewport, left to right and top to bottom."""
    zoom = zoom_for(view)
    count = 2 ** zoom
    span = TILE_SIZE / count  # one tile in zoom-0 pixels
    right, bottom = view.left + view.width / view.scale, view.top + view.height / view.scale
    cols = range(max(0, math.floor(view.left / span)), min(count - 1, math.ceil(right / span) - 1) + 1)
    rows = range(max(0, math.floor(view.top / span)), min(count - 1, math.ceil(bottom / span) - 1) + 1)
    return [Tile(zoom, col, row, (col * span - view.left) * view.scale, (row * span - view.top) * view.scale,
                 span * view.scale, view.width, view.height) for row in rows for col in cols]


def tianditu_url(tile: Tile, layer: str, key: str) -> str:
    """The WMTS GetTile address of one 天地图 tile (layer vec or cva, Web Mercator set `w`)."""
    host = TIANDITU_HOSTS[(tile.col + tile.row) % len(TIANDITU_HOSTS)]
    return (f"{host}/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}&STYLE=default"
            f"&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={tile.zoom}&TILEROW={tile.row}&TILECOL={tile.col}"
            f"&tk={quote(key, safe='')}")
