"""Batch geocoding: a list's towns and pins placed in a few queries, each answered once."""

import pytest

from geo.batch import BatchGeocoder
from geo.geocoding import GeocodingError, geocode, locate_pin

pytestmark = pytest.mark.django_db


def test_a_batch_of_towns_is_placed_in_a_query_per_language(django_assert_max_num_queries):
    places = BatchGeocoder()
    towns = [("Казань", "en"), ("Пермь", "en"), ("казань ", "en"), ("Kazan", "ru")]
    with django_assert_max_num_queries(4):  # two statements per language
        places.texts_prefetch(towns)
    with django_assert_max_num_queries(0):
        kazan = places.text(" КАЗАНЬ", "en")
        assert places.text("Kazan", "ru").city == "Казань"
    assert kazan == geocode("Казань", language="en")
    assert kazan.city == "Kazan" and kazan.precision == "city"


def test_a_text_the_gazetteer_lacks_is_asked_once_and_refused_each_time(
    django_assert_max_num_queries,
):
    places = BatchGeocoder()
    places.texts_prefetch([("Qwxzvbnm", "en")])
    with pytest.raises(GeocodingError, match="Qwxzvbnm"):
        places.text("Qwxzvbnm", "en")
    with django_assert_max_num_queries(0), pytest.raises(GeocodingError, match="Qwxzvbnm"):
        places.text("qwxzvbnm", "en")


def test_pins_are_named_by_their_hexagon_in_one_query(django_assert_max_num_queries):
    places = BatchGeocoder(pin_source="import")
    pins = [(49.12, 55.79, "en"), (49.1201, 55.7901, "en"), (56.25, 58.01, "ru")]
    with django_assert_max_num_queries(2):  # the nearest places, then their rows
        places.pins_prefetch(pins)
    with django_assert_max_num_queries(0):
        kazan = places.pin(lon=49.12, lat=55.79, language="en")
        same_cell = places.pin(lon=49.1201, lat=55.7901, language="en")
    one_by_one = locate_pin(lon=49.12, lat=55.79, language="en")
    assert kazan is same_cell and kazan.source == "import"
    assert (kazan.cell, kazan.city, kazan.region) == (
        one_by_one.cell,
        one_by_one.city,
        one_by_one.region,
    )
    assert places.pin(lon=56.25, lat=58.01, language="ru").city == "Пермь"


def test_a_pin_far_from_any_town_or_off_the_globe_is_refused():
    places = BatchGeocoder()
    places.pins_prefetch([(-150.0, -45.0, "en"), (10.0, 95.0, "en")])
    with pytest.raises(GeocodingError, match="far from any town"):
        places.pin(lon=-150.0, lat=-45.0, language="en")
    with pytest.raises(ValueError, match="out of range"):
        places.pin(lon=10.0, lat=95.0, language="en")
