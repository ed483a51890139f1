"""Two activists meet through /nearby/ in real browsers (Debian chromium via Playwright),
and a local event is proposed, invited to and answered."""

import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from geo.bands import Band
from supporters.models import OutboxMessage
from supporters.nearby import selectors, services
from supporters.nearby.models import Event, Introduction, IntroductionRequest
from tests.e2e import (
    SCREENSHOTS,
    nearby_sign_in,
    open_mail,
    watched_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = SCREENSHOTS


def test_two_neighbours_are_introduced_in_two_browsers(browser, live_server, make_supporter):
    settled = {"confirmed_at": timezone.now() - timedelta(days=90)}  # counted (nearby/holds.py)
    nina = make_supporter(
        **settled,
        name="Nina Sokolova",
        email="nina@example.org",
        lon=37.620,
        lat=55.750,
        consents=["introductions", "event_invitations"],
        city="Moscow",
    )
    pavel = make_supporter(
        **settled,
        name="Pavel Orlov",
        email="pavel@example.org",
        lon=37.628,
        lat=55.753,
        consents=["introductions"],
    )
    for i in range(6):  # a few more activists around, so the bands are not empty
        make_supporter(
            **settled, lon=37.58 + 0.03 * i, lat=55.72 + 0.01 * i, consents=["introductions"]
        )

    asker = watched_page(browser)
    nearby_sign_in(asker, live_server, nina.email)
    assert "Hello, Nina" in asker.locator("h1").inner_text()
    counts = asker.locator("#bands .band-count").all_inner_texts()
    assert counts[0] == "fewer than 5" and len(counts) == 4  # Pavel alone is not shown
    asker.select_option("#id_count", "1")
    asker.select_option("#id_farthest", "1_3")
    asker.fill("#id_message", "Hi! I want to start a repair café in our block. Coffee?")
    asker.click("button:has-text('Send my request')")
    sent = asker.locator("#request-sent").inner_text()
    assert "We wrote to the nearest activist within 3 km" in sent

    # Pavel, in his own browser, reads the mail and accepts.
    candidate = watched_page(browser)
    link = open_mail(candidate, live_server, to=pavel.email, subject_contains="would like to meet")
    body = candidate.locator("pre.mail-body").inner_text()
    assert "Nina lives under 1 km from you" in body and "Sokolova" not in body
    candidate.goto(link)
    assert "repair café" in candidate.locator("#introduction").inner_text()
    candidate.click("button:has-text('Accept')")
    candidate.wait_for_selector("text=You accepted")
    assert Introduction.objects.get().status == "accepted"

    # Both now have each other's name and address: in the mail and on Nina's page.
    link = open_mail(candidate, live_server, to=pavel.email, subject_contains="Meet Nina")
    assert "nina@example.org" in candidate.locator("pre.mail-body").inner_text()
    asker.goto(f"{live_server.url}/nearby/")
    mine = asker.locator("#my-introductions").inner_text()
    assert "Pavel Orlov accepted: pavel@example.org" in mine
    asker.screenshot(path=str(ARTIFACTS / "nearby.png"), full_page=True)

    own = urlsplit(live_server.url).netloc
    assert asker.hosts_requested == {own} and candidate.hosts_requested == {own}


def test_an_activist_alone_in_a_village_sees_fewer_than_k_and_still_reaches_a_neighbour(
    browser, live_server, make_supporter, settings
):
    # Chukhloma district, Kostroma Oblast: a village 15 km south of the town of Chukhloma
    # (58.753 N, 42.686 E), where one other activist lives. Nobody else within 25 km.
    # Both have lived there for months (new accounts are not counted or asked at once).
    months_ago = timezone.now() - timedelta(days=90)
    alla = make_supporter(
        name="Alla Smirnova",
        email="alla@example.org",
        lon=42.686,
        lat=58.618,
        consents=["introductions"],
        city="Chukhloma",
        region="Kostroma Oblast",
        confirmed_at=months_ago,
        location_changed_at=months_ago,
    )
    fyodor = make_supporter(
        name="Fyodor Belov",
        email="fyodor@example.org",
        lon=42.686,
        lat=58.753,
        consents=["introductions"],
        city="Chukhloma",
        region="Kostroma Oblast",
        confirmed_at=months_ago,
        location_changed_at=months_ago,
    )

    page = watched_page(browser)
    nearby_sign_in(page, live_server, alla.email)
    assert "Hello, Alla" in page.locator("h1").inner_text()
    assert "Chukhloma" in page.locator(".nearby-head").inner_text()
    # Three empty bands and one with Fyodor in it read the same.
    exact = selectors.activist_band_counts(supporter=alla).counts
    assert exact.get(Band.FROM_10_TO_25) == 1 and sum(exact.values()) == 1
    k = settings.SOSEDI_NEARBY_K
    counts = page.locator("#bands .band-count").all_inner_texts()
    assert counts == [f"fewer than {k}"] * 4
    # The picture: the greeting (with the town) and the bands, not the form below them.
    top = page.locator(".nearby-head").bounding_box()
    bands = page.locator("#bands").bounding_box()
    page.screenshot(
        path=str(ARTIFACTS / "nearby-sparse.png"),
        clip={
            "x": top["x"] - 12,
            "y": top["y"] - 12,
            "width": top["width"] + 24,
            "height": bands["y"] + bands["height"] - top["y"] + 24,
        },
    )

    page.select_option("#id_count", "3")
    page.select_option("#id_farthest", "10_25")
    page.fill("#id_message", "Hello from the village! Shall we start a reading circle?")
    page.click("button:has-text('Send my request')")
    sent = page.locator("#request-sent").inner_text()
    assert "We wrote to the nearest activists within 25 km" in sent
    assert "up to 3, if there are any" in sent
    # The only numbers on the page are what Alla chose (3, 25 km) and the expiry: nothing
    # says how many were written to.
    days = settings.SOSEDI_INTRODUCTION_EXPIRY_DAYS
    assert sorted(re.findall(r"\d+", sent)) == sorted(["25", "3", str(days)])
    assert not re.search(r"\d+\s+(activist|person|people)", sent)

    # Fyodor, 15 km away, is the one written to.
    request = IntroductionRequest.objects.get()
    assert [i.candidate for i in request.introductions.all()] == [fyodor]
    mail = OutboxMessage.objects.get(kind="nearby_introduction_request")
    assert mail.to_email == fyodor.email and mail.discloses == alla
    assert "Alla lives 10–25 km from you" in mail.body_text
    assert "reading circle" in mail.body_text and "Smirnova" not in mail.body_text
    # ...and the development outbox lists it.
    page.goto(f"{live_server.url}/dev/outbox/")
    row = page.locator("tr", has_text=fyodor.email).filter(has_text="would like to meet")
    assert row.count() == 1

    page.goto(f"{live_server.url}/nearby/")
    mine = page.locator("#my-introductions").inner_text()
    assert "sent to the nearest activists within 25 km open to introductions, up to 3" in mine
    assert "Nobody has accepted yet." in mine
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}


