"""Geocoding: turn what a person typed (or a pin) into a hex cell and a locality.

A chain, each answer carrying its precision and source:
1. the offline gazetteer (city-level, any script, no network);
2. a configured geopy geocoder (self-hosted Nominatim or Photon) for streets and postcodes,
   rate-limited and cached;
3. a pin on the map, reverse-looked-up to the nearest gazetteer locality.

The exact point never leaves this module: every answer is already snapped to its cell.
"""

import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter

from geo import gazetteer, hexgrid
from geo.models import GeocodeCache, Place
from geo.regions import region_name

logger = logging.getLogger(__name__)


class Precision(models.TextChoices):
    STREET = "street", pgettext_lazy("location precision", "street address")
    POSTCODE = "postcode", pgettext_lazy("location precision", "postcode")
    CITY = "city", pgettext_lazy("location precision", "town or city")
    REGION = "region", pgettext_lazy("location precision", "region")


@dataclass(frozen=True)
class Location:
    """Where someone lives, as Sosedi keeps it: a cell, its centre and the locality."""

    cell: int
    centre: Point
    precision: str
    source: str
    city: str
    region: str
    country_code: str


class GeocodingError(Exception):
    """The query could not be placed; `suggestions` are gazetteer names to offer instead."""

    def __init__(self, message: str, suggestions: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions or []


def _from_place(place: Place, *, precision: str, source: str, language: str) -> Location:
    cell, centre = hexgrid.snap(place.point)
    return Location(
        cell=cell,
        centre=centre,
        precision=precision,
        source=source,
        city=place.display_name(language),
        region=place.region,
        country_code=place.country_code,
    )


def place_label(place: Place, language: str = "en") -> str:
    name = place.display_name(language)
    region = region_name(place.region, country_code=place.country_code, language=language)
    # "Москва, RU", not "Москва, Москва, RU": a federal city is its own region.
    parts = [name, region if region != name else "", place.country_code]
    return ", ".join(p for p in parts if p)


def geocode(query: str, *, language: str = "en") -> Location:
    """Place a free-text location. Raises GeocodingError with suggestions when it can't."""
    query = " ".join(query.split())
    if not query:
        raise GeocodingError(_("Tell us where you live: a city, postcode or address."))
    if len(query) > 200:
        raise GeocodingError(_("That location is too long; a city or postcode is enough."))

    places = gazetteer.places_named(query, limit=1)
    if places:
        return _from_place(
            places[0], precision=Precision.CITY, source="gazetteer", language=language
        )

    if settings.SOSEDI_GEOCODER:
        found = _geocode_remote(query, language=language)
        if found is not None:
            return found

    # 'Town, street, number' with no geocoder to place the street: the town will do.
    places = gazetteer.places_named(query, limit=1, loose=True)
    if places:
        return _from_place(
            places[0], precision=Precision.CITY, source="gazetteer", language=language
        )

    suggestions = [place_label(p, language) for p in gazetteer.places_like(query, limit=5)]
    raise GeocodingError(
        _("We could not find “%(query)s”. Try the name of your town or city.") % {"query": query},
        suggestions,
    )


def geocode_each(queries: Iterable[str], *, language: str = "en") -> dict[str, Location]:
    """What `geocode` answers from the gazetteer's exact names, for many queries in two
    SQL statements (a list's thousands of towns, not one round trip each). Queries it
    leaves out (no exact name, too long) are for `geocode`, which explains or falls back."""
    tidy = {q: t for q in queries if (t := " ".join(q.split())) and len(t) <= 200}
    places = gazetteer.places_named_each(set(tidy.values()))
    # A town's spellings share its answer: snapped to the grid once.
    by_place: dict[int, Location] = {}
    found = {}
    for q, t in tidy.items():
        if (place := places.get(t)) is not None:
            if place.pk not in by_place:
                by_place[place.pk] = _from_place(
                    place, precision=Precision.CITY, source="gazetteer", language=language
                )
            found[q] = by_place[place.pk]
    return found


def pin_in_range(*, lon: float, lat: float) -> bool:
    return -180 <= lon <= 180 and -90 <= lat <= 90


def pin_location(*, point: Point, place, language: str, source: str = "pin") -> Location:
    """A pin's Location: its cell, named after `place` (the nearest gazetteer locality)."""
    cell, centre = hexgrid.snap(point)
    return Location(
        cell=cell,
        centre=centre,
        precision=Precision.STREET,
        source=source,
        city=place.display_name(language),
        region=place.region,
        country_code=place.country_code,
    )


def locate_pin(*, lon: float, lat: float, language: str = "en") -> Location:
    """A pin dropped on the map: its cell, and the nearest gazetteer locality's name."""
    if not pin_in_range(lon=lon, lat=lat):
        raise ValueError("coordinates out of range")
    point = Point(lon, lat, srid=4326)
    place = gazetteer.place_nearest(point)
    if place is None:
        raise GeocodingError(_("That pin is far from any town we know; move it closer to one."))
    return pin_location(point=point, place=place, language=language)


# --- the configured geopy geocoder --------------------------------------------------------


@cache
def _remote_geocoder():
    """The geopy geocoder from settings, wrapped in a RateLimiter per its usage policy."""
    from geopy.geocoders import Nominatim, Photon

    url = urlsplit(settings.SOSEDI_GEOCODER_URL)
    common = {
        "domain": url.netloc + url.path.rstrip("/"),
        "scheme": url.scheme or "https",
        "timeout": settings.SOSEDI_GEOCODER_TIMEOUT,
    }
    if settings.SOSEDI_GEOCODER == "nominatim":
        geocoder = Nominatim(user_agent=settings.SOSEDI_GEOCODER_USER_AGENT, **common)
        kwargs = {"addressdetails": True}
    else:
        geocoder = Photon(user_agent=settings.SOSEDI_GEOCODER_USER_AGENT, **common)
        kwargs = {}
    # No retries: RateLimiter logs the call's arguments (the typed address) when it
    # retries, and a sign-up should not wait seconds for a second try.
    limited = RateLimiter(
        geocoder.geocode,
        min_delay_seconds=settings.SOSEDI_GEOCODER_MIN_DELAY,
        max_retries=0,
        swallow_exceptions=False,
    )
    return limited, kwargs


def _query_hash(provider: str, query: str, language: str) -> str:
    # The language is part of the key: the cached locality is named in it.
    key = settings.SECRET_KEY.encode()
    message = f"{provider}|{language}|{gazetteer.normalise(query)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


_NOMINATIM_PRECISION = {
    "postcode": Precision.POSTCODE,
    **dict.fromkeys(
        ["city", "town", "village", "hamlet", "municipality", "suburb", "borough"],
        Precision.CITY,
    ),
    **dict.fromkeys(["state", "region", "province", "county", "state_district"], Precision.REGION),
}
_PHOTON_PRECISION = {
    **dict.fromkeys(["city", "locality", "district"], Precision.CITY),
    **dict.fromkeys(["county", "state"], Precision.REGION),
}


def _parse(provider: str, raw: dict) -> tuple[str, str, str, str]:
    """(precision, city, region, country_code) from a Nominatim or Photon raw answer."""
    if provider == "nominatim":
        address = raw.get("address", {})
        kind = raw.get("addresstype") or raw.get("type", "")
        precision = _NOMINATIM_PRECISION.get(kind, Precision.STREET)
        city = next(
            (address[k] for k in ("city", "town", "village", "hamlet") if address.get(k)), ""
        )
        return precision, city, address.get("state", ""), address.get("country_code", "")
    props = raw.get("properties", {})
    if props.get("osm_value") == "postcode" or props.get("type") == "postcode":
        precision = Precision.POSTCODE
    else:
        precision = _PHOTON_PRECISION.get(props.get("type", ""), Precision.STREET)
    city = props.get("city") or (props.get("name") if precision == Precision.CITY else "")
    return precision, city or "", props.get("state", ""), props.get("countrycode", "")


def _geocode_remote(query: str, *, language: str) -> Location | None:
    provider = settings.SOSEDI_GEOCODER
    key = _query_hash(provider, query, language)
    cached = GeocodeCache.objects.filter(provider=provider, query_hash=key).first()
    if cached is None:
        limited, kwargs = _remote_geocoder()
        try:
            answer = limited(query, exactly_one=True, language=language, **kwargs)
        except GeopyError as exc:
            logger.warning("geocoder %s failed: %s", provider, type(exc).__name__)
            raise GeocodingError(
                _("The address service is not answering right now. Try your town's name.")
            ) from exc
        if answer is None:
            GeocodeCache.objects.get_or_create(
                provider=provider, query_hash=key, defaults={"found": False}
            )
            return None
        precision, city, region, country = _parse(provider, answer.raw)
        cell = hexgrid.cell_for_point(lon=answer.longitude, lat=answer.latitude)
        if not city or not country:
            nearest = gazetteer.place_nearest(hexgrid.cell_centre(cell))
            if nearest is not None:
                city = city or nearest.display_name(language)
                region = region or nearest.region
                country = country or nearest.country_code
        cached, _created = GeocodeCache.objects.get_or_create(
            provider=provider,
            query_hash=key,
            defaults={
                "cell": cell,
                "precision": precision,
                "city": city[:200],
                "region": region[:200],
                "country_code": country.upper()[:2],
            },
        )
    if not cached.found:
        return None
    return Location(
        cell=cached.cell,
        centre=hexgrid.cell_centre(cached.cell),
        precision=cached.precision,
        source=provider,
        city=cached.city,
        region=cached.region,
        country_code=cached.country_code,
    )
