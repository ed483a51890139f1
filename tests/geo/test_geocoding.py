"""The geocoding chain: gazetteer, a configured geopy geocoder, and pins.

The geopy geocoder is exercised through geopy itself against a stub Nominatim or Photon
on 127.0.0.1 (pytest-httpserver); nothing here reaches the internet.
"""

import hashlib
import logging
import socket
import time
from urllib.parse import quote_plus

import pytest
from django.contrib.gis.geos import Point
from werkzeug import Response

from geo import geocoding, hexgrid
from geo.geocoding import GeocodingError, Precision, geocode, geocode_each, locate_pin
from geo.models import GeocodeCache, Place

pytestmark = pytest.mark.django_db

MOSCOW_RU = 524901
# An address in Moscow that is in no gazetteer, and the stub's point for it.
ADDRESS = "Тверская улица, 7"
STUB_LAT, STUB_LON = 55.757831, 37.611582


@pytest.fixture(autouse=True)
def _fresh_remote_geocoder():
    """The geopy geocoder is built once per process from settings; rebuild it per test."""
    geocoding._remote_geocoder.cache_clear()
    yield
    geocoding._remote_geocoder.cache_clear()


def _configure(settings, server, provider, path="/"):
    settings.SOSEDI_GEOCODER = provider
    settings.SOSEDI_GEOCODER_URL = server.url_for(path)
    settings.SOSEDI_GEOCODER_MIN_DELAY = 0
    settings.SOSEDI_GEOCODER_TIMEOUT = 2
    return server


@pytest.fixture
def nominatim(settings, httpserver_ipv4):
    return _configure(settings, httpserver_ipv4, "nominatim")


@pytest.fixture
def photon(settings, httpserver_ipv4):
    return _configure(settings, httpserver_ipv4, "photon")


def nominatim_answer(*, addresstype="road", lat=STUB_LAT, lon=STUB_LON, **address):
    address = address or {"road": "Тверская улица", "city": "Москва", "state": "Москва"}
    address.setdefault("country_code", "ru")
    place = {"lat": str(lat), "lon": str(lon), "display_name": "stub", "address": address}
    if addresstype:
        place["addresstype"] = addresstype
    return [place]


def photon_answer(*, lat=STUB_LAT, lon=STUB_LON, **properties):
    properties = properties or {"type": "house", "street": "Тверская улица", "city": "Москва"}
    properties.setdefault("countrycode", "RU")
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            }
        ],
    }


def stub_cell(lat=STUB_LAT, lon=STUB_LON):
    return hexgrid.cell_for_point(lon=lon, lat=lat)


# --- the gazetteer -------------------------------------------------------------------------


def test_a_city_is_answered_by_the_gazetteer_at_city_precision():
    location = geocode("Москва")

    moscow = Place.objects.get(geonameid=MOSCOW_RU)
    assert location.precision == Precision.CITY
    assert location.source == "gazetteer"
    assert (location.city, location.region, location.country_code) == ("Moscow", "Moscow", "RU")
    assert (location.cell, location.centre) == hexgrid.snap(moscow.point)


def test_the_city_is_named_in_the_requested_language():
    assert geocode("Yekaterinburg", language="ru").city == "Екатеринбург"
    assert geocode("Екатеринбург", language="en").city == "Yekaterinburg"


def test_extra_whitespace_in_the_query_is_ignored():
    assert geocode("  Ростов-на-Дону \n").city == "Rostov-on-Don"


def test_the_gazetteer_answers_before_a_configured_geocoder(nominatim):
    location = geocode("Новосибирск")

    assert location.source == "gazetteer"
    assert nominatim.log == []


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_is_refused(query):
    with pytest.raises(GeocodingError, match="Tell us where you live"):
        geocode(query)


def test_an_overlong_query_is_refused():
    with pytest.raises(GeocodingError, match="too long"):
        geocode("Москва " * 40)


def test_an_unknown_place_raises_with_suggestions():
    with pytest.raises(GeocodingError) as raised:
        geocode("Novosibrisk")

    assert "Novosibrisk" in raised.value.message
    assert raised.value.suggestions[0] == "Novosibirsk, Novosibirsk Oblast, RU"
    assert 1 < len(raised.value.suggestions) <= 5


