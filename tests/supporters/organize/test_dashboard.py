"""The dashboard: weighted cell heat, filters with counts, hotspots, growth, local assets."""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from geopy.distance import geodesic

from supporters.organize.models import Tagging

pytestmark = pytest.mark.django_db


@pytest.fixture
def layout(make_supporter):
    """Five people in one Kazan cell, two in Perm; one Perm person is tagged and pending."""
    people = [make_supporter(lon=49.12, lat=55.79, consents=["email_updates"]) for _ in range(5)]
    people += [make_supporter(lon=56.25, lat=58.01)]
    tagged = make_supporter(lon=56.25, lat=58.01, status="pending")
    Tagging.objects.create(supporter=tagged, name="volunteer")
    return people + [tagged]


def test_the_heatmap_has_one_weighted_point_per_cell_and_only_local_assets(
    as_role, layout, settings
):
    settings.TILE_URL = ""
    response = as_role("organizer").get(reverse("organize:heatmap"))
    assert response.status_code == 200
    html = response.content.decode()
    heat = re.search(r"L\.heatLayer\(\s*(\[\[.*?\]\])", html, re.S).group(1)
    weights = sorted(int(float(w)) for w in re.findall(r",\s*([\d.]+)\]", heat))
    assert weights == [2, 5]  # two cells, never seven points
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "cdn" not in html.lower() and "https://" not in html
    # Inline code runs only with this response's nonce.
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert html.count("<script") == html.count(f'<script nonce="{nonce}"')
    assert "frame-ancestors 'self'" in csp and response["X-Frame-Options"] == "SAMEORIGIN"


def test_consent_counts_read_as_whole_phrases_in_russian(as_role, layout):
    client = as_role("organizer")
    english = client.get(reverse("organize:dashboard")).content.decode()
    assert "<span>Agreed to receive email updates</span> 5" in english
    russian = client.get(reverse("organize:dashboard"), HTTP_ACCEPT_LANGUAGE="ru")
    page = russian.content.decode()
    assert "<span>Согласились получать новости по почте</span> 5" in page
    assert "<span>Согласились быть на публичной карте</span> 0" in page
    assert "agreed to" not in page.lower()


def test_filters_change_the_counts(as_role, layout):
    client = as_role("organizer")
    everyone = client.get(reverse("organize:dashboard"))
    assert everyone.context["totals"].supporters == 7
    assert everyone.context["totals"].by_purpose["email_updates"] == 5
    tagged = client.get(reverse("organize:dashboard"), {"tags": "Volunteer"})
    assert tagged.context["totals"].supporters == 1
    active = client.get(reverse("organize:dashboard"), {"status": "active", "region": ""})
    assert active.context["totals"].supporters == 6
    consent = client.get(reverse("organize:dashboard"), {"purpose": "email_updates"})
    assert [r["count"] for r in consent.context["localities"]] == [5]
    bad = client.get(
        reverse("organize:dashboard"), {"joined_from": "2030-01-01", "joined_to": "2020-01-01"}
    )
    assert bad.status_code == 200 and bad.context["form"].errors


def test_hotspots_are_listed_with_a_meeting_point_and_a_place_name(as_role, layout):
    page = as_role("organizer").get(reverse("organize:dashboard"), {"min_supporters": 2})
    spots = page.context["hotspots"]
    # Perm's pending person is on the heatmap but in no segment, so Perm is no hotspot.
    assert [s["spot"].supporters for s in spots] == [5]
    assert spots[0]["place"] == "Kazan" and spots[0]["spot"].within_1km == 5


def test_the_growth_chart_is_an_svg_drawn_by_the_app(as_role, layout):
    response = as_role("organizer").get(reverse("organize:growth"))
    assert response["Content-Type"].startswith("image/svg+xml")
    body = response.content.decode()
    assert body.lstrip().startswith("<svg") and "<polyline" in body
    assert "6 in total" in body  # the pending person is not confirmed


def test_the_growth_chart_in_russian_keeps_svg_numbers_and_says_its_total_in_russian(
    as_role, layout
):
    """Russian writes 20,3 for 20.3: coordinates must not follow, or no bar is drawn."""
    import re

    client = as_role("organizer")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    body = client.get(reverse("organize:growth")).content.decode()
    coordinates = re.findall(r' (?:x|y|width|height)="([^"]*)"', body)
    assert coordinates and all(re.fullmatch(r"-?[0-9.]+%?", c) for c in coordinates)
    assert "6 всего" in body


