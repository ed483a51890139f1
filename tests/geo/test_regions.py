"""Region names in the page's language (geo/regions.py and its template filter)."""

import pytest
from django.template import Context, Template
from django.utils import translation

from geo.models import Place
from geo.regions import RUSSIAN_NAMES, region_name

pytestmark = pytest.mark.django_db


def test_every_russian_region_of_the_gazetteer_has_a_russian_name():
    regions = set(
        Place.objects.filter(country_code="RU")
        .exclude(region="")
        .values_list("region", flat=True)
        .distinct()
    )
    assert len(regions) > 80  # the federal subjects GeoNames names
    assert sorted(r for r in regions if ("RU", r) not in RUSSIAN_NAMES) == []


def test_a_region_is_named_in_russian_only_on_russian_pages_and_unknown_ones_stay():
    assert region_name("Novosibirsk Oblast", country_code="RU", language="ru") == (
        "Новосибирская область"
    )
    assert region_name("Novosibirsk Oblast", country_code="RU", language="en") == (
        "Novosibirsk Oblast"
    )
    assert region_name("Bavaria", country_code="DE", language="ru") == "Bavaria"
    template = Template(
        "{% load regions %}{{ r|region_in_language:c }}|{{ e|region_in_language:c }}"
    )
    with translation.override("ru"):
        html = template.render(Context({"r": "St.-Petersburg", "c": "RU", "e": ""}))
    assert html == "Санкт-Петербург|"
