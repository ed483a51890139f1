"""Locality texts (country, region, town as people gave them) matched to gazetteer places.

A town is stored in the language its supporter joined in ('Санкт-Петербург', 'Saint
Petersburg'); matching the texts to places lets counts by town treat them as one.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from geo.gazetteer import normalise
from geo.models import Place

# A text whose region does not match the place's must lie this close to it.
NEAR_KM = 50


@dataclass(frozen=True)
class LocalityText:
    """A locality as stored with people, and where they live on average (None: unknown)."""

    country_code: str
    region: str
    city: str
    lat: float | None = None
    lon: float | None = None


def places_for_localities(localities: Sequence[LocalityText]) -> dict[LocalityText, Place]:
    """The gazetteer place each locality text names, all found in one query.

    A place matches when one of its spellings is the town's and it lies in the same
    country. Among those, one in the same region wins (nearest first, then most populous);
    failing that, the nearest within NEAR_KM of the text's (lat, lon), so that a region
    from another source (a blank one, an address geocoder's in another language) still
    finds its town while two towns of one name in different regions stay apart. Texts
    that match nothing are left out.
    """
    wanted = [(i, loc, normalise(loc.city)) for i, loc in enumerate(localities)]
    wanted = [(i, loc, name) for i, loc, name in wanted if name and loc.country_code]
    if not wanted:
        return {}
    with transaction.atomic(), connection.cursor() as cursor:
        # Compiling this statement (JIT) costs more than running it.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            """
            WITH q AS (
                SELECT q.i, upper(q.cc) AS cc, lower(q.region) AS region, q.name,
                       CASE WHEN q.lon IS NOT NULL AND q.lat IS NOT NULL
                            THEN ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)::geography
                       END AS here
                FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[],
                            %s::float8[], %s::float8[]) AS q(i, cc, region, name, lon, lat)
            )
            SELECT q.i, best.geonameid
            FROM q CROSS JOIN LATERAL (
                SELECT p.geonameid
                FROM geo_placename n JOIN geo_place p ON p.geonameid = n.place_id
                WHERE n.name = q.name AND p.country_code = q.cc
                  AND ((q.region <> '' AND lower(p.region) = q.region)
                       OR ST_DWithin(p.point, q.here, %s))
                ORDER BY (q.region <> '' AND lower(p.region) = q.region) DESC,
                         ST_Distance(p.point, q.here), p.population DESC, p.geonameid
                LIMIT 1
            ) best
            """,
            [
                [i for i, _, _ in wanted],
                [loc.country_code for _, loc, _ in wanted],
                [loc.region for _, loc, _ in wanted],
                [name for _, _, name in wanted],
                [loc.lon for _, loc, _ in wanted],
                [loc.lat for _, loc, _ in wanted],
                NEAR_KM * 1000,
            ],
        )
        found = dict(cursor.fetchall())
    places = Place.objects.defer("point").in_bulk(set(found.values()))
    return {localities[i]: places[geonameid] for i, geonameid in found.items()}