def test_the_size_of_a_segment_is_shown_before_it_is_saved(as_role, layout):
    client = as_role("organizer")
    size = client.post(
        reverse("organize:segment_size"), {"lat": 55.79, "lon": 49.12, "radius_km": 3}
    ).json()
    assert size == {"supporters": 5, "reachable": 5}
    polygon = (
        '{"type":"Feature","geometry":{"type":"Polygon","coordinates":'
        "[[[56,57.9],[56.5,57.9],[56.5,58.1],[56,58.1],[56,57.9]]]}}"
    )
    assert client.post(reverse("organize:segment_size"), {"area": polygon}).json() == {
        "supporters": 1,  # the pending person is not in any segment
        "reachable": 0,
    }
    half = client.post(reverse("organize:segment_size"), {"lat": 55.79, "lon": 49.12})
    assert half.status_code == 400


def test_by_city_counts_a_town_once_in_the_page_language_and_names_unknown_regions(
    as_role, make_supporter
):
    spb = {"country_code": "RU", "region": "St.-Petersburg", "lat": 59.94, "lon": 30.31}
    for city in ["Санкт-Петербург", "Санкт-Петербург", "Saint Petersburg"]:
        make_supporter(city=city, **spb)
    # Stored with a blank region by an older gazetteer, which had none for Rostov-on-Don.
    make_supporter(city="Rostov-on-Don", region="", country_code="RU", lat=47.23, lon=39.72)
    client = as_role("organizer")

    page = client.get(reverse("organize:dashboard"), HTTP_ACCEPT_LANGUAGE="ru")
    assert [(r["city"], r["count"]) for r in page.context["localities"]] == [
        ("Санкт-Петербург", 3),
        ("Ростов на Дон", 1),
    ]
    html = page.content.decode()
    assert "Saint Petersburg" not in html

    english = client.get(reverse("organize:dashboard")).content.decode()
    by_city = english[english.index("By city") :]
    assert "<td>Saint Petersburg</td><td>St.-Petersburg, RU</td><td>3</td>" in by_city
    # By town, the gazetteer's region stands in for the blank one; by region, it is named.
    assert "<td>Rostov-on-Don</td><td>Rostov, RU</td><td>1</td>" in by_city
    by_region = english[english.index("By region") : english.index("By city")]
    assert "<td>RU</td><td>region not known</td><td>1</td>" in by_region
    assert "—" not in english[english.index("By region") :]


def segment_form_data(html: str) -> dict:
    """What the dashboard's segment form would post as rendered (its inputs' values)."""
    form = html[
        html.index('id="segment-form"') : html.index("</form>", html.index('id="segment-form"'))
    ]
    data = dict(re.findall(r'<input type="(?:hidden|text)" name="(\w+)" value="([^"]*)"', form))
    data.update(
        re.findall(r'<select name="(\w+)"[^>]*>.*?<option value="([^"]*)"[^>]*selected', form, re.S)
    )
    return data


@pytest.fixture
def kazan_mix(make_supporter):
    """One Kazan cell: people of two regions, joined in two years, in all three statuses."""
    kazan = {"lon": 49.12, "lat": 55.79, "country_code": "RU"}
    recent, old = "2026-03-01T12:00:00Z", "2024-03-01T12:00:00Z"
    for region, created_at, status, n in [
        ("Tatarstan Republic", recent, "active", 4),
        ("Tatarstan Republic", recent, "pending", 2),
        ("Tatarstan Republic", recent, "unsubscribed", 1),
        ("Tatarstan Republic", old, "active", 3),
        ("Mari El Republic", recent, "active", 5),
    ]:
        for _ in range(n):
            make_supporter(
                status=status,
                region=region,
                created_at=created_at,
                consents=["email_updates"],
                **kazan,
            )


