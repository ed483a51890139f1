"""Property-based tests (hypothesis) of everything that parses what strangers type: the
bbox and zoom of the cells API, coordinates, the gazetteer's text search, CSV rows."""

import os
import re

from django.db import connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from geo import gazetteer
from geo.forms import BBOX_PATTERN, CellsQueryForm
from geo.geocoding import GeocodingError, geocode, locate_pin
from geo.selectors import MAX_ZOOM, max_span_degrees, zoom_for_bbox
from supporters.forms import CoordinatesOutOfRange, LocationFields
from supporters.organize.imports import ImportFileError, import_text

# Any code point at all, lone surrogates and NUL included.
ANY_CHAR = st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
# What an HTTP request can carry as text (UTF-8: no lone surrogates); raw bytes separately.
HTTP_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
# Text close to what breaks parsers: numbers, separators, signs, exponents, other digits.
NUMBERISH = st.text(st.sampled_from(list("0123456789.,-+eE _٥۵nafiINF \t\n\x00")), max_size=40)
# Examples per test in CI; `make fuzz` multiplies them (SOSEDI_PROPERTY_SCALE=10).
SCALE = float(os.environ.get("SOSEDI_PROPERTY_SCALE", "1"))
DB = settings(
    max_examples=int(40 * SCALE),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE = settings(max_examples=int(300 * SCALE), deadline=None)


# --- bbox and zoom (geo/forms.py) ------------------------------------------------------------


@PURE
@given(bbox=st.one_of(ANY_TEXT, NUMBERISH), zoom=st.one_of(ANY_TEXT, NUMBERISH))
def test_the_cells_query_parser_never_raises_and_accepts_only_sane_boxes(bbox, zoom):
    form = CellsQueryForm({"bbox": bbox, "zoom": zoom})
    if not form.is_valid():
        assert form.errors  # a message for the 400, never an exception
        return
    box, z = form.cleaned_data["bbox"], form.cleaned_data["zoom"]
    assert re.fullmatch(BBOX_PATTERN, bbox), "accepted what the OpenAPI pattern refuses"
    assert -180 <= box.west <= 180 and -180 <= box.east <= 180
    assert -90 <= box.south <= box.north <= 90
    assert 0 <= z <= MAX_ZOOM
    drawn = zoom_for_bbox(bbox=box, zoom=z)
    assert drawn <= z and max(box.width, box.north - box.south) <= max_span_degrees(drawn)


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


@PURE
@given(
    west=st.floats(-180, 180),
    south=st.floats(-90, 90),
    east=st.floats(-180, 180),
    north=st.floats(-90, 90),
    zoom=st.integers(0, MAX_ZOOM),
)
def test_every_box_on_earth_is_accepted_at_every_zoom(west, south, east, north, zoom):
    text = ",".join(_number(v) for v in (west, south, east, north))
    w, s, e, n = (float(v) for v in text.split(","))
    form = CellsQueryForm({"bbox": text, "zoom": str(zoom)})
    assert form.is_valid(), form.errors
    box = form.cleaned_data["bbox"]
    assert (box.west, box.south, box.east, box.north) == (w, min(s, n), e, max(s, n))


@PURE
@given(zoom=st.integers(-(10**6), 10**6))
def test_zoom_is_accepted_exactly_in_range(zoom):
    form = CellsQueryForm({"bbox": "37,55,37.01,55.01", "zoom": str(zoom)})
    assert form.is_valid() == (0 <= zoom <= MAX_ZOOM)


# --- coordinates -------------------------------------------------------------------------------


@DB
@given(
    lat=st.one_of(NUMBERISH, st.floats().map(repr)), lon=st.one_of(NUMBERISH, st.floats().map(repr))
)
def test_a_pin_is_placed_refused_or_out_of_range_never_an_error(db, lat, lon):
    form = LocationFields({"pin_lat": lat, "pin_lon": lon, "location_text": ""})
    try:
        valid = form.is_valid()
    except CoordinatesOutOfRange:
        return  # the views answer 400
    if valid:
        location = form.location
        assert -90 <= location.centre.y <= 90 and -180 <= location.centre.x <= 180
    else:
        assert form.errors


@DB
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180))
def test_any_point_on_earth_gets_a_locality_or_a_clear_refusal(db, lat, lon):
    try:
        location = locate_pin(lon=lon, lat=lat)
    except GeocodingError as exc:
        assert exc.message
        return
    assert location.city and len(location.country_code) == 2