def test_an_event_is_proposed_invited_to_and_answered(browser, live_server, make_supporter):
    host = make_supporter(
        name="Irina Volkova", email="irina@example.org", consents=["introductions"]
    )
    guest = make_supporter(
        name="Oleg Petrov",
        email="oleg@example.org",
        lon=37.63,
        lat=55.755,
        consents=["event_invitations"],
    )

    page = watched_page(browser)
    nearby_sign_in(page, live_server, host.email)
    page.click("text=Propose an event")
    start = (timezone.localtime() + timedelta(days=4)).replace(hour=11, minute=0)
    page.fill("#id_title", "Courtyard clean-up")
    page.fill("#id_description", "Bags and gloves provided. Tea afterwards.")
    page.fill("#id_starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_ends_at", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_venue_name", "Courtyard of Pokrovka 12")
    page.wait_for_selector("#pin-map.leaflet-container")
    # No tile server: the pin map draws country outlines instead of staying grey.
    page.wait_for_selector("#pin-map.has-outlines")
    page.locator("#pin-map").screenshot(path=str(ARTIFACTS / "event-pin-map.png"))
    # The map opens on central Moscow at zoom 4: zoom in on its centre, drop the pin there.
    page.locator("#pin-map").scroll_into_view_if_needed()
    box = page.locator("#pin-map").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    for _ in range(10):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
    page.mouse.click(*centre)
    page.wait_for_selector("#pin-status:has-text('✓')")
    assert abs(float(page.input_value("#id_pin_lat")) - 55.75) < 0.03
    page.fill("#id_radius_km", "3")
    page.click("button:has-text('Propose the event')")
    page.wait_for_selector("text=waiting for approval")

    event = Event.objects.get()
    services.event_review(event=event, approve=True, reviewer=None)
    services.event_invitations_send(event=event)  # what the worker does on approval

    guest_page = watched_page(browser)
    link = open_mail(guest_page, live_server, to=guest.email, subject_contains="Invitation")
    assert "Courtyard of Pokrovka 12" in guest_page.locator("pre.mail-body").inner_text()
    guest_page.goto(link)
    guest_page.click("button[value=yes]")
    guest_page.wait_for_selector("text=Your answer: yes")

    page.goto(f"{live_server.url}/nearby/events/{event.pk}/")
    assert "Coming: Irina, Oleg" in page.locator("#turnout").inner_text()
    page.goto(f"{live_server.url}/events/{event.pk}/")
    page.wait_for_selector("#venue-map.has-outlines")
    facts = page.locator(".event").inner_text()
    assert "Courtyard of Pokrovka 12" in facts
    # Typed as 11:00 at a Moscow venue, shown as 11:00 there, with the zone.
    assert "11 a.m. – 1 p.m. (Europe/Moscow, MSK)" in facts
    assert event.starts_at.hour == 8  # UTC
    page.wait_for_timeout(300)  # let the outlines settle before the picture
    page.screenshot(path=str(ARTIFACTS / "event.png"), full_page=True)
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
