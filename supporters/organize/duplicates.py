"""Possible duplicates: pairs of records that are probably one person, and why.

Two reasons, among people who are active or waiting for confirmation:

- the same phone number (supporters.phones.phone_key: "8 (916) 123-45-67" is
  "+7 916 123-45-67"), unless more than SOSEDI_DUPLICATE_PHONE_SHARED_BY people give it;
- names at least SOSEDI_DUPLICATE_NAME_SIMILARITY alike (pg_trgm similarity of the names in
  lower case, ё read as е) in one hexagon, or in one town (country and city).

Looking takes seconds on a large list (README: 60,000 people), so the worker does it
(possible_duplicates_search, nightly and when an organizer asks) and stores the pairs; the
page reads them (possible_duplicates). A dismissed pair is never proposed again.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, QuerySet, Value, When
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from supporters.models import Supporter
from supporters.organize.models import DuplicateDismissal, DuplicateSearch, PossibleDuplicate
from supporters.phones import phone_key, phone_shown

# Who is compared: people who left the list are not merged into anyone.
STATUSES = [Supporter.Status.ACTIVE, Supporter.Status.PENDING]
# The advisory lock held while a search's pairs replace the last one's.
_REPLACING = 0x50D0_0001

# Numbers whose last 7 digits someone else's number ends with too: the only ones worth
# reading with phonenumbers (two ways of writing one number end in the same digits).
_PHONES_SQL = """
SELECT id, phone FROM supporters_supporter
WHERE status = ANY(%(statuses)s) AND phone <> ''
  AND right(regexp_replace(phone, '[^0-9]', '', 'g'), 7) IN (
    SELECT right(regexp_replace(phone, '[^0-9]', '', 'g'), 7) FROM supporters_supporter
    WHERE status = ANY(%(statuses)s) AND phone <> ''
    GROUP BY 1 HAVING count(*) > 1)
"""

# Names alike, by prefix filtering. pg_trgm's similarity is the Jaccard index of the two
# names' trigram sets A and B, so similarity >= t implies |A n B| >= t|A|; then, with all
# trigrams in one order, A and B share one of the first |A| - ceil(t|A|) + 1 trigrams of A
# and of B (Chaudhuri, Ganti and Kaushik 2006). With the rarest trigrams first, these
# prefixes are short lists of rare trigrams, and only people who share one in the same
# hexagon or town are compared: no pair at least t alike is missed, and a town of
# thousands is not compared pair by pair. `t` is numeric there (a float 0.6 times 15 is
# more than 9, which would shorten the prefix), and `real` where similarity() is compared.
_NAMES_SQL = """
WITH people AS MATERIALIZED (
  SELECT id, translate(lower(display_name), 'ё', 'е') AS name, cell,
         CASE WHEN city <> '' THEN country_code || '|' || lower(city) END AS town
  FROM supporters_supporter
  WHERE status = ANY(%(statuses)s) AND display_name <> ''
), trigrams AS MATERIALIZED (
  SELECT p.id, t.g, t.n FROM people p,
    LATERAL (SELECT g, count(*) OVER () AS n FROM unnest(show_trgm(p.name)) g) t
), rarity AS (
  SELECT g, count(*) AS people FROM trigrams GROUP BY g
), prefixes AS MATERIALIZED (
  SELECT p.id, p.name, p.cell, p.town, r.g FROM (
    SELECT t.id, t.g, t.n,
           row_number() OVER (PARTITION BY t.id ORDER BY rarity.people, t.g) AS rank
    FROM trigrams t JOIN rarity USING (g)
  ) r JOIN people p USING (id)
  WHERE r.rank <= r.n - ceil(%(t)s::numeric * r.n) + 1
), candidates AS MATERIALIZED (
  SELECT a.id AS a, b.id AS b, a.name AS a_name, b.name AS b_name, a.cell = b.cell AS same_cell
  FROM prefixes a JOIN prefixes b ON b.cell = a.cell AND b.g = a.g AND a.id < b.id
  UNION
  SELECT a.id, b.id, a.name, b.name, a.cell = b.cell
  FROM prefixes a JOIN prefixes b ON b.town = a.town AND b.g = a.g AND a.id < b.id
)
SELECT a, b, similarity(a_name, b_name), same_cell FROM candidates
WHERE similarity(a_name, b_name) >= %(t)s::real
"""


@dataclass
class Found:
    """Why one pair was proposed."""

    phone: str = ""
    name_similarity: float | None = None
    same_cell: bool = False


def _query(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        # A search sorts and hashes a row per trigram of every name: in memory, not on disk,
        # and without JIT, which costs more to compile than it saves here.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


def phone_pairs(*, shared_by: int) -> dict[tuple, str]:
    """{(first id, second id): E.164 number} for people who give one number.

    SQL groups the numbers by their last digits; only those that share them are read.
    A number given by more than `shared_by` people proposes nobody.
    """
    people = defaultdict(list)
    for pk, phone in _query(_PHONES_SQL, {"statuses": STATUSES}):
        if key := phone_key(phone):
            people[key].append(pk)
    pairs = {}
    for key, ids in people.items():
        if 2 <= len(ids) <= shared_by:
            ids.sort()
            pairs |= {(a, b): key for i, a in enumerate(ids) for b in ids[i + 1 :]}
    return pairs


def name_pairs(*, threshold: float) -> dict[tuple, tuple[float, bool]]:
    """{(first id, second id): (similarity, same hexagon)} for names at least `threshold`
    alike in one hexagon or town."""
    rows = _query(_NAMES_SQL, {"statuses": STATUSES, "t": threshold})
    return {(a, b): (similarity, same_cell) for a, b, similarity, same_cell in rows}


def duplicates_find() -> dict[tuple, Found]:
    """Every pair proposed by the current list, dismissed ones included."""
    found: dict[tuple, Found] = defaultdict(Found)
    for pair, phone in phone_pairs(shared_by=settings.SOSEDI_DUPLICATE_PHONE_SHARED_BY).items():
        found[pair].phone = phone
    names = name_pairs(threshold=settings.SOSEDI_DUPLICATE_NAME_SIMILARITY)
    for pair, (similarity, same_cell) in names.items():
        found[pair].name_similarity, found[pair].same_cell = similarity, same_cell
    return dict(found)


def _lock_present(ids: list) -> set:
    """Those of `ids` still on the list, who may then not be merged or erased before the
    caller's transaction commits (FOR KEY SHARE lets their rows change meanwhile)."""
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM supporters_supporter WHERE id = ANY(%s::uuid[]) FOR KEY SHARE", [ids]
        )
        return {pk for (pk,) in cursor.fetchall()}