def test_suggestions_are_labelled_in_the_requested_language():
    with pytest.raises(GeocodingError) as raised:
        geocode("Екатиринбург", language="ru")

    assert raised.value.suggestions[0] == "Екатеринбург, Свердловская область, RU"


def test_a_hopeless_query_raises_without_suggestions():
    with pytest.raises(GeocodingError) as raised:
        geocode("Qqxxzzjjvv")

    assert raised.value.suggestions == []


@pytest.mark.parametrize("language", ["en", "ru"])
def test_many_towns_at_once_are_placed_as_one_by_one(language, django_assert_max_num_queries):
    queries = [
        "Москва", "moscow", "  Ростов-на-Дону ", "Ёлкино", "Kirovsk, RU", "Kazan",
        "Санкт-Петербург", "Тверь", "Nowhere-on-Earth", "Москва, Тверская улица, 7", "x" * 201,
    ]  # fmt: skip
    with django_assert_max_num_queries(2):
        found = geocode_each(queries, language=language)
    for query in queries:
        try:
            expected = geocode(query, language=language)
        except GeocodingError:
            assert query not in found
            continue
        if query in found:
            assert found[query] == expected
    # Exact names are all found; what needs the fallbacks is left to geocode().
    assert {"Москва", "moscow", "  Ростов-на-Дону ", "Kazan", "Тверь"} <= found.keys()
    assert not {"Nowhere-on-Earth", "Москва, Тверская улица, 7", "x" * 201} & found.keys()


def test_an_unconfigured_geocoder_is_never_asked(settings, httpserver_ipv4):
    settings.SOSEDI_GEOCODER = ""
    settings.SOSEDI_GEOCODER_URL = httpserver_ipv4.url_for("/")

    with pytest.raises(GeocodingError):
        geocode(ADDRESS)

    assert httpserver_ipv4.log == []


# --- pins ----------------------------------------------------------------------------------


def test_a_pin_snaps_to_its_cell_and_names_the_nearest_locality():
    location = locate_pin(lon=STUB_LON, lat=STUB_LAT)

    assert location.cell == stub_cell()
    assert location.centre == hexgrid.cell_centre(stub_cell())
    assert (location.centre.x, location.centre.y) != (STUB_LON, STUB_LAT)
    assert (location.city, location.country_code) == ("Moscow", "RU")
    assert (location.precision, location.source) == (Precision.STREET, "pin")


def test_a_pin_names_its_locality_in_the_requested_language():
    assert locate_pin(lon=STUB_LON, lat=STUB_LAT, language="ru").city == "Москва"


@pytest.mark.parametrize(
    ("lon", "lat"), [(180.5, 0), (-181, 0), (0, 90.01), (0, -91), (float("nan"), 0)]
)
def test_a_pin_out_of_range_raises_value_error(lon, lat):
    with pytest.raises(ValueError, match="out of range"):
        locate_pin(lon=lon, lat=lat)


def test_a_pin_far_from_any_place_raises_geocoding_error():
    with pytest.raises(GeocodingError, match="far from any town"):
        locate_pin(lon=-30, lat=0)


# --- the configured geopy geocoder: Nominatim ----------------------------------------------


def test_nominatim_is_asked_for_what_the_gazetteer_does_not_know(nominatim):
    nominatim.expect_request("/search").respond_with_json(nominatim_answer())

    location = geocode(ADDRESS, language="ru")

    assert (location.source, location.precision) == ("nominatim", Precision.STREET)
    assert (location.city, location.region, location.country_code) == ("Москва", "Москва", "RU")
    [(request, _response)] = nominatim.log
    assert request.args["q"] == ADDRESS
    assert request.args["addressdetails"] == "1"
    assert request.args["accept-language"] == "ru"


def test_the_stub_point_is_replaced_by_its_cell_centre(nominatim):
    nominatim.expect_request("/search").respond_with_json(nominatim_answer())

    location = geocode(ADDRESS)

    assert location.cell == stub_cell()
    assert hexgrid.cell_resolution(location.cell) == 8
    assert location.centre == hexgrid.cell_centre(stub_cell())
    assert (location.centre.x, location.centre.y) != pytest.approx((STUB_LON, STUB_LAT))
    assert hexgrid.cell_boundary(location.cell).contains(Point(STUB_LON, STUB_LAT, srid=4326))


