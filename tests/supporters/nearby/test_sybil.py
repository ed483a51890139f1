"""Sybil probing: an attacker holding 50 accounts, each at home in a random resolution-8
cell within 10 km of one lone activist in an otherwise empty area, reads every answer
the app gives those accounts: the band counts, the answers to introduction requests,
their own list of requests, the page of an event one of them hosts (with its invitation
count) and every mail they receive. The whole transcript must be byte for byte the one
they read when nobody lives there, and the one they read with k - 1 activists in that
cell; with k activists the counts appear.

The probes are confirmed through the sign-up services, as the attacker's accounts would
be, on the day of the attack. The activists have lived there for two months.
"""

import random
import re
from datetime import timedelta

import h3
import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone
from geopy.distance import great_circle

from geo import hexgrid
from geo.bands import Band
from supporters import services as supporter_services
from supporters.models import AreaArrival, OutboxMessage, Supporter
from supporters.nearby import services
from supporters.nearby.views import SESSION_KEY
from tests.conftest import location_at

from .probing import isolated, normalise, section

pytestmark = pytest.mark.django_db

# Farmland in Vologda Oblast, nobody else within 25 km in these tests.
AREA = (39.40, 59.55)
TARGET_CELL = hexgrid.cell_for_point(lon=AREA[0], lat=AREA[1])
PROBES = 50
RADIUS_KM = 10.0
EVENT_START = (timezone.now() + timedelta(days=6)).replace(
    hour=12, minute=0, second=0, microsecond=0
)


def _section(html: str, section_id: str) -> str:
    return section(html, section_id) or f"<no section {section_id}>"


def _probe_points() -> list[tuple[float, float]]:
    """One point in each of 50 different resolution-8 cells, uniformly over the disc."""
    rng = random.Random(20261202)
    points, cells = [], set()
    while len(points) < PROBES:
        km = RADIUS_KM * rng.random() ** 0.5
        there = great_circle(kilometers=km).destination((AREA[1], AREA[0]), rng.uniform(0, 360))
        cell = hexgrid.cell_for_point(lon=there.longitude, lat=there.latitude)
        if cell not in cells:
            cells.add(cell)
            points.append((there.longitude, there.latitude))
    return points


def _join(*, n: int, lon: float, lat: float, name: str, email: str) -> Supporter:
    """A supporter who joined through the sign-up services and confirmed today."""
    supporter = supporter_services.supporter_sign_up(
        email=email,
        display_name=name,
        location=location_at(lon=lon, lat=lat),
        consents=["introductions", "event_invitations"],
        preferences=supporter_services.Preferences(channel="email", frequency="monthly", topics=[]),
        language="en",
    )
    return supporter_services.supporter_confirm(supporter=supporter)


def _activists(count: int) -> None:
    """`count` activists in the target's cell, at home there for two months."""
    lat, lon = h3.cell_to_latlng(h3.int_to_str(TARGET_CELL))
    long_ago = timezone.now() - timedelta(days=60)
    for i in range(count):
        person = _join(
            n=i, lon=lon, lat=lat, name=f"Lone Activist{i}", email=f"lone{i}@example.org"
        )
        assert person.cell == TARGET_CELL
        Supporter.objects.filter(pk=person.pk).update(confirmed_at=long_ago)
        AreaArrival.objects.filter(supporter=person).update(arrived_at=long_ago)


def _client(supporter: Supporter) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = str(supporter.pk)
    session.save()
    return client


def _page(client: Client, *sections: str) -> str:
    response = client.get("/nearby/")
    html = response.content.decode()
    return f"{response.status_code}\n" + "\n".join(normalise(_section(html, s)) for s in sections)


def _venue() -> Point:
    """A public place 2 km north of the target's cell centre."""
    lat, lon = h3.cell_to_latlng(h3.int_to_str(TARGET_CELL))
    there = great_circle(kilometers=2).destination((lat, lon), 0)
    return Point(there.longitude, there.latitude, srid=4326)