def possible_duplicates_search() -> DuplicateSearch:
    """Look for possible duplicates now and store them in place of the last search's."""
    search = DuplicateSearch.objects.create(started_at=timezone.now())
    try:
        found = duplicates_find()
    except BaseException:
        search.delete()  # the page would say it is still running
        raise
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One search replaces the pairs at a time (two workers may run one each).
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REPLACING])
        present = _lock_present(sorted({pk for pair in found for pk in pair}))
        dismissed = set(DuplicateDismissal.objects.values_list("first_id", "second_id"))
        PossibleDuplicate.objects.all().delete()
        now = timezone.now()
        stored = PossibleDuplicate.objects.bulk_create(
            (
                PossibleDuplicate(
                    first_id=a,
                    second_id=b,
                    phone=why.phone,
                    name_similarity=why.name_similarity,
                    same_cell=why.same_cell,
                    found_at=now,
                )
                for (a, b), why in found.items()
                if a in present and b in present and (a, b) not in dismissed
            ),
            batch_size=2000,
        )
        search.finished_at = now
        search.people = Supporter.objects.filter(status__in=STATUSES).count()
        search.pairs = len(stored)
        search.save(update_fields=["finished_at", "people", "pairs"])
    return search


def possible_duplicates() -> QuerySet[PossibleDuplicate]:
    """The last search's pairs, strongest first: a shared phone, then the most alike names,
    a hexagon before a town. Dismissed pairs, and people who have left, are not shown."""
    dismissed = DuplicateDismissal.objects.filter(
        first=OuterRef("first"), second=OuterRef("second")
    )
    return (
        PossibleDuplicate.objects.select_related("first", "second")
        .filter(first__status__in=STATUSES, second__status__in=STATUSES)
        .exclude(Exists(dismissed))
        .order_by(
            Case(When(phone="", then=Value(1)), default=Value(0), output_field=IntegerField()),
            F("name_similarity").desc(nulls_last=True),
            "-same_cell",
            "id",
        )
    )


def duplicate_search_last() -> DuplicateSearch | None:
    return DuplicateSearch.objects.first()


def duplicate_reasons(pair: PossibleDuplicate) -> list[str]:
    """Why a pair is proposed, as the page says it."""
    reasons = []
    if pair.phone:
        reasons.append(_("same phone %(phone)s") % {"phone": phone_shown(pair.phone)})
    if pair.name_similarity is not None:
        alike = formats.number_format(round(pair.name_similarity, 2), decimal_pos=2)
        if pair.same_cell:
            reasons.append(_("names %(alike)s alike, same hexagon") % {"alike": alike})
        else:
            reasons.append(
                _("names %(alike)s alike, same town (%(town)s)")
                % {"alike": alike, "town": pair.first.city}
            )
    return reasons


def ordered(a: Supporter, b: Supporter) -> tuple[Supporter, Supporter]:
    """The two as a pair is stored: the smaller id first (uuid order is PostgreSQL's)."""
    return (a, b) if a.pk < b.pk else (b, a)


@transaction.atomic
def duplicate_dismiss(*, first: Supporter, second: Supporter, user) -> DuplicateDismissal:
    """Record that two records are different people: the pair is not proposed again."""
    a, b = ordered(first, second)
    dismissal, _created = DuplicateDismissal.objects.get_or_create(
        first=a, second=b, defaults={"dismissed_by": user if user.is_authenticated else None}
    )
    PossibleDuplicate.objects.filter(first=a, second=b).delete()
    return dismissal
