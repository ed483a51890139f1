"""Holds on accounts that arrive in one area all at once: what is an arrival, who is held
and what the hold keeps from them, when it lapses, the moderation queue's release and
close, and erasure."""

import re
from datetime import UTC, timedelta

import h3
import pytest
from django.contrib.auth.models import Group
from django.db.models import F
from django.utils import formats, timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from supporters import links
from supporters.models import AreaArrival, OutboxMessage, RateLimitEvent, Supporter
from supporters.nearby import selectors
from supporters.nearby.models import Introduction, IntroductionRequest, NearbyBan
from supporters.organize.imports import import_text
from supporters.organize.models import AuditEntry
from supporters.organize.roles import COORDINATOR, ORGANIZER, roles_ensure
from supporters.services import supporter_erase, supporter_relocate
from tests.conftest import location_at, verified_client

from .conftest import cell_centre_lonlat, moscow_cell, ring_cell

pytestmark = pytest.mark.django_db

QUEUE = "/organize/moderation/"
HELD = "Many new accounts appeared in your area this week"
FEW = "fewer than 5"


def _area(cell: int) -> int:
    """The resolution-7 cell holding `cell`, computed here with h3 rather than by the code
    under test."""
    return h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), 7))


def _children(area: int, resolution: int) -> list[int]:
    return sorted(h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(area), resolution))


HERE = moscow_cell()
AREA = _area(HERE)
# The seven home cells of the area: every one of them is 5.6–7.7 km from OUTSIDE.
IN_AREA = _children(AREA, h3.get_resolution(h3.int_to_str(HERE)))
OUTSIDE = ring_cell(HERE, 7)  # ~6 km from HERE, in another area
NEXT_AREA = h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(AREA), 1))[0])
IN_NEXT_AREA = _children(NEXT_AREA, h3.get_resolution(h3.int_to_str(HERE)))


@pytest.fixture(autouse=True)
def _limit_at_k(settings):
    settings.SOSEDI_NEARBY_K = 5
    settings.SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK = 5


def _at(activist, cell, **kw):
    lon, lat = cell_centre_lonlat(cell)
    return activist(lon=lon, lat=lat, **kw)


def _arrive(activist, n: int, *, cells=IN_AREA, start: int = 0) -> list[Supporter]:
    """`n` activists signing up (and confirming) today in the area of `cells`."""
    return [
        _at(activist, cells[i % len(cells)], name=f"Newcomer {i}", settled=False)
        for i in range(start, start + n)
    ]


@pytest.fixture
def outsider(activist):
    """An activist settled in another area, about 6 km from every home cell of AREA."""
    assert _area(OUTSIDE) != AREA
    return _at(activist, OUTSIDE, name="Olga Outsider")


@pytest.fixture
def held(activist, outsider):
    """Six arrivals in AREA with the limit at five: all six are held."""
    return _arrive(activist, 6)


def _section(html: str, section_id: str) -> str:
    return re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S).group(0)


def _home(client) -> str:
    response = client.get("/nearby/")
    assert response.status_code == 200
    return response.content.decode()


def _bands(client) -> list[str]:
    """What the page shows for each band, nearest first."""
    return re.findall(r'class="band-count[^"]*">([^<]+)<', _section(_home(client), "bands"))


def _ask(client, *, message="Let's clean up the park together", count=5, farthest="10_25"):
    return client.post(
        "/nearby/introductions/", {"message": message, "count": count, "farthest": farthest}
    )


def _reopens(supporter) -> str:
    """The date the held notice gives: a week after the supporter's latest arrival."""
    last = AreaArrival.objects.filter(supporter=supporter).latest("arrived_at").arrived_at
    return formats.date_format(timezone.localtime(last + timedelta(days=7)), "DATE_FORMAT")


def _shows_counts(html: str) -> bool:
    return re.search(r'class="band-count[ "]', html) is not None


def _is_held(client) -> bool:
    html = _home(client)
    shows_counts = _shows_counts(html)
    assert (HELD in html) != shows_counts  # one or the other, never both
    return HELD in html


