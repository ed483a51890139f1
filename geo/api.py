"""The geo operations of the public JSON API (/api/): map cells, place search, pin preview.

A django-ninja Router (mapsite/api.py mounts it). Queries are validated by the Django
forms of geo/forms.py, and the OpenAPI document states their fields as parameters
(form_parameters), so the rules live in the forms alone; the Schemas below only describe
the bodies, which the views build themselves (the cells' GeoJSON comes from PostGIS).
"""

from typing import Annotated, ClassVar, Literal

from django import forms
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.translation import get_language
from ninja import Field, Router, Schema

from geo import gazetteer, selectors
from geo.forms import CellsQueryForm, CoordinateField, PinQueryForm
from geo.geocoding import GeocodingError, locate_pin, place_label
from geo.regions import region_name
from geo.snapshot_models import MAX_PUBLIC_RESOLUTION
from ops.replica import reads_may_lag

GEOJSON = "application/geo+json"
H3_INDEX = r"^[0-9a-f]{15}$"

router = Router()


def form_parameters(form_class: type[forms.Form]) -> list[dict]:
    """A form's fields as the OpenAPI query parameters of the operation it validates."""
    return [
        {
            "name": name,
            "in": "query",
            "required": field.required,
            "schema": _field_schema(field),
            **({"description": str(field.help_text)} if field.help_text else {}),
        }
        for name, field in form_class.base_fields.items()
    ]


def _field_schema(field: forms.Field) -> dict:
    if isinstance(field, forms.IntegerField):
        schema = {"type": "integer"}
    elif isinstance(field, forms.FloatField | CoordinateField):
        schema = {"type": "number"}
    elif isinstance(field, forms.CharField):
        schema = {"type": "string"}
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if getattr(field, "pattern", None):
            schema["pattern"] = field.pattern
    else:
        raise TypeError(f"no OpenAPI schema for a {type(field).__name__}")
    for key, attr in (("minimum", "min_value"), ("maximum", "max_value")):
        if getattr(field, attr, None) is not None:
            schema[key] = getattr(field, attr)
    return schema


def _errors_response(form: forms.Form, *, detailed: bool = True) -> JsonResponse:
    """400 with the form's first message as `error` (and all of them, by field, as `errors`)."""
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    body = {"error": next(iter(errors.values()))[0]}
    if detailed:
        body["errors"] = errors
    return JsonResponse(body, status=400)


def _language() -> str:
    return (get_language() or "en")[:2]


# --- the bodies, for the OpenAPI document ----------------------------------------------------

Position = Annotated[list[float], Field(min_length=2, max_length=3)]
Ring = Annotated[list[Position], Field(min_length=4)]


class Point(Schema):
    type: Literal["Point"]
    coordinates: Position


class Polygon(Schema):
    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1)]


class MultiPolygon(Schema):
    type: Literal["MultiPolygon"]
    coordinates: list[list[Ring]]


class CellProperties(Schema):
    cell: str = Field(pattern=H3_INDEX, description="H3 index")
    count: int = Field(ge=0, description="supporters, with noise, rounded to a multiple of 5")


class CellFeature(Schema):
    type: Literal["Feature"]
    id: str = Field(pattern=H3_INDEX, description="H3 index")
    geometry: Polygon | MultiPolygon
    properties: CellProperties


class Cells(Schema):
    media_type: ClassVar[str] = GEOJSON

    type: Literal["FeatureCollection"]
    snapshot: int | None = Field(
        description="version of the snapshot served; null before the first one"
    )
    # Absent before the first snapshot.
    resolution: int = Field(None, ge=0, le=15, description="the H3 resolution served")
    truncated: bool = Field(
        None, description="cut to the largest counts: too many cells even at resolution 1"
    )
    features: list[CellFeature]


class Error(Schema):
    error: str = Field(description="what to change, in the request's language")
    errors: dict[str, list[str]] = Field(None, description="every message, by field")


class Place(Schema):
    name: str
    label: str
    country_code: str
    lat: float
    lon: float


class Places(Schema):
    results: list[Place] = Field(max_length=8)


class Locality(Schema):
    city: str
    region: str
    country_code: str


def _cache_headers() -> dict:
    return {
        name: {"schema": {"type": "string"}, "description": text}
        for name, text in (
            ("ETag", "the snapshot version; send it back as If-None-Match"),
            ("Last-Modified", "when the snapshot was built"),
            ("Cache-Control", "public, max-age=…"),
        )
    }


