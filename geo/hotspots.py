"""Hotspots: where supporters concentrate, and where to meet them.

Clusters are found among weighted cell centres (DBSCAN with minpoints 1: the connected
components of the "within eps" graph) with a k-d tree over the centres on the unit
sphere, where a straight-line (chord) distance stands for a great-circle one exactly.
The 1, 3 and 10 km counts that are reported around a meeting point are measured by
PostGIS on the geography, i.e. on the spheroid.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.heatmap import CellCount, CellCounts

RINGS_KM = (1, 3, 10)
MEETING_RADIUS_KM = 3
# The mean radius of the Earth (IUGG). Distances on this sphere differ from the spheroid's
# by under 0.5 % (0.2 % around 55°N), for the clustering and the meeting point search;
# the reported counts are the spheroid's.
EARTH_RADIUS_M = 6_371_008.8
# Candidates for the spheroid's 10 km count are taken from the sphere with room to spare.
SPHERE_MARGIN = 1.01


@dataclass(frozen=True)
class Hotspot:
    rank: int
    supporters: int
    cells: int
    meeting_cell: int
    meeting_lat: float
    meeting_lon: float
    within_1km: int
    within_3km: int
    within_10km: int


def _chord(metres: float) -> float:
    """The straight-line distance on the unit sphere between points `metres` apart along
    the great circle."""
    return 2 * np.sin(metres / (2 * EARTH_RADIUS_M))


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def hotspots_find(
    cells: Sequence[CellCount] | CellCounts,
    *,
    eps_km: float = 1.0,
    min_supporters: int = 10,
    limit: int = 10,
) -> list[Hotspot]:
    """The `limit` largest clusters of cells with at least `min_supporters` in all.

    Two cells are neighbours when their centres are within `eps_km` of each other; a
    cluster is a set of cells joined through neighbours (DBSCAN with minpoints 1),
    weighted by the supporters in its cells; ties rank by the smallest cell index. The
    meeting point is the cluster's cell with the most supporters within 3 km (ties: the
    most within 1 km, then the smallest cell index), and the 1/3/10 km counts are taken
    around it, over all cells, not only the cluster's.
    """
    cells = CellCounts.of(cells)
    if not len(cells):
        return []
    ids, lat, lon, weight = cells.cell, cells.lat, cells.lon, cells.count
    points = _unit_vectors(lat, lon)
    tree = cKDTree(points)

    pairs = tree.query_pairs(_chord(eps_km * 1000), output_type="ndarray")
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
        shape=(len(cells), len(cells)),
    )
    clusters, label = connected_components(graph, directed=False)
    supporters = np.bincount(label, weights=weight, minlength=clusters).astype(np.int64)
    sizes = np.bincount(label, minlength=clusters)
    smallest = np.full(clusters, np.iinfo(np.int64).max)
    np.minimum.at(smallest, label, ids)
    ranked = np.lexsort((smallest, -supporters))
    ranked = ranked[supporters[ranked] >= min_supporters][:limit]

    chosen = []
    r1, r3 = _chord(RINGS_KM[0] * 1000), _chord(MEETING_RADIUS_KM * 1000)
    for cluster in ranked:
        members = np.flatnonzero(label == cluster)
        near = cKDTree(points[members]).sparse_distance_matrix(tree, r3, output_type="ndarray")
        near3 = np.bincount(near["i"], weights=weight[near["j"]], minlength=len(members))
        close = near[near["v"] <= r1]
        near1 = np.bincount(close["i"], weights=weight[close["j"]], minlength=len(members))
        best = members[np.lexsort((ids[members], -near1, -near3))[0]]
        chosen.append((int(supporters[cluster]), int(sizes[cluster]), best))
    if not chosen:
        return []
    rings = _rings_on_spheroid(tree, points, lat, lon, weight, [b for _, _, b in chosen])
    return [
        Hotspot(
            rank=rank,
            supporters=total,
            cells=size,
            meeting_cell=int(ids[best]),
            meeting_lat=float(lat[best]),
            meeting_lon=float(lon[best]),
            within_1km=within[0],
            within_3km=within[1],
            within_10km=within[2],
        )
        for rank, ((total, size, best), within) in enumerate(zip(chosen, rings, strict=True), 1)
    ]


def _rings_on_spheroid(tree, points, lat, lon, weight, centres) -> list[tuple[int, int, int]]:
    """Supporters within 1, 3 and 10 km of each centre cell, measured by PostGIS on the
    spheroid among the cells the sphere puts within 10 km (with a margin)."""
    reach = tree.query_ball_point(points[centres], _chord(SPHERE_MARGIN * RINGS_KM[2] * 1000))
    k = np.concatenate([np.full(len(r), i) for i, r in enumerate(reach)])
    j = np.concatenate([np.asarray(r, dtype=np.int64) for r in reach])
    c = np.asarray(centres)[k]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Distance(ST_SetSRID(ST_MakePoint(t.alon, t.alat), 4326)::geography,"
            " ST_SetSRID(ST_MakePoint(t.blon, t.blat), 4326)::geography)"
            " FROM unnest(%s::float8[], %s::float8[], %s::float8[], %s::float8[])"
            " WITH ORDINALITY AS t(alat, alon, blat, blon, i) ORDER BY t.i",
            [lat[c].tolist(), lon[c].tolist(), lat[j].tolist(), lon[j].tolist()],
        )
        metres = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.float64, count=len(j))
    return [
        tuple(int(weight[j[(k == i) & (metres <= km * 1000)]].sum()) for km in RINGS_KM)
        for i in range(len(centres))
    ]
