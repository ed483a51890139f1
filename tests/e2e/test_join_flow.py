"""A newcomer joins in a real browser (Debian chromium via Playwright) and confirms by email."""

import os
from urllib.parse import urlsplit

import pytest

from supporters.models import Supporter
from tests.e2e import SCREENSHOTS, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = SCREENSHOTS


@pytest.fixture
def page(live_server, settings):
    from playwright.sync_api import sync_playwright

    settings.DEBUG = True  # the development outbox
    settings.TILE_URL = ""  # no base layer: nothing but the app itself may be contacted
    settings.SITE_URL = live_server.url
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(locale="ru-RU", viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.hosts_requested = set()
        page.on("request", lambda r: page.hosts_requested.add(urlsplit(r.url).netloc))
        yield page
        browser.close()


def test_a_newcomer_joins_with_a_cyrillic_city_and_confirms_from_the_outbox(page, live_server):
    page.goto(f"{live_server.url}/join/")
    assert page.locator("h1").inner_text() == "Присоединяйтесь к соседям"

    page.fill("#id_display_name", "Мария Петрова")
    page.fill("#id_email", "maria@example.org")
    page.fill("#id_location_text", "Екатеринбург")
    page.check("#id_consent_public_map")
    page.check("#id_consent_email_updates")
    page.check("input[name=frequency][value=weekly]")
    page.check("input[name=topics][value=environment]")
    page.screenshot(path=str(ARTIFACTS / "join.png"), full_page=True)
    page.click("main button[type=submit]")

    page.wait_for_url("**/join/thanks/")
    supporter = Supporter.objects.get(email="maria@example.org")
    assert supporter.status == "pending" and supporter.region == "Sverdlovsk Oblast"

    page.click("main a[href='/dev/outbox/']")
    page.click("text=Подтвердите")
    confirm_link = page.locator("pre.mail-body a").first
    assert "/confirm/" in confirm_link.get_attribute("href")
    page.screenshot(path=str(ARTIFACTS / "outbox.png"))
    confirm_link.click()
    page.click("main button[type=submit]")

    assert "Добро пожаловать, Мария Петрова!" in page.locator("h1").inner_text()
    supporter.refresh_from_db()
    assert supporter.status == "active"
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}


def test_a_pin_dropped_on_the_map_names_the_nearest_town(page, live_server):
    page.goto(f"{live_server.url}/join/")
    page.click("summary")
    page.wait_for_selector("#pin-map.leaflet-container")
    page.wait_for_selector("#pin-map.has-outlines")  # no tiles: country outlines instead
    box = page.locator("#pin-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    page.locator("#pin-status", has_text="✓").wait_for()
    assert page.input_value("#id_pin_lat") and page.input_value("#id_pin_lon")
    assert "RU" in page.inner_text("#pin-status")
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}


def test_the_pin_map_draws_country_outlines_when_the_tile_server_is_unreachable(
    page, live_server, settings
):
    # Nothing listens on the discard port: every tile fails at once.
    settings.TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    page.goto(f"{live_server.url}/join/")
    page.click("summary")
    page.wait_for_selector("#pin-map.has-outlines", timeout=10_000)
    assert page.locator("#pin-map .leaflet-outlines-pane path").count() > 100
    page.wait_for_timeout(300)
    page.locator("#pin-map").screenshot(path=str(ARTIFACTS / "join-pin-map.png"))
    assert page.hosts_requested <= {urlsplit(live_server.url).netloc, "127.0.0.1:9"}
