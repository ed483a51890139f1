"""Local events: proposal, approval, invitations by the worker within the radius and the
weekly limit, RSVP by signed link, what the host sees, reminders, attendance, the public
list, page and map layer."""

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from supporters.nearby import selectors, services
from supporters.nearby.models import Activity, Event, Rsvp

from .conftest import MOSCOW, event_draft, link_in, mails

LOCAL = "%Y-%m-%dT%H:%M"


def _when(days=3, hours=2):
    start = (timezone.now() + timedelta(days=days)).replace(second=0, microsecond=0)
    return start, start + timedelta(hours=hours)


def _propose(client, *, title="Субботник в парке", radius=5, pin=MOSCOW, text="", days=3):
    start, end = _when(days)
    data = {
        "title": title,
        "description": "Bring gloves. We clean the pond shore.",
        "starts_at": start.strftime(LOCAL),
        "ends_at": end.strftime(LOCAL),
        "venue_name": "Gorky Park, main entrance",
        "location_text": text,
        "radius_km": radius,
    }
    if pin:
        data.update(pin_lon=pin[0], pin_lat=pin[1])
    return client.post("/nearby/events/new/", data)


def _event_at(host, *, days=3, radius=5, approve_by=None):

    start, end = _when(days)
    event = services.event_propose(
        host=host, draft=event_draft(starts_at=start, ends_at=end, radius_km=radius)
    )
    if approve_by is not None:
        services.event_review(event=event, approve=True, reviewer=approve_by)
        services.event_invitations_send(event=event)
        event.refresh_from_db()
    return event


@pytest.mark.django_db
def test_an_activist_proposes_an_event_with_a_pin_and_it_waits_for_approval(activist, signed_in):
    host = activist(name="Host Person")
    response = _propose(signed_in(host))
    assert response.status_code == 302
    event = Event.objects.get()
    assert event.status == "pending" and event.host == host
    assert (round(event.venue.x, 6), round(event.venue.y, 6)) == MOSCOW  # the pin, as dropped
    assert event.rsvps.get().answer == "yes"  # the host is coming

    page = signed_in(host).get(response["Location"]).content.decode()
    assert "Субботник в парке" in page and "waiting for approval" in page
    assert selectors.events_upcoming().count() == 0
    assert "Субботник" not in signed_in(host).get("/events/").content.decode()


@pytest.mark.django_db
def test_a_venue_can_be_a_town_or_address_and_must_be_somewhere(activist, signed_in):
    host = activist()
    assert _propose(signed_in(host), pin=None, text="Тверь").status_code == 302
    assert Event.objects.get().venue.y == pytest.approx(56.86, abs=0.05)
    nowhere = _propose(signed_in(host), pin=None, text="")
    assert nowhere.status_code == 400 and b"drop a pin" in nowhere.content


@pytest.mark.django_db
def test_event_form_refuses_past_starts_inverted_times_and_big_radii(activist, signed_in):
    client = signed_in(activist())
    assert _propose(client, days=-1).status_code == 400
    assert _propose(client, radius=26).status_code == 400
    start, _ = _when()
    bad = _propose(client)
    assert bad.status_code == 302
    response = client.post(
        "/nearby/events/new/",
        {
            "title": "x",
            "description": "y",
            "starts_at": start.strftime(LOCAL),
            "ends_at": (start - timedelta(hours=1)).strftime(LOCAL),
            "venue_name": "z",
            "pin_lat": MOSCOW[1],
            "pin_lon": MOSCOW[0],
            "radius_km": 3,
        },
    )
    assert response.status_code == 400 and b"end after it starts" in response.content


@pytest.mark.django_db
def test_event_proposals_are_limited_per_week(activist, signed_in):
    client = signed_in(activist())
    assert [_propose(client).status_code for _ in range(3)] == [302, 302, 429]


