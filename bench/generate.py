"""Synthetic supporters for the benchmark, generated with numpy and loaded with COPY.

The same population model as `seed_demo` (supporters/demo.py): people placed around the
3,000 most populous Russian localities, weighted by population, spread ~1 km for a town
and ~20 km for Moscow, 85 % active, with seed_demo's consent rates. seed_demo draws
each person in pure Python (~6,000/s here); this draws the random numbers in numpy
batches, so that generating a million rows takes seconds and the load (COPY into the
real tables, with every index present, then ANALYZE) is what gets timed.
"""

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from h3.api import basic_int as h3int

EMAIL_DOMAIN = "bench.sosedi.invalid"
PURPOSES = ("public_map", "introductions", "event_invitations", "email_updates")
CONSENT_RATES = (0.72, 0.25, 0.45, 0.6)  # seed_demo's, in PURPOSES order
TOPICS = ("campaigns", "events", "environment", "city", "volunteering", "news")
FREQUENCIES = ("weekly", "monthly", "monthly", "calls_to_action", "daily")
NAMES = {
    "ru": ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Дарья", "Иван", "Алексей",
           "Дмитрий", "Сергей", "Андрей", "Михаил", "Никита", "Павел", "Олег"),
    "en": ("Anna", "Maria", "Elena", "Olga", "Kate", "Sofia", "Alice", "Ivan", "Alex",
           "Dmitry", "Sergey", "Andrew", "Mikhail", "Nikita", "Paul", "Oleg"),
}  # fmt: skip
INITIALS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"
KM_PER_DEGREE = 111.195

SUPPORTER_COLUMNS = (
    "id, email, display_name, phone, language, status, created_at, confirmed_at, city, "
    "region, country_code, cell, location, location_precision, location_source, "
    "consent_public_map, consent_introductions, consent_event_invitations, "
    "consent_email_updates, consent_text_messages, channel, frequency, topics"
)
CONSENT_COLUMNS = "supporter_id, purpose, granted, created_at, source, wording_version"


@dataclass(frozen=True)
class PlaceRow:
    population: int
    lon: float
    lat: float
    name: str
    name_ru: str
    region: str
    country_code: str


def places_load(country: str = "RU", limit: int = 3000) -> list[PlaceRow]:
    from geo.models import Place

    rows = (
        Place.objects.filter(country_code=country)
        .order_by("-population", "geonameid")
        .values_list("population", "point", "name", "name_ru", "region", "country_code")[:limit]
    )
    return [PlaceRow(pop, p.x, p.y, n, nr, r, cc) for pop, p, n, nr, r, cc in rows]


@dataclass
class Batch:
    """One batch of people, column by column (numpy arrays or lists)."""

    ids: list[str]
    emails: list[str]
    names: list[str]
    language: np.ndarray  # 'ru' / 'en'
    status: np.ndarray
    created: np.ndarray  # ISO strings
    confirmed: np.ndarray  # ISO strings or ''
    place: np.ndarray  # index into places
    cell: list[int]
    lon: list[float]
    lat: list[float]
    consents: np.ndarray  # bool, shape (n, 4)
    frequency: np.ndarray
    topics: list[str]


def _iso(seconds: np.ndarray) -> np.ndarray:
    stamps = seconds.astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(stamps, unit="s"), "+00")


