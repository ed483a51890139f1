"""Locality texts matched to gazetteer places, against the real GeoNames data."""

import pytest

from geo.localities import LocalityText, places_for_localities

pytestmark = pytest.mark.django_db

SAINT_PETERSBURG, MOSCOW_RU, MOSCOW_IDAHO = 498817, 524901, 5601538
ROSTOV_ON_DON = 501175
KIROVSK_MURMANSK, KIROVSK_LENINGRAD = 548391, 548392


def matched(*texts: LocalityText) -> list[int | None]:
    found = places_for_localities(texts)
    return [found[t].geonameid if t in found else None for t in texts]


def test_both_spellings_of_a_city_are_the_same_place():
    assert (
        matched(
            LocalityText("RU", "St.-Petersburg", "Санкт-Петербург", 59.93, 30.31),
            LocalityText("RU", "St.-Petersburg", "Saint Petersburg", 59.95, 30.35),
            LocalityText("RU", "St.-Petersburg", "санкт петербург"),  # no point: the region decides
        )
        == [SAINT_PETERSBURG] * 3
    )


def test_two_towns_of_one_name_in_different_regions_stay_apart():
    # Kirovsk, Murmansk Oblast (67.6°N) is 860 km from Kirovsk, Leningrad Oblast, and
    # the smaller one; each region text finds its own town, whatever the point says.
    assert matched(
        LocalityText("RU", "Murmansk", "Кировск"),
        LocalityText("RU", "Leningradskaya Oblast'", "Kirovsk", 67.61, 33.67),
    ) == [KIROVSK_MURMANSK, KIROVSK_LENINGRAD]


def test_a_region_from_another_source_is_placed_by_where_its_people_live():
    # An address geocoder's region ("Ленинградская область") is not the gazetteer's; the
    # same-named town nearest to the people wins, and none at all when none is near.
    assert matched(
        LocalityText("RU", "Ленинградская область", "Кировск", 59.87, 31.01),
        LocalityText("RU", "", "Кировск", 67.60, 33.70),
        LocalityText("RU", "", "Кировск", 45.0, 40.0),
        LocalityText("RU", "Somewhere", "Kirovsk"),
    ) == [KIROVSK_LENINGRAD, KIROVSK_MURMANSK, None, None]


def test_a_blank_gazetteer_region_still_matches_by_position():
    assert matched(LocalityText("RU", "", "Ростов-на-Дону", 47.25, 39.70)) == [ROSTOV_ON_DON]


def test_the_country_must_match_and_unknown_names_match_nothing():
    assert matched(
        LocalityText("US", "Idaho", "Moscow"),
        LocalityText("US", "", "Moscow", 55.75, 37.62),  # near Moscow, Russia: not in the US
        LocalityText("RU", "Moscow", "Москва", 55.75, 37.62),
        LocalityText("RU", "Moscow", "Testburg", 55.75, 37.62),
        LocalityText("RU", "Moscow", ""),
        LocalityText("", "", "Moscow", 55.75, 37.62),
    ) == [MOSCOW_IDAHO, None, MOSCOW_RU, None, None, None]


def test_no_texts_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert places_for_localities([]) == {}