def _staff_in(django_user_model, role: str, *, is_staff: bool = True):
    """A two-factor verified client of an account in `role` (as test_moderation.py)."""
    roles_ensure()
    user = django_user_model.objects.create_user(username=f"{role}-user", is_staff=is_staff)
    user.groups.add(Group.objects.get(name=role))
    return verified_client(user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True))


@pytest.fixture
def coordinator(django_user_model):
    return _staff_in(django_user_model, COORDINATOR)


def _notices(html: str) -> list[str]:
    return re.findall(r'<p class="notice[^"]*" role="\w+">(.*?)</p>', html, re.S)


def _nav(html: str) -> str:
    return re.search(r'<nav class="org-nav".*?</nav>', html, re.S).group(0)


# --- what is an arrival -------------------------------------------------------------------


def _join(client, **overrides):
    data = {
        "display_name": "Аня",
        "email": "anya@example.org",
        "location_text": "Новосибирск",
        "channel": "email",
        "frequency": "weekly",
        "topics": ["events"],
        "consent_introductions": "on",
    } | overrides
    assert client.post("/join/", data).status_code == 302
    return Supporter.objects.get(email=data["email"])


def test_confirming_a_sign_up_records_one_arrival_in_the_area_of_the_home_cell(client):
    anya = _join(client)
    assert not AreaArrival.objects.exists()  # pending: not arrived yet

    mail = OutboxMessage.objects.get(supporter=anya, kind="confirm")
    path = re.search(r"https?://[^/\s]+(/confirm/\S+)", mail.body_text).group(1)
    assert client.get(path).status_code == 200  # a mail scanner opening the link
    assert not AreaArrival.objects.exists()
    before = timezone.now()
    assert client.post(path).status_code == 200
    anya.refresh_from_db()
    assert anya.status == Supporter.Status.ACTIVE

    [arrival] = AreaArrival.objects.all()
    assert arrival.supporter_id == anya.pk
    assert arrival.area == _area(anya.cell) != anya.cell
    assert before <= arrival.arrived_at <= timezone.now()
    assert arrival.released_at is None

    client.post(path)  # confirming again is not arriving again
    assert AreaArrival.objects.count() == 1


def test_moving_home_on_the_manage_page_records_another_arrival(client, make_supporter, settings):
    settings.SOSEDI_LOCATION_CHANGES_PER_MONTH = 1
    me = make_supporter()
    [first] = AreaArrival.objects.all()
    manage = f"/manage/{links.MANAGE.make(me.pk)}/location/"

    assert client.post(manage, {"location_text": "Qwzxv"}).status_code == 400  # unknown place
    assert AreaArrival.objects.count() == 1

    assert client.post(manage, {"location_text": "Казань"}).status_code == 302
    me.refresh_from_db()
    assert me.city == "Kazan"
    moved = AreaArrival.objects.exclude(pk=first.pk).get()
    assert (moved.supporter_id, moved.area) == (me.pk, _area(me.cell))
    assert moved.area != first.area and moved.arrived_at >= first.arrived_at
    first.refresh_from_db()
    assert first.area == _area(HERE)  # the old arrival stays as it was

    # A move refused by the monthly limit is no arrival.
    assert client.post(manage, {"location_text": "Пермь"}).status_code == 429
    assert AreaArrival.objects.count() == 2


def test_an_import_records_no_arrival_for_new_or_known_people(make_supporter):
    known = make_supporter(email="known@example.org")
    assert AreaArrival.objects.count() == 1
    # Seven new people in one area (more than the limit) and a known person moved.
    rows = [
        f"new{i}@example.org,New {i},,{lat},{lon}"
        for i, (lon, lat) in enumerate(cell_centre_lonlat(c) for c in IN_AREA)
    ]
    text = "\n".join(["email,name,location,lat,lon", "known@example.org,Known,Казань,,", *rows])
    outcome = import_text(text + "\n")
    assert (outcome.created, outcome.updated, outcome.errors) == (7, 1, [])
    known.refresh_from_db()
    assert known.city == "Kazan"  # the import moved them, and that is no arrival either
    assert Supporter.objects.filter(cell__in=IN_AREA).count() == 7
    assert list(AreaArrival.objects.values_list("supporter_id", flat=True)) == [known.pk]