def test_the_cell_follows_the_configured_resolution(nominatim, settings):
    settings.SOSEDI_H3_RESOLUTION = 7
    nominatim.expect_request("/search").respond_with_json(nominatim_answer())

    location = geocode(ADDRESS)

    assert hexgrid.cell_resolution(location.cell) == 7
    assert location.cell == stub_cell()


@pytest.mark.parametrize(
    ("answer", "precision"),
    [
        (nominatim_answer(addresstype="road"), Precision.STREET),
        (nominatim_answer(addresstype="building"), Precision.STREET),
        (nominatim_answer(addresstype="postcode", postcode="125009"), Precision.POSTCODE),
        (nominatim_answer(addresstype="city", city="Москва"), Precision.CITY),
        (nominatim_answer(addresstype="suburb", suburb="Тверской"), Precision.CITY),
        (nominatim_answer(addresstype="state", state="Москва"), Precision.REGION),
    ],
    ids=["road", "building", "postcode", "city", "suburb", "state"],
)
def test_nominatim_address_types_map_to_precision(nominatim, answer, precision):
    nominatim.expect_request("/search").respond_with_json(answer)

    assert geocode(ADDRESS).precision == precision


def test_nominatim_without_addresstype_falls_back_to_type(nominatim):
    answer = nominatim_answer(addresstype=None, postcode="125009")
    answer[0]["type"] = "postcode"
    nominatim.expect_request("/search").respond_with_json(answer)

    assert geocode(ADDRESS).precision == Precision.POSTCODE


def test_a_missing_locality_is_taken_from_the_nearest_gazetteer_place(nominatim):
    nominatim.expect_request("/search").respond_with_json(
        nominatim_answer(addresstype="postcode", postcode="125009", country_code="")
    )

    location = geocode("125009", language="ru")

    assert location.precision == Precision.POSTCODE
    assert (location.city, location.region, location.country_code) == ("Москва", "Moscow", "RU")


def test_a_geocoder_behind_a_path_prefix_is_reached(settings, httpserver_ipv4):
    _configure(settings, httpserver_ipv4, "nominatim", path="/nominatim/")
    httpserver_ipv4.expect_request("/nominatim/search").respond_with_json(nominatim_answer())

    assert geocode(ADDRESS).source == "nominatim"


# --- the configured geopy geocoder: Photon -------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "precision", "city"),
    [
        (
            {"type": "house", "street": "Тверская улица", "housenumber": "7", "city": "Москва"},
            Precision.STREET,
            "Москва",
        ),
        (
            {"type": "street", "name": "Тверская улица", "city": "Москва"},
            Precision.STREET,
            "Москва",
        ),
        (
            {"osm_key": "place", "osm_value": "postcode", "postcode": "125009", "city": "Москва"},
            Precision.POSTCODE,
            "Москва",
        ),
        ({"type": "city", "name": "Москва"}, Precision.CITY, "Москва"),
        ({"type": "state", "name": "Москва", "state": "Москва"}, Precision.REGION, "Moscow"),
    ],
    ids=["house", "street", "postcode", "city", "state"],
)
def test_photon_answers_map_to_precision_and_locality(photon, properties, precision, city):
    photon.expect_request("/api").respond_with_json(photon_answer(**properties))

    location = geocode(ADDRESS)

    assert (location.source, location.precision) == ("photon", precision)
    assert (location.city, location.country_code) == (city, "RU")
    assert location.centre == hexgrid.cell_centre(stub_cell())
    [(request, _response)] = photon.log
    assert request.args["q"] == ADDRESS


# --- the cache -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["nominatim", "photon"])
def test_a_repeated_query_is_answered_from_the_cache(settings, httpserver_ipv4, provider):
    server = _configure(settings, httpserver_ipv4, provider)
    answer = nominatim_answer() if provider == "nominatim" else photon_answer()
    server.expect_request("/search" if provider == "nominatim" else "/api").respond_with_json(
        answer
    )

    first = geocode(ADDRESS)
    again = geocode(ADDRESS)
    respaced = geocode("  ТВЕРСКАЯ   улица 7 ")

    assert len(server.log) == 1
    assert again == first
    assert respaced == first
    assert GeocodeCache.objects.get().provider == provider


