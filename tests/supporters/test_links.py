"""Confirmation and manage links: signed, time-limited, friendly when broken."""

import re
import time
import uuid

import pytest
from django.core import signing
from django.http import HttpResponse
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


# --- supporters/links.py, unit by unit ---------------------------------------------------

KINDS = ["CONFIRM", "MANAGE", "SIGN_IN", "INTRODUCTION", "RSVP", "UNSUBSCRIBE"]
# The salts of the links already in people's mailboxes, spelled out: changing one in
# links.py breaks every link of that kind that was mailed before.
MAILED_SALTS = {
    "CONFIRM": "sosedi.supporters.confirm",
    "MANAGE": "sosedi.supporters.manage",
    "SIGN_IN": "sosedi.nearby.sign_in",
    "INTRODUCTION": "sosedi.nearby.introduction",
    "RSVP": "sosedi.nearby.rsvp",
}
DAY = 86400


def signed_ago(salt: str, value: str, seconds: int) -> str:
    """What TimestampSigner(salt=salt).sign(value) returned `seconds` ago."""
    return signing.Signer(salt=salt).sign(
        f"{value}:{signing.b62_encode(int(time.time()) - seconds)}"
    )


def link_error(kind: links.LinkKind, token: str) -> links.LinkError:
    with pytest.raises(links.LinkError) as error:
        kind.read(token)
    return error.value


@pytest.mark.parametrize("made", KINDS)
@pytest.mark.parametrize("read", KINDS)
def test_a_token_reads_only_as_the_kind_it_was_made_for(made, read):
    pk = uuid.uuid4()
    token = getattr(links, made).make(pk)
    if made == read:
        assert getattr(links, read).read(token) == pk
    else:
        assert link_error(getattr(links, read), token).expired is False


@pytest.mark.parametrize(
    "kind,lifetime,overrides",
    [
        pytest.param("CONFIRM", 2 * 3600, {"SOSEDI_CONFIRM_LINK_MAX_AGE": 2 * 3600}, id="confirm"),
        pytest.param("MANAGE", 3 * DAY, {"SOSEDI_MANAGE_LINK_MAX_AGE": 3 * DAY}, id="manage"),
        pytest.param("SIGN_IN", 20 * 60, {"SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES": 20}, id="sign-in"),
        # Usable 30 days past the request's own expiry, to block or report.
        pytest.param(
            "INTRODUCTION", 44 * DAY, {"SOSEDI_INTRODUCTION_EXPIRY_DAYS": 14}, id="introduction"
        ),
        pytest.param("RSVP", 365 * DAY, {}, id="rsvp"),
    ],
)
def test_a_token_reads_within_its_lifetime_and_is_expired_after(
    settings, kind, lifetime, overrides
):
    for name, value in overrides.items():
        setattr(settings, name, value)
    pk = uuid.uuid4()

    assert getattr(links, kind).read(signed_ago(MAILED_SALTS[kind], str(pk), lifetime - 60)) == pk
    late = signed_ago(MAILED_SALTS[kind], str(pk), lifetime + 60)
    assert link_error(getattr(links, kind), late).expired is True


def test_a_changed_lifetime_applies_to_links_already_mailed(settings):
    token = links.CONFIRM.make(uuid.uuid4())
    settings.SOSEDI_CONFIRM_LINK_MAX_AGE = -1
    assert link_error(links.CONFIRM, token).expired is True


@pytest.mark.parametrize("kind", KINDS)
def test_a_tampered_or_malformed_token_is_invalid_not_expired(kind):
    link_kind = getattr(links, kind)
    pk, other = uuid.uuid4(), uuid.uuid4()
    token = link_kind.make(pk)
    value, _, signature = token.rpartition(":")
    tampered = [
        f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # signature
        token.replace(str(pk), str(other)),  # another id under this one's signature
        "garbage",
        "",
        link_kind._signer().sign("not-a-uuid"),  # signed, but not an id
    ]
    for bad in tampered:
        assert link_error(link_kind, bad).expired is False, bad


def test_a_tampered_token_from_long_ago_is_invalid_rather_than_expired():
    old = signed_ago(MAILED_SALTS["MANAGE"], str(uuid.uuid4()), 400 * DAY)
    assert link_error(links.MANAGE, old[:-2] + "zz").expired is False


def test_unsubscribe_tokens_never_expire_and_those_made_the_old_way_still_read(settings):
    pk = uuid.uuid4()
    old = signing.Signer(salt="sosedi.organize.unsubscribe").sign(str(pk))
    settings.SOSEDI_CONFIRM_LINK_MAX_AGE = settings.SOSEDI_MANAGE_LINK_MAX_AGE = -1

    assert links.UNSUBSCRIBE.read(old) == pk
    assert links.UNSUBSCRIBE.read(links.UNSUBSCRIBE.make(pk)) == pk
    assert links.UNSUBSCRIBE.make(pk) == old  # no timestamp that could ever run out


@pytest.mark.parametrize("kind", sorted(MAILED_SALTS))
def test_tokens_made_the_old_way_still_read(kind):
    pk = uuid.uuid4()
    old = signing.TimestampSigner(salt=MAILED_SALTS[kind]).sign(str(pk))
    assert getattr(links, kind).read(old) == pk


def _view_raising(expired: bool | None):
    def view(request):
        """A view opened from a mailed link."""
        if expired is None:
            return HttpResponse("the page")
        raise links.LinkError(expired=expired)

    return view


@pytest.mark.parametrize(
    "expired,heading", [(True, "This link has expired"), (False, "This link does not work")]
)
def test_link_view_turns_a_link_error_into_the_bad_link_page_with_a_400(rf, expired, heading):
    response = links.link_view()(_view_raising(expired))(rf.get("/manage/x/"))
    assert response.status_code == 400
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert reverse("supporters:manage_request") in page


def test_link_view_renders_the_template_it_is_given_and_leaves_other_answers_alone(rf):
    nearby = links.link_view("nearby/link_invalid.html")
    response = nearby(_view_raising(False))(rf.get("/nearby/x/"))
    assert response.status_code == 400
    assert "Ask for a new sign-in link" in response.content.decode()

    fine = nearby(_view_raising(None))
    assert fine.__doc__ == "A view opened from a mailed link."
    assert fine(rf.get("/nearby/x/")).content == b"the page"


def test_link_view_lets_other_errors_through(rf):
    def view(request):
        raise signing.BadSignature("not a link error")

    with pytest.raises(signing.BadSignature):
        links.link_view()(view)(rf.get("/"))
