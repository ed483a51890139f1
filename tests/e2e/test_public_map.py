"""The public map in a real browser (Debian chromium via Playwright), on demo data.

Runs with no tile server, as a high-risk deployment would: the page must still draw
country outlines, hexagons, the legend and the total, and contact nobody but the app.
"""

import os
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from geo.snapshot_models import MapSnapshot
from supporters.demo import demo_supporters_seed
from tests.e2e import SCREENSHOTS, chromium
from tests.geo.test_snapshot import refresh_map

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOT = SCREENSHOTS / "map.png"


def demo_snapshot(count: int) -> MapSnapshot:
    """`count` synthetic supporters around real Russian places, and a snapshot of them."""
    demo_supporters_seed(count=count, seed=1)
    refresh_map()
    return MapSnapshot.objects.get()


@pytest.fixture
def demo_map(transactional_db):
    return demo_snapshot(20_000)


@pytest.fixture
def small_demo_map(transactional_db):
    return demo_snapshot(3_000)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.TILE_URL = ""  # no base layer: nothing but the app itself may be contacted
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.hosts_requested = set()
    page.errors = []
    page.on("request", lambda r: page.hosts_requested.add(urlsplit(r.url).netloc))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    yield page
    context.close()


# Locators and attributes only: the page's Content-Security-Policy forbids the string
# evaluation that page.wait_for_function("…") would need.
def map_data(page) -> dict:
    el = page.locator("#public-map")
    keys = ("lat", "lon", "zoom", "cells", "resolution", "mode")
    return {key: el.get_attribute(f"data-{key}") for key in keys}


def hexagons_drawn(page, at_least: int) -> None:
    expect(page.locator("path.sosedi-cell").nth(at_least - 1)).to_be_attached()


def test_the_map_draws_hexagons_legend_and_total_and_flies_to_a_searched_place(
    page, live_server, demo_map
):
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("#public-map.has-outlines")
    hexagons_drawn(page, 20)
    cells_drawn = page.locator("path.sosedi-cell").count()
    assert int(map_data(page)["cells"]) == cells_drawn

    legend = page.locator("#map-legend-classes li")
    assert legend.count() >= 3 and page.locator("#map-legend").is_visible()
    assert "background-color" in page.locator("#map-legend .swatch").first.get_attribute("style")
    total = demo_map.areas.get(level="world").count
    assert page.inner_text("#map-total .headline-number") == f"{total:,}"
    assert page.locator(".join-call a[href='/join/']").is_visible()
    page.wait_for_timeout(400)  # let the outlines and hexagons settle before the picture
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    page.click("#map-modes button[data-mode=heat]")
    page.wait_for_selector("canvas.leaflet-heatmap-layer")
    assert page.locator("path.sosedi-cell").count() == 0
    assert page.locator("#map-legend-heat").is_visible()
    page.click("#map-modes button[data-mode=hexagons]")
    hexagons_drawn(page, 20)

    before = map_data(page)
    page.fill("#place-query", "Новосибирск")
    page.press("#place-query", "Enter")
    the_map = page.locator("#public-map")
    expect(the_map).to_have_attribute("data-zoom", "10", timeout=15_000)
    expect(the_map).to_have_attribute("data-resolution", "7", timeout=15_000)
    there = map_data(page)
    assert there["lat"] != before["lat"]
    assert abs(float(there["lat"]) - 55.04) < 0.05 and abs(float(there["lon"]) - 82.93) < 0.05
    hexagons_drawn(page, 1)
    assert "Novosibirsk" in page.inner_text("#place-results")

    assert page.errors == []
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}


def test_the_embed_draws_the_same_map_for_an_iframe(page, live_server, small_demo_map):
    page.goto(f"{live_server.url}/map/embed/")
    hexagons_drawn(page, 10)
    assert page.locator("#map-legend-classes li").count() >= 3
    join = page.locator(".embed-bar a.button")
    assert join.get_attribute("href") == "/join/" and join.get_attribute("target") == "_blank"
    assert page.errors == []
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}


def test_an_unreachable_tile_server_falls_back_to_country_outlines(
    page, live_server, small_demo_map, settings
):
    # Nothing listens on the discard port: every tile fails at once.
    settings.TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("#public-map.has-outlines", timeout=10_000)
    hexagons_drawn(page, 10)
    assert page.hosts_requested <= {urlsplit(live_server.url).netloc, "127.0.0.1:9"}
