"""supporters/selectors.py: finding a person by address, and all they may download."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporters import services
from supporters.models import OutboxMessage
from supporters.selectors import supporter_by_email, supporter_data_export, supporters_by_emails
from tests.conftest import location_at

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
    services.message_queue(
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