def test_moving_home_into_an_area_counts_as_arriving_there(activist, outsider, signed_in):
    newcomers = _arrive(activist, 5)
    mover = _at(activist, IN_NEXT_AREA[0], name="Mover")  # settled next door
    assert not any(_is_held(signed_in(s)) for s in [*newcomers, mover])

    lon, lat = cell_centre_lonlat(IN_AREA[3])
    supporter_relocate(supporter=mover, location=location_at(lon=lon, lat=lat))
    assert all(_is_held(signed_in(s)) for s in [*newcomers, mover])
    assert not _is_held(signed_in(outsider))


# --- who is held, and what the hold keeps from them -----------------------------------------


def test_as_many_arrivals_as_the_limit_hold_nobody(activist, outsider, signed_in):
    crowd = _arrive(activist, 5)
    assert not any(_is_held(signed_in(s)) for s in crowd)
    assert _ask(signed_in(crowd[0])).status_code == 200


def test_one_arrival_past_the_limit_holds_all_who_arrived_and_hides_their_counts(
    activist, outsider, signed_in
):
    crowd = _arrive(activist, 5)
    crowd += _arrive(activist, 1, start=5)
    for s in crowd:
        html = _home(signed_in(s))
        assert f"{HELD}, so nearby waits a little" in html
        assert f"it opens for you on {_reopens(s)}." in html
        assert not _shows_counts(html)
        assert "Send my request" not in html  # the form to ask is not offered either
    assert not _is_held(signed_in(outsider))  # settled in their own area: not held


def test_a_held_account_may_not_ask_for_introductions_and_nothing_is_written(
    held, outsider, signed_in
):
    response = _ask(signed_in(held[0]))
    assert response.status_code == 429  # a limit (PRODUCT.md, privacy point 5)
    text = response.content.decode()
    assert HELD in text and f"it opens for you on {_reopens(held[0])}." in text
    assert not IntroductionRequest.objects.exists() and not Introduction.objects.exists()
    assert not OutboxMessage.objects.filter(kind__startswith="nearby_").exists()
    assert not RateLimitEvent.objects.filter(scope="introduction_request").exists()


def _by_distance_from(origin: int, cells: list[int]) -> list[int]:
    here = h3.cell_to_latlng(h3.int_to_str(origin))
    return sorted(
        cells, key=lambda c: h3.great_circle_distance(here, h3.cell_to_latlng(h3.int_to_str(c)))
    )


def test_a_crowd_arriving_where_activists_live_is_counted_and_asked_nowhere(
    activist, outsider, signed_in
):
    # The area's three cells nearest the outsider get the newcomers, the rest the residents:
    # if newcomers could be asked, they would be asked first.
    nearest = _by_distance_from(OUTSIDE, IN_AREA)
    residents = [_at(activist, nearest[3 + i % 4], name=f"Resident {i}") for i in range(5)]
    assert _bands(signed_in(outsider)) == [FEW, FEW, "5+", FEW]

    crowd = _arrive(activist, 6, cells=nearest[:3])
    assert all(_is_held(signed_in(s)) for s in crowd)
    # The residents arrived two months ago: a crowd arriving around them holds none of them.
    assert not any(_is_held(signed_in(s)) for s in residents)
    assert _bands(signed_in(outsider)) == [FEW, FEW, "5+", FEW]  # 11 people, but not "10+"

    chosen = selectors.introduction_candidates(requester=outsider, limit=5)
    assert {c.pk for c in chosen} == {s.pk for s in residents}
    assert _ask(signed_in(outsider)).status_code == 200
    asked = set(Introduction.objects.values_list("candidate_id", flat=True))
    assert asked == {s.pk for s in residents}
    assert not OutboxMessage.objects.filter(
        kind="nearby_introduction_request", to_email__in=[s.email for s in crowd]
    ).exists()


def test_the_refusal_gives_the_reopening_date_the_page_gives(activist, signed_in, settings):
    settings.TIME_ZONE = "Europe/Moscow"  # UTC+3: 22:30 UTC is already tomorrow there
    crowd = _arrive(activist, 6)
    yesterday = timezone.now().astimezone(UTC) - timedelta(days=1)
    AreaArrival.objects.update(arrived_at=yesterday.replace(hour=22, minute=30))
    date = r"it opens for you on (\w+\.? \d+, \d{4})"
    page = re.search(date, _home(signed_in(crowd[0]))).group(1)
    refusal = re.search(date, _ask(signed_in(crowd[0])).content.decode()).group(1)
    assert page == _reopens(crowd[0])
    assert refusal == page


