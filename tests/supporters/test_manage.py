"""The manage page: see, change, export and erase one's own data."""

import json
import re

import pytest
from django.db import connection
from django.urls import reverse

from supporters import links
from supporters.models import ConsentRecord, OutboxMessage, RateLimitEvent, Supporter

pytestmark = pytest.mark.django_db


def _checked(page: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    return " checked" in tag


def url(name, supporter):
    return reverse(f"supporters:{name}", args=[links.MANAGE.make(supporter.pk)])


def test_the_manage_page_shows_my_data_and_current_consents(client, make_supporter):
    supporter = make_supporter(name="Вера К.", consents=["public_map"])
    page = client.get(url("manage", supporter)).content.decode()
    assert "Вера К." in page and supporter.email in page
    assert _checked(page, "consent_public_map")
    assert not _checked(page, "consent_introductions")


def test_the_manage_page_says_a_pin_was_given_not_a_street_address(client, make_supporter):
    typed = client.get(url("manage", make_supporter(location_precision="street"))).content
    pinned = make_supporter(location_source="pin", location_precision="street")
    page = client.get(url("manage", pinned)).content.decode()
    assert b"street address" in typed
    assert "the pin you put on the map" in page and "street address" not in page


def test_changing_consents_records_only_what_changed(client, make_supporter):
    supporter = make_supporter(consents=["public_map", "email_updates"])
    response = client.post(
        url("manage_consents", supporter),
        {"consent_public_map": "on", "consent_introductions": "on"},
    )
    assert response.status_code == 302

    supporter.refresh_from_db()
    assert supporter.consents() == {
        "public_map": True,
        "introductions": True,
        "event_invitations": False,
        "email_updates": False,
        "text_messages": False,
    }
    changes = ConsentRecord.objects.filter(supporter=supporter, source="manage_page")
    assert sorted((r.purpose, r.granted) for r in changes) == [
        ("email_updates", False),
        ("introductions", True),
    ]


def test_withdrawing_everything_is_one_click(client, make_supporter):
    supporter = make_supporter(consents=["public_map", "introductions", "email_updates"])
    client.post(url("manage_unsubscribe", supporter))
    supporter.refresh_from_db()
    assert supporter.status == "unsubscribed"
    assert not any(supporter.consents().values())


def test_profile_changes_are_saved_and_validated(client, make_supporter):
    supporter = make_supporter()
    ok = client.post(
        url("manage_profile", supporter),
        {
            "display_name": "Новое Имя",
            "language": "ru",
            "channel": "email",
            "frequency": "calls_to_action",
            "topics": ["environment", "city"],
            "phone": "",
        },
    )
    assert ok.status_code == 302
    supporter.refresh_from_db()
    assert (supporter.display_name, supporter.language, supporter.frequency) == (
        "Новое Имя",
        "ru",
        "calls_to_action",
    )
    assert sorted(supporter.topics) == ["city", "environment"]

    bad = client.post(
        url("manage_profile", supporter),
        {"display_name": "", "language": "xx", "channel": "email", "frequency": "weekly"},
    )
    assert bad.status_code == 400
    supporter.refresh_from_db()
    assert supporter.display_name == "Новое Имя"


def test_moving_home_is_limited_per_month(client, make_supporter, settings):
    settings.SOSEDI_LOCATION_CHANGES_PER_MONTH = 2
    supporter = make_supporter()
    codes = [
        client.post(url("manage_location", supporter), {"location_text": city}).status_code
        for city in ["Казань", "Тверь", "Омск"]
    ]
    assert codes == [302, 302, 429]
    supporter.refresh_from_db()
    assert supporter.region == "Tver Oblast"
    assert supporter.location_changed_at is not None


def test_an_unknown_new_home_changes_nothing(client, make_supporter):
    supporter = make_supporter()
    before = supporter.cell
    response = client.post(url("manage_location", supporter), {"location_text": "Qwzxv"})
    assert response.status_code == 400
    supporter.refresh_from_db()
    assert supporter.cell == before
    assert not RateLimitEvent.objects.filter(scope="relocate").exists()


def test_export_holds_everything_about_me_and_no_one_else(client, make_supporter):
    me = make_supporter(name="Me", consents=["public_map"])
    other = make_supporter(name="Other person")
    response = client.get(url("manage_export", me))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["email"] == me.email and data["name"] == "Me"
    assert data["consents"]["public_map"] is True
    assert [h["purpose"] for h in data["consent_history"]] == ["public_map"]
    assert {m["kind"] for m in data["emails_sent"]} == {"confirm", "welcome"}
    assert int(data["location"]["h3_cell"], 16) == me.cell
    assert other.email not in response.content.decode()


def test_erasure_removes_every_row_about_the_person_at_once(client, make_supporter):
    me = make_supporter(consents=["public_map", "introductions"])
    keep = make_supporter(consents=["public_map"])
    delete_url = url("manage_delete", me)

    assert client.get(delete_url).status_code == 200  # a confirmation page first
    assert Supporter.objects.filter(pk=me.pk).exists()
    assert client.post(delete_url).status_code == 200

    assert not Supporter.objects.filter(pk=me.pk).exists()
    assert not ConsentRecord.objects.filter(supporter_id=me.pk).exists()
    assert not OutboxMessage.objects.filter(to_email__iexact=me.email).exists()
    assert Supporter.objects.filter(pk=keep.pk).exists()
    assert ConsentRecord.objects.filter(supporter=keep).exists()
    # No table keeps the address: search every text column of every table.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " AND data_type IN ('text', 'character varying', 'jsonb')"
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',
                [f"%{me.email}%"],
            )
            assert cursor.fetchone()[0] == 0, f"{table}.{column} still holds the address"


