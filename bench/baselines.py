"""Naive baselines: what Sosedi would cost written the obvious way, row by row in Python.

They exist only to be measured against the real code in the same run. This is the one
place in the project where a hand-written haversine is allowed (STYLE.md).
"""

import json
import math
from collections import Counter

import h3
from h3.api import basic_int as h3int

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance on a sphere of the mean Earth radius (up to 0.5 % off the
    spheroid, which does not matter for a baseline)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def nearest_by_scan(
    rows: list[tuple[object, float, float]],
    *,
    lon: float,
    lat: float,
    exclude: object,
    limit: int,
    within_m: float,
) -> list[tuple[float, object]]:
    """K nearest (pk, lon, lat) rows within `within_m`, by scanning every row."""
    found = []
    for pk, x, y in rows:
        if pk == exclude:
            continue
        d = haversine_m(lon, lat, x, y)
        if d <= within_m:
            found.append((d, pk))
    found.sort(key=lambda item: item[0])
    return found[:limit]


def cells_geojson_python(points, *, resolution: int, k: int) -> bytes:
    """Bin (lon, lat) points into H3 cells in Python; cells with ≥ k points as GeoJSON."""
    counts = Counter(h3int.latlng_to_cell(lat, lon, resolution) for lon, lat in points)
    features = []
    for cell, n in sorted(counts.items()):
        if n < k:
            continue
        ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(h3.int_to_str(cell))]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "id": f"{cell:x}",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"cell": f"{cell:x}", "count": n},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()
