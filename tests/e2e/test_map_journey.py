"""Journey 5 (一张图) on the demo county: the county office opens the map, sees the demo's open events as
dots, opens one and lands on its case, then clicks 太平镇 to go down a level; the township committee opens
its map, goes down to 楼星村 and opens a case from there. With a 天地图 key, the tiles (served by the test)
load under the SVG exactly where its projection puts them."""

from __future__ import annotations

import copy
import io
import re

import pytest
from django.conf import settings
from django.test import override_settings
from PIL import Image
from playwright.sync_api import expect

from config.demo import LOUXING_PATH, TAIPING_PATH, load_demo
from grid import map_tiles, region_map
from grid.boundaries import set_boundary
from grid.models import Event, Region

from ..grid.test_map_tiles import DEMO_EAST, DEMO_NORTH, DEMO_SOUTH, DEMO_WEST, box

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DEMO_PASSWORD = "Demo@2026"


@pytest.fixture
def demo(db):
    load_demo()
    return list(Event.objects.filter(status__in=Event.OPEN_STATUSES, latitude__isnull=False).order_by("pk"))


def test_map_shows_the_open_events_and_opens_their_cases(journey, demo):
    assert len(demo) >= 2  # the demo leaves several events open, all placed in 楼星村/第1网格
    taiping = Region.objects.get(full_path=TAIPING_PATH)
    louxing = Region.objects.get(full_path=LOUXING_PATH)

    # ---- the county office: every open event is a dot; one click opens its case
    office = journey.sign_in("xunchaban", start="/grid/map/", password=DEMO_PASSWORD)
    expect(office.locator("h2", has_text="一张图 · 某县")).to_be_visible()
    dots = office.locator("a.gv-map__point")
    expect(dots).to_have_count(len(demo))
    assert sorted(int(pk) for pk in dots.evaluate_all("nodes => nodes.map(n => n.dataset.event)")) == [e.pk for e in demo]
    expect(office.locator(f'tr[data-region="{taiping.pk}"]')).to_contain_text(str(len(demo)))
    journey.shot(office, "county-map")
    chosen = demo[0]
    office.locator(f'a.gv-map__point[data-event="{chosen.pk}"]').click()
    expect(office).to_have_url(re.compile(rf"/grid/events/{chosen.pk}/$"))
    expect(office.locator("main")).to_contain_text(chosen.title)
    journey.shot(office, "county-case")

    # ---- back on the map, a click on 太平镇 goes down one level
    office.go_back()
    office.locator(f'a.gv-map__area[data-region="{taiping.pk}"]').click()
    expect(office).to_have_url(re.compile(rf"/grid/map/\?region={taiping.pk}$"))
    expect(office.locator("h2", has_text="一张图 · 太平镇")).to_be_visible()
    expect(office.locator(".gv-breadcrumbs")).to_contain_text("某县")
    expect(office.locator("a.gv-map__point")).to_have_count(len(demo))
    journey.shot(office, "county-drilled-to-township")

    # ---- the township committee: its own township, down to 楼星村, and a case from there
    township = journey.sign_in("zhendangwei", start="/grid/map/", password=DEMO_PASSWORD)
    expect(township.locator("h2", has_text="一张图 · 太平镇")).to_be_visible()
    expect(township.locator("a.gv-map__point")).to_have_count(len(demo))
    journey.shot(township, "township-map")
    township.locator(f'a.gv-map__area[data-region="{louxing.pk}"]').click()
    expect(township.locator("h2", has_text="一张图 · 楼星村")).to_be_visible()
    expect(township.locator(".gv-map__counts tfoot")).to_contain_text(str(len(demo)))
    journey.shot(township, "township-drilled-to-village")
    last = demo[-1]
    township.locator(f'a.gv-map__point[data-event="{last.pk}"]').click()
    expect(township).to_have_url(re.compile(rf"/grid/events/{last.pk}/$"))
    journey.shot(township, "township-case")
    assert not journey.page_errors


@pytest.fixture
def outlined(county, personas):
    """The small county's two townships splitting the demo county's outline (as in tests/grid/test_map_tiles.py)."""
    middle = (DEMO_WEST + DEMO_EAST) / 2
    set_boundary(county.taiping, box(DEMO_WEST, DEMO_SOUTH, middle, DEMO_NORTH), by=personas["county_office"])
    set_boundary(county.zhaocun, box(middle, DEMO_SOUTH, DEMO_EAST, DEMO_NORTH), by=personas["county_office"])
    return county


def tile_png(col: int, row: int) -> bytes:
    """A stand-in tile (the browser never reaches 天地图 in a test): grey with a dark edge."""
    image = Image.new("RGB", (256, 256), (200 + (col + row) % 2 * 30, 210, 200))
    image.paste((60, 60, 60), (0, 0, 256, 2))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def tiled_policy() -> dict:
    """The site's policy as config/settings.py makes it when TIANDITU_KEY is set."""
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["img-src"] = [*policy["DIRECTIVES"]["img-src"], *map_tiles.TIANDITU_HOSTS]
    return policy


def test_map_tiles_lie_under_the_svg_where_the_projection_puts_them(journey, outlined):
    with override_settings(TIANDITU_KEY="test-key", CONTENT_SECURITY_POLICY=tiled_policy()):
        tiles_under_the_svg(journey)


def tiles_under_the_svg(journey):
    office = journey.sign_in("county_office", start="/grid/events/")
    served = []

    def serve(route):
        url = route.request.url
        served.append(url)
        route.fulfill(body=tile_png(int(re.search(r"TILECOL=(\d+)", url)[1]), int(re.search(r"TILEROW=(\d+)", url)[1])),
                      content_type="image/png")

    office.context.route(re.compile(r"^https://t[0-7]\.tianditu\.gov\.cn/"), serve)
    office.get_by_role("link", name="一张图").first.click()  # from the menu, as users go there
    expect(office.locator("h2", has_text="一张图 · 某县")).to_be_visible()
    tile = office.locator('img[src*="LAYER=vec"][src*="TILEROW=820"][src*="TILECOL=1665"]')
    expect(tile).to_have_count(1)
    office.wait_for_function("() => [...document.querySelectorAll('.gv-map__tiles img')].every(i => i.complete && i.naturalWidth > 0)")
    assert len(served) == 48 and all("tk=test-key" in url for url in served)  # 6 × 4 tiles, vec and cva; CSP let them in
    journey.shot(office, "county-map-on-tiles")
    # The tile's box on screen is where the SVG draws that tile's corners (the drawing's 900 units = its width).
    svg = office.locator("svg.gv-map__svg").bounding_box()
    view = map_tiles.fit([(DEMO_WEST, DEMO_SOUTH), (DEMO_EAST, DEMO_NORTH)], region_map.WIDTH, region_map.HEIGHT, region_map.PAD)
    expected = next(t for t in map_tiles.tiles_for(view) if (t.col, t.row) == (1665, 820))
    unit = svg["width"] / region_map.WIDTH
    box_on_screen = tile.bounding_box()
    assert box_on_screen["x"] == pytest.approx(svg["x"] + expected.x * unit, abs=1)
    assert box_on_screen["y"] == pytest.approx(svg["y"] + expected.y * unit, abs=1)
    assert box_on_screen["width"] == pytest.approx(expected.size * unit, abs=1)
    assert svg["height"] == pytest.approx(region_map.HEIGHT * unit, abs=1)  # the canvas keeps the drawing's proportions
    assert not journey.page_errors
