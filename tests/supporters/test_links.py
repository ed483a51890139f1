"""Confirmation and manage links: signed, time-limited, friendly when broken."""

import re

import pytest
from django.core import signing
from django.urls import reverse

from supporters import links
from supporters.models import OutboxMessage, Supporter

pytestmark = pytest.mark.django_db


def _without_csrf(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


def test_confirm_link_shows_a_button_and_confirming_activates_once(client, make_supporter):
    supporter = make_supporter(status=Supporter.Status.PENDING)
    url = reverse("supporters:confirm", args=[links.CONFIRM.make(supporter.pk)])

    page = client.get(url)
    assert page.status_code == 200
    supporter.refresh_from_db()
    assert supporter.status == "pending"  # opening the link (a mail scanner) confirms nothing

    assert client.post(url).status_code == 200
    supporter.refresh_from_db()
    assert supporter.status == "active" and supporter.confirmed_at is not None
    client.post(url)
    assert OutboxMessage.objects.filter(supporter=supporter, kind="welcome").count() == 1


def test_the_confirmed_page_leads_on_to_the_map_nearby_and_my_data(client, make_supporter):
    activist = make_supporter(
        status=Supporter.Status.PENDING, consents=["introductions", "event_invitations"]
    )
    page = client.post(
        reverse("supporters:confirm", args=[links.CONFIRM.make(activist.pk)])
    ).content.decode()
    for name in ["public_map:map", "nearby:home", "events:list", "supporters:manage_request"]:
        assert f'href="{reverse(name)}"' in page, name
    assert "ask to meet a few of them" in page and "invitations to local events" in page
    # The manage link goes by email only: a confirm link must not become one.
    assert not re.search(r'href="[^"]*/manage/[^"]+"', page)

    quiet = make_supporter(status=Supporter.Status.PENDING, consents=["public_map"])
    page = client.post(
        reverse("supporters:confirm", args=[links.CONFIRM.make(quiet.pk)])
    ).content.decode()
    assert f'href="{reverse("public_map:map")}"' in page
    assert f'href="{reverse("supporters:manage_request")}"' in page
    assert "ask to meet a few of them" not in page and "invitations to local events" not in page


def test_an_expired_confirm_link_gives_a_friendly_page(client, make_supporter, settings):
    supporter = make_supporter(status=Supporter.Status.PENDING)
    token = links.CONFIRM.make(supporter.pk)
    settings.SOSEDI_CONFIRM_LINK_MAX_AGE = -1

    response = client.post(reverse("supporters:confirm", args=[token]))
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    supporter.refresh_from_db()
    assert supporter.status == "pending"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "00000000-0000-0000-0000-000000000000:1abcde:forgedsignature",
        signing.TimestampSigner(salt="sosedi.supporters.manage").sign("x"),  # wrong purpose
    ],
)
def test_forged_or_mangled_links_give_a_friendly_page_not_a_500(client, token):
    for name in ["supporters:confirm", "supporters:manage"]:
        response = client.get(reverse(name, args=[token]))
        assert response.status_code == 400
        assert "does not work" in response.content.decode()


def test_a_manage_link_cannot_confirm_and_a_confirm_link_cannot_manage(client, make_supporter):
    supporter = make_supporter(status=Supporter.Status.PENDING)
    manage = links.MANAGE.make(supporter.pk)
    confirm = links.CONFIRM.make(supporter.pk)
    assert client.post(reverse("supporters:confirm", args=[manage])).status_code == 400
    assert client.get(reverse("supporters:manage", args=[confirm])).status_code == 400


def test_a_link_of_an_erased_supporter_is_not_found(client, make_supporter):
    from supporters.services import supporter_erase

    supporter = make_supporter()
    token = links.MANAGE.make(supporter.pk)
    supporter_erase(supporter=supporter)
    assert client.get(reverse("supporters:manage", args=[token])).status_code == 404


def test_asking_for_a_manage_link_answers_the_same_for_known_and_unknown_addresses(
    client, make_supporter
):
    make_supporter(email="known@example.org")
    OutboxMessage.objects.all().delete()
    url = reverse("supporters:manage_request")

    known = client.post(url, {"email": "KNOWN@example.org"})
    unknown = client.post(url, {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 200
    assert _without_csrf(known.content) == _without_csrf(unknown.content)
    assert list(OutboxMessage.objects.values_list("to_email", "kind")) == [
        ("known@example.org", "manage_link")
    ]
