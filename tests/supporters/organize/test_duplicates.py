"""supporters/organize/duplicates.py: possible duplicates, proposed for the right reasons
and only those; dismissed pairs stay dismissed."""

import random

import pytest
from django.db import connection

from supporters.models import Supporter
from supporters.organize import duplicates
from supporters.organize.models import DuplicateDismissal, DuplicateSearch, PossibleDuplicate

pytestmark = pytest.mark.django_db

MOSCOW = (37.62, 55.75)
# ~4 km east of MOSCOW: another hexagon of the same town.
MOSCOW_EAST = (37.68, 55.75)
KAZAN = (49.12, 55.79)


def person(make_supporter, name, where=MOSCOW, city="Москва", **fields):
    return make_supporter(name=name, lon=where[0], lat=where[1], city=city, **fields)


def search() -> dict[frozenset, list[str]]:
    """{the pair's two names: why} after a search, for the pairs the page would show."""
    duplicates.possible_duplicates_search()
    return {
        frozenset([p.first.display_name, p.second.display_name]): duplicates.duplicate_reasons(p)
        for p in duplicates.possible_duplicates()
    }


def test_one_phone_number_written_two_ways_is_proposed_wherever_they_live(make_supporter):
    person(make_supporter, "Анна Смирнова", phone="+7 916 123-45-67")
    person(make_supporter, "А. С.", where=KAZAN, city="Казань", phone="8 (916) 123-45-67")
    person(make_supporter, "Someone Else", phone="+7 916 123-45-68")  # one digit apart

    assert search() == {frozenset(["Анна Смирнова", "А. С."]): ["same phone +7 916 123-45-67"]}


def test_a_number_many_people_give_is_a_shared_one_and_proposes_nobody(make_supporter, settings):
    settings.SOSEDI_DUPLICATE_PHONE_SHARED_BY = 3
    for n, where in enumerate([MOSCOW, KAZAN, MOSCOW_EAST, (30.3, 59.9)]):
        person(make_supporter, f"Office {n} Worker", where=where, city=f"Town {n}",
               phone="+7 495 000-00-00")  # fmt: skip
    assert search() == {}

    Supporter.objects.filter(display_name="Office 3 Worker").delete()
    assert len(search()) == 3  # three people: 3 pairs


def test_names_alike_in_one_hexagon_are_proposed_with_how_alike(make_supporter):
    person(make_supporter, "Анна Смирнова")
    person(make_supporter, "анна смирнава")  # a typo, another case
    person(make_supporter, "Борис Петров")  # same hexagon, another name

    assert search() == {
        frozenset(["Анна Смирнова", "анна смирнава"]): ["names 0.65 alike, same hexagon"]
    }


def test_names_alike_in_one_town_are_proposed_and_the_town_named(make_supporter):
    person(make_supporter, "Вера Ёлкина")
    person(make_supporter, "Вера Елкина", where=MOSCOW_EAST)  # ё read as е

    assert search() == {
        frozenset(["Вера Ёлкина", "Вера Елкина"]): ["names 1.00 alike, same town (Москва)"]
    }


def test_the_same_name_in_different_towns_is_not_proposed(make_supporter):
    person(make_supporter, "Иван Кузнецов")
    person(make_supporter, "Иван Кузнецов", where=KAZAN, city="Казань")
    person(make_supporter, "Иван Кузнецов", where=MOSCOW_EAST, city="")  # no town known

    assert search() == {}


def test_a_phone_and_a_name_both_are_given_as_reasons(make_supporter):
    person(make_supporter, "Ольга Попова", phone="+7 903 111-22-33")
    person(make_supporter, "Ольга Попова", phone="89031112233")

    why = ["same phone +7 903 111-22-33", "names 1.00 alike, same hexagon"]
    assert search() == {frozenset(["Ольга Попова"]): why}


def test_only_people_on_the_list_are_compared(make_supporter):
    person(make_supporter, "Мария Орлова", status=Supporter.Status.PENDING)
    person(make_supporter, "Мария Орлова", status=Supporter.Status.UNSUBSCRIBED)
    assert search() == {}

    person(make_supporter, "Мария Орлова")
    assert list(search()) == [frozenset(["Мария Орлова"])]


def test_the_threshold_is_a_setting(make_supporter, settings):
    person(make_supporter, "Анна Смирнова")
    person(make_supporter, "Анна Смирнава")
    settings.SOSEDI_DUPLICATE_NAME_SIMILARITY = 0.7
    assert search() == {}
    settings.SOSEDI_DUPLICATE_NAME_SIMILARITY = 0.6
    assert len(search()) == 1


def proposed() -> set[frozenset]:
    """The pairs the page shows after a search, by the two records' ids."""
    duplicates.possible_duplicates_search()
    return {frozenset([p.first_id, p.second_id]) for p in duplicates.possible_duplicates()}