# --- when a hold ends -----------------------------------------------------------------------


def test_a_hold_lapses_a_week_after_arrival(held, signed_in):
    arrivals = AreaArrival.objects.filter(area=AREA)
    arrivals.update(arrived_at=F("arrived_at") - timedelta(days=6))
    assert all(_is_held(signed_in(s)) for s in held)  # six days: still this week's crowd

    arrivals.update(arrived_at=F("arrived_at") - timedelta(days=2))  # eight days
    assert not any(_is_held(signed_in(s)) for s in held)
    assert _ask(signed_in(held[0])).status_code == 200


def test_the_oldest_arrival_lapsing_leaves_no_crowd_behind(held, signed_in):
    first = AreaArrival.objects.filter(area=AREA).earliest("arrived_at")
    AreaArrival.objects.filter(pk=first.pk).update(arrived_at=F("arrived_at") - timedelta(days=8))
    assert not any(_is_held(signed_in(s)) for s in held)  # five left this week: the limit


def test_arrivals_in_another_area_do_not_count_toward_this_one(activist, signed_in):
    here = _arrive(activist, 5)
    there = _arrive(activist, 5, cells=IN_NEXT_AREA, start=5)
    assert {_area(s.cell) for s in there} == {NEXT_AREA} != {_area(s.cell) for s in here}
    assert not any(_is_held(signed_in(s)) for s in here + there)  # ten arrivals, five per area

    here += _arrive(activist, 1, start=10)
    assert all(_is_held(signed_in(s)) for s in here)
    assert not any(_is_held(signed_in(s)) for s in there)


# --- the moderation queue -------------------------------------------------------------------

AREA_URL = f"{QUEUE}areas/{AREA}/"


def test_the_queue_lists_a_crowded_area_with_its_accounts_and_audits_the_look(
    held, outsider, coordinator
):
    html = coordinator.get(QUEUE).content.decode()
    section = _section(html, "crowded-areas")
    assert f'action="{AREA_URL}"' in section
    assert "<strong>Testburg</strong> — 6 new accounts" in section
    assert sorted(re.findall(r"&lt;([^&]+)&gt;", section)) == sorted(s.email for s in held)
    assert outsider.email not in html
    assert re.search(rf'href="{QUEUE}">Moderation <span class="count-badge"[^>]*>1</span>', html)

    [entry] = AuditEntry.objects.all()
    assert (entry.actor, entry.action, entry.filter, entry.row_count) == (
        "coordinator-user",
        "view_people",
        {"page": "moderation"},
        6,
    )
    assert entry.detail == "0 reports, 0 events waiting, 6 accounts held"


def test_releasing_an_area_opens_nearby_to_its_accounts(held, coordinator, signed_in):
    page = coordinator.post(AREA_URL, {"decision": "release"}, follow=True)
    assert page.redirect_chain[-1][0] == QUEUE
    html = page.content.decode()
    assert _notices(html) == ["Released 6 accounts: nearby is open to them again."]
    section = _section(html, "crowded-areas")
    assert "No area has had more new accounts this week than the limit." in section
    assert not any(s.email in section for s in held)
    assert "count-badge" not in _nav(html)

    assert not AreaArrival.objects.filter(area=AREA, released_at__isnull=True).exists()
    assert not any(_is_held(signed_in(s)) for s in held)
    assert _ask(signed_in(held[0])).status_code == 200
    assert not NearbyBan.objects.exists()


@pytest.mark.parametrize("decision", ["release", "close"])
def test_a_decision_on_one_area_leaves_another_crowded_area_held(
    activist, held, coordinator, signed_in, decision
):
    next_door = _arrive(activist, 6, cells=IN_NEXT_AREA, start=6)
    coordinator.post(AREA_URL, {"decision": decision})

    assert all(_is_held(signed_in(s)) for s in next_door)
    assert not NearbyBan.objects.filter(supporter__in=next_door).exists()
    section = _section(coordinator.get(QUEUE).content.decode(), "crowded-areas")
    assert f'action="{QUEUE}areas/{NEXT_AREA}/"' in section and AREA_URL not in section
    assert sorted(re.findall(r"&lt;([^&]+)&gt;", section)) == sorted(s.email for s in next_door)