class Generator:
    """Reproducible for (seed, places): batch k of the same generator is always the same."""

    def __init__(
        self,
        places: list[PlaceRow],
        *,
        seed: int,
        resolution: int,
        prefix: str = "b",
        domain: str = EMAIL_DOMAIN,
    ):
        self.places = places
        self.domain = domain
        self.seed = seed
        self.resolution = resolution
        self.prefix = prefix
        pop = np.array([p.population for p in places], dtype=float)
        self.weights = pop / pop.sum()
        self.spread_km = np.clip(np.sqrt(pop) / 160, 1.0, 25.0)
        self.plon = np.array([p.lon for p in places])
        self.plat = np.array([p.lat for p in places])
        self.now = int(datetime.now(tz=UTC).timestamp())
        self._centres: dict[int, tuple[float, float]] = {}
        subsets = [[]]
        for size in (1, 2, 3):
            subsets += [list(c) for c in _combinations(TOPICS, size)]
        self.topic_sets = ["{" + ",".join(s) + "}" for s in subsets]

    def batch(self, start: int, count: int) -> Batch:
        rng = np.random.default_rng([self.seed, start])
        n = count
        place = rng.choice(len(self.places), size=n, p=self.weights)
        km = (self.spread_km[place] / 2) * np.sqrt(-2 * np.log1p(-rng.random(n)))
        bearing = rng.uniform(0, 2 * math.pi, n)
        lat = self.plat[place] + km * np.cos(bearing) / KM_PER_DEGREE
        lon = self.plon[place] + km * np.sin(bearing) / (
            KM_PER_DEGREE * np.cos(np.radians(self.plat[place]))
        )
        language = np.where(rng.random(n) < 0.8, "ru", "en")
        roll = rng.random(n)
        status = np.where(roll < 0.85, "active", np.where(roll < 0.95, "pending", "unsubscribed"))
        days = 730 * (1 - np.sqrt(rng.random(n)))
        created_s = self.now - (days * 86400).astype(np.int64) - rng.integers(0, 86400, n)
        confirmed_s = created_s + 60 * rng.integers(5, 600, n)
        created = _iso(created_s)
        confirmed = np.where(status != "pending", _iso(confirmed_s), "")
        consents = (rng.random((n, 4)) < np.array(CONSENT_RATES)) & (status == "active")[:, None]
        frequency = np.array(FREQUENCIES)[rng.integers(0, len(FREQUENCIES), n)]
        topic_idx = rng.integers(0, len(self.topic_sets), n)
        first = rng.integers(0, 16, n)
        initial = rng.integers(0, len(INITIALS), n)
        uuid_rng = random.Random(f"{self.seed}:{start}")

        cells, clon, clat = [], [], []
        centres = self._centres
        res = self.resolution
        for la, lo in zip(lat.tolist(), lon.tolist(), strict=True):
            c = h3int.latlng_to_cell(la, lo, res)
            centre = centres.get(c)
            if centre is None:
                centre = centres[c] = h3int.cell_to_latlng(c)
            cells.append(c)
            clat.append(centre[0])
            clon.append(centre[1])
        lang = language.tolist()
        return Batch(
            ids=[str(uuid.UUID(int=uuid_rng.getrandbits(128), version=4)) for _ in range(n)],
            emails=[f"{self.prefix}{start + i:08d}@{self.domain}" for i in range(n)],
            names=[
                f"{NAMES[lang[i]][f]} {INITIALS[k]}."
                for i, (f, k) in enumerate(zip(first.tolist(), initial.tolist(), strict=True))
            ],
            language=language,
            status=status,
            created=created,
            confirmed=confirmed,
            place=place,
            cell=cells,
            lon=clon,
            lat=clat,
            consents=consents,
            frequency=frequency,
            topics=[self.topic_sets[t] for t in topic_idx.tolist()],
        )

    def rows(self, b: Batch):
        """(supporter row, [consent rows]) as COPY text fields, person by person."""
        places = self.places
        for i, sid in enumerate(b.ids):
            p = places[b.place[i]]
            language = b.language[i]
            confirmed = b.confirmed[i] or "\\N"
            granted = b.consents[i].tolist()
            yield (
                "\t".join(
                    (
                        sid,
                        b.emails[i],
                        b.names[i],
                        "",
                        language,
                        b.status[i],
                        b.created[i],
                        confirmed,
                        p.name_ru if language == "ru" and p.name_ru else p.name,
                        p.region,
                        p.country_code,
                        str(b.cell[i]),
                        f"SRID=4326;POINT({b.lon[i]!r} {b.lat[i]!r})",
                        "street",
                        "bench",
                        *("t" if g else "f" for g in granted),
                        "f",  # texts: these people have no phone number
                        "email",
                        b.frequency[i],
                        b.topics[i],
                    )
                ),
                [
                    f"{sid}\t{purpose}\tt\t{confirmed}\tdemo\tbench"
                    for purpose, g in zip(PURPOSES, granted, strict=True)
                    if g
                ],
            )


def _combinations(items, size):
    from itertools import combinations

    return combinations(items, size)