def test_a_dismissed_pair_is_not_proposed_again(make_supporter, django_user_model):
    ann = person(make_supporter, "Анна Смирнова", phone="+7 916 123-45-67")
    anna = person(make_supporter, "Анна Смирнова", phone="+7 916 123-45-67")
    third = person(make_supporter, "Анна Смирнова", where=MOSCOW_EAST)
    assert len(proposed()) == 3
    user = django_user_model.objects.create_user(username="coordinator-1")

    duplicates.duplicate_dismiss(first=anna, second=ann, user=user)  # in either order

    (dismissal,) = DuplicateDismissal.objects.all()
    assert {dismissal.first, dismissal.second} == {ann, anna}
    assert dismissal.first.pk < dismissal.second.pk and dismissal.dismissed_by == user
    others = {frozenset([ann.pk, third.pk]), frozenset([anna.pk, third.pk])}
    shown = {frozenset([p.first_id, p.second_id]) for p in duplicates.possible_duplicates()}
    assert shown == others  # at once, before any new search
    assert proposed() == others
    assert not PossibleDuplicate.objects.filter(first=dismissal.first, second=dismissal.second)
    duplicates.duplicate_dismiss(first=ann, second=anna, user=user)  # twice is once
    assert DuplicateDismissal.objects.count() == 1


def test_a_search_replaces_the_last_one_and_is_recorded(make_supporter):
    person(make_supporter, "Павел Зайцев")
    pavel = person(make_supporter, "Павел Зайцев")
    assert len(search()) == 1
    pavel.display_name = "Pavel Z."
    pavel.save()

    assert search() == {}
    last = DuplicateSearch.objects.first()
    assert (last.people, last.pairs) == (2, 0) and last.finished_at >= last.started_at
    assert DuplicateSearch.objects.count() == 2


def _brute_force(threshold: float) -> set[tuple]:
    """Every pair at least `threshold` alike in one hexagon or town, compared one by one."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH p AS (SELECT id, translate(lower(display_name), 'ё', 'е') AS name, cell,
                              CASE WHEN city <> '' THEN country_code || lower(city) END AS town
                       FROM supporters_supporter)
            SELECT a.id, b.id FROM p a JOIN p b ON a.id < b.id
            WHERE (a.cell = b.cell OR a.town = b.town)
              AND similarity(a.name, b.name) >= %s::real
            """,
            [threshold],
        )
        return set(cursor.fetchall())


def _names(rng: random.Random, n: int) -> list[str]:
    """Names as lists hold them: a few common ones, written with typos, in another order,
    with a patronymic or an initial, in another case."""
    first = ["Анна", "Мария", "Ольга", "Иван", "Пётр", "Alexey"]
    last = ["Смирнова", "Иванова", "Кузнецов", "Попов", "Ёлкина", "Ivanov"]
    names = []
    for _ in range(n):
        words = [rng.choice(first), rng.choice(last)]
        if rng.random() < 0.3:
            words.insert(1, rng.choice(["Сергеевна", "Петрович", "С."]))
        if rng.random() < 0.3:
            words.reverse()
        name = " ".join(words)
        for _ in range(rng.choice([0, 0, 1, 2])):  # typos
            i = rng.randrange(len(name))
            name = name[:i] + rng.choice("аеиоуыя") + name[i + 1 :]
        names.append(name.upper() if rng.random() < 0.1 else name)
    return names


def test_the_prefix_filter_misses_no_pair_comparing_each_with_each_would_find(make_supporter):
    rng = random.Random(7)
    places = [(MOSCOW, "Москва"), (MOSCOW_EAST, "Москва"), (KAZAN, "Казань"), (KAZAN, "")]
    for name in _names(rng, 120):
        where, city = rng.choice(places)
        person(make_supporter, name, where=where, city=city)

    for threshold in [0.3, 0.45, 0.6, 0.7, 0.8, 1.0]:
        expected = _brute_force(threshold)
        assert len(expected) > 10, threshold  # the test compares something
        assert set(duplicates.name_pairs(threshold=threshold)) == expected, threshold


@pytest.mark.django_db(transaction=True)
def test_the_worker_looks_when_asked(make_supporter, run_worker):
    from supporters.organize.tasks import duplicates_search

    person(make_supporter, "Олег Волков", phone="+7 926 555-44-33")
    person(make_supporter, "О. Волков", where=KAZAN, city="Казань", phone="8 926 555 44 33")
    duplicates_search.defer()

    run_worker(queues=["imports"])

    (pair,) = duplicates.possible_duplicates()
    assert pair.phone == "+79265554433"
    assert DuplicateSearch.objects.get().pairs == 1
