"""The nearest gazetteer locality for many points at once (bulk imports).

One query per batch: an index-assisted nearest-neighbour search (`<->` on geography, a
sphere distance) for each point, kept only within `within_km` on the spheroid.
"""

from collections.abc import Sequence

from django.db import connection

from geo.models import Place


def places_nearest(
    points: Sequence[tuple[float, float]], *, within_km: float = 150
) -> list[Place | None]:
    """For each (lon, lat), the nearest Place within `within_km`, or None."""
    if not points:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.i, p.geonameid
            FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS t(lon, lat, i)
            CROSS JOIN LATERAL (
                SELECT geonameid, point FROM geo_place
                ORDER BY point <-> ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)::geography
                LIMIT 1
            ) p
            WHERE ST_DWithin(
                p.point, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)::geography, %s
            )
            """,
            [[p[0] for p in points], [p[1] for p in points], within_km * 1000],
        )
        found = dict(cursor.fetchall())
    places = Place.objects.in_bulk(set(found.values()))
    return [places.get(found.get(i)) for i in range(1, len(points) + 1)]