@DB
@given(lat=st.one_of(NUMBERISH, HTTP_TEXT), lon=st.one_of(NUMBERISH, HTTP_TEXT))
def test_the_locate_endpoint_answers_200_400_or_404(db, client, lat, lon):
    response = client.get("/api/locate/", {"lat": lat, "lon": lon})
    assert response.status_code in (200, 400, 404)
    assert set(response.json()) <= {"city", "region", "country_code", "error"}


# --- the gazetteer's text search -----------------------------------------------------------------


@DB
@given(query=st.one_of(ANY_TEXT, st.sampled_from(["Москва", "moscow, ru", "Ростов-на-Дону"])))
@example(query="Моск\x00ва")  # PostgreSQL text cannot hold NUL
@example(query="Моск\ud800ва, \udfff")  # lone surrogates cannot be encoded
def test_gazetteer_search_never_raises_on_any_unicode(db, query):
    found = gazetteer.place_search(query)
    assert len(found) <= 8
    assert len(gazetteer.places_named(query)) <= 10
    assert len(gazetteer.places_named(query, loose=True)) <= 10
    try:
        location = geocode(query)
    except GeocodingError as exc:
        assert exc.message
    else:
        assert location.city


@DB
@given(query=HTTP_TEXT, raw=st.binary(max_size=200))
def test_the_places_endpoint_always_answers_json(db, client, query, raw):
    from urllib.parse import quote_from_bytes

    for response in (
        client.get("/api/places/", {"q": query}),
        client.get("/api/places/", QUERY_STRING="q=" + quote_from_bytes(raw)),
    ):
        assert response.status_code == 200
        assert len(response.json()["results"]) <= 8


# --- CSV rows of the organizer import (supporters/organize/imports/) ------------------------

HEADER = [
    "email",
    "name",
    "phone",
    "language",
    "location",
    "lat",
    "lon",
    "tags",
    "joined_at",
    "consent_public_map",
    "consent_source",
]
CELL = st.one_of(
    ANY_TEXT.map(lambda t: t[:60]),
    st.sampled_from(["", "Москва", "Kazan", "55.75", "37,62", "yes", "нет", "2024-05-01", "x"]),
)


def _email(i: int) -> st.SearchStrategy[str]:
    return st.one_of(st.just(f"row{i}@example.org"), CELL)


@st.composite
def csv_rows(draw):
    rows = []
    for i in range(draw(st.integers(1, 4))):
        rows.append([draw(_email(i)), *(draw(CELL) for _ in HEADER[1:])])
    return rows


def _csv(rows) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


@DB
@given(rows=csv_rows())
def test_every_csv_row_is_imported_or_reported_and_nothing_half_stored(db, rows):
    from supporters.models import ConsentRecord, Supporter

    text = _csv(rows)
    before = Supporter.objects.count(), ConsentRecord.objects.count()
    try:
        outcome = import_text(text)
    except ImportFileError:
        assert (Supporter.objects.count(), ConsentRecord.objects.count()) == before
        return
    # Every row is either written (created or updated) or has at least one error.
    data_rows = {i for i, row in enumerate(_reread(text), start=2) if any(c.strip() for c in row)}
    reported = {e.row for e in outcome.errors}
    assert outcome.created + outcome.updated + len(reported & data_rows) >= len(data_rows)
    assert Supporter.objects.count() == before[0] + outcome.created
    with connection.cursor() as cursor:  # the transaction is still usable: nothing broke
        cursor.execute("SELECT 1")
    Supporter.objects.filter(email__endswith="@example.org").delete()


def _reread(text: str):
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    return list(reader)
