"""The place-search and pin-preview JSON endpoints."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PLACES = reverse("api:places")
LOCATE = reverse("api:locate")


def test_place_search_answers_a_cyrillic_query_with_json(client):
    response = client.get(PLACES, {"q": "Екатеринбург"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    first = response.json()["results"][0]
    assert first["name"] == "Yekaterinburg"
    assert first["label"] == "Yekaterinburg, Sverdlovsk Oblast, RU"
    assert first["country_code"] == "RU"
    assert first["lat"] == pytest.approx(56.85, abs=0.05)
    assert first["lon"] == pytest.approx(60.61, abs=0.05)


def test_place_search_names_places_in_the_visitors_language(client):
    results = client.get(PLACES, {"q": "moscow"}, HTTP_ACCEPT_LANGUAGE="ru").json()["results"]

    assert results[0]["name"] == "Москва"
    assert results[0]["label"] == "Москва, RU"  # the city is its own region
    novosibirsk = client.get(PLACES, {"q": "Новосибирск"}, HTTP_ACCEPT_LANGUAGE="ru").json()
    assert novosibirsk["results"][0]["label"] == "Новосибирск, Новосибирская область, RU"


def test_place_search_offers_near_spellings_up_to_eight(client):
    results = client.get(PLACES, {"q": "Novosibrisk"}).json()["results"]

    assert results[0]["name"] == "Novosibirsk"
    assert 1 < len(results) <= 8


@pytest.mark.parametrize("query", [None, "", "   "])
def test_place_search_with_an_empty_query_gives_no_results(client, query):
    params = {} if query is None else {"q": query}

    response = client.get(PLACES, params)

    assert response.status_code == 200
    assert response.json() == {"results": []}


def test_place_search_only_answers_get(client):
    assert client.post(PLACES, {"q": "Москва"}).status_code == 405


def test_locate_names_the_locality_of_a_good_pin_and_nothing_more(client):
    response = client.get(LOCATE, {"lat": "55.7539", "lon": "37.6208"})

    assert response.status_code == 200
    assert response.json() == {"city": "Moscow", "region": "Moscow", "country_code": "RU"}
    body = response.content.decode()
    assert "55.75" not in body and "37.62" not in body


def test_locate_names_the_locality_in_the_visitors_language(client):
    response = client.get(LOCATE, {"lat": "55.7539", "lon": "37.6208"}, HTTP_ACCEPT_LANGUAGE="ru")

    assert response.json()["city"] == "Москва"


def test_locate_names_the_region_in_the_visitors_language_too(client):
    """Kazan's region: Tatarstan, in Russian on a Russian page (the gazetteer keeps it in
    English, as supporters' records do)."""
    pin = {"lat": "55.7963", "lon": "49.1088"}
    english = client.get(LOCATE, pin).json()
    russian = client.get(LOCATE, pin, HTTP_ACCEPT_LANGUAGE="ru").json()
    assert (english["city"], russian["city"]) == ("Kazan", "Казань")
    assert english["region"] != russian["region"]
    assert "Татарстан" in russian["region"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lat": "55.7539"},
        {"lon": "37.6208"},
        {"lat": "north", "lon": "37.6208"},
        {"lat": "55.7539", "lon": ""},
        {"lat": "55,7539", "lon": "37,6208"},
    ],
)
def test_locate_rejects_missing_or_non_numeric_coordinates_with_400_json(client, params):
    response = client.get(LOCATE, params)

    assert response.status_code == 400
    assert response.json() == {"error": "lat and lon are required numbers"}
    assert "7539" not in response.content.decode()


@pytest.mark.parametrize(
    ("lat", "lon"),
    [("91", "37.6208"), ("-90.5", "0"), ("55.7539", "180.01"), ("nan", "37.6208"), ("1e400", "0")],
)
def test_locate_rejects_out_of_range_coordinates_with_400_json(client, lat, lon):
    response = client.get(LOCATE, {"lat": lat, "lon": lon})

    assert response.status_code == 400
    assert response.json() == {"error": "Those coordinates are outside the map."}
    body = response.content.decode()
    assert lat not in body and lon not in body


def test_locate_far_from_any_town_is_a_404_with_a_message(client):
    response = client.get(LOCATE, {"lat": "0.1234", "lon": "-30.5678"})

    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error"}
    assert "far from any town" in body["error"]
    assert "0.1234" not in response.content.decode()
    assert "30.5678" not in response.content.decode()
