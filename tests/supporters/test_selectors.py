"""supporters/selectors.py: finding a person by address, and all they may download."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from supporters import outbox, services
from supporters.models import OutboxMessage
from supporters.nearby import services as nearby
from supporters.nearby.models import Event, Introduction
from supporters.organize.models import Tagging
from supporters.selectors import supporter_by_email, supporter_data_export, supporters_by_emails
from tests.conftest import location_at
from tests.supporters.nearby.conftest import cell_centre_lonlat, moscow_cell, ring_cell
from tests.supporters.nearby.test_events import _event_at

pytestmark = pytest.mark.django_db


# --- supporter_by_email ----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["Ann.Lee@Example.org", "ann.lee@example.org", "  ANN.LEE@EXAMPLE.ORG\n"]
)
def test_an_address_is_found_whatever_its_case_and_surrounding_spaces(make_supporter, typed):
    ann = make_supporter(email="Ann.Lee@Example.org")
    assert supporter_by_email(email=typed) == ann


@pytest.mark.parametrize(
    "typed", ["nn.lee@example.org", "jo.ann.lee@example.org", "ann.lee@example.org.ru", ""]
)
def test_only_the_whole_address_matches(make_supporter, typed):
    make_supporter(email="ann.lee@example.org")
    assert supporter_by_email(email=typed) is None


def test_the_lookup_is_one_probe_of_the_case_insensitive_unique_index(make_supporter):
    ann = make_supporter(email="ann.lee@example.org")
    with CaptureQueriesContext(connection) as queries:
        assert supporter_by_email(email="ANN.LEE@example.org") == ann
    (query,) = queries.captured_queries

    with connection.cursor() as cursor:
        # Tiny test tables are scanned anyway; forbid it to see whether the index can serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "supporter_email_ci_unique" in plan, plan


def _merged(make_supporter, *, kept_email: str, merged_email: str):
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    kept = make_supporter(email=kept_email)
    supporter_merge(kept=kept, merged=make_supporter(email=merged_email), actor=Actor(user=None))
    return kept


@pytest.mark.parametrize("typed", ["Ann.Old@Example.org", " ann.old@example.org "])
def test_an_address_merged_into_a_record_finds_that_person(make_supporter, typed):
    ann = _merged(make_supporter, kept_email="ann@example.org", merged_email="ann.old@example.org")
    assert supporter_by_email(email=typed) == ann
    assert supporter_by_email(email="ann@example.org") == ann


def test_a_merged_address_is_one_probe_of_its_case_insensitive_unique_index(make_supporter):
    _merged(make_supporter, kept_email="ann@example.org", merged_email="ann.old@example.org")
    with CaptureQueriesContext(connection) as queries:
        supporter_by_email(email="ANN.OLD@example.org")
    own, merged = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + merged["sql"])
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "merged_address_email_ci_unique" in plan, plan


def test_many_addresses_are_looked_up_at_once_own_and_merged(make_supporter):
    ann = _merged(make_supporter, kept_email="ann@example.org", merged_email="Ann.Old@example.org")
    bob = make_supporter(email="bob@example.org")
    typed = ["ANN@example.org", "ann.old@example.org ", "bob@example.org", "nobody@example.org"]
    with CaptureQueriesContext(connection) as queries:
        found = supporters_by_emails(emails=typed)
    assert len(queries.captured_queries) == 2
    assert found == {"ann@example.org": ann, "ann.old@example.org": ann, "bob@example.org": bob}
    assert found["ann@example.org"] is found["ann.old@example.org"]  # one person, one instance
    assert supporters_by_emails(emails=["bob@example.org"]) == {"bob@example.org": bob}
    assert supporters_by_emails(emails=[]) == {}


@pytest.mark.django_db(transaction=True)
def test_looking_up_for_update_locks_the_people_found(make_supporter):
    from django.db import transaction

    _merged(make_supporter, kept_email="ann@example.org", merged_email="ann.old@example.org")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert supporters_by_emails(emails=["ann.old@example.org"], for_update=True)
    assert all("FOR UPDATE" in q["sql"] for q in queries.captured_queries)


# --- supporter_data_export -------------------------------------------------------------


def test_the_export_holds_everything_about_the_person(make_supporter):
    me = make_supporter(
        email="me@example.org", name="Вера Иванова", consents=["public_map", "email_updates"]
    )
    services.consent_set(supporter=me, purpose="email_updates", granted=False, source="admin")
    services.supporter_relocate(
        supporter=me, location=location_at(lon=49.12, lat=55.79, city="Kazan", region="Tatarstan")
    )
    me.refresh_from_db()

    data = supporter_data_export(supporter=me)

    assert json.loads(json.dumps(data)) == data  # plain JSON, as downloaded
    assert (data["id"], data["email"], data["name"], data["status"]) == (
        str(me.pk),
        "me@example.org",
        "Вера Иванова",
        "active",
    )
    assert data["confirmed_at"] == me.confirmed_at.isoformat()
    place = data["location"]
    assert (place["city"], place["region"], place["country_code"]) == ("Kazan", "Tatarstan", "RU")
    assert int(place["h3_cell"], 16) == me.cell
    assert (place["cell_centre"]["lon"], place["cell_centre"]["lat"]) == me.location.coords
    assert data["consents"] == me.consents()
    assert [(h["purpose"], h["granted"], h["source"]) for h in data["consent_history"]] == [
        (r.purpose, r.granted, r.source) for r in me.consent_records.all()
    ]
    assert len(data["consent_history"]) == 3  # two grants at sign-up, one withdrawal
    assert sorted(m["kind"] for m in data["emails_sent"]) == ["confirm", "welcome"]
    assert data["preferences"] == {"channel": "email", "frequency": "monthly", "topics": []}


def test_the_export_holds_nothing_about_anyone_else(make_supporter):
    me = make_supporter(email="me@example.org", name="Me Myself", consents=["public_map"])
    other = make_supporter(
        lon=30.3,
        lat=59.9,
        email="other@example.org",
        name="Zed Otherperson",
        consents=["introductions"],
    )
    outbox.message_queue(
        supporter=other,
        kind="names_me",
        template="supporters/manage_link",
        context={"supporter": other, "manage_url": "http://testserver/manage/z/"},
        discloses=me,
    )
    mine_before = supporter_data_export(supporter=me)

    services.consent_set(supporter=other, purpose="public_map", granted=True, source="admin")
    services.manage_link_send(email=other.email)
    text = json.dumps(supporter_data_export(supporter=me), ensure_ascii=False)

    for detail in (other.email, other.display_name, str(other.pk), f"{other.cell:x}"):
        assert detail not in text
    assert "introductions" not in [h["purpose"] for h in mine_before["consent_history"]]
    assert json.loads(text) == mine_before  # others' changes leave my export as it was
    assert OutboxMessage.objects.filter(supporter=other).count() == 4


def _local(instant, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).isoformat()


def test_the_export_holds_tags_merges_introductions_events_and_activity(
    activist, make_supporter, moderator, settings
):
    settings.SOSEDI_INTRODUCTION_EMAILS_PER_WEEK = 10
    here = moscow_cell()

    def at(cell, name, n):
        lon, lat = cell_centre_lonlat(cell)
        return activist(lon=lon, lat=lat, name=name, phone=f"+7 916 555-00-{n:02}")

    me = at(here, "Вера Иванова", 1)
    friend = at(ring_cell(here, 1), "Friend Accepts", 2)
    quiet = at(ring_cell(here, 2, 0), "Quiet Neveranswers", 3)
    refuser = at(ring_cell(here, 2, 1), "Refuser Declines", 4)
    anna = at(ring_cell(here, 3, 0), "Anna Yesova", 5)
    pavel = at(ring_cell(here, 3, 1), "Pavel Waitinov", 6)
    others = [friend, quiet, refuser, anna, pavel]

    # Organizers tagged me, and merged an older record of mine into this one.
    Tagging.objects.create(supporter=me, name="volunteer")
    Tagging.objects.create(supporter=me, name="driver")
    Tagging.objects.create(supporter=quiet, name="someone-elses-tag")
    _merged_into(me, make_supporter, merged_email="vera.old@example.org")
    me.refresh_from_db()

    # Anna and Pavel each asked to meet people near them, me among them; I accepted Anna.
    nearby.introduction_request(requester=anna, message="Anna here: cleanup?", count=5)
    nearby.introduction_request(requester=pavel, message="Pavel here: chess?", count=5)
    nearby.introduction_accept(
        introduction=Introduction.objects.get(request__requester=anna, candidate=me)
    )
    # Pavel's request I blocked and reported.
    from_pavel = Introduction.objects.get(request__requester=pavel, candidate=me)
    nearby.requester_block(introduction=from_pavel)
    nearby.introduction_report(introduction=from_pavel, note="Пишет странное")
    # I asked three people: Friend accepted, Refuser declined, Quiet has not answered.
    nearby.introduction_request(requester=me, message="Tree planting, anyone?", count=3)
    asked = {i.candidate: i for i in Introduction.objects.filter(request__requester=me)}
    assert set(asked) == {friend, quiet, refuser}
    nearby.introduction_accept(introduction=asked[friend])
    nearby.introduction_decline(introduction=asked[refuser])

    # I host an event and Pavel hosts one I was invited to; both took place, and I went.
    mine = _event_at(me, approve_by=moderator.user)
    theirs = _event_at(pavel, approve_by=moderator.user)
    nearby.rsvp_answer(event=mine, supporter=friend, answer="yes")
    nearby.rsvp_answer(event=theirs, supporter=me, answer="maybe")
    past = timezone.now() - timedelta(days=1)
    Event.objects.filter(pk__in=[mine.pk, theirs.pk]).update(
        starts_at=past, ends_at=past + timedelta(hours=2)
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    nearby.event_attendance_record(event=mine, attended_ids={me.pk, friend.pk})
    nearby.event_attendance_record(event=theirs, attended_ids={me.pk})

    data = supporter_data_export(supporter=me)
    assert json.loads(json.dumps(data)) == data

    assert data["tags"] == ["driver", "volunteer"]
    assert [a["email"] for a in data["merged_addresses"]] == ["vera.old@example.org"]

    (request,) = data["introductions_asked"]
    assert (request["message"], request["asked_for"], request["within_km"]) == (
        "Tree planting, anyone?",
        3,
        25,
    )
    # Of the three asked, only the one who accepted, with what both were mailed.
    assert [(p["name"], p["email"]) for p in request["accepted_by"]] == [
        ("Friend Accepts", friend.email)
    ]

    offered = {o["from"]: o for o in data["introductions_offered"]}
    assert set(offered) == {"Anna", "Pavel"}  # the first name the email gave
    assert (offered["Anna"]["status"], offered["Anna"]["name"], offered["Anna"]["email"]) == (
        "accepted",
        "Anna Yesova",
        anna.email,
    )
    # The block and the report, by the first name the request's mail gave.
    assert [b["first_name"] for b in data["blocks"]] == ["Pavel"]
    assert [(r["first_name"], r["note"], r["status"]) for r in data["reports_made"]] == [
        ("Pavel", "Пишет странное", "open")
    ]
    assert [(m["email"], m["name"]) for m in data["merges"]] == [
        ("vera.old@example.org", "Test Person")
    ]
    assert offered["Pavel"]["status"] == "declined"  # blocking declines it
    assert offered["Pavel"]["message"] == "Pavel here: chess?"
    assert "name" not in offered["Pavel"] and "email" not in offered["Pavel"]

    (hosted,) = data["events_hosted"]
    assert (hosted["id"], hosted["status"]) == (str(mine.pk), "approved")
    assert hosted["starts_at"] == _local(mine.starts_at, mine.timezone)
    assert (hosted["venue_point"]["lon"], hosted["venue_point"]["lat"]) == mine.venue.coords

    rsvps = {r["event"]["id"]: r for r in data["event_rsvps"]}
    assert set(rsvps) == {str(mine.pk), str(theirs.pk)}
    assert (rsvps[str(mine.pk)]["answer"], rsvps[str(mine.pk)]["attended"]) == ("yes", True)
    assert (rsvps[str(theirs.pk)]["answer"], rsvps[str(theirs.pk)]["attended"]) == (
        "maybe",
        True,
    )
    assert rsvps[str(theirs.pk)]["invited_at"] is not None
    assert rsvps[str(theirs.pk)]["event"]["ends_at"] == _local(theirs.ends_at, theirs.timezone)

    assert sorted((a["kind"], a["event"]["id"]) for a in data["activity"]) == sorted(
        [("event_hosted", str(mine.pk)), ("event_attended", str(theirs.pk))]
    )

    # Nobody else's address, phone or hexagon, unless they accepted an introduction (and
    # then only their name and address, as both were mailed).
    text = json.dumps(data, ensure_ascii=False)
    for other in others:
        for detail in (other.phone, str(other.pk), f"{other.cell:x}"):
            assert detail not in text, (other.display_name, detail)
    for other in (quiet, refuser, pavel):
        assert other.email not in text and other.display_name not in text
    assert "Quiet" not in text and "Refuser" not in text
    assert "someone-elses-tag" not in text


def _merged_into(kept, make_supporter, *, merged_email: str) -> None:
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    supporter_merge(kept=kept, merged=make_supporter(email=merged_email), actor=Actor(user=None))


def test_the_export_holds_my_groups_my_choices_and_my_group_mail_but_no_other_member(
    activist, make_supporter
):
    from supporters.groups import services as groups
    from supporters.groups.models import GroupInvitation
    from tests.supporters.groups.conftest import draft

    me = activist(name="Вера Лидерова")
    other_leader = activist(name="Olga Otherleader", email="olga@example.org")
    sharing = activist(name="Sam Sharesall", email="sam@example.org")
    quiet = activist(name="Quinn Keepsquiet", email="quinn@example.org")
    mine = groups.group_review(
        group=groups.group_propose(founder=me, draft=draft(name="Моя группа")),
        decision="approve", note="", reviewer=None,
    )  # fmt: skip
    theirs = groups.group_review(
        group=groups.group_propose(founder=other_leader, draft=draft(name="Their group")),
        decision="approve", note="", reviewer=None,
    )  # fmt: skip
    groups.group_join(group=mine, supporter=sharing, shares_contact=True)
    groups.group_join(group=mine, supporter=quiet, shares_contact=False)
    groups.group_join(group=theirs, supporter=me, shares_contact=False)
    GroupInvitation.objects.create(group=theirs, supporter=me)
    groups.group_mail_send(group=mine, sender=me, subject="Субботник", body="В субботу в 10.")
    groups.group_mail_send(group=theirs, sender=other_leader, subject="Not mine", body="Theirs.")

    data = supporter_data_export(supporter=me)
    assert json.loads(json.dumps(data)) == data
    section = data["groups"]

    member_of = {m["group"]["name"]: m for m in section["memberships"]}
    assert set(member_of) == {"Моя группа", "Their group"}
    assert member_of["Моя группа"]["group"]["id"] == str(mine.pk)
    choices = {
        name: (m["role"], m["shares_name_and_email_with_leaders"]) for name, m in member_of.items()
    }
    assert choices == {"Моя группа": ("leader", True), "Their group": ("member", False)}
    assert all(m["joined_at"] for m in section["memberships"])
    (founded,) = section["founded"]
    assert (founded["id"], founded["status"], founded["area"]["radius_km"]) == (
        str(mine.pk),
        "approved",
        5,
    )
    assert [i["group"]["id"] for i in section["invitations"]] == [str(theirs.pk)]
    (mail,) = section["mail_sent"]
    assert (mail["subject"], mail["body"], mail["recipients"]) == (
        "Субботник",
        "В субботу в 10.",
        2,
    )
    assert mail["sent_at"] and mail["group"]["id"] == str(mine.pk)
    assert section["trusted_host_since"] is None

    text = json.dumps(data, ensure_ascii=False)
    for other in (other_leader, sharing, quiet):
        for detail in (other.email, other.display_name, other.first_name, str(other.pk)):
            assert detail not in text, (other.display_name, detail)
    # The leader's mail I received is among my emails, not among the mail I sent.
    assert "Not mine" not in json.dumps(section) and "Not mine" in text
