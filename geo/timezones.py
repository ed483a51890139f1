"""Time zones of places, from the offline gazetteer (no network, no zone boundaries).

A point's zone is the zone GeoNames gives the nearest gazetteer locality. That is exact
except between a zone boundary and the nearest town on its other side: a venue is rarely
there, and the host sees the zone named next to the times they typed.
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from geo.nearest import places_nearest

# Half the Earth's circumference: no point is farther than this from the nearest place.
ANYWHERE_KM = 20_040


def timezone_at(point: Point) -> str:
    """The IANA name of the time zone at `point` (TIME_ZONE when the gazetteer has none)."""
    (place,) = places_nearest([(point.x, point.y)], within_km=ANYWHERE_KM)
    return place.timezone if place is not None and place.timezone else settings.TIME_ZONE


def validate_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{name!r} is not an IANA time zone.") from exc


def zone_label(name: str, at: datetime) -> str:
    """How a time in zone `name` is labelled: 'Europe/Moscow, MSK' or, where the zone has
    no abbreviation in letters, its offset at `at`: 'Asia/Novosibirsk, UTC+07:00'."""
    local = at.astimezone(ZoneInfo(name))
    abbreviation = local.tzname() or ""
    if name in ("UTC", "Etc/UTC"):
        return "UTC"
    if not abbreviation.isalpha():
        offset = local.strftime("%z")  # +0700
        abbreviation = f"UTC{offset[:3]}:{offset[3:]}"
    return f"{name}, {abbreviation}"