def test_the_segment_box_counts_what_a_segment_made_from_the_filters_would_hold(as_role, kazan_mix):
    client = as_role("coordinator")
    filters = {"country": "ru", "region": "Tatarstan Republic", "joined_from": "2026-01-01"}
    page = client.get(reverse("organize:dashboard"), filters)
    assert page.context["totals"].by_status["active"] == 4
    html = page.content.decode()
    assert re.search(r'id="segment-scope">[^<]*Country code RU · Region Tatarstan Republic', html)
    assert 'id="segment-status"' not in html

    data = segment_form_data(html) | {"lat": 55.79, "lon": 49.12, "radius_km": 3}
    assert data["country"] == "RU" and data["joined_from"] == "2026-01-01"
    size = client.post(reverse("organize:segment_size"), data).json()
    assert size == {"supporters": 4, "reachable": 4}  # not the 12 active in the cell

    saved = client.post(reverse("organize:segment_create"), data | {"name": "Kazan, new"})
    detail = client.get(saved["Location"])
    assert detail.context["size"] == 4 and detail.context["reachable"] == 4
    assert "Tatarstan Republic" in detail.content.decode()

    everyone = client.post(
        reverse("organize:segment_size"), {"lat": 55.79, "lon": 49.12, "radius_km": 3}
    )
    assert everyone.json()["supporters"] == 12


def test_the_segment_box_says_a_segment_holds_only_active_supporters(as_role, kazan_mix):
    client = as_role("organizer")
    html = client.get(reverse("organize:dashboard"), {"status": "pending"}).content.decode()
    assert 'id="segment-status"' in html and "active supporters only" in html
    assert "status" not in segment_form_data(html)
    html = client.get(reverse("organize:dashboard"), {"status": "active"}).content.decode()
    assert 'id="segment-status"' not in html


def test_a_segment_with_dates_out_of_order_is_refused(as_role, kazan_mix):
    size = as_role("organizer").post(
        reverse("organize:segment_size"), {"joined_from": "2026-02-01", "joined_to": "2026-01-01"}
    )
    assert size.status_code == 400


def hotspots_and_their_3km_segments(client, params: dict) -> list[tuple[int, int]]:
    """(hotspot's 'within 3 km', size of its '3 km segment') for every hotspot listed,
    the segment posted as the page's button and segment form would post it."""
    page = client.get(reverse("organize:dashboard"), params)
    html = page.content.decode()
    buttons = re.findall(r'data-segment-lat="([^"]+)" data-segment-lon="([^"]+)"', html)
    spots = page.context["hotspots"]
    assert spots and len(buttons) == len(spots)
    form = segment_form_data(html)
    out = []
    for spot, (lat, lon) in zip(spots, buttons, strict=True):
        size = client.post(
            reverse("organize:segment_size"), form | {"lat": lat, "lon": lon, "radius_km": 3}
        ).json()
        out.append((spot["spot"].within_3km, size["supporters"]))
    return out


@pytest.fixture
def kazan_rings(make_supporter):
    """People east of a Kazan cell at known distances, in all three statuses."""
    for km, active, pending, unsubscribed in [
        (0, 6, 2, 1),
        (1.0, 4, 1, 0),
        (2.5, 3, 1, 1),
        (3.6, 2, 1, 0),
        (6.0, 5, 0, 1),
    ]:
        there = geodesic(kilometers=km).destination((55.79, 49.12), 90)
        for status, n in [("active", active), ("pending", pending), ("unsubscribed", unsubscribed)]:
            for _ in range(n):
                make_supporter(lat=there.latitude, lon=there.longitude, status=status)


def test_a_hotspot_counts_the_people_its_3km_segment_holds(as_role, kazan_rings):
    client = as_role("organizer")
    joined = {"min_supporters": 5, "eps_km": 3}  # one hotspot of all five groups
    (spot,) = client.get(reverse("organize:dashboard"), joined).context["hotspots"]
    # Active people only: the pending and unsubscribed are on the heatmap, in no segment.
    # The meeting point is the group 1 km out, with the groups at 0, 2.5 and 3.6 km
    # within 3 km of it: 15 active people (22 with the others, as it used to say).
    assert (spot["spot"].supporters, spot["spot"].within_1km) == (20, 10)
    assert hotspots_and_their_3km_segments(client, joined) == [(15, 15)]
    # A status filter does not change who a segment holds, so neither does it change this.
    assert hotspots_and_their_3km_segments(client, joined | {"status": "pending"}) == [(15, 15)]


def test_every_demo_hotspot_agrees_with_its_3km_segment_whatever_the_filters(as_role):
    from supporters.demo import demo_supporters_seed

    demo_supporters_seed(count=5000, seed=1)
    client = as_role("organizer")
    for params in [
        {},
        {"purpose": "email_updates"},
        {"country": "RU", "region": "Moscow", "joined_from": "2025-06-01", "min_supporters": 5},
    ]:
        pairs = hotspots_and_their_3km_segments(client, params)
        assert all(hot == segment for hot, segment in pairs), (params, pairs)
