"""Sosedi on a phone, in Debian's Chromium with a touch screen at 360 × 740 and 390 × 844:
no public or activist page scrolls sideways (with the development outbox's link in the
header and without it, as in production), the header folds into a menu, /map/ fills the
first screen with the map and draws hexagons, every control is a 44 px target, and the
join flow is completed by touch with a pin that is snapped to its hexagon in the page,
before anything leaves it, also when the device gives its own location.
"""

import os
from urllib.parse import parse_qs, urlsplit

import h3
import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from supporters.models import Supporter
from tests.e2e import SCREENSHOTS
from tests.e2e.pages import PAGES, Site

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PHONES = [(360, 740), (390, 844)]
PUBLIC = [name for name in PAGES if not name.startswith("organize")]
README_SHOTS = {"nearby-activist", "group"}  # and the map and the join form, below
# What a finger presses: every control but the links inside running text.
TARGETS = (
    "button:visible, .button:visible, select:visible, summary:visible, .leaflet-bar a:visible,"
    " input:visible:not([type=checkbox]):not([type=radio]):not([type=hidden])"
)


@pytest.fixture
def site(module_browser, live_server, settings, make_supporter):
    settings.TILE_URL = ""  # no base layer: the maps draw country outlines
    settings.SITE_URL = live_server.url
    contexts = []

    def phone(width: int, height: int, **options):
        context = module_browser.new_context(
            viewport={"width": width, "height": height},
            is_mobile=True,
            has_touch=True,
            locale="en-GB",
            **options,
        )
        contexts.append(context)
        return context

    site = Site(context=phone(*PHONES[0]), live_server=live_server, make_supporter=make_supporter)
    site.phone = phone
    yield site
    for context in contexts:
        context.close()


def _open(context, url: str, ready: str | None = None, then=None):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"
    if ready:
        page.wait_for_selector(ready, state="attached", timeout=20_000)
    if then:
        then(page)
    return page


def _too_small(page) -> list[str]:
    """Controls on the page less than 44 px high or wide, described."""
    small = []
    for control in page.locator(TARGETS).all():
        box = control.bounding_box()
        if box and (box["height"] < 43.5 or box["width"] < 43.5):
            html = control.evaluate("e => e.outerHTML.slice(0, 90)")
            small.append(f"{box['width']:.0f}×{box['height']:.0f} {html}")
    return small


@pytest.mark.parametrize("name", PUBLIC)
def test_no_public_page_scrolls_sideways_on_a_phone(site, settings, name):
    spec = PAGES[name]
    path = spec.setup(site)
    # The smaller phone in Russian (longer words) with the development outbox's link in
    # the header; the other in English, as in production.
    for (width, height), debug in zip(PHONES, (True, False), strict=True):
        settings.DEBUG = debug
        context = site.phone(width, height)
        if site.context.cookies():  # the activist's session, for the signed-in pages
            context.add_cookies(site.context.cookies())
        language = "ru" if debug else "en"
        context.add_cookies(
            [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": site.url}]
        )
        page = _open(context, site.url + path, spec.ready, spec.then)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width == width, f"{path} at {width} px in {language}: {scroll_width}"
        assert page.errors == [], page.errors
        assert _too_small(page) == [], f"{path} at {width} px in {language}: under 44 px"
        if name in README_SHOTS and not debug:
            page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"))
        page.close()


def test_the_header_folds_into_a_menu_that_opens_and_closes(site):
    page = _open(site.context, site.url + "/")
    nav = page.locator("#site-nav")
    toggle = page.locator("#menu-toggle")
    expect(nav).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.tap()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for link in nav.locator("a").all():
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["height"] >= 43.5 and box["x"] >= 0 and box["x"] + box["width"] <= 360
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()

    toggle.tap()
    nav.get_by_role("link", name="Map").tap()
    page.wait_for_url("**/map/")


@pytest.mark.parametrize("width, height", PHONES)
def test_the_map_fills_the_first_screen_and_draws_hexagons(site, width, height):
    path = PAGES["map"].setup(site)
    page = _open(site.phone(width, height), site.url + path, PAGES["map"].ready)
    box = page.locator("#public-map").bounding_box()
    assert box["y"] < height / 4, f"the map starts {box['y']:.0f} px down"
    assert box["y"] + box["height"] >= height - 2, "the map ends above the screen's bottom"
    assert box["height"] >= height / 2 and box["width"] == width
    assert page.locator("#public-map path.sosedi-cell").count() > 0
    # Over it, within the first screen: the total, the place search and Join.
    for selector in ("#map-total", "#place-query", ".map-summary-join"):
        found = page.locator(selector).bounding_box()
        assert found and found["y"] + found["height"] <= height, selector
    # The rest of the panel follows the map.
    assert page.locator(".join-call").bounding_box()["y"] >= box["y"] + box["height"]
    if width == PHONES[1][0]:
        page.screenshot(path=str(SCREENSHOTS / "phone-map.png"))


def _hexagon_centre(lat: float, lon: float) -> tuple[float, float]:
    cell = h3.latlng_to_cell(lat, lon, django_settings.SOSEDI_H3_RESOLUTION)
    return h3.cell_to_latlng(cell)


def _is_a_hexagon_centre(lat: float, lon: float) -> bool:
    centre = _hexagon_centre(lat, lon)
    return abs(centre[0] - lat) < 2e-6 and abs(centre[1] - lon) < 2e-6


def _watch_locate(page) -> list[tuple[float, float]]:
    """The points the page sends to the place lookup of a pin (api/locate)."""
    sent = []

    def record(request):
        parts = urlsplit(request.url)
        if parts.path.rstrip("/").endswith("/locate"):
            query = parse_qs(parts.query)
            sent.append((float(query["lat"][0]), float(query["lon"][0])))

    page.on("request", record)
    return sent


def test_joining_by_touch_with_a_pin_snapped_to_its_hexagon(site):
    page = _open(site.phone(*PHONES[1]), site.url + "/join/")
    sent = _watch_locate(page)
    assert page.locator("#id_email").get_attribute("type") == "email"
    assert page.locator("#id_email").get_attribute("autocomplete") == "email"
    assert page.locator("#id_phone").get_attribute("type") == "tel"
    assert page.locator("#id_display_name").get_attribute("autocomplete") == "name"

    page.locator("#id_display_name").tap()
    page.keyboard.type("Вера Тапова")
    page.locator("#id_email").tap()
    page.keyboard.type("vera.tap@example.org")
    page.locator("#id_location_text").tap()
    page.keyboard.type("Казань")
    page.locator(".pin-picker summary").tap()
    pin_map = page.locator("#pin-map")
    pin_map.scroll_into_view_if_needed()
    # The pin map opens on the town typed, not on the default view.
    expect(pin_map).to_have_attribute("data-centred-on", "Kazan")  # an English page
    box = pin_map.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] * 0.52, box["y"] + box["height"] * 0.47)

    expect(page.locator("#pin-map .leaflet-marker-icon")).to_be_visible()
    expect(page.locator("#pin-status")).to_contain_text("✓")
    lat = float(page.locator("#id_pin_lat").input_value())
    lon = float(page.locator("#id_pin_lon").input_value())
    assert _is_a_hexagon_centre(lat, lon), (lat, lon)
    assert abs(lat - 55.79) < 0.4 and abs(lon - 49.12) < 0.6, "the tap landed by Kazan"
    assert sent and all(_is_a_hexagon_centre(*point) for point in sent), sent
    # The pin decides the town, and the town field says which.
    town = page.locator("#id_location_text").input_value()
    expect(page.locator("#pin-status")).to_contain_text(f"✓ {town},")
    page.locator(".pin-picker summary").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "phone-join.png"))

    page.locator("label[for=id_consent_public_map]").tap()
    page.get_by_role("button", name="Join", exact=True).tap()
    page.wait_for_url("**/join/thanks/")

    vera = Supporter.objects.get(email="vera.tap@example.org")
    assert vera.consent_public_map and vera.region == "Tatarstan Republic"
    stored = h3.cell_to_latlng(h3.int_to_str(vera.cell))
    assert abs(stored[0] - lat) < 2e-6 and abs(stored[1] - lon) < 2e-6