def test_closing_an_area_bars_each_held_account_once(held, outsider, coordinator, signed_in):
    # One of them was barred already (an upheld report): closing bars the other five.
    NearbyBan.objects.create(supporter=held[0], reason="upheld report")

    page = coordinator.post(AREA_URL, {"decision": "close"}, follow=True)
    assert page.redirect_chain[-1][0] == QUEUE
    html = page.content.decode()
    assert _notices(html) == ["Closed introductions and events for 5 accounts."]
    assert not any(s.email in _section(html, "crowded-areas") for s in held)
    bans = NearbyBan.objects.order_by("created_at")
    assert sorted(b.supporter_id for b in bans) == sorted(s.pk for s in held)
    assert bans[0].reason == "upheld report"
    assert all(b.reason == "arrived in a crowd, closed by coordinator-user" for b in bans[1:])

    again = coordinator.post(AREA_URL, {"decision": "close"}, follow=True)
    assert _notices(again.content.decode()) == ["Closed introductions and events for 0 accounts."]
    assert NearbyBan.objects.count() == 6

    for s in held:
        response = _ask(signed_in(s))
        assert response.status_code == 400
        assert b"The organizers have closed introductions and events" in response.content
    assert not IntroductionRequest.objects.exists()
    assert not NearbyBan.objects.filter(supporter=outsider).exists()
    assert _ask(signed_in(outsider)).status_code == 200


@pytest.mark.parametrize("data", [{}, {"decision": ""}, {"decision": "ban"}, {"decision": "Close"}])
def test_a_decision_the_buttons_do_not_offer_changes_nothing(held, coordinator, signed_in, data):
    response = coordinator.post(AREA_URL, data)
    assert response.status_code == 400
    assert b"Choose release or close." in response.content
    assert not AreaArrival.objects.filter(released_at__isnull=False).exists()
    assert not NearbyBan.objects.exists()
    assert all(_is_held(signed_in(s)) for s in held)


def test_only_moderators_may_see_or_decide_on_a_crowded_area(held, django_user_model, signed_in):
    organizer = _staff_in(django_user_model, ORGANIZER)  # staff, but may not see people
    assert organizer.get(QUEUE).status_code == 403
    not_staff = _staff_in(django_user_model, COORDINATOR, is_staff=False)
    assert not_staff.get(QUEUE).status_code == 302
    supporter = signed_in(held[0])  # a nearby session is no staff account
    assert supporter.get(QUEUE).status_code == 302

    for decision in ("release", "close"):
        assert organizer.post(AREA_URL, {"decision": decision}).status_code == 403
        assert not_staff.post(AREA_URL, {"decision": decision}).status_code == 302
        assert supporter.post(AREA_URL, {"decision": decision}).status_code == 302
    assert not AreaArrival.objects.filter(released_at__isnull=False).exists()
    assert not NearbyBan.objects.exists()
    assert not AuditEntry.objects.exists()
    assert all(_is_held(signed_in(s)) for s in held)


# --- erasure --------------------------------------------------------------------------------


def test_erasing_a_held_supporter_deletes_their_arrivals_and_nobody_elses(held, outsider):
    gone = held[0]
    lon, lat = cell_centre_lonlat(IN_NEXT_AREA[0])
    supporter_relocate(supporter=gone, location=location_at(lon=lon, lat=lat))
    theirs = AreaArrival.objects.filter(supporter_id=gone.pk)
    assert theirs.count() == 2
    others = set(AreaArrival.objects.exclude(supporter_id=gone.pk).values_list("pk", flat=True))
    assert len(others) == 6  # five of the crowd and the outsider

    supporter_erase(supporter=gone)
    assert not Supporter.objects.filter(pk=gone.pk).exists()
    assert not AreaArrival.objects.filter(supporter_id=gone.pk).exists()
    assert set(AreaArrival.objects.values_list("pk", flat=True)) == others