@pytest.mark.django_db(transaction=True)
def test_approval_invites_consenting_supporters_within_the_radius_through_the_worker(
    activist, make_supporter, signed_in, moderator, run_worker
):
    host = activist(name="Host Person")
    near = activist(lon=MOSCOW[0] + 0.03, lat=MOSCOW[1], name="Near Neighbour")  # ~2 km
    edge = activist(lon=MOSCOW[0] + 0.068, lat=MOSCOW[1])  # ~4.3 km
    far = activist(lon=MOSCOW[0] + 0.15, lat=MOSCOW[1])  # ~9.4 km: outside 5 km
    no_consent = make_supporter(lon=MOSCOW[0] + 0.01, lat=MOSCOW[1], consents=["public_map"])
    pending = make_supporter(
        lon=MOSCOW[0] + 0.01, lat=MOSCOW[1], consents=["event_invitations"], status="pending"
    )
    _propose(signed_in(host), radius=5)
    event = Event.objects.get()
    run_worker()
    assert not mails(near, "event_invitation")  # nothing before approval

    queue = moderator.get("/organize/moderation/").content.decode()
    assert "Субботник в парке" in queue
    moderator.post(f"/organize/moderation/events/{event.pk}/", {"decision": "approve"})
    run_worker()

    invited = {r.supporter_id for r in Rsvp.objects.filter(event=event, invited_at__isnull=False)}
    assert invited == {near.pk, edge.pk}
    assert far.pk not in invited and no_consent.pk not in invited and pending.pk not in invited
    [invitation] = [m for m in mail.outbox if m.to == [near.email] and "Invitation" in m.subject]
    assert "Субботник в парке" in invitation.body and "Gorky Park, main entrance" in invitation.body
    assert host.email not in invitation.body and "Host Person" not in invitation.body
    assert [m for m in mail.outbox if m.to == [host.email] and "approved" in m.subject]

    # RSVP from the signed link: GET shows the choice, POST records it.
    path = link_in(invitation.body, "/events/rsvp/")
    assert b'value="maybe"' in signed_in(near).get(path).content
    assert "Your answer: yes" in signed_in(near).post(path, {"answer": "yes"}).content.decode()
    signed_in(edge).post(
        link_in(mails(edge, "event_invitation")[0].body_text, "/events/rsvp/"), {"answer": "no"}
    )

    manage = signed_in(host).get(f"/nearby/events/{event.pk}/").content.decode()
    counts = re.findall(r'class="band-count">(\d+)<', manage)
    assert counts == ["2", "0", "1"]  # yes (host and Near), maybe, no
    assert "Coming: Host, Near" in manage
    assert near.email not in manage and "Neighbour" not in manage  # first names only

    # The public list, page and map layer show it.
    assert "Субботник в парке" in signed_in(far).get("/events/").content.decode()
    page = signed_in(far).get(f"/events/{event.pk}/").content.decode()
    assert "Gorky Park, main entrance" in page and "Host Person" not in page
    signed_in(far).post(f"/events/{event.pk}/rsvp/", {"answer": "maybe"})
    assert Rsvp.objects.get(event=event, supporter=far).answer == "maybe"


@pytest.mark.django_db
def test_a_person_gets_at_most_the_weekly_number_of_invitations(
    activist, make_supporter, moderator, settings
):
    settings.SOSEDI_EVENT_INVITATIONS_PER_WEEK = 2
    settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK = 5
    guest = make_supporter(lon=MOSCOW[0] + 0.01, lat=MOSCOW[1], consents=["event_invitations"])
    host = activist()
    for _ in range(3):
        _event_at(host, approve_by=moderator.user)
    assert Rsvp.objects.filter(supporter=guest, invited_at__isnull=False).count() == 2
    assert len(mails(guest, "event_invitation")) == 2

    Rsvp.objects.filter(supporter=guest).update(invited_at=timezone.now() - timedelta(days=8))
    _event_at(host, approve_by=moderator.user)
    assert len(mails(guest, "event_invitation")) == 3


@pytest.mark.django_db
def test_rejected_events_invite_nobody_and_the_host_is_told(activist, make_supporter, moderator):
    guest = make_supporter(consents=["event_invitations"])
    host = activist()
    event = _event_at(host)
    moderator.post(f"/organize/moderation/events/{event.pk}/", {"decision": "reject"})
    event.refresh_from_db()
    assert event.status == "rejected"
    assert services.event_invitations_send(event=event) == 0
    assert not mails(guest, "event_invitation")
    assert "not approved" in mails(host, "event_reviewed")[0].subject
    assert moderator.get(f"/events/{event.pk}/").status_code == 404


@pytest.mark.django_db
def test_without_required_approval_an_event_is_published_at_once(
    activist, signed_in, settings, django_capture_on_commit_callbacks
):
    settings.SOSEDI_EVENTS_REQUIRE_APPROVAL = False
    _propose(signed_in(activist()))
    assert Event.objects.get().status == "approved"


@pytest.mark.django_db(transaction=True)
def test_reminders_go_out_the_day_before_once_through_the_worker(
    activist, make_supporter, moderator, run_worker
):
    from supporters.nearby.tasks import nearby_housekeeping

    host = activist()
    coming = make_supporter(lon=MOSCOW[0] + 0.01, lat=MOSCOW[1], consents=["event_invitations"])
    unsure = make_supporter(lon=MOSCOW[0] + 0.02, lat=MOSCOW[1], consents=["event_invitations"])
    not_coming = make_supporter(lon=MOSCOW[0], lat=MOSCOW[1] + 0.01, consents=["event_invitations"])
    event = _event_at(host, days=3, approve_by=moderator.user)
    for who, answer in ((coming, "yes"), (unsure, "maybe"), (not_coming, "no")):
        services.rsvp_answer(event=event, supporter=who, answer=answer)

    nearby_housekeeping.defer()
    run_worker()
    assert not mails(coming, "event_reminder")  # three days ahead: not yet

    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() + timedelta(hours=20), ends_at=timezone.now() + timedelta(hours=22)
    )
    nearby_housekeeping.defer()
    run_worker()
    nearby_housekeeping.defer()
    run_worker()
    assert len(mails(coming, "event_reminder")) == 1
    assert len(mails(unsure, "event_reminder")) == 1
    assert len(mails(host, "event_reminder")) == 1
    assert not mails(not_coming, "event_reminder")
    assert [m for m in mail.outbox if m.to == [coming.email] and m.subject.startswith("Tomorrow")]


