"""Reads of the organizer workspace: counts by town."""

import pytest

from supporters.models import Supporter
from supporters.organize.selectors import supporters_by_locality

pytestmark = pytest.mark.django_db

SAINT_PETERSBURG = 498817
KIROVSK_MURMANSK, KIROVSK_LENINGRAD = 548391, 548392


@pytest.fixture
def towns(make_supporter):
    """Saint Petersburg in both spellings, two Kirovsks, and a town no gazetteer knows."""

    def people(n, *, lat, lon, **locality):
        for _ in range(n):
            make_supporter(lat=lat, lon=lon, country_code="RU", **locality)

    spb = {"lat": 59.94, "lon": 30.31, "region": "St.-Petersburg"}
    people(4, city="Санкт-Петербург", **spb)
    people(3, city="Saint Petersburg", **spb)
    people(2, city="Кировск", region="Murmansk", lat=67.61, lon=33.67)
    people(1, city="Kirovsk", region="Leningradskaya Oblast'", lat=59.88, lon=31.0)
    people(2, city="Малые Выселки", region="Murmansk", lat=67.5, lon=33.5)


def rows(language: str) -> list[tuple]:
    return [
        (r["city"], r["region"], r["country_code"], r["place"], r["count"])
        for r in supporters_by_locality(queryset=Supporter.objects.all(), language=language)
    ]


def test_one_town_in_two_spellings_is_one_row_named_in_the_page_language(towns):
    assert rows("ru") == [
        ("Санкт-Петербург", "St.-Petersburg", "RU", SAINT_PETERSBURG, 7),
        ("Кировск", "Murmansk", "RU", KIROVSK_MURMANSK, 2),
        ("Малые Выселки", "Murmansk", "RU", None, 2),  # no such place: kept as typed
        ("Кировск", "Leningradskaya Oblast'", "RU", KIROVSK_LENINGRAD, 1),
    ]
    assert rows("en")[:2] == [
        ("Saint Petersburg", "St.-Petersburg", "RU", SAINT_PETERSBURG, 7),
        ("Kirovsk", "Murmansk", "RU", KIROVSK_MURMANSK, 2),
    ]


def test_the_limit_applies_after_merging(towns):
    (top,) = supporters_by_locality(queryset=Supporter.objects.all(), language="en", limit=1)
    assert (top["city"], top["count"]) == ("Saint Petersburg", 7)


def test_counts_follow_the_queryset(towns):
    some = Supporter.objects.filter(city__in=["Saint Petersburg", "Кировск"])
    assert [(r["place"], r["count"]) for r in supporters_by_locality(queryset=some)] == [
        (SAINT_PETERSBURG, 3),
        (KIROVSK_MURMANSK, 2),
    ]
