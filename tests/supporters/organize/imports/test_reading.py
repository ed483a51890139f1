"""Reading an import file: encodings, separators, the header, rows by column."""

from io import StringIO

import pytest
from django.core.management import call_command

from supporters.models import Supporter
from supporters.organize.imports.jobs import sheet_read
from supporters.organize.imports.reading import ImportFileError, Sheet, decode
from supporters.organize.models import ConsentSource
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


@pytest.mark.django_db
def test_a_file_without_an_email_column_is_refused_whole(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,city\nA,B\n", encoding="utf-8")
    with pytest.raises(Exception, match="no 'email' column"):
        call_command("import_supporters", str(path), stdout=StringIO())


def test_utf8_loses_its_bom_and_anything_else_is_read_as_windows_1251():
    assert decode("\ufeffemail,имя".encode()) == "email,имя"
    assert decode("email;имя".encode("cp1251")) == "email;имя"


def test_rows_are_numbered_as_in_a_spreadsheet_and_blank_lines_skipped():
    sheet = Sheet(
        "Email;Consent Source\n\na@example.org;x\n ; \nb@example.org\n", columns=HEADER.split(",")
    )
    assert sheet.header == ["email", "consent_source"] and sheet.delimiter == ";"
    rows = list(sheet.rows())
    assert [(r.line, r.values, r.width) for r in rows] == [
        (3, {"email": "a@example.org", "consent_source": "x"}, 2),
        (5, None, 1),  # fields that do not match the header's
    ]
    assert sheet.count() == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "The file is empty."),
        ("name,location\n", "no 'email' column"),
        ("email,city\n", "Unknown columns: city."),
        ("email,name,Name\n", "A column name appears twice"),
    ],
)
def test_a_file_the_importer_cannot_read_is_refused_with_the_reason(text, reason):
    with pytest.raises(ImportFileError, match=reason):
        sheet_read(text)


def test_the_known_columns_are_the_row_forms():
    assert sheet_read(sample()).header == HEADER.split(",")
