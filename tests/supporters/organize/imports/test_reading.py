"""Reading an import file: encodings, separators, the header, rows by column, workbooks."""

from io import StringIO

import pytest
from django.core.management import call_command

from supporters.models import Supporter
from supporters.organize.imports import import_text
from supporters.organize.imports.jobs import sheet_columns
from supporters.organize.imports.reading import (
    ImportFileError,
    TextSheet,
    cell_text,
    decode,
    delimiter_guess,
    sheet_open,
)
from supporters.organize.imports.spellings import columns_propose
from supporters.organize.models import ConsentSource
from tests.supporters.organize.imports.files import workbook
from tests.supporters.organize.imports.sample import HEADER, sample


@pytest.mark.django_db
def test_windows_1251_with_semicolons_is_read(tmp_path):
    text = "email;name;location;consent_email_updates;consent_source\n"
    text += "olga@example.org;Ольга Смирнова;Санкт-Петербург;да;анкета на пикете\n"
    path = tmp_path / "list.csv"
    path.write_bytes(text.encode("cp1251"))
    out = StringIO()
    call_command("import_supporters", str(path), stdout=out)
    olga = Supporter.objects.get(email="olga@example.org")
    assert olga.display_name == "Ольга Смирнова" and olga.consent_email_updates
    assert ConsentSource.objects.get().note == "анкета на пикете"
    assert "1 new, 0 updated, 0 problems" in out.getvalue()
    assert "read as Windows-1251 (Cyrillic), separated by semicolon" in out.getvalue()


@pytest.mark.django_db
def test_a_file_without_an_email_column_is_refused_whole(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,city\nA,B\n", encoding="utf-8")
    with pytest.raises(Exception, match="no 'email' column"):
        call_command("import_supporters", str(path), stdout=StringIO())


def test_utf8_loses_its_bom_and_cyrillic_bytes_are_read_in_their_encoding():
    assert decode("\ufeffemail,имя".encode()) == "email,имя"
    assert decode("email;имя".encode("cp1251")) == "email;имя"
    assert decode("email;имя".encode("koi8_r")) == "email;имя"
    assert decode("email\tимя".encode("utf-16")) == "email\tимя"


def test_rows_are_numbered_as_in_a_spreadsheet_and_blank_lines_skipped():
    sheet = TextSheet("Email;Consent Source\n\na@example.org;x\n ; \nb@example.org\n")
    assert sheet.header == ["Email", "Consent Source"] and sheet.delimiter == ";"
    rows = list(sheet.rows())
    assert [(r.line, r.values, r.width) for r in rows] == [
        (3, {"Email": "a@example.org", "Consent Source": "x"}, 2),
        (5, None, 1),  # fields that do not match the header's
    ]
    assert sheet.count() == 2
    assert columns_propose(sheet.header) == {"Email": "email", "Consent Source": "consent_source"}


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [
        ("email,name,tags", ","),
        ("Эл. почта;Имя;Метки", ";"),
        ('email;"Фамилия, имя";tags', ";"),  # a comma inside quotes is no separator
        ("E-mail\tИмя\tТеги, метки", "\t"),
        ("email", ","),
    ],
)
def test_the_separator_is_the_one_the_header_uses_most_outside_quotes(line, delimiter):
    assert delimiter_guess(line) == delimiter


def test_a_quoted_cell_keeps_its_separators_and_trailing_separators_are_no_fields():
    sheet = TextSheet('email;tags\r\na@example.org;"a;b"\r\nb@example.org;c;;\r\n')
    assert [r.values for r in sheet.rows()] == [
        {"email": "a@example.org", "tags": "a;b"},
        {"email": "b@example.org", "tags": "c"},
    ]


