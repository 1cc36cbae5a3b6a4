"""Journey 5 (一张图) on the demo county: the county office opens the map, sees the demo's open events as
dots, opens one and lands on its case, then clicks 太平镇 to go down a level; the township committee opens
its map, goes down to 楼星村 and opens a case from there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from config.demo import LOUXING_PATH, TAIPING_PATH, load_demo
from grid.models import Event, Region

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
