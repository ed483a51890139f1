"""Fixtures for nearby: real cells, signed-in clients, mail helpers (the activist and
moderator fixtures, shared with the organizer tests, are in tests/supporters/conftest.py)."""

import re
from datetime import timedelta

import h3
import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone

from geo import hexgrid
from supporters.models import OutboxMessage
from supporters.nearby.services import EventDraft
from supporters.nearby.views import SESSION_KEY

MOSCOW = (37.62, 55.75)


def event_draft(**fields) -> EventDraft:
    """An event three days ahead, two hours long, at a Moscow venue; `fields` replace any
    part of it (an `ends_at` not given stays two hours after `starts_at`)."""
    start = fields.pop("starts_at", timezone.now() + timedelta(days=3))
    return EventDraft(
        **{
            "title": "Tree planting",
            "description": "Spades provided.",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
            "venue_name": "School No. 5 yard",
            "venue": Point(*MOSCOW, srid=4326),
            "radius_km": 5,
        }
        | fields
    )


def cell_centre_lonlat(cell: int) -> tuple[float, float]:
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    return lon, lat


def ring_cell(origin: int, k: int, i: int = 0) -> int:
    return h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(origin), k))[i])


def moscow_cell() -> int:
    return hexgrid.cell_for_point(lon=MOSCOW[0], lat=MOSCOW[1])


@pytest.fixture
def signed_in():
    """A test client whose session belongs to `supporter` (the sign-in flow itself is
    tested in test_sign_in.py)."""

    def make(supporter) -> Client:
        client = Client()
        session = client.session
        session[SESSION_KEY] = str(supporter.pk)
        session.save()
        return client

    return make


def mails(to, kind: str):
    return list(OutboxMessage.objects.filter(to_email=to.email, kind=f"nearby_{kind}"))


def link_in(body: str, fragment: str) -> str:
    """The path of the first link in a mail body containing `fragment`."""
    url = next(u for u in re.findall(r"https?://\S+", body) if fragment in u)
    return re.sub(r"^https?://[^/]+", "", url)
