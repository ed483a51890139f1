"""Erasure is real: a person's introductions, blocks, reports, events, RSVPs and activity
go at once, and so does mail that gave their address to someone else."""

import pytest
from django.db import connection

from supporters import links
from supporters.models import OutboxMessage, Supporter
from supporters.nearby import services
from supporters.nearby.models import (
    Activity,
    Block,
    Event,
    Introduction,
    IntroductionRequest,
    Report,
    Rsvp,
    SignInLink,
)
from supporters.services import supporter_erase

from .conftest import MOSCOW, cell_centre_lonlat, moscow_cell, ring_cell
from .test_events import _event_at

pytestmark = pytest.mark.django_db


def _texts_holding(value: str) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " AND data_type IN ('text', 'character varying', 'jsonb')"
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s', [f"%{value}%"]
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_erasure_removes_introductions_rsvps_and_disclosures_at_once(
    client, activist, make_supporter, moderator, settings
):
    settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK = 5
    here = moscow_cell()
    at = lambda cell, **kw: activist(  # noqa: E731
        lon=cell_centre_lonlat(cell)[0], lat=cell_centre_lonlat(cell)[1], **kw
    )
    me = at(here, name="Erase Me", email="erase.me@example.org")
    friend = at(here, name="Friend Stays")  # my only neighbour in my own cell
    asker = at(ring_cell(here, 2), name="Asker Stays")
    host = at(ring_cell(here, 3), name="Host Stays")
    pest = activist(lon=MOSCOW[0] + 0.6, name="Pest Stays")  # ~38 km: nobody's candidate

    # I asked and my friend accepted: each was mailed the other's address.
    services.introduction_request(requester=me, message="Hello from me", count=1)
    mine = Introduction.objects.get(request__requester=me)
    assert mine.candidate == friend
    services.introduction_accept(introduction=mine)
    assert OutboxMessage.objects.filter(to_email=friend.email, body_text__contains=me.email)
    # Someone asked me; I blocked and reported someone who wrote to me.
    services.introduction_request(requester=asker, message="Hi there", count=5)
    Block.objects.create(blocker=me, blocked=pest)
    to_me = Introduction.objects.get(request__requester=asker, candidate=me)
    Report.objects.create(introduction=to_me, reporter=me, reported=asker, note=me.email)
    # I host an event with a guest; I said yes to someone else's event and went.
    my_event = _event_at(me, approve_by=moderator.user)
    services.rsvp_answer(event=my_event, supporter=friend, answer="yes")
    their_event = _event_at(host, approve_by=moderator.user)
    services.rsvp_answer(event=their_event, supporter=me, answer="yes")
    Activity.objects.create(
        supporter=me, kind="event_attended", event=their_event, occurred_at=their_event.starts_at
    )
    SignInLink.objects.create(supporter=me)

    assert client.post(f"/manage/{links.MANAGE.make(me.pk)}/delete/").status_code == 200

    assert not Supporter.objects.filter(pk=me.pk).exists()
    assert not IntroductionRequest.objects.filter(requester_id=me.pk).exists()
    assert not Introduction.objects.filter(candidate_id=me.pk).exists()
    assert not Block.objects.filter(blocker_id=me.pk).exists()
    assert not Report.objects.filter(reporter_id=me.pk).exists()
    assert not Event.objects.filter(host_id=me.pk).exists()
    assert not Rsvp.objects.filter(supporter_id=me.pk).exists()
    assert not Activity.objects.filter(supporter_id=me.pk).exists()
    assert not SignInLink.objects.filter(supporter_id=me.pk).exists()
    assert _texts_holding(me.email) == []

    # Everyone else's rows stay: the asker's request to the others, the host's event.
    assert Supporter.objects.filter(pk__in=[friend.pk, asker.pk, pest.pk, host.pk]).count() == 4
    assert Introduction.objects.filter(request__requester=asker).count() == 2  # friend, host
    assert Rsvp.objects.filter(event=their_event, supporter=host).exists()
    assert OutboxMessage.objects.filter(to_email=friend.email).exists()


def test_erasing_one_person_keeps_mail_that_discloses_an_address_containing_theirs(
    activist, make_supporter
):
    """ann@ is inside joann@: erasing Ann must leave the mail that gives Joann's address to
    the person she was introduced to (it used to go, matched on the mail's text)."""
    lon, lat = cell_centre_lonlat(moscow_cell())
    joann = activist(lon=lon, lat=lat, name="Joann", email="joann@example.org")
    boris = activist(lon=lon, lat=lat, name="Boris", email="boris@example.org")
    ann = make_supporter(lon=lon, lat=lat, name="Ann", email="ann@example.org")
    services.introduction_request(requester=joann, message="Hello, Joann here", count=1)
    services.introduction_accept(introduction=Introduction.objects.get(candidate=boris))

    def disclosing() -> dict:
        mail = OutboxMessage.objects.filter(kind="nearby_introduced")
        return {m.to_email: m.body_text for m in mail}

    before = disclosing()
    assert "Email: joann@example.org" in before[boris.email]
    assert "Email: boris@example.org" in before[joann.email]

    supporter_erase(supporter=ann)

    assert disclosing() == before
    assert not Supporter.objects.filter(pk=ann.pk).exists()


def test_erasing_a_person_takes_the_mail_that_disclosed_them_and_no_other(activist):
    lon, lat = cell_centre_lonlat(moscow_cell())
    joann = activist(lon=lon, lat=lat, name="Joann", email="joann@example.org")
    ann = activist(lon=lon, lat=lat, name="Ann", email="ann@example.org")
    services.introduction_request(requester=joann, message="Hello, Joann here", count=1)
    services.introduction_accept(introduction=Introduction.objects.get(candidate=ann))
    to_joann = OutboxMessage.objects.get(to_email=joann.email, kind="nearby_introduced")
    assert to_joann.discloses_id == ann.pk

    supporter_erase(supporter=ann)

    assert not OutboxMessage.objects.filter(pk=to_joann.pk).exists()
    assert not OutboxMessage.objects.filter(to_email=ann.email).exists()
    assert OutboxMessage.objects.filter(to_email=joann.email).exists()  # her other mail