def test_the_cache_keeps_neither_the_query_nor_the_exact_point(nominatim):
    nominatim.expect_request("/search").respond_with_json(nominatim_answer())

    geocode(ADDRESS)

    row = GeocodeCache.objects.values().get()
    stored = " ".join(str(value) for value in row.values()).casefold()
    assert "тверская" not in stored
    assert row["cell"] == stub_cell()
    assert str(STUB_LAT) not in stored and str(STUB_LON) not in stored
    for text in ("тверская улица 7", ADDRESS.casefold(), "nominatim|тверская улица 7"):
        assert row["query_hash"] != hashlib.sha256(text.encode()).hexdigest()
    assert len(row["query_hash"]) == 64


def test_the_cache_key_depends_on_the_secret_key(nominatim, settings):
    nominatim.expect_request("/search").respond_with_json(nominatim_answer())
    geocode(ADDRESS)

    settings.SECRET_KEY = "another-deployment-another-key"
    geocode(ADDRESS)

    assert len(nominatim.log) == 2
    assert GeocodeCache.objects.count() == 2


@pytest.mark.parametrize("provider", ["nominatim", "photon"])
def test_not_found_is_cached_negatively(settings, httpserver_ipv4, provider):
    server = _configure(settings, httpserver_ipv4, provider)
    empty = [] if provider == "nominatim" else {"type": "FeatureCollection", "features": []}
    server.expect_request("/search" if provider == "nominatim" else "/api").respond_with_json(empty)

    for _ in range(2):
        with pytest.raises(GeocodingError) as raised:
            geocode("Novosibrisk, Krasny prospekt 1")
        assert raised.value.suggestions[0] == "Novosibirsk, Novosibirsk Oblast, RU"

    assert len(server.log) == 1
    row = GeocodeCache.objects.get()
    assert (row.found, row.cell, row.city) == (False, None, "")


# --- a failing geocoder --------------------------------------------------------------------


def test_a_server_error_becomes_a_geocoding_error_and_is_not_cached(nominatim):
    nominatim.expect_request("/search").respond_with_data("boom", status=500)

    with pytest.raises(GeocodingError, match="not answering"):
        geocode(ADDRESS)

    assert GeocodeCache.objects.count() == 0
    nominatim.clear()
    nominatim.expect_request("/search").respond_with_json(nominatim_answer())
    assert geocode(ADDRESS).source == "nominatim"


def test_a_timeout_becomes_a_geocoding_error(photon, settings):
    settings.SOSEDI_GEOCODER_TIMEOUT = 0.2

    def slow(request):
        time.sleep(0.6)
        return Response("{}", content_type="application/json")

    photon.expect_request("/api").respond_with_handler(slow)

    started = time.monotonic()
    with pytest.raises(GeocodingError, match="not answering"):
        geocode(ADDRESS)

    assert time.monotonic() - started < 2
    assert GeocodeCache.objects.count() == 0


def test_an_unreachable_geocoder_becomes_a_geocoding_error(settings):
    settings.SOSEDI_GEOCODER = "nominatim"
    with socket.socket() as probe:  # a port that nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SOSEDI_GEOCODER_URL = f"http://127.0.0.1:{port}"
    settings.SOSEDI_GEOCODER_MIN_DELAY = 0

    with pytest.raises(GeocodingError, match="not answering"):
        geocode(ADDRESS)


def test_a_failing_geocoder_does_not_log_the_typed_address(nominatim, caplog):
    nominatim.expect_request("/search").respond_with_data("boom", status=500)
    caplog.set_level(logging.INFO)

    with pytest.raises(GeocodingError):
        geocode(ADDRESS)

    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]  # not the stub's
    assert any(r.name == "geo.geocoding" for r in ours)  # the failure is logged ...
    logged = "\n".join(caplog.handler.format(r) for r in ours)
    for typed in ("Тверская", quote_plus("Тверская")):
        assert typed not in logged  # ... but not what the person typed


def test_a_city_first_street_address_goes_to_the_configured_geocoder(nominatim):
    nominatim.expect_request("/search").respond_with_json(nominatim_answer())

    location = geocode("Москва, Тверская улица, 7")

    assert location.precision == Precision.STREET


def test_a_street_address_falls_back_to_its_town_when_no_geocoder_is_configured():
    location = geocode("Москва, Тверская улица, 7")

    assert location.precision == Precision.CITY
    assert location.source == "gazetteer"
    assert location.country_code == "RU" and location.region == "Moscow"
