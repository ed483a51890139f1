"""supporters/ratelimit.py: counted limits, keyed hashes of client addresses, and which
address a request comes from."""

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone
from django.utils.translation import gettext as _

from supporters.models import RateLimitEvent
from supporters.ratelimit import (
    RateLimited,
    client_ip,
    client_key,
    ratelimit_hit,
    ratelimit_prune,
)

HOUR = timedelta(hours=1)


def hit(scope="signup", key="k", limit=3, window=HOUR, **kw) -> None:
    ratelimit_hit(scope=scope, key=key, limit=limit, window=window, **kw)


def counted(scope="signup", key="k") -> int:
    return RateLimitEvent.objects.filter(scope=scope, key=key).count()


def backdate(age: timedelta, **lookup) -> None:
    """Make the counted events matching `lookup` `age` old."""
    RateLimitEvent.objects.filter(**lookup).update(created_at=timezone.now() - age)


# --- ratelimit_hit ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_limit_is_reached_after_limit_hits_and_the_refused_one_is_not_counted():
    for _attempt in range(3):
        hit(message="Slow down, please.")
    with pytest.raises(RateLimited) as refused:
        hit(message="Slow down, please.")

    assert refused.value.message == "Slow down, please." == str(refused.value)
    assert counted() == 3
    with pytest.raises(RateLimited):  # still refused: a refusal does not reset the count
        hit()
    assert counted() == 3


@pytest.mark.django_db
def test_a_refusal_without_a_message_of_its_own_says_try_again_later():
    hit(limit=1)
    with pytest.raises(RateLimited) as refused:
        hit(limit=1)
    assert refused.value.message == _("Too many attempts. Please try again later.")


@pytest.mark.django_db
def test_hits_older_than_the_window_do_not_count():
    for _attempt in range(3):
        hit()
    backdate(HOUR + timedelta(seconds=5), scope="signup")
    hit()  # the three old ones are out of the window
    backdate(HOUR - timedelta(minutes=1), scope="signup")  # all four, just inside it
    with pytest.raises(RateLimited):
        hit(limit=4)


@pytest.mark.django_db
def test_scopes_and_keys_are_counted_apart():
    hit(scope="signup", key="a", limit=1)
    with pytest.raises(RateLimited):
        hit(scope="signup", key="a", limit=1)

    hit(scope="signup", key="b", limit=1)
    hit(scope="relocate", key="a", limit=1)
    assert (counted("signup", "a"), counted("signup", "b"), counted("relocate", "a")) == (1, 1, 1)


@pytest.mark.django_db
def test_a_hit_rolls_back_with_the_transaction_it_was_counted_in():
    """What the caller did after the hit failed: the attempt is not counted either."""
    with pytest.raises(RuntimeError), transaction.atomic():
        hit(limit=1)
        raise RuntimeError("what came after it failed")
    assert counted() == 0
    hit(limit=1)


@pytest.mark.django_db(transaction=True)
def test_two_hits_at_once_on_the_last_free_place_do_not_both_pass():
    """The second waits for the first's transaction, then counts its hit."""
    first_counted, first_may_commit = threading.Event(), threading.Event()
    outcome = {}

    def first():
        try:
            with transaction.atomic():
                hit(limit=1)
                first_counted.set()
                first_may_commit.wait(10)
        finally:
            connection.close()

    def second():
        try:
            first_counted.wait(10)
            hit(limit=1)
            outcome["second"] = "passed"
        except RateLimited:
            outcome["second"] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    threads[1].join(1.0)
    waited = threads[1].is_alive()  # blocked behind the first's uncommitted hit
    first_may_commit.set()
    for t in threads:
        t.join(10)

    assert waited, "the second hit did not wait for the first"
    assert outcome == {"second": "refused"}
    assert counted() == 1


@pytest.mark.django_db
def test_prune_deletes_only_events_older_than_asked():
    hit(key="old")
    hit(key="recent")
    backdate(timedelta(days=41), key="old")
    backdate(timedelta(days=39), key="recent")

    assert ratelimit_prune(older_than=timedelta(days=40)) == 1
    assert list(RateLimitEvent.objects.values_list("key", flat=True)) == ["recent"]


# --- client_key ------------------------------------------------------------------------


def test_a_client_key_is_a_keyed_hash_never_the_address(settings):
    ip = "203.0.113.9"
    key = client_key(ip)

    assert ip not in key
    assert key == client_key(ip) != client_key("203.0.113.10")
    assert len(key) <= RateLimitEvent._meta.get_field("key").max_length
    # Keyed: not the plain hash anyone could compute for every IPv4 address.
    assert key != hashlib.sha256(ip.encode()).hexdigest()
    settings.SECRET_KEY = "another-secret-for-this-test"
    assert client_key(ip) != key


# --- client_ip -------------------------------------------------------------------------


def _request(**meta):
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    request.META.update(meta)
    return request


def test_outside_production_the_address_is_the_peer_and_x_real_ip_is_ignored(settings):
    settings.CLIENT_IP_FROM_PROXY = False  # as mapsite/settings.py sets it outside production
    request = _request(REMOTE_ADDR="198.51.100.7", HTTP_X_REAL_IP="203.0.113.9")
    assert client_ip(request) == "198.51.100.7"


def test_in_production_the_proxy_s_x_real_ip_is_the_address(settings):
    settings.CLIENT_IP_FROM_PROXY = True  # as mapsite/settings.py sets it in production
    assert client_ip(_request(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.9")) == (
        "203.0.113.9"
    )
    # Without the proxy's header, the peer; a client's own X-Forwarded-For is never read.
    forwarded = _request(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(forwarded) == "198.51.100.7"


def test_a_request_without_any_address_has_an_empty_one(settings):
    settings.CLIENT_IP_FROM_PROXY = True
    assert client_ip(_request()) == ""
