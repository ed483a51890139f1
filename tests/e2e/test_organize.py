"""The organizer dashboard in a real browser (Debian chromium via Playwright).

Logs in with a password and a TOTP code, waits for the folium heatmap to be drawn in its
frame, checks that nothing but the app was contacted, and saves organize.png
(where: tests/e2e/__init__.py).
"""

import os
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from supporters.demo import demo_supporters_seed
from tests.e2e import (
    SCREENSHOTS,
    chromium,
    organizer_log_in,
    watched_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOT = SCREENSHOTS / "organize.png"
PASSWORD = "pw-Org-2026!"  # noqa: S105


@pytest.fixture
def organizer(transactional_db, django_user_model):
    from supporters.organize.roles import roles_ensure

    roles_ensure()  # an earlier transactional test may have flushed the groups
    demo_supporters_seed(count=4000, seed=1)
    user = django_user_model.objects.create_user(username="olga", password=PASSWORD)
    user.groups.add(Group.objects.get(name="organizer"))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


@pytest.fixture
def page(live_server, settings):
    from playwright.sync_api import sync_playwright

    settings.TILE_URL = ""  # no base layer: nothing but the app itself may be contacted
    with sync_playwright() as p:
        browser = chromium(p)
        page = watched_page(browser, width=1360, height=1000)
        yield page
        browser.close()


def heat_pixels(frame) -> int:
    """How many pixels of the heat canvas are painted."""
    return frame.evaluate(
        """() => {
          const c = document.querySelector('canvas.leaflet-heatmap-layer');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        }"""
    )


def assert_hotspots_apart(frame) -> None:
    """No two hotspot discs overlap (their boxes' centres are a sum of radii apart)."""
    markers = frame.locator(".org-hotspot")
    discs = [markers.nth(i).bounding_box() for i in range(markers.count())]
    for i, a in enumerate(discs):
        for b in discs[i + 1 :]:
            dx = (a["x"] + a["width"] / 2) - (b["x"] + b["width"] / 2)
            dy = (a["y"] + a["height"] / 2) - (b["y"] + b["height"] / 2)
            assert (dx * dx + dy * dy) ** 0.5 >= (a["width"] + b["width"]) / 2 - 1, (a, b)


def test_an_organizer_logs_in_with_two_factors_and_sees_the_heatmap_drawn_locally(
    page, live_server, organizer
):
    _user, device = organizer
    organizer_log_in(page, live_server, username="olga", password=PASSWORD, device=device)

    page.wait_for_selector("body[data-heatmap-ready=true]", timeout=20_000)
    frame = page.frame_locator("#heatmap")
    frame.locator("canvas.leaflet-heatmap-layer").wait_for(timeout=20_000)
    map_frame = next(f for f in page.frames if f.url.startswith(f"{live_server.url}/organize/map/"))
    assert heat_pixels(map_frame) > 1000
    # Hotspot markers and the drawing tools are on the map.
    assert frame.locator(".org-hotspot-label").count() >= 3
    assert frame.locator(".leaflet-draw-draw-polygon").count() == 1
    # No tile server: country outlines under the heat.
    frame.locator(".leaflet-container.has-outlines").wait_for(timeout=10_000)
    page.wait_for_timeout(300)  # the heat layer redraws once after fitting the bounds
    page.screenshot(path=str(SCREENSHOT), full_page=False)
    assert_hotspots_apart(frame)

    # Zoomed out, hotspots crowd together: they are moved apart, never stacked.
    for _ in range(2):
        frame.locator(".leaflet-control-zoom-out").click()
        page.wait_for_timeout(500)
    assert_hotspots_apart(frame)
    assert int(map_frame.locator("html").get_attribute("data-hotspots-moved")) >= 1
    page.locator("#heatmap").screenshot(path=str(SCREENSHOTS / "organize-hotspots.png"))

    # A hotspot's "3 km segment" fills the segment form and shows its size first: the
    # people the hotspot's row counts "within 3 km".
    within_3km = page.locator("#hotspots tbody tr").first.locator("td").nth(4).inner_text()
    page.locator("#hotspots button[data-segment-lat]").first.click()
    expect(page.locator("#segment-size")).to_have_text(
        re.compile(rf"^{within_3km} active supporters, ")
    )
    assert page.input_value("#id_radius_km") == "3.00"

    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
    assert not page.console_errors, page.console_errors
