"""Geocoding many places at once (bulk imports): each distinct text or pin answered once.

Lists repeat their towns a lot, so a `BatchGeocoder` keeps every answer (and every
refusal) for its lifetime, one import's; `texts_prefetch` and `pins_prefetch` place a
batch's towns and pins in a few queries, and `text` and `pin` answer the rest one by one
with `geocode` and `locate_pin`, which explain what they cannot place.
"""

from collections.abc import Iterable

from django.contrib.gis.geos import Point

from geo import hexgrid
from geo.geocoding import (
    GeocodingError,
    Location,
    geocode,
    geocode_each,
    locate_pin,
    pin_in_range,
    pin_location,
)
from geo.nearest import places_nearest


class BatchGeocoder:
    """Answers for many queries, each distinct text (per language) or hexagon asked once."""

    def __init__(self, *, pin_source: str = "pin"):
        # What a prefetched pin's Location gives as its source (e.g. "import").
        self.pin_source = pin_source
        self.by_text: dict[str, Location | GeocodingError] = {}
        self.by_cell: dict[tuple[int, str], Location] = {}

    @staticmethod
    def _text_key(query: str, language: str) -> str:
        return f"{language}|{' '.join(query.casefold().split())}"

    def texts_prefetch(self, texts: Iterable[tuple[str, str]]) -> None:
        """Place (query, language) pairs with one gazetteer lookup per language (exact
        names); whatever that leaves is geocoded one by one by `text`."""
        todo: dict[str, dict[str, str]] = {}
        for query, language in texts:
            if (key := self._text_key(query, language)) not in self.by_text:
                todo.setdefault(language, {})[key] = query
        for language, queries in todo.items():
            found = geocode_each(queries.values(), language=language)
            for key, query in queries.items():
                if query in found:
                    self.by_text[key] = found[query]

    def text(self, query: str, language: str) -> Location:
        """`geocode(query)`, asked once per query; raises the same GeocodingError each time."""
        key = self._text_key(query, language)
        if key not in self.by_text:
            try:
                self.by_text[key] = geocode(query, language=language)
            except GeocodingError as exc:
                self.by_text[key] = exc
        found = self.by_text[key]
        if isinstance(found, GeocodingError):
            raise found
        return found

    def pins_prefetch(self, pins: Iterable[tuple[float, float, str]]) -> None:
        """Name the hexagons of (lon, lat, language) pins with one query (the nearest
        locality); pins far from every town are left for `pin` to refuse."""
        todo: dict[tuple[int, str], tuple[float, float]] = {}
        for lon, lat, language in pins:
            if not pin_in_range(lon=lon, lat=lat):
                continue  # pin() refuses it
            key = (hexgrid.cell_for_point(lon=lon, lat=lat), language)
            if key not in self.by_cell and key not in todo:
                todo[key] = (lon, lat)
        for ((cell, language), (lon, lat)), place in zip(
            todo.items(), places_nearest(list(todo.values())), strict=True
        ):
            if place is None:
                continue  # pin() asks again and says why
            self.by_cell[(cell, language)] = pin_location(
                point=Point(lon, lat, srid=4326),
                place=place,
                language=language,
                source=self.pin_source,
            )

    def pin(self, *, lon: float, lat: float, language: str) -> Location:
        """`locate_pin`, asked once per hexagon (ValueError out of range, GeocodingError far
        from any town)."""
        if not pin_in_range(lon=lon, lat=lat):
            raise ValueError("coordinates out of range")
        key = (hexgrid.cell_for_point(lon=lon, lat=lat), language)
        if key not in self.by_cell:
            self.by_cell[key] = locate_pin(lon=lon, lat=lat, language=language)
        return self.by_cell[key]
