"""Event times are the local time at the venue: typed in its time zone, stored as instants
(UTC in the database) and shown in its zone, named, on every page and in every mail."""

import importlib
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from supporters.nearby import services
from supporters.nearby.models import Activity, Event

from .conftest import MOSCOW, event_draft, mails

NOVOSIBIRSK = (82.92, 55.03)
BERLIN = (13.40, 52.52)
LOCAL = "%Y-%m-%dT%H:%M"


def _day(days_ahead: int = 5) -> date:
    return (timezone.now() + timedelta(days=days_ahead)).date()


def _propose(client, *, pin, day: date, start="11:00", end="13:00", title="Субботник"):
    return client.post(
        "/nearby/events/new/",
        {
            "title": title,
            "description": "Bring gloves.",
            "starts_at": f"{day:%Y-%m-%d}T{start}",
            "ends_at": f"{day:%Y-%m-%d}T{end}",
            "venue_name": "The square by the theatre",
            "pin_lon": pin[0],
            "pin_lat": pin[1],
            "radius_km": 5,
        },
    )


def _invited(moderator, event, guest):
    moderator.post(f"/organize/moderation/events/{event.pk}/", {"decision": "approve"})
    event.refresh_from_db()
    services.event_invitations_send(event=event)  # what the worker does on approval
    [invitation] = mails(guest, "event_invitation")
    return invitation


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pin", "zone", "utc_hour", "label"),
    [
        (NOVOSIBIRSK, "Asia/Novosibirsk", 4, "Asia/Novosibirsk, UTC+07:00"),
        (MOSCOW, "Europe/Moscow", 8, "Europe/Moscow, MSK"),
    ],
)
def test_an_event_typed_as_11_is_stored_in_utc_and_shown_as_11_with_its_zone(
    activist, make_supporter, signed_in, moderator, client, pin, zone, utc_hour, label
):
    host = activist(lon=pin[0], lat=pin[1], name="Host Person")
    guest = make_supporter(lon=pin[0] + 0.01, lat=pin[1], consents=["event_invitations"])
    day = _day()
    assert _propose(signed_in(host), pin=pin, day=day).status_code == 302

    event = Event.objects.get()
    assert event.timezone == zone
    assert event.starts_at == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)
    assert event.ends_at - event.starts_at == timedelta(hours=2)

    when = f"11 a.m. – 1 p.m. ({label})"
    assert when in moderator.get("/organize/moderation/").content.decode()
    assert when in signed_in(host).get(f"/nearby/events/{event.pk}/").content.decode()

    invitation = _invited(moderator, event, guest)
    assert when in invitation.body_text
    assert "(UTC)" not in invitation.body_text
    assert when in client.get(f"/events/{event.pk}/").content.decode()
    assert f"11 a.m. ({label})" in client.get("/events/").content.decode()
    assert f"11 a.m. ({label})" in signed_in(host).get("/nearby/").content.decode()

    # The reminder goes out 24 hours before, i.e. at 11:00 at the venue the day before.
    starts = event.starts_at
    services.rsvp_answer(event=event, supporter=guest, answer="yes")
    assert services.event_reminders_send(now=starts - timedelta(days=1, minutes=1)) == 0
    assert services.event_reminders_send(now=starts - timedelta(hours=23, minutes=59)) == 2
    [reminder] = mails(guest, "event_reminder")
    assert when in reminder.body_text

    props = client.get("/api/public/events").json()["features"][0]["properties"]
    assert props["timezone"] == zone
    assert props["starts_at"] == f"{day:%Y-%m-%d}T11:00:00+{'07' if utc_hour == 4 else '03'}:00"


@pytest.mark.django_db
def test_mail_in_russian_shows_the_local_time_and_the_zone(
    activist, make_supporter, signed_in, moderator
):
    host = activist(lon=NOVOSIBIRSK[0], lat=NOVOSIBIRSK[1])
    guest = make_supporter(
        lon=NOVOSIBIRSK[0], lat=NOVOSIBIRSK[1] + 0.01, consents=["event_invitations"], language="ru"
    )
    _propose(signed_in(host), pin=NOVOSIBIRSK, day=_day(), start="19:30", end="21:00")
    body = _invited(moderator, Event.objects.get(), guest).body_text
    assert "19:30 – 21:00 (Asia/Novosibirsk, UTC+07:00)" in body


