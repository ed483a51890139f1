"""Introductions: band counts, the double opt-in through the real outbox and worker, who is
chosen, block and report, every limit, and expiry."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo.bands import Band
from supporters.models import OutboxMessage
from supporters.nearby import selectors, services
from supporters.nearby.models import (
    Block,
    Introduction,
    IntroductionRequest,
    NearbyBan,
    Report,
)

from .conftest import MOSCOW, cell_centre_lonlat, link_in, mails, moscow_cell, ring_cell

HERE = moscow_cell()


def _in_cell(activist, cell, **kw):
    lon, lat = cell_centre_lonlat(cell)
    return activist(lon=lon, lat=lat, **kw)


def _ask(client, *, message="Let's clean up the park together", count=5, farthest="10_25"):
    return client.post(
        "/nearby/introductions/", {"message": message, "count": count, "farthest": farthest}
    )


def _section(html: str, section_id: str) -> str:
    return re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S).group(0)


# --- band counts ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_band_counts_of_activists_open_to_introductions(
    activist, make_supporter, signed_in, settings
):
    settings.SOSEDI_NEARBY_K = 3
    me = _in_cell(activist, HERE, name="Me Myself")
    for _ in range(2):
        _in_cell(activist, HERE)  # under 1 km: 2 → "fewer than 3", as for none
    for i in range(7):
        _in_cell(activist, ring_cell(HERE, 2, i))  # ~1.6 km: 7 → "5+"
    for i in range(3):
        _in_cell(activist, ring_cell(HERE, 6, i))  # ~5 km: 3 → "3+"
    _in_cell(activist, ring_cell(HERE, 2), consents=["public_map"])  # no consent: not counted
    _in_cell(activist, ring_cell(HERE, 2), status="pending")  # not active: not counted
    activist(lon=MOSCOW[0], lat=MOSCOW[1] + 0.5)  # 55 km: beyond every band

    html = signed_in(me).get("/nearby/").content.decode()
    bands = _section(html, "bands")
    shown = re.findall(r'class="band-count[^"]*">([^<]+)<', bands)
    assert shown == ["fewer than 3", "5+", "3+", "fewer than 3"]


@pytest.mark.django_db
def test_no_page_or_mail_holds_a_number_of_km_or_a_coordinate(activist, signed_in):
    me = _in_cell(activist, HERE)
    other = _in_cell(activist, ring_cell(HERE, 3))
    client = signed_in(me)
    html = client.get("/nearby/").content.decode() + _ask(client).content.decode()
    [invite] = mails(other, "introduction_request")
    for text in (html, invite.body_text):
        assert not re.search(r"\d+[.,]\d+\s*(km|m)\b", text)  # no fractional distances
        assert f"{other.location.y:.3f}" not in text and f"{other.location.x:.3f}" not in text
        assert f"{other.cell:x}" not in text
    assert "1–3 km" in invite.body_text  # a band, not a number


# --- the double opt-in, through the real outbox and worker ----------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_introduction_is_double_opt_in_through_the_outbox_and_worker(
    activist, signed_in, run_worker
):
    asker = _in_cell(activist, HERE, name="Nina Sokolova")
    friend = _in_cell(activist, ring_cell(HERE, 1), name="Pavel Orlov")
    client = signed_in(asker)

    response = _ask(client, message="Давайте вместе починим скамейки во дворе!", count=1)
    assert response.status_code == 200
    assert "We wrote to the nearest activist within 25 km" in response.content.decode()
    run_worker()

    [sent] = [m for m in mail.outbox if m.to == [friend.email] and "would like" in m.subject]
    assert "Nina" in sent.subject and "Sokolova" not in sent.body
    assert "under 1 km" in sent.body
    assert "Давайте вместе починим скамейки во дворе!" in sent.body
    assert asker.email not in sent.body
    assert (
        OutboxMessage.objects.get(to_email=friend.email, kind="nearby_introduction_request").status
        == "sent"
    )

    # Nothing about the candidate reaches the requester before the answer.
    page = client.get("/nearby/").content.decode()
    assert "Pavel" not in page and friend.email not in page

    answer_path = link_in(sent.body, "/nearby/introductions/")
    assert "Давайте" in client.get(answer_path).content.decode()
    assert client.post(answer_path, {"action": "accept"}).status_code == 200
    run_worker()

    to_asker = [m for m in mail.outbox if m.to == [asker.email] and "Meet" in m.subject]
    to_friend = [m for m in mail.outbox if m.to == [friend.email] and "Meet" in m.subject]
    assert len(to_asker) == len(to_friend) == 1
    assert "Pavel Orlov" in to_asker[0].body and friend.email in to_asker[0].body
    assert "Nina Sokolova" in to_friend[0].body and asker.email in to_friend[0].body
    page = client.get("/nearby/").content.decode()
    assert "Pavel Orlov accepted" in page and friend.email in page
    russian = client.get("/nearby/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Pavel Orlov принял(а) знакомство:" in russian and "(согласие)" not in russian

    # Answering twice changes nothing.
    client.post(answer_path, {"action": "decline"})
    assert Introduction.objects.get().status == "accepted"


@pytest.mark.django_db
def test_a_declined_candidate_is_not_named_and_never_asked_again(activist, signed_in):
    asker = _in_cell(activist, HERE)
    shy = _in_cell(activist, HERE, name="Shy Person")
    client = signed_in(asker)
    _ask(client, count=1)
    [invite] = mails(shy, "introduction_request")
    client.post(link_in(invite.body_text, "/introductions/"), {"action": "decline"})

    assert "Shy" not in client.get("/nearby/").content.decode()
    assert not mails(asker, "introduced")
    assert selectors.introduction_candidates(requester=asker, limit=5) == []


# --- who is chosen ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_candidates_are_the_nearest_cells_first_at_most_five(activist, signed_in):
    asker = _in_cell(activist, HERE)
    near = {_in_cell(activist, ring_cell(HERE, 1, i)).pk for i in range(3)}
    middle = {_in_cell(activist, ring_cell(HERE, 4, i)).pk for i in range(4)}
    _in_cell(activist, ring_cell(HERE, 8))  # further still

    chosen = selectors.introduction_candidates(requester=asker, limit=5)
    assert {c.pk for c in chosen[:3]} == near
    assert {c.pk for c in chosen[3:]} < middle and len(chosen) == 5

    assert _ask(signed_in(asker), count=9).status_code == 400  # the form offers 1 to 5
    services.introduction_request(requester=asker, message="Hi", count=9)
    assert Introduction.objects.count() == 5  # and the service caps at five


@pytest.mark.django_db
def test_the_farthest_band_limits_who_is_asked_and_the_answer_does_not_say(activist, signed_in):
    asker = _in_cell(activist, HERE)
    far = _in_cell(activist, ring_cell(HERE, 6))  # ~5 km
    near = _ask(signed_in(asker), farthest=Band.FROM_1_TO_3)
    assert near.status_code == 200
    [request] = IntroductionRequest.objects.all()
    assert not request.introductions.exists() and not mails(far, "introduction_request")

    wide = _ask(signed_in(asker), farthest=Band.FROM_3_TO_10)
    assert request.introductions.count() == 0
    assert Introduction.objects.get().candidate == far
    # Asked for nobody or for someone, the asker reads the same words but for the reach.
    assert _section(near.content.decode(), "request-sent") == _section(
        wide.content.decode(), "request-sent"
    ).replace("10 km", "3 km")


@pytest.mark.django_db
def test_requests_need_the_requesters_own_consent(activist, signed_in):
    asker = _in_cell(activist, HERE, consents=["event_invitations"])
    _in_cell(activist, HERE)
    page = signed_in(asker).get("/nearby/").content.decode()
    assert "Introductions work both ways" in page
    assert _ask(signed_in(asker)).status_code == 400


@pytest.mark.django_db
def test_candidate_selection_uses_the_partial_gist_index(activist):
    from supporters.demo import demo_supporters_seed

    demo_supporters_seed(count=20_000, seed=3)  # enough rows for the planner to care
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE supporters_supporter")
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'supporter_intro_location'"
        )
        (definition,) = cursor.fetchone()
    assert "USING gist (location)" in definition
    assert "consent_introductions" in definition and "'active'" in definition

    asker = _in_cell(activist, HERE)
    with CaptureQueriesContext(connection) as queries:
        assert len(selectors.introduction_candidates(requester=asker, limit=5)) == 5
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "supporter_intro_location" in plan, plan


# --- block and report -------------------------------------------------------------------------


@pytest.mark.django_db
def test_block_stops_the_requester_reaching_me_again(activist, signed_in):
    asker = _in_cell(activist, HERE, name="Pushy Person")
    me = _in_cell(activist, HERE)
    _ask(signed_in(asker), count=1)
    [invite] = mails(me, "introduction_request")
    path = link_in(invite.body_text, "/introductions/")
    assert b"Blocked" in signed_in(me).post(path, {"action": "block"}).content

    assert Block.objects.filter(blocker=me, blocked=asker).exists()
    assert Introduction.objects.get().status == "declined"
    IntroductionRequest.objects.all().delete()  # even with the old request gone
    assert selectors.introduction_candidates(requester=asker, limit=5) == []


@pytest.mark.django_db
def test_a_report_lands_in_the_moderation_queue_and_upholding_it_bars_the_sender(
    activist, signed_in, client, moderator
):
    spammer = _in_cell(activist, HERE, name="Spam Sender")
    me = _in_cell(activist, HERE)
    _in_cell(activist, HERE)
    _ask(signed_in(spammer), message="Buy my stuff", count=1)
    [intro] = Introduction.objects.all()
    path = link_in(mails(intro.candidate, "introduction_request")[0].body_text, "/introductions/")
    assert client.post(path + "report/", {"note": "advertising"}).status_code == 200

    report = Report.objects.get()
    assert (report.reporter, report.reported, report.note) == (
        intro.candidate,
        spammer,
        "advertising",
    )
    assert Block.objects.filter(blocker=intro.candidate, blocked=spammer).exists()

    assert client.get("/organize/moderation/").status_code == 302  # staff only
    assert signed_in(me).get("/organize/moderation/").status_code == 302
    queue = moderator.get("/organize/moderation/").content.decode()
    assert "Buy my stuff" in queue and "advertising" in queue

    moderator.post(f"/organize/moderation/reports/{report.pk}/", {"decision": "uphold"})
    report.refresh_from_db()
    assert report.status == "upheld" and NearbyBan.objects.filter(supporter=spammer).exists()
    response = _ask(signed_in(spammer))
    assert response.status_code == 400 and b"closed introductions" in response.content
    assert "Buy my stuff" not in moderator.get("/organize/moderation/").content.decode()


# --- limits -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_requester_makes_at_most_three_requests_a_week(activist, signed_in):
    asker = _in_cell(activist, HERE)
    for i in range(6):
        _in_cell(activist, ring_cell(HERE, 1, i))
    client = signed_in(asker)
    codes = [_ask(client, count=1).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert b"Try again next week" in _ask(client, count=1).content
    assert IntroductionRequest.objects.count() == 3


@pytest.mark.django_db
def test_a_person_receives_at_most_two_introduction_emails_a_week(activist, signed_in):
    popular = _in_cell(activist, HERE, name="Popular")
    # Three askers ~20 km from `popular` and more than 25 km from one another, so that
    # `popular` is the only activist any of them can reach.
    askers = [
        activist(lon=MOSCOW[0], lat=MOSCOW[1] + 0.18),
        activist(lon=MOSCOW[0] + 0.28, lat=MOSCOW[1] - 0.09),
        activist(lon=MOSCOW[0] - 0.28, lat=MOSCOW[1] - 0.09),
    ]
    answers = [
        _section(_ask(signed_in(a), count=1).content.decode(), "request-sent") for a in askers
    ]
    assert len(mails(popular, "introduction_request")) == 2
    # The third asker is told what the others were: that `popular` has had enough mail
    # this week would tell them that someone lives there.
    assert answers[0] == answers[1] == answers[2]
    assert not Introduction.objects.filter(request__requester=askers[2]).exists()

    Introduction.objects.update(created_at=timezone.now() - timedelta(days=8))
    _ask(signed_in(askers[2]), count=1)
    assert len(mails(popular, "introduction_request")) == 3


@pytest.mark.django_db
def test_home_location_changes_are_limited_so_a_probe_cannot_wander(client, activist, settings):
    from supporters import links

    me = _in_cell(activist, HERE)
    url = f"/manage/{links.MANAGE.make(me.pk)}/location/"
    codes = [
        client.post(url, {"location_text": c}).status_code
        for c in ["Тверь", "Казань", "Омск", "Сочи"]
    ]
    assert codes == [302, 302, 302, 429]


# --- expiry -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_unanswered_introductions_expire_after_fourteen_days_by_the_worker(
    activist, signed_in, run_worker
):
    from supporters.nearby.tasks import nearby_housekeeping

    asker = _in_cell(activist, HERE)
    late = _in_cell(activist, HERE)
    _ask(signed_in(asker), count=1)
    request = IntroductionRequest.objects.get()
    assert request.expires_at - request.created_at == timedelta(days=14)
    IntroductionRequest.objects.update(
        created_at=timezone.now() - timedelta(days=15),
        expires_at=timezone.now() - timedelta(days=1),
    )
    nearby_housekeeping.defer()
    run_worker()
    assert Introduction.objects.get().status == "expired"

    path = link_in(mails(late, "introduction_request")[0].body_text, "/introductions/")
    page = signed_in(late).post(path, {"action": "accept"}).content.decode()
    assert "expired" in page
    assert not mails(asker, "introduced")
    # Once expired, the pair may be introduced again later.
    assert [c.pk for c in selectors.introduction_candidates(requester=asker, limit=5)] == [late.pk]


@pytest.mark.django_db
def test_an_answer_after_the_expiry_time_is_refused_even_before_the_worker_runs(
    activist, signed_in
):
    asker = _in_cell(activist, HERE)
    late = _in_cell(activist, HERE)
    _ask(signed_in(asker), count=1)
    IntroductionRequest.objects.update(
        created_at=timezone.now() - timedelta(days=15),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    intro = Introduction.objects.get()
    assert services.introduction_accept(introduction=intro) is False
    intro.refresh_from_db()
    assert intro.status == "expired"
    del late


@pytest.mark.django_db
def test_a_requester_who_left_the_list_is_not_introduced(activist, signed_in):
    asker = _in_cell(activist, HERE)
    friend = _in_cell(activist, HERE)
    _ask(signed_in(asker), count=1)
    asker.__class__.objects.filter(pk=asker.pk).update(status="unsubscribed")
    path = link_in(mails(friend, "introduction_request")[0].body_text, "/introductions/")
    assert "expired" in signed_in(friend).post(path, {"action": "accept"}).content.decode()
    assert not mails(friend, "introduced") and not mails(asker, "introduced")
