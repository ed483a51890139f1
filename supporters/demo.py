"""Synthetic supporters around real places, for demos and benchmarks.

Reproducible for a seed (same gazetteer, same seed: same rows) and bulk-loaded with COPY.
"""

import itertools
import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import h3
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from geopy.distance import great_circle

from geo.models import Place
from supporters.consent import WORDING_VERSION
from supporters.models import Purpose, Supporter, Topic

DEMO_DOMAIN = "demo.sosedi.invalid"

FIRST_NAMES = {
    "ru": ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Дарья", "Алиса", "Вера",
           "Иван", "Алексей", "Дмитрий", "Сергей", "Андрей", "Михаил", "Никита", "Павел", "Олег"],
    "en": ["Anna", "Maria", "Elena", "Olga", "Kate", "Lena", "Sofia", "Alice", "Vera",
           "Ivan", "Alex", "Dmitry", "Sergey", "Andrew", "Mikhail", "Nikita", "Paul", "Oleg"],
}  # fmt: skip
LAST_INITIALS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"

# Share of active supporters granting each purpose.
CONSENT_RATES = {
    Purpose.PUBLIC_MAP: 0.72,
    Purpose.EMAIL_UPDATES: 0.6,
    Purpose.EVENT_INVITATIONS: 0.45,
    Purpose.INTRODUCTIONS: 0.25,
}


@dataclass(frozen=True)
class SeedReport:
    supporters: int
    consents: int
    places: int


def _spread_km(population: int) -> float:
    """How far from a place's centre its supporters live: ~1 km for a town, ~20 for Moscow."""
    return min(25.0, max(1.0, math.sqrt(population) / 160))


def _created_at(rng: random.Random, now: datetime) -> datetime:
    # Growth: more recent sign-ups are more frequent (density rising over two years).
    days = 730 * (1 - math.sqrt(rng.random()))
    return now - timedelta(days=days, seconds=rng.randrange(86400))


def _cascade_raw_delete(queryset) -> int:
    """DELETE a queryset and, first, everything that cascades from it, in set-based SQL.

    Django's delete() collects every primary key in Python (17 s for 100,000 demo
    supporters); this walks the same CASCADE and SET_NULL relations, hidden ones
    (related_name="+") included, but leaves the work to PostgreSQL.
    """
    relations = [
        rel
        for rel in queryset.model._meta.get_fields(include_hidden=True)
        if rel.is_relation and rel.auto_created and not rel.concrete
    ]
    for rel in relations:
        related = rel.related_model._base_manager.filter(
            **{f"{rel.field.name}__in": queryset.values("pk")}
        )
        if rel.on_delete is models.CASCADE:
            _cascade_raw_delete(related)
        elif rel.on_delete is models.SET_NULL:
            related.update(**{rel.field.name: None})
        elif rel.on_delete is not models.DO_NOTHING:
            raise NotImplementedError(f"{rel} is neither CASCADE, SET_NULL nor DO_NOTHING")
    return queryset._raw_delete(queryset.db)


def demo_supporters_delete() -> int:
    return _cascade_raw_delete(Supporter.objects.filter(email__endswith=f"@{DEMO_DOMAIN}"))


@transaction.atomic
def demo_supporters_seed(*, count: int, seed: int, country: str | None = "RU") -> SeedReport:
    """Replace the demo supporters with `count` new ones placed around real localities."""
    rng = random.Random(seed)
    places = Place.objects.order_by("-population", "geonameid")
    if country:
        places = places.filter(country_code=country.upper())
    places = [
        (pop, point.x, point.y, name, name_ru, region, cc)
        for pop, point, name, name_ru, region, cc in places.values_list(
            "population", "point", "name", "name_ru", "region", "country_code"
        )[:3000]
    ]
    if not places:
        raise ValueError(
            "No gazetteer places to seed around: run `manage.py load_gazetteer` first."
        )
    cum_weights = list(itertools.accumulate(p[0] for p in places))
    resolution = settings.SOSEDI_H3_RESOLUTION
    now = timezone.now()
    topics = [t.value for t in Topic]

    demo_supporters_delete()
    supporter_rows, consent_rows = [], []
    for i in range(count):
        population, plon, plat, name, name_ru, region, cc = rng.choices(
            places, cum_weights=cum_weights
        )[0]
        spread = _spread_km(population)
        # A 2-D normal offset around the centre: Rayleigh-distributed distance, any bearing.
        km = (spread / 2) * math.sqrt(-2 * math.log(1 - rng.random()))
        there = great_circle(kilometers=km).destination((plat, plon), rng.uniform(0, 360))
        cell_str = h3.latlng_to_cell(there.latitude, there.longitude, resolution)
        clat, clon = h3.cell_to_latlng(cell_str)
        language = "ru" if rng.random() < 0.8 else "en"
        first = rng.choice(FIRST_NAMES[language])
        created = _created_at(rng, now)
        roll = rng.random()
        status = "active" if roll < 0.85 else ("pending" if roll < 0.95 else "unsubscribed")
        confirmed = (
            created + timedelta(minutes=rng.randrange(5, 600)) if status != "pending" else None
        )
        granted = {
            p for p, rate in CONSENT_RATES.items() if status == "active" and rng.random() < rate
        }
        sid = uuid.UUID(int=rng.getrandbits(128), version=4)
        supporter_rows.append(
            (
                sid,
                f"supporter{i:07d}.{seed}@{DEMO_DOMAIN}",
                f"{first} {rng.choice(LAST_INITIALS)}.",
                "",
                language,
                status,
                created,
                confirmed,
                (name_ru if language == "ru" and name_ru else name),
                region,
                cc,
                h3.str_to_int(cell_str),
                f"SRID=4326;POINT({clon} {clat})",
                "street",
                "demo",
                *(p in granted for p in Purpose),
                "email",
                rng.choice(["weekly", "monthly", "monthly", "calls_to_action", "daily"]),
                rng.sample(topics, rng.randrange(0, 4)),
            )
        )
        for p in granted:
            consent_rows.append((sid, p.value, True, confirmed, "demo", WORDING_VERSION))

    columns = (
        "id, email, display_name, phone, language, status, created_at, confirmed_at, city, "
        "region, country_code, cell, location, location_precision, location_source, "
        + ", ".join(f"consent_{p.value}" for p in Purpose)
        + ", channel, frequency, topics"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY supporters_supporter ({columns}) FROM STDIN") as copy:
            for row in supporter_rows:
                copy.write_row(row)
        with raw.copy(
            "COPY supporters_consentrecord "
            "(supporter_id, purpose, granted, created_at, source, wording_version) FROM STDIN"
        ) as copy:
            for row in consent_rows:
                copy.write_row(row)
        cursor.execute("ANALYZE supporters_supporter")
        cursor.execute("ANALYZE supporters_consentrecord")
    return SeedReport(supporters=count, consents=len(consent_rows), places=len(places))
