"""After a person deletes themselves, nothing in the database points at them or spells any
detail of theirs, and the next public snapshot no longer counts them.

Complements tests/supporters/test_manage.py (their address, in every text column) and
tests/supporters/nearby/test_erasure.py (introductions, events, RSVPs): this one finds
every foreign key to a supporter from the catalog, so a table added later is covered,
looks for the name, phone and id as well as the address, and goes through the organizer
side (an import with tags and a consent source, a mailing with its send log).
"""

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connection

from geo.snapshot_models import MapSnapshot, PublicCell
from supporters import links
from supporters.models import Supporter
from supporters.organize.imports import import_text
from supporters.services import supporter_relocate
from tests.conftest import location_at

pytestmark = pytest.mark.django_db

NAME, PHONE, EMAIL = "Zyxwvut Erasable", "+7 999 555-12-34", "zyxwvut.erasable@example.org"
PHONE_STORED = "+79995551234"  # numbers are kept in E.164, whatever spelling was imported


def references_to(table: str, pk) -> dict[str, int]:
    """Rows in every table holding a foreign key to `table` that point at `pk`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.contype = 'f' AND c.confrelid = %s::regclass",
            [table],
        )
        found = {}
        for referring, column in cursor.fetchall():
            cursor.execute(f'SELECT count(*) FROM {referring} WHERE "{column}" = %s', [pk])
            found[f"{referring}.{column}"] = cursor.fetchone()[0]
    return found


def columns_holding(value: str) -> list[str]:
    """Every text or JSON column, in every table, that contains `value` (any case)."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s', [f"%{value}%"]
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


@pytest.fixture
def neighbours(make_supporter, settings):
    """Four others on the public map in one cell: with one more it reaches k = 5."""
    settings.SOSEDI_MAP_K = 5
    return [make_supporter(lon=37.62, lat=55.75, consents=["public_map"]) for _ in range(4)]


def _me_through_the_organizer_side():
    """Imported with a phone, tags and a consent source, then mailed by an organizer."""
    organize = pytest.importorskip("supporters.organize.services")
    from supporters.organize.models import Mailing, MailingRecipient, Segment, Tagging

    outcome = import_text(
        "email,name,phone,lat,lon,tags,consent_public_map,consent_email_updates,consent_source\n"
        f'{EMAIL},{NAME},{PHONE},55.75,37.62,"volunteer|{NAME.split()[0].lower()}",yes,yes,'
        f"paper form signed by {NAME}\n"
    )
    assert outcome.created == 1, outcome.errors
    me = Supporter.objects.get(email=EMAIL)
    Supporter.objects.filter(pk=me.pk).update(status="active", confirmed_at=me.created_at)
    assert Tagging.objects.filter(supporter=me).count() == 2
    segment = Segment.objects.create(
        name="Centre", centre=Point(37.62, 55.75, srid=4326), radius_km=10
    )
    mailing = Mailing.objects.create(segment=segment, subject="Saturday", body="Hi {name}")
    while organize.mailing_prepare_batch(mailing_id=mailing.pk, batch=50):
        pass
    assert MailingRecipient.objects.filter(supporter=me).exists()
    me.refresh_from_db()
    return me


def test_erasure_leaves_no_row_pointing_at_the_person_nor_any_detail_of_theirs(
    client, neighbours, settings
):
    me = _me_through_the_organizer_side()
    # A move of home: counted against the monthly limit under the person's id.
    supporter_relocate(supporter=me, location=location_at(lon=37.63, lat=55.76))
    before = references_to("supporters_supporter", me.pk)
    assert sum(before.values()) >= 5, before  # consents, tags, mail, send log...
    for detail in (EMAIL, NAME, PHONE_STORED, str(me.pk)):
        assert columns_holding(detail), f"{detail} was never stored: the test proves nothing"

    response = client.post(f"/manage/{links.MANAGE.make(me.pk)}/delete/")
    assert response.status_code == 200

    assert not Supporter.objects.filter(pk=me.pk).exists()
    assert {k: v for k, v in references_to("supporters_supporter", me.pk).items() if v} == {}
    for detail in (EMAIL, NAME, PHONE, PHONE_STORED, str(me.pk), str(me.pk).replace("-", "")):
        assert columns_holding(detail) == [], f"{detail!r} is still stored"
    assert Supporter.objects.count() == len(neighbours)  # nobody else went


def test_the_next_snapshot_no_longer_counts_an_erased_person(client, neighbours, make_supporter):
    me = make_supporter(lon=37.62, lat=55.75, consents=["public_map"], name=NAME)
    call_command("refresh_map", verbosity=0)
    first = MapSnapshot.objects.order_by("-version").first()
    shown = PublicCell.objects.filter(snapshot=first)
    assert shown.exists(), "five people in one cell reach k = 5 and are shown"

    client.post(f"/manage/{links.MANAGE.make(me.pk)}/delete/")
    # Until the next rebuild the public map is the old snapshot (never live, by design).
    assert MapSnapshot.objects.order_by("-version").first() == first

    call_command("refresh_map", verbosity=0)
    latest = MapSnapshot.objects.order_by("-version").first()
    assert latest.version > first.version
    assert not PublicCell.objects.filter(snapshot=latest).exists(), "four are below k"
    world = latest.areas.filter(level="world").first()
    assert world is None or world.count < first.areas.get(level="world").count
