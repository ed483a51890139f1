"""Validating import rows: clean values, or every reason a row cannot go in."""

import csv
import io

import pytest

from geo.batch import BatchGeocoder
from supporters.forms import JoinForm, ProfileForm
from supporters.organize.imports.report import RowError
from supporters.organize.imports.validating import (
    NO_SOURCE,
    CleanRow,
    RowForm,
    places_prefetch,
    row_validate,
)
from tests.supporters.organize.imports.sample import HEADER, ROWS

pytestmark = pytest.mark.django_db


def validate(*rows: dict) -> list[CleanRow | list[RowError]]:
    form = RowForm(columns=RowForm.base_fields, places=BatchGeocoder(pin_source="import"))
    numbered = list(enumerate(rows, start=2))
    places_prefetch(numbered, places=form.places)
    return [row_validate(line, values, form=form) for line, values in numbered]


def sample_rows() -> list[dict]:
    reader = csv.reader(io.StringIO("\n".join(ROWS)))
    header = HEADER.split(",")
    return [dict(zip(header, cells, strict=False)) for cells in reader]


def reasons(checked) -> dict[str, str]:
    assert isinstance(checked, list), checked
    return {e.field: e.reason for e in checked}


def test_each_bad_row_of_the_sample_gets_its_reason():
    checked = dict(enumerate(validate(*sample_rows()), start=2))
    assert reasons(checked[4]) == {"email": "not a valid email address"}
    assert reasons(checked[5]) == {
        "location": "We could not find “Qwxzvbnm”. Try the name of your town or city."
    }
    assert reasons(checked[7]) == {"consent_email_updates": "not yes or no"}
    assert reasons(checked[8]) == {"lat/lon": "not a latitude and longitude"}
    assert reasons(checked[10]) == {"consent_source": NO_SOURCE}
    assert reasons(checked[12]) == {
        "phone": "not a valid phone number",
        "joined_at": "not a date (YYYY-MM-DD or DD.MM.YYYY) in the past",
    }
    assert {line for line, c in checked.items() if isinstance(c, CleanRow)} == {2, 3, 9, 11}


def test_a_good_row_becomes_clean_values():
    anna, boris, *_ = validate(*sample_rows())
    assert (anna.email, anna.name, anna.phone, anna.language) == (
        "anna@example.org",
        "Анна",
        "+79000000000",  # in E.164, as it is stored
        "en",
    )
    assert anna.name_given and not anna.language_given
    assert (anna.location.city, anna.location.source) == ("Kazan", "gazetteer")
    assert anna.tags == ["volunteer", "driver"]
    assert anna.joined_at.date().isoformat() == "2024-05-01"
    assert anna.consents == {"public_map": True, "email_updates": True}
    assert anna.consent_source == "paper form at the rally"
    assert boris.consents == {"email_updates": False} and boris.location.source == "import"


def test_cells_are_tidied_and_a_new_persons_name_defaults_to_the_address():
    (row,) = validate(
        {
            "email": " Hana@Example.org ",
            "name": "",
            "language": "RU-ru",
            "location": "  казань ",
            "tags": " Rally  2024 | volunteer,VOLUNTEER ",
            "consent_introductions": "Да",
            "consent_source": "  paper   form ",
        }
    )
    assert (row.email, row.name, row.name_given) == ("Hana@Example.org", "Hana", False)
    assert (row.language, row.language_given, row.location.city) == ("ru", True, "Казань")
    assert row.tags == ["rally 2024", "volunteer"]
    assert (row.consents, row.consent_source) == ({"introductions": True}, "paper form")


def test_every_field_says_what_is_wrong_with_it():
    (row,) = validate(
        {
            "email": "",
            "name": "N" * 101,
            "phone": "+7 (900) 000-00-00 ext. 5",
            "language": "de",
            "tags": "ok|" + "t" * 51,
            "joined_at": "05/01/2024",
            "consent_public_map": "sure",
        }
    )
    assert reasons(row) == {
        "email": "missing",
        "name": "longer than 100 characters",
        "phone": "not a valid phone number",
        "language": "must be en or ru",
        "location": "missing: give a place or lat and lon",
        "tags": f"tag longer than 50 characters: {'t' * 20}…",
        "joined_at": "not a date (YYYY-MM-DD or DD.MM.YYYY) in the past",
        "consent_public_map": "not yes or no",
    }


def test_a_pin_needs_both_coordinates_and_a_town_near_it():
    half, comma, far = validate(
        {"email": "a@example.org", "lat": "55.75"},
        {"email": "b@example.org", "lat": "55,75", "lon": "37,62", "location": "Kazan"},
        {"email": "c@example.org", "lat": "-45", "lon": "-150"},
    )
    assert reasons(half) == {"lat/lon": "not a latitude and longitude"}
    assert comma.location.city == "Moscow"  # the pin wins over the text
    assert reasons(far) == {
        "lat/lon": "That pin is far from any town we know; move it closer to one."
    }


def test_each_reason_is_reported_once_per_field():
    (row,) = validate({"email": "a@example.org", "phone": "x" * 40, "location": "Kazan"})
    assert row == [RowError(2, "phone", "not a valid phone number")]  # too long and not a number


def test_a_null_character_is_a_reason_not_a_database_error():
    rows = validate(
        {"email": "a@example.org", "name": "A\x00", "location": "Kazan"},
        {"email": "b@example.org", "location": "Kazan", "consent_source": "\x00"},
    )
    assert [[e.field for e in r] for r in rows] == [["name"], ["consent_source"]]


@pytest.mark.parametrize(
    ("phone", "valid"),
    [("+7 900 000-00-00", True), ("(495) 123.45.67", True), ("12", False), ("call me", False)],
)
def test_the_join_and_manage_forms_and_the_import_agree_on_a_phone(phone, valid):
    (row,) = validate({"email": "a@example.org", "phone": phone, "location": "Kazan"})
    assert isinstance(row, CleanRow) is valid
    join = JoinForm({"phone": phone})
    profile = ProfileForm({"phone": phone})
    join.is_valid(), profile.is_valid()
    assert ("phone" not in join.errors) is valid and ("phone" not in profile.errors) is valid


def test_the_join_form_and_the_import_tidy_a_name_alike():
    (row,) = validate({"email": "a@example.org", "name": " Анна   Петрова ", "location": "Kazan"})
    join = JoinForm({"display_name": " Анна   Петрова "})
    join.is_valid()
    assert row.name == join.cleaned_data["display_name"] == "Анна Петрова"
