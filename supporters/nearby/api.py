"""The events operation of the public JSON API (/api/): a django-ninja Router that
mapsite/api.py mounts. The body is GeoJSON built by PostGIS (selectors)."""

from typing import Literal
from uuid import UUID

from django.http import HttpResponse
from django.urls import reverse
from ninja import Field, Router, Schema

from geo.api import Point
from ops.replica import reads_may_lag
from supporters.nearby import selectors

router = Router()


class EventProperties(Schema):
    title: str
    venue: str
    starts_at: str = Field(
        json_schema_extra={"format": "date-time"},
        description="local time at the venue, with its UTC offset",
    )
    ends_at: str = Field(json_schema_extra={"format": "date-time"})
    timezone: str = Field(description="the venue's IANA time zone")
    url: str


class EventFeature(Schema):
    type: Literal["Feature"]
    id: UUID
    geometry: Point
    properties: EventProperties


class Events(Schema):
    type: Literal["FeatureCollection"]
    features: list[EventFeature]


@router.get(
    "/public/events",
    url_name="public_events",
    response=Events,
    summary="Approved upcoming local events (GeoJSON)",
    description="Venue points (public by design) and titles; nothing about hosts or guests.",
)
@reads_may_lag
def public_events(request):
    """GeoJSON of approved upcoming events for the public map's events layer."""
    page = reverse("events:detail", args=[selectors.EVENT_ID_PLACEHOLDER])
    body = selectors.events_upcoming_geojson(url_template=request.build_absolute_uri(page))
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "public, max-age=300"
    return response