def _transcript(activists: int) -> list[str]:
    """Everything the 50 probes read, in order, with `activists` people in the cell."""
    _activists(activists)
    probes = [
        _join(n=n, lon=lon, lat=lat, name=f"Probe Number{n}", email=f"probe{n}@attacker.example")
        for n, (lon, lat) in enumerate(_probe_points())
    ]
    clients = [_client(p) for p in probes]
    transcript = []
    for n, client in enumerate(clients):
        transcript.append(f"probe {n} page\n" + _page(client, "bands", "ask", "my-introductions"))
    for n, client in enumerate(clients):
        for farthest in (Band.UNDER_1, Band.FROM_10_TO_25):
            response = client.post(
                "/nearby/introductions/",
                {"message": "Hi, I live nearby", "count": 5, "farthest": farthest},
            )
            answer = _section(response.content.decode(), "request-sent")
            transcript.append(
                f"probe {n} asks {farthest}\n{response.status_code}\n{normalise(answer)}"
            )
        transcript.append(f"probe {n} after\n" + _page(client, "bands", "my-introductions"))

    # One probe hosts an event near the target; an organizer approves it.
    host = probes[0]
    event = services.event_propose(
        host=host,
        draft=services.EventDraft(
            title="Village meeting",
            description="Tea provided.",
            starts_at=EVENT_START,
            ends_at=EVENT_START + timedelta(hours=2),
            venue_name="Village hall",
            venue=_venue(),
            radius_km=10,
        ),
    )
    services.event_review(event=event, approve=True, reviewer=None)
    services.event_invitations_send(event=event)
    manage = clients[0].get(f"/nearby/events/{event.pk}/")
    html = manage.content.decode()
    transcript.append(f"host page\n{manage.status_code}\n{normalise(_section(html, 'turnout'))}")
    facts = re.search(r'<dl class="facts">.*?</dl>', html, re.S)[0]
    transcript.append(normalise(facts))

    for n, probe in enumerate(probes):
        for m in OutboxMessage.objects.filter(to_email=probe.email).order_by("created_at", "kind"):
            transcript.append(
                f"mail to probe {n}: {m.kind}\n{normalise(m.subject + chr(10) + m.body_text)}"
            )
    return transcript


def _isolated_transcript(activists: int) -> list[str]:
    """One world, undone afterwards so that the next starts from the same empty area."""
    return isolated(lambda: _transcript(activists))


def _counts(transcript: list[str]) -> list[str]:
    """What the band counts on the probes' pages say."""
    pages = [t for t in transcript if t.startswith("probe ") and " asks " not in t]
    return [c for page in pages for c in re.findall(r'class="band-count[^"]*">([^<]+)<', page)]


def test_fifty_probes_read_the_same_bytes_with_nobody_one_or_k_minus_1_activists(settings):
    settings.SOSEDI_NEARBY_K = 5
    empty = _isolated_transcript(0)
    # Everyone probed, everything said.
    assert sum(t.startswith("probe ") and " asks " in t for t in empty) == 2 * PROBES
    assert any(t.startswith("mail to probe 3: nearby_event_invitation") for t in empty)
    assert set(_counts(empty)) == {"fewer than 5"}

    lone = _isolated_transcript(1)
    assert lone == empty
    assert _isolated_transcript(settings.SOSEDI_NEARBY_K - 1) == empty

    crowd = _isolated_transcript(settings.SOSEDI_NEARBY_K)
    assert crowd != empty
    assert "5+" in _counts(crowd)
    assert any("5 or more supporters invited" in t for t in crowd)


def test_the_lone_activist_was_really_there_to_be_found(settings):
    """The worlds differ where the app looks: the lone activist is asked for introductions
    by the probes, and is invited to the probe's event (the test is not vacuous)."""

    def world():
        _transcript(1)
        lone = Supporter.objects.get(email="lone0@example.org")
        return {
            m.kind
            for m in OutboxMessage.objects.filter(to_email=lone.email)
            if m.kind.startswith("nearby_")
        }

    assert isolated(world) == {"nearby_introduction_request", "nearby_event_invitation"}
