"""Reports that tell the truth: an address met again is 'the same as row N' only when row N
is imported; otherwise each row is checked, and refused, on its own."""

import pytest

from supporters.models import Supporter
from supporters.organize.imports import import_execute, import_text
from supporters.organize.models import Import

pytestmark = pytest.mark.django_db


def reasons(outcome) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.reason) for e in outcome.errors]


def test_a_repeated_invalid_address_is_reported_for_what_it_is_each_time():
    outcome = import_text(
        "email,location\nnot-an-email,Казань\nnot-an-email,Пермь\nNOT-AN-EMAIL,Москва\n"
    )
    assert reasons(outcome) == [
        (2, "email", "not a valid email address"),
        (3, "email", "not a valid email address"),
        (4, "email", "not a valid email address"),
    ]


def test_an_address_whose_first_row_was_refused_is_imported_from_the_next_good_row():
    outcome = import_text(
        "email,name,location\n"
        "vera@example.org,Вера,Qwxzvbnm\n"  # refused: nobody knows that place
        "VERA@example.org,Вера П.,Казань\n"  # imported: the first good row of this address
        "vera@example.org,Вера,Пермь\n"  # the same as row 3, which is imported
    )
    assert reasons(outcome) == [
        (2, "location", "We could not find “Qwxzvbnm”. Try the name of your town or city."),
        (4, "email", "the same address as row 3, imported there"),
    ]
    assert Supporter.objects.get().display_name == "Вера П."


def test_in_one_batch_and_across_batches_alike():
    text = "email,location\n" + "".join(
        f"{email},{place}\n"
        for email, place in [
            ("a@example.org", "Qwxzvbnm"),
            ("b@example.org", "Казань"),
            ("a@example.org", "Казань"),
            ("b@example.org", "Казань"),
        ]
    )
    for batch in (1, 2, 10):
        Supporter.objects.all().delete()
        outcome = import_text(text, batch=batch)
        assert [(row, field) for row, field, _reason in reasons(outcome)] == [
            (2, "location"),
            (5, "email"),
        ], batch
        assert outcome.created == 2


def test_a_resumed_import_knows_which_earlier_rows_were_imported(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(
        "email,location\n"
        "a@example.org,Qwxzvbnm\n"  # 2: refused by the first run
        "b@example.org,Казань\n"  # 3: imported by the first run
        "a@example.org,Казань\n"  # 4: a's first good row
        "b@example.org,Пермь\n",  # 5: the same as row 3
        encoding="utf-8",
    )
    job = Import.objects.create(
        filename="list.csv",
        path=str(path),
        rows_done=2,
        created=1,
        failed=1,
        errors=[{"row": 2, "field": "location", "reason": "We could not find “Qwxzvbnm”."}],
    )
    job = import_execute(import_id=job.pk)
    assert [(e["row"], e["field"]) for e in job.errors] == [(2, "location"), (5, "email")]
    assert "row 3" in job.errors[1]["reason"]
    assert Supporter.objects.get().email == "a@example.org"  # b was the first run's


def test_a_cell_repeated_down_a_column_is_judged_the_same_on_every_row():
    outcome = import_text(
        "email,location,joined_at,consent_public_map,tags,consent_source\n"
        "a@example.org,Казань,2024-13-01,maybe,x|y,form\n"
        "b@example.org,Казань,2024-13-01,maybe,x|y,form\n"
        "c@example.org,Казань,2024-05-01,да,x|y,form\n"
        "d@example.org,Казань,2024-05-01,да,x|y,form\n"
    )
    assert reasons(outcome) == [
        (2, "joined_at", "not a date (YYYY-MM-DD or DD.MM.YYYY) in the past"),
        (2, "consent_public_map", "not yes or no"),
        (3, "joined_at", "not a date (YYYY-MM-DD or DD.MM.YYYY) in the past"),
        (3, "consent_public_map", "not yes or no"),
    ]
    c, d = Supporter.objects.order_by("email")
    assert c.created_at == d.created_at and c.consent_public_map and d.consent_public_map
    assert {t.name for t in d.taggings.all()} == {"x", "y"}