def test_use_my_location_snaps_the_devices_position_before_it_leaves_the_page(site):
    here = {"latitude": 55.751244, "longitude": 37.618423}  # where the device says it is
    context = site.phone(*PHONES[1], geolocation=here, permissions=["geolocation"])
    page = _open(context, site.url + "/join/")
    sent = _watch_locate(page)
    posted = []
    page.on("request", lambda r: r.method == "POST" and posted.append(r.post_data or ""))

    page.get_by_role("button", name="Use my location").tap()
    expect(page.locator("#pin-status")).to_contain_text("✓")
    lat = float(page.locator("#id_pin_lat").input_value())
    lon = float(page.locator("#id_pin_lon").input_value())
    assert (lat, lon) == pytest.approx(
        _hexagon_centre(here["latitude"], here["longitude"]), abs=2e-6
    )
    assert (lat, lon) != pytest.approx((here["latitude"], here["longitude"]), abs=1e-5)
    assert sent == [(lat, lon)]

    page.locator("#id_display_name").fill("Gleb")
    page.locator("#id_email").fill("gleb.gps@example.org")
    page.get_by_role("button", name="Join", exact=True).tap()
    page.wait_for_url("**/join/thanks/")
    # Neither the lookup nor the form carried the device's own position.
    for raw in (str(here["latitude"]), str(here["longitude"])):
        assert not any(raw in body for body in posted)
    assert Supporter.objects.filter(email="gleb.gps@example.org").exists()


ORGANIZER = [name for name in PAGES if name.startswith("organize")]


@pytest.mark.parametrize("name", ORGANIZER)
def test_the_organizer_workspace_fits_a_tablet(site, name):
    """Desktop-first, but a 1024 px tablet never scrolls sideways."""
    spec = PAGES[name]
    path = spec.setup(site)
    context = site.phone(1024, 768)
    context.add_cookies(site.context.cookies())
    page = _open(context, site.url + path, spec.ready, spec.then)
    assert page.evaluate("document.documentElement.scrollWidth") == 1024, path


def test_the_login_pages_fields_are_styled_alike(site):
    """The password field looks like the username field above it (it used to be unstyled)."""
    page = _open(site.phone(1280, 800), site.url + "/organize/login/")
    fields = [page.locator(f"#id_{name}") for name in ("username", "password")]
    boxes = [field.bounding_box() for field in fields]
    assert boxes[0]["width"] == boxes[1]["width"] and boxes[0]["height"] == boxes[1]["height"]
    styles = [
        field.evaluate("e => ['border', 'padding', 'font-size'].map(p => getComputedStyle(e)[p])")
        for field in fields
    ]
    assert styles[0] == styles[1]
