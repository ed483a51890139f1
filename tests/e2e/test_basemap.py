"""The base map in a real browser (Debian chromium via Playwright), with the default
settings: the demo archive that `make setup` builds, served by the app with range
requests and drawn by protomaps-leaflet on every map. Each page must draw land and town
labels in its own language and ask no host but the app for anything.

Labels are drawn into canvases, so the pages run with a wrapper around the canvas's
fillText that records what was written (installed before any of the page's scripts).
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from geo.basemap_build import basemap_build
from tests.conftest import verified_client
from tests.e2e import SCREENSHOTS
from tests.e2e.test_public_map import demo_snapshot, hexagons_drawn

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOT = SCREENSHOTS / "basemap.png"
RECORD_TEXT = """
(() => {
  const drawn = [];
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    drawn.push(String(text));
    return fillText.call(this, text, ...rest);
  };
  window.sosediTestDrawnText = drawn;
})();
"""
# The "white" flavour's land and sea (static/js/base-layer.js).
COLOURS = """(selector) => {
  let land = 0, sea = 0;
  for (const c of document.querySelectorAll(selector + ' canvas.leaflet-tile')) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255) land++;
      else if (d[i] === 220 && d[i + 1] === 220 && d[i + 2] === 220) sea++;
    }
  }
  return {land, sea};
}"""


@pytest.fixture(scope="session")
def demo_archive() -> Path:
    """The demo archive, as `make setup` leaves it (built here if missing or out of date)."""
    path = Path(django_settings.SOSEDI_BASEMAP_DIR) / "demo.pmtiles"
    basemap_build(path=path)
    return path


@pytest.fixture
def default_basemap(browser, demo_archive, settings, tmp_path):
    """The default settings: nothing configured, no archive installed, so the demo one.
    (In a directory of the test's own, in case this checkout has an extract installed.)"""
    settings.TILE_URL = None  # the e2e conftest's "no base layer", undone
    settings.SOSEDI_BASEMAP = ""
    settings.SOSEDI_BASEMAP_DIR = tmp_path
    shutil.copyfile(demo_archive, tmp_path / "demo.pmtiles")
    return tmp_path / "demo.pmtiles"


@pytest.fixture
def open_page(browser, live_server, default_basemap):
    contexts = []

    def open_(
        path: str,
        *,
        locale: str = "en-GB",
        cookies: list | None = None,
        route: tuple[str, int] | None = None,
    ):
        context = browser.new_context(locale=locale, viewport={"width": 1200, "height": 800})
        contexts.append(context)
        if cookies:
            context.add_cookies(cookies)
        if route:  # requests for these URLs get this status, as from a broken server
            pattern, status = route
            context.route(pattern, lambda r: r.fulfill(status=status, body=""))
        context.add_init_script(RECORD_TEXT)
        page = context.new_page()
        page.hosts_requested, page.errors, page.ranges, page.failed = set(), [], [], []
        page.on("request", lambda r: page.hosts_requested.add(urlsplit(r.url).netloc))
        page.on("request", lambda r: page.ranges.append(r.headers.get("range")))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        # The heatmap's document, opened on its own, has no icon: the browser's own ask.
        page.on("response", lambda r: r.status >= 400 and page.failed.append(r.url))
        page.goto(f"{live_server.url}{path}")
        return page

    yield open_
    for context in contexts:
        context.close()


def assert_base_map(page, live_server, map_selector: str, *, towns: set[str]) -> None:
    """The map drew the archive's land and sea and labelled some of `towns`, and the page
    asked nothing of anyone but the app (the archive by byte ranges)."""
    page.wait_for_selector(f"{map_selector}.has-basemap", timeout=20_000)
    page.wait_for_timeout(500)  # labels that cross a tile's edge are drawn again
    colours = page.evaluate(COLOURS, map_selector)
    assert colours["land"] > 5_000, colours
    drawn = set(page.evaluate("() => window.sosediTestDrawnText"))
    assert drawn & towns, sorted(drawn)[:40]
    assert page.locator(f"{map_selector}.has-outlines").count() == 0
    assert any(r and r.startswith("bytes=") for r in page.ranges)
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
    assert [u for u in page.failed if not u.endswith("/favicon.ico")] == []
    assert [e for e in page.errors if not e.startswith("Failed to load resource")] == []


def test_the_public_map_draws_the_base_map_in_the_page_language_under_its_hexagons(
    open_page, live_server
):
    demo_snapshot(3_000)
    page = open_page("/map/")
    assert_base_map(page, live_server, "#public-map", towns={"Moscow", "Kazan", "Samara"})
    hexagons_drawn(page, 10)
    drawn = set(page.evaluate("() => window.sosediTestDrawnText"))
    assert "Москва" not in drawn
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOT))

    russian = open_page("/map/", locale="ru-RU")
    assert_base_map(russian, live_server, "#public-map", towns={"Москва", "Казань", "Самара"})
    hexagons_drawn(russian, 10)
    assert "Moscow" not in set(russian.evaluate("() => window.sosediTestDrawnText"))


def test_the_embed_draws_the_base_map(open_page, live_server):
    demo_snapshot(3_000)
    page = open_page("/map/embed/")
    assert_base_map(page, live_server, "#public-map", towns={"Moscow", "Kazan", "Samara"})
    hexagons_drawn(page, 10)


def test_the_join_forms_pin_picker_draws_the_base_map(open_page, live_server):
    page = open_page("/join/")
    page.click("details.pin-picker summary")
    assert_base_map(page, live_server, "#pin-map", towns={"Moscow", "Kazan", "Samara"})


def test_an_event_page_draws_the_base_map_around_its_venue(open_page, live_server, make_supporter):
    from tests.e2e.pages import approved_event

    event = approved_event(make_supporter)
    page = open_page(f"/events/{event.pk}/", locale="ru-RU")
    assert_base_map(page, live_server, "#venue-map", towns={"Москва"})


def test_the_organizer_heatmap_draws_the_base_map(open_page, live_server, django_user_model):
    from supporters.organize.roles import roles_ensure

    roles_ensure()  # an earlier transactional test may have flushed the groups
    user = django_user_model.objects.create_user(username="olga", password="pw-Org-2026!")  # noqa: S106
    user.groups.add(Group.objects.get(name="organizer"))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = verified_client(user, device)
    name = django_settings.SESSION_COOKIE_NAME
    cookie = {"name": name, "value": client.cookies[name].value, "url": live_server.url}
    page = open_page("/organize/map/", cookies=[cookie])
    assert_base_map(page, live_server, ".leaflet-container", towns={"Moscow", "Kazan"})


def test_the_groups_page_draws_the_base_map(open_page, live_server):
    page = open_page("/groups/", locale="ru-RU")
    assert_base_map(page, live_server, "#groups-map", towns={"Москва", "Казань", "Самара"})


def test_an_archive_the_browser_cannot_read_gives_way_to_the_outlines(open_page, live_server):
    demo_snapshot(3_000)
    page = open_page("/map/", route=("**/map/basemap.pmtiles*", 404))
    page.wait_for_selector("#public-map.has-outlines", timeout=20_000)
    hexagons_drawn(page, 10)
    assert page.locator("#public-map.has-basemap").count() == 0
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