def write_copy_files(gen: Generator, *, count: int, directory: Path, batch: int = 50_000):
    """Write COPY text files for `count` people; returns (supporters file, consents file,
    consent rows)."""
    directory.mkdir(parents=True, exist_ok=True)
    people_path = directory / "supporters.copy"
    consent_path = directory / "consents.copy"
    consents = 0
    with (
        people_path.open("w", encoding="utf-8") as people,
        consent_path.open("w", encoding="utf-8") as records,
    ):
        for start in range(0, count, batch):
            b = gen.batch(start, min(batch, count - start))
            person_lines, consent_lines = [], []
            for row, granted in gen.rows(b):
                person_lines.append(row)
                consent_lines += granted
            people.write("\n".join(person_lines) + "\n")
            if consent_lines:
                records.write("\n".join(consent_lines) + "\n")
            consents += len(consent_lines)
    return people_path, consent_path, consents


def copy_file(cursor, table_columns: str, path: Path, chunk: int = 4 << 20) -> None:
    """COPY a text file into a table through the client connection (as seed_demo does)."""
    with path.open("rb") as f, cursor.copy(f"COPY {table_columns} FROM STDIN") as copy:
        while data := f.read(chunk):
            copy.write(data)


TABLES = ("supporters_supporter", "supporters_consentrecord")


def bulk_load(conninfo: str, people_path: Path, consent_path: Path) -> dict[str, float]:
    """Load empty tables the way a first bulk load should: drop the secondary indexes and
    the consent records' foreign key, COPY both files at once on two connections, build the
    indexes back on two connections (largest first), re-add the key, ANALYZE.

    The same definitions are read from pg_indexes and put back, so the schema ends exactly
    as the migrations left it. Seconds per phase.
    """
    import time
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    def connect():
        return psycopg.connect(conninfo, autocommit=True)

    timings: dict[str, float] = {}
    with connect() as a, connect() as b:
        started = time.perf_counter()
        indexes = a.execute(
            "SELECT i.indexname, i.indexdef, pg_relation_size(c.oid) FROM pg_indexes i"
            " JOIN pg_class c ON c.relname = i.indexname"
            " LEFT JOIN pg_constraint k ON k.conindid = c.oid AND k.contype = 'p'"
            " WHERE i.tablename = ANY(%s) AND k.oid IS NULL",
            [list(TABLES)],
        ).fetchall()
        foreign = a.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'supporters_consentrecord'::regclass AND contype = 'f'"
        ).fetchall()
        a.execute("TRUNCATE " + ", ".join(TABLES) + " CASCADE")
        for name, _definition in foreign:
            a.execute(f"ALTER TABLE supporters_consentrecord DROP CONSTRAINT {name}")
        for name, _definition, _size in indexes:
            a.execute(f"DROP INDEX {name}")
        timings["drop"] = time.perf_counter() - started

        def copy(conn, table, path):
            with conn.cursor() as cursor:
                copy_file(cursor, table, path)

        def run(conn, statements):
            conn.execute("SET maintenance_work_mem = '256MB'")
            for sql in statements:
                conn.execute(sql)

        with ThreadPoolExecutor(2) as pool:
            started = time.perf_counter()
            done = [
                pool.submit(copy, a, f"supporters_supporter ({SUPPORTER_COLUMNS})", people_path),
                pool.submit(copy, b, f"supporters_consentrecord ({CONSENT_COLUMNS})", consent_path),
            ]
            for f in done:
                f.result()
            timings["copy"] = time.perf_counter() - started

            # GiST builds cost the most: spread them, then fill in with the B-trees.
            ordered = sorted(indexes, key=lambda i: ("gist" not in i[1].lower(), i[0]))
            lanes = [[], []]
            for i, (_name, definition, _size) in enumerate(ordered):
                lanes[i % 2].append(definition)
            started = time.perf_counter()
            done = [pool.submit(run, conn, lane) for conn, lane in zip((a, b), lanes, strict=True)]
            for f in done:
                f.result()
            timings["indexes"] = time.perf_counter() - started

            started = time.perf_counter()
            for name, definition in foreign:
                a.execute(
                    f"ALTER TABLE supporters_consentrecord ADD CONSTRAINT {name} {definition}"
                )
            timings["foreign_key"] = time.perf_counter() - started
            started = time.perf_counter()
            done = [
                pool.submit(conn.execute, f"ANALYZE {t}")
                for conn, t in zip((a, b), TABLES, strict=True)
            ]
            for f in done:
                f.result()
            timings["analyze"] = time.perf_counter() - started
    return timings
