"""A mapping: what keeps it from being used, how a row's cells become its fields, the
file's settings, and mappings saved by name and found again by their header."""

import hashlib

import pytest

from supporters.organize.imports.mapping import (
    ImportOptions,
    RowShaper,
    columns_problems,
    header_key,
    import_mapping_save,
    mapping_saved,
    place_query,
)


def test_a_usable_mapping_has_no_problems():
    assert columns_problems({"Почта": "email", "Город": "location", "X": ""}) == []
    assert columns_problems({"Email": "email", "Lat": "lat", "Lon": "lon"}) == []


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({"Город": "location"}, "no 'email' column"),
        ({"A": "email", "B": "email", "C": "location"}, "“A”, “B” are all mapped"),
        ({"A": "email", "B": "name", "C": "name", "D": "location"}, "“B”, “C” are all mapped"),
        ({"A": "email", "B": "lat"}, "both the latitude and the longitude"),
        ({"A": "email", "B": "country"}, "No column places the supporters"),
        ({"A": "email", "B": "location", "C": "shoe_size"}, "no field of an import"),
    ],
)
def test_a_mapping_that_cannot_be_used_says_why(columns, problem):
    assert any(problem in p for p in columns_problems(columns)), columns_problems(columns)


def test_several_columns_may_be_tags_or_opt_outs():
    columns = {"A": "email", "B": "location", "C": "tags", "D": "tags", "E": "email_opt_out"}
    assert columns_problems({**columns, "F": "email_opt_out"}) == []


def test_a_name_is_put_together_from_its_parts_when_no_column_holds_it_whole():
    shaper = RowShaper(
        {"ФИО": "name", "Имя": "first_name", "Отчество": "middle_name", "Фамилия": "last_name"},
        ImportOptions(),
    )
    parts = {"Имя": " Анна ", "Отчество": "Петровна", "Фамилия": "Смирнова"}
    assert shaper.shape({"ФИО": "", **parts})["name"] == "Анна Петровна Смирнова"
    assert shaper.shape({"ФИО": "А. П. Смирнова", **parts})["name"] == "А. П. Смирнова"
    assert shaper.reported_as("name") == "ФИО"
    assert RowShaper({"Имя": "first_name"}, ImportOptions()).reported_as("name") == "name"


@pytest.mark.parametrize(
    ("town", "address", "postcode", "country", "query"),
    [
        ("Казань", "", "", "", "Казань"),
        ("Казань", "", "", "RU", "Казань, RU"),
        ("Кировск, Мурманская обл.", "", "", "RU", "Кировск, Мурманская обл."),
        ("Казань", "ул. Баумана, 1", "420111", "RU", "Казань, ул. Баумана, 1"),
        ("", "ул. Баумана, 1", "", "RU", "ул. Баумана, 1"),
        ("", "", "420111", "RU", "420111, RU"),
        ("", "", "", "RU", ""),
    ],
)
def test_the_place_is_queried_town_first_and_a_bare_town_with_its_country(
    town, address, postcode, country, query
):
    assert place_query(town=town, address=address, postcode=postcode, country=country) == query


def test_the_rows_country_comes_before_the_files_and_is_read_as_a_code():
    shaper = RowShaper({"City": "location", "Country": "country"}, ImportOptions(country="KZ"))
    assert shaper.shape({"City": "Petropavlovsk", "Country": "Russia"})["location"] == (
        "Petropavlovsk, RU"
    )
    assert shaper.shape({"City": "Petropavlovsk", "Country": ""})["location"] == (
        "Petropavlovsk, KZ"
    )
    # A country nobody knows qualifies nothing (the town is looked up alone).
    assert shaper.shape({"City": "Kazan", "Country": "Татарстан"})["location"] == "Kazan, KZ"
    assert shaper.reported_as("location") == "City"


def test_tags_of_several_columns_are_joined_with_the_files_separator():
    columns = {"Groups": "tags", "Tags": "tags"}
    values = {"Groups": "a;b", "Tags": "c"}
    assert RowShaper(columns, ImportOptions()).shape(values)["tags"] == "a;b|c"
    assert RowShaper(columns, ImportOptions(tag_separator=";")).shape(values)["tags"] == "a;b;c"


def test_the_files_settings_keep_what_is_known_and_given():
    options = ImportOptions.of({"language": "ru", "country": "RU", "colour": "red", "x": ""})
    assert options == ImportOptions(language="ru", country="RU")
    assert options.as_json() == {"language": "ru", "country": "RU"}
    assert ImportOptions(encoding="cp1251", consent_source="анкета").saved() == {
        "consent_source": "анкета"
    }
    assert ImportOptions(language="de").default_language() == "en"


def test_the_header_key_is_the_trimmed_lower_cased_header():
    expected = hashlib.sha256("эл. почта\nгород".encode()).hexdigest()
    assert header_key([" Эл. почта", "ГОРОД "]) == expected


@pytest.mark.django_db
def test_a_saved_mapping_is_found_again_by_its_header_and_replaced_by_its_name(admin_user):
    header = ["Эл. почта", "Город", "Заметки"]
    columns = {"Эл. почта": "email", "Город": "location", "Заметки": ""}
    options = ImportOptions(encoding="cp1251", consent_source="анкета", country="RU")
    import_mapping_save(
        name="Отделение", header_cells=header, columns=columns, options=options, user=admin_user
    )
    found = mapping_saved(header_cells=["эл. почта ", "ГОРОД", "заметки"])
    assert (found.name, found.columns, found.options) == (
        "Отделение",
        columns,
        {"consent_source": "анкета", "country": "RU"},
    )
    assert found.created_by == admin_user
    assert mapping_saved(header_cells=["email", "city"]) is None
    import_mapping_save(
        name="Отделение",
        header_cells=header,
        columns={**columns, "Заметки": "tags"},
        options=ImportOptions(),
        user=None,
    )
    again = mapping_saved(header_cells=header)
    assert again.pk == found.pk and again.columns["Заметки"] == "tags"
    assert again.created_by == admin_user  # who made it first
