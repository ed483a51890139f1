"""Trilateration: an attacker places accounts at 1,000 positions around a target and reads
every answer the app gives them. Every answer depends on cells only, so all positions in
one cell read the same bytes, and the target can be narrowed down to its cell, no finer.

The target shares its cell with k - 1 other activists (SOSEDI_NEARBY_K = 5): alone, it
would show in no count at all (test_sybil.py). Everyone, the attacker's account too, has
lived at their home long enough to count in others' answers (nearby/holds.py).

Each probe runs in a savepoint that is rolled back afterwards: the attacker's account is
created, reads everything, and is gone again, as if one account were moved around freely
(the real limit on moving, 3 times a month, is switched off for the attacker here).
"""

import random
import re
from collections import defaultdict
from datetime import timedelta

import h3
import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test import Client
from django.utils import timezone
from geopy.distance import great_circle

from geo import hexgrid
from geo.bands import Band
from supporters.models import OutboxMessage, Supporter
from supporters.nearby import services
from supporters.nearby.views import SESSION_KEY

from .probing import isolated, normalise, section

pytestmark = pytest.mark.django_db

TARGET_CELL = hexgrid.cell_for_point(lon=37.62, lat=55.75)
POSITIONS = 1000
TARGETS = 5  # k
RADIUS_KM = 6.0
# Fixed, so that answers read a few minutes apart can be compared byte for byte.
EVENT_START = (timezone.now() + timedelta(days=5)).replace(
    hour=10, minute=0, second=0, microsecond=0
)


def _near_vertex(cell: int, vertex: int, share: float = 0.04) -> tuple[float, float]:
    """(lon, lat) of a point inside `cell`, `share` of the way from a vertex to the centre."""
    clat, clon = h3.cell_to_latlng(h3.int_to_str(cell))
    vlat, vlon = h3.cell_to_boundary(h3.int_to_str(cell))[vertex]
    lon, lat = vlon + (clon - vlon) * share, vlat + (clat - vlat) * share
    assert hexgrid.cell_for_point(lon=lon, lat=lat) == cell
    return lon, lat


def _supporter_at(*, lon: float, lat: float, name: str, email: str, **consents) -> Supporter:
    cell, centre = hexgrid.snap(Point(lon, lat, srid=4326))
    return Supporter.objects.create(
        email=email,
        display_name=name,
        status=Supporter.Status.ACTIVE,
        confirmed_at=timezone.now() - timedelta(days=60),
        cell=cell,
        location=centre,
        location_precision="street",
        location_source="pin",
        city="Moscow",
        country_code="RU",
        **consents,
    )


def _attacker_positions(centre: tuple[float, float]) -> list[tuple[float, float]]:
    """1,000 points spread evenly over a disc of RADIUS_KM around the target."""
    rng = random.Random(20261122)
    points = []
    for _ in range(POSITIONS):
        km = RADIUS_KM * rng.random() ** 0.5
        there = great_circle(kilometers=km).destination((centre[1], centre[0]), rng.uniform(0, 360))
        points.append((there.longitude, there.latitude))
    return points


def _mail_to(supporter: Supporter) -> list[str]:
    return [
        normalise(f"{m.subject}\n{m.body_text}")
        for m in OutboxMessage.objects.filter(
            to_email=supporter.email, kind__startswith="nearby_"
        ).order_by("pk")
    ]


def _venue() -> Point:
    """A public place 700 m north-east of the target's cell centre."""
    lat, lon = h3.cell_to_latlng(h3.int_to_str(TARGET_CELL))
    there = great_circle(kilometers=0.7).destination((lat, lon), 45)
    return Point(there.longitude, there.latitude, srid=4326)


def _probe(*, n: int, lon: float, lat: float, target: Supporter) -> dict:
    """Everything one attacker account at (lon, lat) reads, alone with the target."""

    def run():
        probe = _supporter_at(
            lon=lon,
            lat=lat,
            name="Probe Account",
            email=f"probe{n}@attacker.example",
            consent_introductions=True,
            consent_event_invitations=True,
        )
        client = Client()
        session = client.session
        session[SESSION_KEY] = str(probe.pk)
        session.save()
        view = {"cell": probe.cell}

        # 1. The band counts on /nearby/.
        view["bands"] = normalise(section(client.get("/nearby/").content.decode(), "bands"))

        # 2. The answer to an introduction request of its own, to the nearest band only.
        def ask():
            response = client.post(
                "/nearby/introductions/",
                {"message": "Hi, I live nearby", "count": 5, "farthest": Band.UNDER_1},
            )
            html = response.content.decode()
            answer = section(html, "request-sent") or re.search(r"<h1>.*?</p>", html, re.S)[0]
            return f"{response.status_code}\n{normalise(answer)}"

        view["request"] = isolated(ask)

        # 3. The candidate email it receives when the target asks for introductions.
        def target_asks():
            services.introduction_request(requester=target, message="Hello!", count=5)
            return _mail_to(probe)

        view["introduction_mail"] = isolated(target_asks)
        return view

    return isolated(run)


def _invitations(target: Supporter, positions) -> dict[int, list[str]]:
    """4. Event invitations: every attacker account at once (whether one is invited does not
    depend on the others), for an event the target hosts at a public venue."""

    def run():
        probes = [
            _supporter_at(
                lon=lon,
                lat=lat,
                name="Probe Account",
                email=f"probe{n}@attacker.example",
                consent_event_invitations=True,
            )
            for n, (lon, lat) in enumerate(positions)
        ]
        event = services.event_propose(
            host=target,
            draft=services.EventDraft(
                title="Cleanup",
                description="Gloves provided.",
                starts_at=EVENT_START,
                ends_at=EVENT_START + timedelta(hours=2),
                venue_name="Park gate",
                venue=_venue(),
                radius_km=3,
            ),
        )
        services.event_review(event=event, approve=True, reviewer=None)
        services.event_invitations_send(event=event)
        return {n: _mail_to(p) for n, p in enumerate(probes)}

    return isolated(run)


