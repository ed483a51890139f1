"""The browser of the tests where several people, each at their own computer, use the
live server: Debian's Chromium, the development outbox on, no tile server."""

import pytest

from tests.e2e import chromium, launched_chromium


@pytest.fixture
def browser(live_server, settings):
    from playwright.sync_api import sync_playwright

    settings.DEBUG = True  # the development outbox
    settings.TILE_URL = ""  # no base layer: nothing but the app itself may be contacted
    settings.SITE_URL = live_server.url
    with sync_playwright() as p:
        browser = chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def module_browser():
    """One Chromium for a whole module, for tests that open many pages in contexts of
    their own (the every-page tests)."""
    with launched_chromium() as browser:
        yield browser
