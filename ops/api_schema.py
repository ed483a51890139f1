"""The OpenAPI 3.0 document of Sosedi's public JSON API, served at /api/schema/.

Kept by hand next to the code it describes, with its limits taken from that code;
tests/security/test_api_schema.py runs schemathesis (every check) against a live server
to prove the two agree, and fails when a route under /api/ is missing here.
"""

from django.conf import settings
from django.urls import Resolver404, resolve

from geo.forms import BBOX_PATTERN
from geo.selectors import MAX_ZOOM

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what to change, in the request's language"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}

_POSITION = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}
_RING = {"type": "array", "minItems": 4, "items": _POSITION}
_POLYGON = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Polygon"]},
        "coordinates": {"type": "array", "minItems": 1, "items": _RING},
    },
}
_MULTIPOLYGON = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["MultiPolygon"]},
        "coordinates": {"type": "array", "items": {"type": "array", "items": _RING}},
    },
}
_POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {"type": {"type": "string", "enum": ["Point"]}, "coordinates": _POSITION},
}

_CELL = {
    "type": "object",
    "required": ["type", "id", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string", "pattern": "^[0-9a-f]{15}$", "description": "H3 index"},
        "geometry": {"oneOf": [_POLYGON, _MULTIPOLYGON]},
        "properties": {
            "type": "object",
            "required": ["cell", "count"],
            "properties": {
                "cell": {"type": "string", "pattern": "^[0-9a-f]{15}$"},
                "count": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "supporters, with noise, rounded to a multiple of 5",
                },
            },
        },
    },
}

_CELLS = {
    "type": "object",
    "required": ["type", "snapshot", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "snapshot": {
            "type": "integer",
            "nullable": True,
            "description": "version of the snapshot served; null before the first one",
        },
        "resolution": {"type": "integer", "minimum": 0, "maximum": 15},
        "truncated": {"type": "boolean"},
        "features": {"type": "array", "items": _CELL},
    },
}

_EVENT = {
    "type": "object",
    "required": ["type", "id", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string", "format": "uuid"},
        "geometry": _POINT,
        "properties": {
            "type": "object",
            "required": ["title", "venue", "starts_at", "ends_at", "timezone", "url"],
            "properties": {
                "title": {"type": "string"},
                "venue": {"type": "string"},
                "starts_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "local time at the venue, with its UTC offset",
                },
                "ends_at": {"type": "string", "format": "date-time"},
                "timezone": {"type": "string", "description": "the venue's IANA time zone"},
                "url": {"type": "string"},
            },
        },
    },
}


def _json(schema: dict, description: str, media_type: str = "application/json") -> dict:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _cache_headers() -> dict:
    return {
        name: {"schema": {"type": "string"}, "description": text}
        for name, text in (
            ("ETag", "the snapshot version; send it back as If-None-Match"),
            ("Last-Modified", "when the snapshot was built"),
            ("Cache-Control", "public, max-age=…"),
        )
    }


def _operations() -> dict[str, dict]:
    return {
        "/api/public/cells": {
            "get": {
                "operationId": "public_cells",
                "summary": "Published hexagons in a bounding box (GeoJSON)",
                "description": (
                    "Hexagons of the current public snapshot with at least k supporters, at an "
                    "H3 resolution fit for the zoom (never finer than 7). Past "
                    f"{settings.SOSEDI_MAP_MAX_CELLS} hexagons a coarser resolution is served, "
                    "and a bbox wider than a view at the zoom (5760/2^zoom degrees) is drawn "
                    "as at the closest zoom out that spans it. Every bbox the pattern admits "
                    "is served: a west east of east crosses the antimeridian, south and north "
                    "may come in either order."
                ),
                "parameters": [
                    {
                        "name": "bbox",
                        "in": "query",
                        "required": True,
                        "description": "west,south,east,north in WGS84 degrees",
                        "schema": {"type": "string", "pattern": BBOX_PATTERN, "maxLength": 200},
                        "example": "37,55,38,56",
                    },
                    {
                        "name": "zoom",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ZOOM},
                        "example": 9,
                    },
                ],
                "responses": {
                    "200": {
                        **_json(_CELLS, "a FeatureCollection", "application/geo+json"),
                        "headers": _cache_headers(),
                    },
                    "304": {
                        "description": "unchanged since the If-None-Match snapshot",
                        "headers": _cache_headers(),
                    },
                    "400": _json(_ERROR, "a bbox or zoom the parameters' schemas refuse"),
                },
            }
        },
        "/api/places/": {
            "get": {
                "operationId": "places",
                "summary": "Gazetteer search for place pickers",
                "description": "Exact names first, then prefixes and near spellings; the "
                "first 100 characters of `q` count.",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "example": "Москва",
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["results"],
                            "properties": {
                                "results": {
                                    "type": "array",
                                    "maxItems": 8,
                                    "items": {
                                        "type": "object",
                                        "required": [
                                            "name",
                                            "label",
                                            "country_code",
                                            "lat",
                                            "lon",
                                        ],
                                        "properties": {
                                            "name": {"type": "string"},
                                            "label": {"type": "string"},
                                            "country_code": {"type": "string"},
                                            "lat": {"type": "number"},
                                            "lon": {"type": "number"},
                                        },
                                    },
                                }
                            },
                        },
                        "matching localities (public gazetteer data, no people)",
                    )
                },
            }
        },
        "/api/locate/": {
            "get": {
                "operationId": "locate",
                "summary": "The locality a pin would be recorded with",
                "description": "No point is echoed back, only the locality's names.",
                "parameters": [
                    {
                        "name": "lat",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "number", "minimum": -90, "maximum": 90},
                        "example": 55.75,
                    },
                    {
                        "name": "lon",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "number", "minimum": -180, "maximum": 180},
                        "example": 37.62,
                    },
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["city", "region", "country_code"],
                            "properties": {
                                "city": {"type": "string"},
                                "region": {"type": "string"},
                                "country_code": {"type": "string"},
                            },
                        },
                        "the locality",
                    ),
                    "400": _json(_ERROR, "missing, non-numeric or out-of-range coordinates"),
                    "404": _json(_ERROR, "no known town within 150 km of the pin"),
                },
            }
        },
        "/api/public/events": {
            "get": {
                "operationId": "public_events",
                "summary": "Approved upcoming local events (GeoJSON)",
                "description": "Venue points (public by design) and titles; nothing about "
                "hosts or guests.",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["type", "features"],
                            "properties": {
                                "type": {"type": "string", "enum": ["FeatureCollection"]},
                                "features": {"type": "array", "items": _EVENT},
                            },
                        },
                        "a FeatureCollection",
                    )
                },
            }
        },
        "/api/schema/": {
            "get": {
                "operationId": "api_schema",
                "summary": "This document",
                "responses": {
                    "200": _json(
                        {"type": "object", "required": ["openapi", "paths"]},
                        "the OpenAPI document",
                        "application/vnd.oai.openapi+json",
                    )
                },
            }
        },
    }


def _served(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def openapi_document() -> dict:
    """The document, listing only the operations this deployment's URLconf serves."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Sosedi public API",
            "version": "1",
            "description": "Read-only JSON endpoints of the public map. No endpoint returns "
            "a person or an individual point; other methods than GET get 405.",
        },
        "paths": {path: ops for path, ops in _operations().items() if _served(path)},
    }
