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
from django.contrib.gis.geos import Point
from django.db import connection, models, transaction
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone
from geopy.distance import great_circle

from geo import areas
from geo.models import Place
from supporters.consent import WORDING_VERSION
from supporters.models import Purpose, RateLimitEvent, Supporter, Topic

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
# Share giving a mobile number, and of active ones among them accepting texts.
PHONE_RATE, TEXT_RATE = 0.35, 0.5


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


def _cascade_raw_delete(queryset, *, protected_too: bool = False) -> int:
    """DELETE a queryset and, first, everything that cascades from it, in set-based SQL.

    Django's delete() collects every primary key in Python (17 s for 100,000 demo
    supporters); this walks the same CASCADE and SET_NULL relations, hidden ones
    (related_name="+") included, but leaves the work to PostgreSQL. With `protected_too`,
    rows that PROTECT them go as well (for demo rows, whatever hangs on them is demo too).
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
        if rel.on_delete is models.CASCADE or (protected_too and rel.on_delete is models.PROTECT):
            _cascade_raw_delete(related, protected_too=protected_too)
        elif rel.on_delete is models.SET_NULL:
            related.update(**{rel.field.name: None})
        elif rel.on_delete is not models.DO_NOTHING:
            raise NotImplementedError(f"{rel} is neither CASCADE, SET_NULL nor DO_NOTHING")
    return queryset._raw_delete(queryset.db)


def demo_supporters_delete() -> int:
    """Delete the demo supporters, the groups they founded and the limits they used."""
    from supporters.groups.models import LocalGroup

    demo = Supporter.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
    # A group's founder is SET_NULL: without this, founderless demo groups would stay. An
    # organizer's segment of a demo group's members (PROTECT), and its mailings, go too.
    _cascade_raw_delete(LocalGroup.objects.filter(founder__in=demo), protected_too=True)
    # Limits are keyed by the supporter's id as text, with no foreign key; the next seed
    # recreates the same ids, which would otherwise inherit (and soon exceed) them.
    RateLimitEvent.objects.filter(
        key__in=demo.annotate(key=Cast("pk", CharField())).values("key")
    ).delete()
    return _cascade_raw_delete(demo)


@transaction.atomic
def demo_supporters_seed(*, count: int, seed: int, country: str | None = "RU") -> SeedReport:
    """Replace the demo supporters with `count` new ones placed around real localities."""
    rng = random.Random(seed)
    # Phones come from a draw of their own, so the rest of a seed's people stay the same.
    phones = random.Random(f"phones:{seed}")
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
        phone = f"+79{phones.randrange(10**8, 10**9)}" if phones.random() < PHONE_RATE else ""
        if phone and status == "active" and phones.random() < TEXT_RATE:
            granted.add(Purpose.TEXT_MESSAGES)
        channel = "phone" if phone and phones.random() < 0.3 else "email"
        supporter_rows.append(
            (
                sid,
                f"supporter{i:07d}.{seed}@{DEMO_DOMAIN}",
                f"{first} {rng.choice(LAST_INITIALS)}.",
                phone,
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
                channel,
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


@dataclass(frozen=True)
class DemoGroup:
    name: str
    description: str
    geonameid: int  # the gazetteer town it is around
    area_kind: str  # "town" (SOSEDI_GROUP_TOWN_RADIUS_KM around it) or "circle"
    members: int  # how many to join it, at most
    offset: tuple[float, float] = (0, 0)  # its centre from the town's, in degrees (lon, lat)
    radius_km: float | None = None  # circles
    approved: bool = True


DEMO_GROUPS = [
    DemoGroup(
        name="Соседи центра Москвы",
        description="Дворы, скверы и набережные в центре Москвы: субботники, "
        "соседские встречи и помощь тем, кому она нужна.",
        geonameid=524901,  # Moscow
        area_kind="circle",
        radius_km=8,
        members=12,
    ),
    DemoGroup(
        name="Зелёный север Москвы",
        description="Бережём Тимирязевский лес, Ботанический сад и парки Останкина: "
        "прогулки, посадки деревьев и обращения в управу.",
        geonameid=524901,
        area_kind="circle",
        offset=(-0.03, 0.09),
        radius_km=6,
        members=8,
    ),
    DemoGroup(
        name="Петербургские соседи",
        description="Соседская группа Санкт-Петербурга: дворы, библиотеки, лекции и взаимопомощь.",
        geonameid=498817,  # Saint Petersburg
        area_kind="town",
        members=10,
    ),
    DemoGroup(
        name="Соседи Новосибирска",
        description="Хотим собрать соседей Новосибирска: экология, наука и городские пространства.",
        geonameid=1496747,  # Novosibirsk
        area_kind="town",
        members=0,
        approved=False,
    ),
]


@dataclass(frozen=True)
class GroupsReport:
    groups: int
    proposed: int
    memberships: int


def _demo_group_draft(spec: DemoGroup, place: Place):
    from supporters.groups.services import GroupDraft

    centre = Point(place.point.x + spec.offset[0], place.point.y + spec.offset[1], srid=4326)
    radius = spec.radius_km if spec.area_kind == "circle" else settings.SOSEDI_GROUP_TOWN_RADIUS_KM
    return GroupDraft(
        name=spec.name,
        description=spec.description,
        language="ru",
        area_kind=spec.area_kind,
        area_name=(place.name_ru or place.name) if spec.area_kind == "town" else "",
        area=areas.circle(centre, radius),
        centre=centre,
        radius_km=radius,
    )


def _invitations_discard(group_ids: list[str]) -> None:
    """Drop the approved demo groups' invitation jobs: they would mail every demo neighbour
    with the invitations consent and use up the weekly limit that event invitations share."""
    from procrastinate.contrib.django import app
    from procrastinate.contrib.django.models import ProcrastinateJob

    from supporters.groups.tasks import group_invitations_send

    jobs = ProcrastinateJob.objects.filter(
        task_name=group_invitations_send.name, status="todo", args__group_id__in=group_ids
    )
    for job_id in jobs.values_list("id", flat=True):
        app.job_manager.cancel_job_by_id(job_id, delete_job=True)


@transaction.atomic
def demo_groups_seed(*, seed: int) -> GroupsReport:
    """Local groups of demo supporters around big towns, through the groups' services: some
    approved, with members who share their contact and members who do not and one
    co-leader, and one waiting for approval. Its neighbours are not invited (see
    _invitations_discard). A town without a demo supporter free to found one gets none."""
    from supporters.groups import services

    rng = random.Random(seed)
    places = Place.objects.in_bulk([g.geonameid for g in DEMO_GROUPS])
    active = Supporter.objects.filter(
        email__endswith=f"@{DEMO_DOMAIN}", status=Supporter.Status.ACTIVE
    ).order_by("pk")
    approved, proposed, memberships, co_leader_set = [], 0, 0, False
    founded = set()  # one group each: the founders' proposals are limited per month
    for spec in DEMO_GROUPS:
        if spec.geonameid not in places:
            continue
        draft = _demo_group_draft(spec, places[spec.geonameid])
        neighbours = list(active.filter(location__intersects=draft.area))
        founders = [
            s
            for s in neighbours
            if (s.consent_introductions or s.consent_event_invitations) and s.pk not in founded
        ]
        if not founders:
            continue
        founder = rng.choice(founders)
        founded.add(founder.pk)
        group = services.group_propose(founder=founder, draft=draft)
        memberships += 1  # its founder leads it
        if not spec.approved:
            proposed += 1
            continue
        group = services.group_review(group=group, decision="approve", note="", reviewer=None)
        approved.append(str(group.pk))
        others = [s for s in neighbours if s.pk != founder.pk]
        joined = []
        for i, person in enumerate(rng.sample(others, min(spec.members, len(others)))):
            # The first shares and the second does not, so that every group shows both.
            shares = i == 0 or (i != 1 and rng.random() < 0.5)
            joined.append(services.group_join(group=group, supporter=person, shares_contact=shares))
        memberships += len(joined)
        if not co_leader_set and joined:
            services.group_co_leader_set(
                group=group, leader=founder, membership=joined[0], co_leader=True
            )
            co_leader_set = True
    _invitations_discard(approved)
    return GroupsReport(groups=len(approved) + proposed, proposed=proposed, memberships=memberships)