# --- local groups on the manage page -----------------------------------------------------


@pytest.fixture
def two_groups(make_supporter):
    """A group approved around Moscow with me in it and someone else: (group, me, other)."""
    from supporters.groups import services as groups
    from tests.supporters.groups.conftest import draft

    leader = make_supporter(name="Анна Лидер", consents=["introductions"])
    group = groups.group_review(
        group=groups.group_propose(founder=leader, draft=draft(name="Соседи Хамовников")),
        decision="approve", note="", reviewer=None,
    )  # fmt: skip
    me, other = make_supporter(name="Вера К."), make_supporter(name="Zed Other")
    groups.group_join(group=group, supporter=me, shares_contact=False)
    groups.group_join(group=group, supporter=other, shares_contact=True)
    return group, me, other


def leave_url(supporter, membership):
    return reverse(
        "supporters:manage_group_leave", args=[links.MANAGE.make(supporter.pk), membership.pk]
    )


def test_the_manage_page_lists_my_groups_with_their_page_and_a_leave_button(client, two_groups):
    group, me, other = two_groups
    mine = me.group_memberships.get()
    page = client.get(url("manage", me)).content.decode()
    assert "Соседи Хамовников" in page
    assert reverse("groups:detail", args=[group.pk]) in page
    assert f'action="{leave_url(me, mine)}"' in page
    assert str(other.group_memberships.get().pk) not in page


def test_leave_removes_my_membership_and_nobody_elses(client, two_groups):
    group, me, other = two_groups
    mine = me.group_memberships.get()
    response = client.post(leave_url(me, mine))
    assert response.status_code == 302
    # Back to my manage page through a freshly signed link (its time stamp is the second
    # it was made in, so it is compared by where it leads, not by its text).
    location = response["Location"]
    assert location.startswith("/manage/") and location.endswith("/?saved=group_left")
    assert not me.group_memberships.exists()
    assert group.memberships.count() == 2  # the leader and the other member stay
    page = client.get(location).content.decode()
    assert me.email in page and "You are not in any local group." in page


def test_another_persons_membership_in_my_link_is_refused_and_left_alone(client, two_groups):
    group, me, other = two_groups
    theirs = other.group_memberships.get()
    response = client.post(leave_url(me, theirs))
    assert response.status_code == 404
    assert other.group_memberships.filter(pk=theirs.pk).exists()
    assert me.group_memberships.exists() and group.memberships.count() == 3


def test_leaving_needs_a_post_with_the_csrf_token(two_groups):
    from django.test import Client

    _group, me, _other = two_groups
    mine = me.group_memberships.get()
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(leave_url(me, mine)).status_code == 405
    assert strict.post(leave_url(me, mine)).status_code == 403
    assert me.group_memberships.filter(pk=mine.pk).exists()
    page = strict.get(url("manage", me))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert strict.post(leave_url(me, mine), {"csrfmiddlewaretoken": token}).status_code == 302
    assert not me.group_memberships.exists()