@pytest.mark.django_db
def test_a_zone_with_summer_time_uses_the_offset_of_the_event_day(activist, signed_in, client):
    host = activist(lon=BERLIN[0], lat=BERLIN[1])
    year = timezone.now().year + 1
    _propose(signed_in(host), pin=BERLIN, day=date(year, 7, 10), title="Summer")
    _propose(signed_in(host), pin=BERLIN, day=date(year, 1, 10), title="Winter")
    summer, winter = Event.objects.get(title="Summer"), Event.objects.get(title="Winter")
    assert summer.timezone == winter.timezone == "Europe/Berlin"
    assert summer.starts_at == datetime(year, 7, 10, 9, tzinfo=UTC)  # CEST, UTC+2
    assert winter.starts_at == datetime(year, 1, 10, 10, tzinfo=UTC)  # CET, UTC+1
    assert summer.zone_label == "Europe/Berlin, CEST"
    assert winter.zone_label == "Europe/Berlin, CET"

    # On the night the clocks go forward, 02:30 does not exist in Berlin.
    march_31 = date(year, 3, 31)
    last_sunday = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
    response = _propose(signed_in(host), pin=BERLIN, day=last_sunday, start="02:30", end="04:00")
    assert response.status_code == 400 and b"skip that time" in response.content


@pytest.mark.django_db
def test_the_start_must_be_in_the_future_at_the_venue(activist, signed_in):
    # Ten minutes ago in Novosibirsk, which is still "the future" if read as UTC.
    host = activist(lon=NOVOSIBIRSK[0], lat=NOVOSIBIRSK[1])
    past = timezone.now().astimezone(timezone.get_fixed_timezone(7 * 60)) - timedelta(minutes=10)
    response = signed_in(host).post(
        "/nearby/events/new/",
        {
            "title": "Too late",
            "description": "x",
            "starts_at": past.strftime(LOCAL),
            "ends_at": (past + timedelta(hours=2)).strftime(LOCAL),
            "venue_name": "Square",
            "pin_lon": NOVOSIBIRSK[0],
            "pin_lat": NOVOSIBIRSK[1],
            "radius_km": 3,
        },
    )
    assert response.status_code == 400 and b"start in the future" in response.content


@pytest.mark.django_db
def test_a_draft_without_a_zone_gets_its_venues(activist):
    event = services.event_propose(
        host=activist(),
        draft=event_draft(
            starts_at=timezone.now() + timedelta(days=2),
            venue_name="Yard",
            venue=Point(*NOVOSIBIRSK, srid=4326),
            radius_km=3,
        ),
    )
    assert event.timezone == "Asia/Novosibirsk"


@pytest.mark.django_db
def test_the_migration_reads_earlier_events_times_again_at_their_venue(activist, settings):
    """Before venue zones, "11:00" at a Novosibirsk venue was stored as 11:00 UTC."""
    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("supporters.migrations.0006_event_timezone")
    settings.TIME_ZONE = "UTC"
    day = _day()
    typed = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
    event = services.event_propose(
        host=activist(),
        draft=event_draft(
            title="Old event",
            starts_at=typed,
            venue_name="Square",
            venue=Point(*NOVOSIBIRSK, srid=4326),
            radius_km=3,
            timezone="UTC",
        ),
    )
    Activity.objects.create(
        supporter=event.host, kind=Activity.Kind.EVENT_HOSTED, event=event, occurred_at=typed
    )

    editor = SimpleNamespace(connection=connection)  # all RunPython reads of a schema editor
    migration.forwards(apps, editor)
    event.refresh_from_db()
    assert event.timezone == "Asia/Novosibirsk"
    assert event.starts_at == typed - timedelta(hours=7)
    assert event.ends_at == typed - timedelta(hours=5)
    assert Activity.objects.get().occurred_at == event.starts_at

    migration.backwards(apps, editor)
    event.refresh_from_db()
    assert event.starts_at == typed
