"""Activists sign in to /nearby/ with a one-time emailed link: signed, short-lived, once."""

import re
import time

import pytest
from django.core import signing

from supporters import links
from supporters.nearby.models import SignInLink

from .conftest import link_in, mails

pytestmark = pytest.mark.django_db


def strip_csrf(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


def test_a_signed_out_visitor_is_asked_for_an_email(client):
    page = client.get("/nearby/")
    assert page.status_code == 200
    assert b'name="email"' in page.content


def test_the_link_signs_in_once_and_only_with_a_post(client, activist):
    me = activist(name="Olga Ivanova")
    sent = client.post("/nearby/sign-in/", {"email": me.email.upper()})
    assert sent.status_code == 200
    [mail] = mails(me, "sign_in")
    path = link_in(mail.body_text, "/nearby/sign-in/")

    assert b'type="submit"' in client.get(path).content  # opening the link signs nobody in
    assert b"Hello, Olga" not in client.get("/nearby/").content
    assert client.post(path).status_code == 302
    assert "Hello, Olga" in client.get("/nearby/").content.decode()

    other = type(client)()
    reused = other.post(path)
    assert reused.status_code == 400  # single use
    assert b"Hello, Olga" not in other.get("/nearby/").content


def test_an_unknown_or_unconfirmed_address_gets_the_same_page_and_no_mail(client, make_supporter):
    pending = make_supporter(status="pending")
    known = client.post("/nearby/sign-in/", {"email": pending.email}).content
    unknown = client.post("/nearby/sign-in/", {"email": "nobody@example.org"}).content
    assert strip_csrf(known) == strip_csrf(unknown)
    assert not mails(pending, "sign_in")
    assert not SignInLink.objects.exists()


def test_an_old_link_has_expired(client, activist, settings, monkeypatch):
    me = activist()
    link = SignInLink.objects.create(supporter=me)
    past = time.time() - settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES * 60 - 5
    monkeypatch.setattr(signing.time, "time", lambda: past)
    token = links.SIGN_IN.make(link.pk)
    monkeypatch.undo()
    response = client.post(f"/nearby/sign-in/{token}/")
    assert response.status_code == 400
    assert b"expired" in response.content


def test_a_forged_link_does_not_work(client):
    response = client.post("/nearby/sign-in/not-a-token/")
    assert response.status_code == 400


def test_sign_in_mails_are_limited_per_address(client, activist, settings):
    settings.SOSEDI_NEARBY_SIGN_INS_PER_HOUR = 2
    me = activist()
    codes = [client.post("/nearby/sign-in/", {"email": me.email}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert len(mails(me, "sign_in")) == 2


def test_a_newer_sign_in_retires_older_links(client, activist):
    me = activist()
    client.post("/nearby/sign-in/", {"email": me.email})
    client.post("/nearby/sign-in/", {"email": me.email})
    first, second = sorted(mails(me, "sign_in"), key=lambda m: m.pk)
    assert client.post(link_in(second.body_text, "/sign-in/")).status_code == 302
    assert client.post(link_in(first.body_text, "/sign-in/")).status_code == 400


def test_signing_out_ends_the_session_and_so_does_leaving_the_list(client, activist, signed_in):
    me = activist(name="Anna K")
    c = signed_in(me)
    assert b"Hello, Anna" in c.get("/nearby/").content
    c.post("/nearby/sign-out/")
    assert b"Hello, Anna" not in c.get("/nearby/").content

    c = signed_in(me)
    type(me).objects.filter(pk=me.pk).update(status="unsubscribed")
    assert b"Hello, Anna" not in c.get("/nearby/").content


def test_a_merged_away_address_signs_in_the_person_it_was_merged_into(client, activist):
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    me = activist(name="Olga Ivanova", email="olga@example.org")
    supporter_merge(kept=me, merged=activist(email="olga.work@example.org"), actor=Actor(user=None))

    client.post("/nearby/sign-in/", {"email": "Olga.Work@example.org"})

    [mail] = mails(me, "sign_in")
    assert client.post(link_in(mail.body_text, "/nearby/sign-in/")).status_code == 302
    assert "Hello, Olga" in client.get("/nearby/").content.decode()