@pytest.mark.django_db
def test_the_host_records_who_came_and_it_lands_in_the_activity_history(
    activist, make_supporter, moderator, signed_in
):
    host = activist(name="Host Person")
    came = make_supporter(name="Came Along", consents=["event_invitations"])
    missed = make_supporter(name="Missed It", consents=["event_invitations"])
    event = _event_at(host, approve_by=moderator.user)
    for who in (came, missed):
        services.rsvp_answer(event=event, supporter=who, answer="yes")
    client = signed_in(host)

    too_early = client.post(f"/nearby/events/{event.pk}/", {"came": [str(came.pk)]})
    assert too_early.status_code == 400 and not Activity.objects.exists()

    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=1)
    )
    page = client.get(f"/nearby/events/{event.pk}/").content.decode()
    assert "Came" in page and "Missed" in page and "Along" not in page
    assert client.post(f"/nearby/events/{event.pk}/", {"came": [str(came.pk)]}).status_code == 200

    assert set(Activity.objects.values_list("supporter_id", "kind")) == {
        (came.pk, "event_attended"),
        (host.pk, "event_hosted"),
    }
    assert list(selectors.supporters_attended_since(days=90)) == [came]
    history = moderator.get("/organize/moderation/activity/").content.decode()
    assert "Came Along" in history and "attended an event" in history
    assert "Missed It" not in history

    # Correcting the list replaces it.
    client.post(f"/nearby/events/{event.pk}/", {"came": [str(missed.pk)]})
    assert list(selectors.supporters_attended_since(days=90)) == [missed]
    # Only the host can see or change it.
    assert signed_in(came).get(f"/nearby/events/{event.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_public_events_layer_is_geojson_of_approved_upcoming_events_only(
    activist, moderator, client, settings
):
    settings.SOSEDI_EVENT_PROPOSALS_PER_WEEK = 5
    host = activist(name="Secret Host")
    shown = _event_at(host, approve_by=moderator.user)
    _event_at(host)  # pending
    past = _event_at(host, approve_by=moderator.user)
    Event.objects.filter(pk=past.pk).update(
        starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(days=1)
    )

    response = client.get("/api/public/events")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    [feature] = data["features"]
    assert feature["id"] == str(shown.pk)
    assert feature["geometry"] == {"type": "Point", "coordinates": list(MOSCOW)}
    assert feature["properties"]["title"] == "Tree planting"
    assert feature["properties"]["url"].endswith(f"/events/{shown.pk}/")
    text = response.content.decode()
    assert "Secret" not in text and host.email not in text and "radius" not in text


def _invitation_jobs() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE %s",
            ["%deliver_message"],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_invitations_are_prepared_in_batches_each_one_whole(
    activist, make_supporter, moderator, settings, monkeypatch
):
    """RSVP rows, mails and delivery jobs of a batch are written together: a batch that
    fails leaves none of them, and the next run invites everyone exactly once."""
    settings.SOSEDI_MAILING_BATCH = 3
    guests = [make_supporter(consents=["event_invitations"]) for _ in range(8)]
    event = _event_at(activist())
    services.event_review(event=event, approve=True, reviewer=moderator.user)
    jobs_before = _invitation_jobs()

    failing = iter([False, True])  # the second batch dies after its RSVP rows are written

    def queue_or_die(messages):
        messages = list(messages)
        if next(failing, False):
            raise RuntimeError("worker killed mid-batch")
        return real_queue(messages)

    from supporters.nearby.services import events

    real_queue = events.messages_queue
    monkeypatch.setattr(events, "messages_queue", queue_or_die)
    assert services.event_invitations_prepare_batch(event_id=event.pk, batch=3) == 3
    with pytest.raises(RuntimeError):
        services.event_invitations_prepare_batch(event_id=event.pk, batch=3)
    assert Rsvp.objects.filter(event=event, invited_at__isnull=False).count() == 3
    assert _invitation_jobs() - jobs_before == 3

    assert services.event_invitations_send(event=event) == 5
    invited = Rsvp.objects.filter(event=event, invited_at__isnull=False)
    assert sorted(r.supporter_id for r in invited) == sorted(g.pk for g in guests)
    assert all(len(mails(g, "event_invitation")) == 1 for g in guests)
    assert _invitation_jobs() - jobs_before == 8
    event.refresh_from_db()
    assert event.invitations_sent_at is not None
    assert services.event_invitations_send(event=event) == 0