def test_a_repeated_column_name_is_told_apart_and_an_unnamed_column_is_not_read():
    sheet = TextSheet("Phone,email,Phone,,Город\n1,a@example.org,2,x,Казань\n")
    assert sheet.header == ["Phone", "email", "Phone (2)", "", "Город"]
    assert next(sheet.rows()).values == {
        "Phone": "1",
        "email": "a@example.org",
        "Phone (2)": "2",
        "Город": "Казань",
    }
    # The first column spelt as a field gets it; the second is proposed as ignored.
    assert sheet_columns(sheet) == {
        "Phone": "phone",
        "email": "email",
        "Phone (2)": "",
        "Город": "location",
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "The file is empty."),
        (",,\n", "names no columns"),
        ("name,location\n", "no 'email' column"),
        ("email,lat\n", "both the latitude and the longitude"),
        ("email,name\n", "No column places the supporters"),
        ("email\x00,x\n", "not a text file"),
    ],
)
def test_a_file_the_importer_cannot_read_is_refused_with_the_reason(text, reason):
    with pytest.raises(ImportFileError, match=reason):
        sheet_columns(TextSheet(text))


def test_an_unknown_column_is_ignored_rather_than_refusing_the_file():
    # Deliberately changed: 'Unknown columns: city.' refused such a file whole before.
    sheet = TextSheet("email,location,Комментарий\na@example.org,Казань,звонить\n")
    assert sheet_columns(sheet) == {"email": "email", "location": "location", "Комментарий": ""}


def test_the_known_columns_are_proposed_as_themselves():
    assert sheet_columns(TextSheet(sample())) == {name: name for name in HEADER.split(",")}


def test_a_workbook_is_read_from_its_first_sheet_with_formulas_dates_and_numbers():
    sheet = sheet_open(workbook(), filename="список.xlsx")
    assert sheet.kind == "xlsx"
    assert sheet.header[:4] == ["Email", "Имя", "Фамилия", "Город"]
    first, second, third = sheet.rows()
    assert first.line == 2 and first.values == {
        "Email": "olga@example.org",  # the formula's value, as Excel last calculated it
        "Имя": "Ольга",
        "Фамилия": "Смирнова",
        "Город": "Казань",
        "Телефон": "79001234567",  # a number, without '.0'
        "Дата": "2024-05-01",  # a date cell, in ISO
        "Согласие на рассылку": "yes",  # TRUE
        "Метки": "волонтёр;водитель",
    }
    assert second.values["Согласие на рассылку"] == "no" and second.values["Телефон"] == ""
    assert third.values["Email"] == "not-an-email"
    assert sheet.count() == 3


@pytest.mark.parametrize(
    ("raw", "name", "reason"),
    [
        (b"PK\x03\x04 not really a zip", "list.xlsx", "cannot be read"),
        (b"\xd0\xcf\x11\xe0", "old.xls", "Save the spreadsheet as .xlsx or CSV"),
    ],
)
def test_a_spreadsheet_that_cannot_be_read_is_refused_with_what_to_do(raw, name, reason):
    with pytest.raises(ImportFileError, match=reason):
        sheet_open(raw, filename=name)


def test_a_file_read_in_an_encoding_it_is_not_in_says_so():
    with pytest.raises(ImportFileError, match="not UTF-8 text"):
        sheet_open("email,имя\n".encode("cp1251"), filename="x.csv", encoding="utf-8")


def test_cells_of_a_workbook_read_as_a_csv_export_would_hold_them():
    from datetime import date, datetime

    assert [cell_text(v) for v in (None, 3.0, 55.75, True, date(2024, 5, 1))] == [
        "",
        "3",
        "55.75",
        "yes",
        "2024-05-01",
    ]
    assert cell_text(datetime(2024, 5, 1, 18, 30)) == "2024-05-01 18:30:00"


@pytest.mark.django_db
def test_a_tsv_exported_by_excel_in_utf16_is_imported():
    text = "email\tname\tlocation\r\nsveta@example.org\tСвета\tКазань\r\n"
    outcome = import_text(decode(text.encode("utf-16")))
    assert (outcome.created, outcome.errors) == (1, [])