# --- the operations --------------------------------------------------------------------------


def _cache(response, snapshot) -> HttpResponse:
    response["ETag"] = snapshot.etag
    response["Last-Modified"] = http_date(snapshot.created_at.timestamp())
    patch_cache_control(response, public=True, max_age=settings.SOSEDI_MAP_CACHE_SECONDS)
    return response


@router.get(
    "/public/cells",
    url_name="public_cells",
    response={200: Cells, 304: None, 400: Error},
    summary="Published hexagons in a bounding box (GeoJSON)",
    description=(
        "Hexagons of the current public snapshot with at least k supporters, at an H3 "
        f"resolution fit for the zoom (never finer than {MAX_PUBLIC_RESOLUTION}). A bbox wider "
        f"than a view at the zoom ({selectors.max_span_degrees(0):g}/2^zoom degrees) is drawn "
        "at the resolution of the closest zoom out that spans it; past "
        f"{settings.SOSEDI_MAP_MAX_CELLS} hexagons a coarser resolution is served. Every "
        "bbox the pattern admits is served: a west east of east crosses the antimeridian, "
        "south and north may come in either order."
    ),
    openapi_extra={
        "parameters": form_parameters(CellsQueryForm),
        "responses": {
            200: {"description": "a FeatureCollection", "headers": _cache_headers()},
            304: {
                "description": "unchanged since the If-None-Match snapshot",
                "headers": _cache_headers(),
            },
            400: {"description": "a bbox or zoom the parameters' schemas refuse"},
        },
    },
)
@reads_may_lag
def public_cells(request):
    """GeoJSON of the published hexagons in a bbox, at a resolution fit for the zoom."""
    form = CellsQueryForm(request.GET)
    if not form.is_valid():
        return _errors_response(form)
    snapshot = selectors.snapshot_current()
    if snapshot is None:
        response = JsonResponse(
            {"type": "FeatureCollection", "snapshot": None, "features": []},
            content_type=GEOJSON,
        )
        patch_cache_control(response, no_cache=True)
        return response
    not_modified = get_conditional_response(
        request, etag=snapshot.etag, last_modified=int(snapshot.created_at.timestamp())
    )
    if not_modified is not None:
        return _cache(not_modified, snapshot)
    page = selectors.cells_for_bbox(
        snapshot=snapshot,
        bbox=form.cleaned_data["bbox"],
        zoom=form.cleaned_data["zoom"],
        max_cells=settings.SOSEDI_MAP_MAX_CELLS,
    )
    return _cache(HttpResponse(page.geojson, content_type=GEOJSON), snapshot)


@router.get(
    "/places/",
    url_name="places",
    response=Places,
    summary="Gazetteer search for place pickers",
    description="Exact names first, then prefixes and near spellings; the first 100 "
    "characters of `q` count. Public gazetteer data, no people.",
)
def places(request, q: str = ""):
    query = q[:100]
    found = gazetteer.place_search(query, limit=8) if query.strip() else []
    lang = _language()
    return JsonResponse(
        {
            "results": [
                {
                    "name": p.display_name(lang),
                    "label": place_label(p, lang),
                    "country_code": p.country_code,
                    "lat": p.point.y,
                    "lon": p.point.x,
                }
                for p in found
            ]
        }
    )


@router.get(
    "/locate/",
    url_name="locate",
    response={200: Locality, 400: Error, 404: Error},
    summary="The locality a pin would be recorded with",
    description="No point is echoed back, only the locality's names.",
    openapi_extra={
        "parameters": form_parameters(PinQueryForm),
        "responses": {
            400: {"description": "missing, non-numeric or out-of-range coordinates"},
            404: {"description": "no known town near the pin"},
        },
    },
)
def locate(request):
    """The locality a pin would be recorded with (no point is echoed back)."""
    form = PinQueryForm(request.GET)
    if not form.is_valid():
        return _errors_response(form, detailed=False)
    try:
        location = locate_pin(
            lon=form.cleaned_data["lon"], lat=form.cleaned_data["lat"], language=_language()
        )
    except GeocodingError as exc:
        return JsonResponse({"error": exc.message}, status=404)
    region = region_name(location.region, country_code=location.country_code, language=_language())
    return JsonResponse(
        {"city": location.city, "region": region, "country_code": location.country_code}
    )