def _transcript(target_point: tuple[float, float], positions) -> tuple[Supporter, list[dict]]:
    target, *_neighbours = [
        _supporter_at(
            lon=target_point[0],
            lat=target_point[1],
            name=f"Tanya Target{i}",
            email=f"tanya{i}@example.org",
            consent_introductions=True,
            consent_event_invitations=True,
        )
        for i in range(TARGETS)
    ]
    views = [_probe(n=n, lon=lon, lat=lat, target=target) for n, (lon, lat) in enumerate(positions)]
    for n, mails in _invitations(target, positions).items():
        views[n]["invitation_mail"] = mails
    return target, views


def _observed_band(bands_html: str) -> Band | None:
    """The band the targets' cell is in, as the page shows it (they are the only
    activists: k of them, so their band shows a count)."""
    shown = re.findall(r'class="band-count[^"]*">([^<]+)<', bands_html)
    bands = [band for band, text in zip(Band, shown, strict=True) if text != "fewer than 5"]
    assert len(bands) <= 1
    return bands[0] if bands else None


def _bands_between(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Band | None]:
    """Bands between many pairs of cell centres, in one PostGIS query."""
    from geo.bands import band_for_metres

    a = [hexgrid.cell_centre(p).ewkt for p, _ in pairs]
    b = [hexgrid.cell_centre(q).ewkt for _, q in pairs]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_GeogFromText(x), ST_GeogFromText(y))"
            " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t(x, y, i) ORDER BY i",
            [a, b],
        )
        return {
            pair: band_for_metres(m) for pair, (m,) in zip(pairs, cursor.fetchall(), strict=True)
        }


def test_an_attacker_at_1000_positions_learns_the_targets_cell_and_nothing_finer(settings):
    settings.SOSEDI_NEARBY_K = 5
    true_point = _near_vertex(TARGET_CELL, vertex=0)
    positions = _attacker_positions(true_point)
    target, views = _transcript(true_point, positions)

    # 1. All positions inside one cell read byte-identical answers.
    by_cell = defaultdict(list)
    for view in views:
        by_cell[view["cell"]].append(
            (
                view["bands"],
                view["request"],
                tuple(view["introduction_mail"]),
                tuple(view["invitation_mail"]),
            )
        )
    shared = [answers for answers in by_cell.values() if len(answers) > 1]
    assert len(shared) > 50 and sum(map(len, shared)) > 900
    for answers in by_cell.values():
        assert len(set(answers)) == 1

    # Every channel did say something about the target somewhere (the test is not vacuous).
    assert {_observed_band(v["bands"]) for v in views} >= {Band.UNDER_1, Band.FROM_1_TO_3}
    # The answer to a request says nothing about who is near: the same bytes everywhere.
    assert len({v["request"] for v in views}) == 1
    bands_in_mail = {
        re.search(r"lives (.+?) from you", v["introduction_mail"][0]).group(1)
        for v in views
        if v["introduction_mail"]
    }
    assert {"under 1 km", "1–3 km", "3–10 km"} <= bands_in_mail
    invited = [bool(v["invitation_mail"]) for v in views]
    assert any(invited) and not all(invited)

    # 2. The best the attacker can do: the cells consistent with every band observed.
    observed = {v["cell"]: _observed_band(v["bands"]) for v in views}
    candidates = [h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(TARGET_CELL), 10)]
    pairs = [(probe, c) for probe in observed for c in candidates]
    bands = _bands_between(pairs)
    feasible = [c for c in candidates if all(bands[(p, c)] == observed[p] for p in observed)]
    assert TARGET_CELL in feasible

    # The answers are a function of the target's cell: the app stores nothing finer (the
    # target's row holds its cell and the cell's centre), so a target anywhere else in the
    # same cell produces exactly these answers. Whatever point the attacker then picks, for
    # some position of the target inside its cell (near one of the six corners) the guess is
    # off by about the cell's circumradius or more.
    target.refresh_from_db()
    assert target.location.equals_exact(hexgrid.cell_centre(TARGET_CELL), tolerance=1e-12)
    corners = [_near_vertex(TARGET_CELL, vertex=v) for v in range(6)]
    circumradius_km = h3.great_circle_distance(
        h3.cell_to_latlng(h3.int_to_str(TARGET_CELL)),
        h3.cell_to_boundary(h3.int_to_str(TARGET_CELL))[0],
        unit="km",
    )
    best_guess = h3.cell_to_latlng(h3.int_to_str(TARGET_CELL))  # the centre is the best guess
    worst_km = max(
        h3.great_circle_distance(best_guess, (lat, lon), unit="km") for lon, lat in corners
    )
    assert worst_km >= 0.9 * circumradius_km


def test_the_transcript_is_the_same_wherever_the_target_is_inside_its_cell(settings):
    """Re-run 200 probes with the target at another corner of the same cell: same bytes."""
    positions = _attacker_positions(_near_vertex(TARGET_CELL, vertex=0))[:200]

    def transcript(vertex):
        def run():
            _target, views = _transcript(_near_vertex(TARGET_CELL, vertex=vertex), positions)
            return views

        return isolated(run)

    assert transcript(0) == transcript(3)
