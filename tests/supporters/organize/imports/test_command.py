"""`manage.py import_supporters FILE`: the usual spellings by itself, and --map, --mapping,
--consent-source, --language, --country, --tag-separator, --encoding, --dry-run."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from supporters.models import Supporter
from supporters.organize.imports import ImportOptions, import_mapping_save
from supporters.organize.models import ConsentSource, Import, Tagging
from tests.supporters.organize.imports.files import (
    RUSSIAN_HEADER,
    RUSSIAN_IMPORTED,
    RUSSIAN_REFUSED,
    koi8_list,
    russian_excel_csv,
    workbook,
)
from tests.supporters.organize.imports.tables import table_counts

pytestmark = pytest.mark.django_db


def run(path, *args) -> str:
    out = StringIO()
    call_command("import_supporters", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def russian(tmp_path):
    path = tmp_path / "список.csv"
    path.write_bytes(russian_excel_csv())
    return path


def test_a_russian_spreadsheet_is_recognised_and_its_consent_source_given(russian):
    out = run(russian, "--consent-source", "анкеты с пикета")
    assert "read as Windows-1251 (Cyrillic), separated by semicolon" in out
    assert "Эл. почта → email" in out and "ignored: Комментарий" in out
    assert "4 new, 0 updated, 7 problems" in out
    assert set(Supporter.objects.values_list("email", flat=True)) == RUSSIAN_IMPORTED
    report = (russian.parent / "список.errors.csv").read_text(encoding="utf-8-sig")
    for row, field, reason in RUSSIAN_REFUSED:
        assert f"{row},{field}," in report and reason.split("“")[0] in report
    assert {c.note for c in ConsentSource.objects.all()} == {"анкеты с пикета"}


def test_map_reads_a_column_as_another_field_or_ignores_it(russian):
    run(
        russian,
        "--consent-source=x",
        "--map",
        "комментарий=tags",  # in any case
        "--map",
        "Телефон=ignore",
        "--map",
        "Метки = ignore",
    )
    anna = Supporter.objects.get(email="anna@example.org")
    assert anna.phone == ""
    assert list(Tagging.objects.filter(supporter=anna).values_list("name", flat=True)) == [
        "пришла на пикет"
    ]
    assert Supporter.objects.filter(email="zoya@example.org").exists()  # her phone was her problem


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("Город", 'write it as "Header=field"'),
        ("Улица=address", "the file has no column “Улица”"),
        ("Город=town", "no field “town”"),
    ],
)
def test_a_map_that_cannot_be_followed_is_refused_with_the_reason(russian, arg, message):
    with pytest.raises(CommandError, match=message):
        run(russian, "--map", arg)
    assert not Import.objects.exists()


def test_a_saved_mapping_is_used_by_name_with_its_settings(russian, tmp_path, admin_user):
    columns = {name: "" for name in RUSSIAN_HEADER}
    columns.update({"Эл. почта": "email", "Комментарий": "location"})
    import_mapping_save(
        name="комментарии",
        header_cells=["other"],  # made for another header: used because it is named
        columns=columns,
        options=ImportOptions(language="ru", tag_separator="|"),
        user=admin_user,
    )
    russian.write_bytes(russian.read_bytes().replace("пришла на пикет".encode("cp1251"), b"Ufa"))
    out = run(russian, "--mapping", "комментарии")
    # Only the columns it names are mapped as it says; the others are proposed as usual.
    assert "Комментарий → location" in out and "Город → location" not in out
    anna = Supporter.objects.get(email="anna@example.org")
    assert (anna.city, anna.language) == ("Уфа", "ru")
    with pytest.raises(CommandError, match="No saved mapping “none such” \\(saved: комментарии\\)"):
        run(russian, "--mapping", "none such")


def test_a_saved_mapping_of_the_same_header_is_used_without_being_named(russian, admin_user):
    columns = {name: "" for name in RUSSIAN_HEADER}
    columns.update({"Эл. почта": "email", "Город": "location"})
    import_mapping_save(
        name="отделение",
        header_cells=RUSSIAN_HEADER,
        columns=columns,
        options=ImportOptions(consent_source="из таблицы отделения"),
        user=admin_user,
    )
    out = run(russian)
    assert "the saved mapping “отделение” has this header: using it" in out
    assert "ignored: ФИО; Телефон" in out
    assert not ConsentSource.objects.exists()  # no consent column mapped


def test_language_country_and_tag_separator_apply_to_rows_that_leave_them_out(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('email,city,tags\r\na@example.org,Petropavlovsk,"a, b|c"\r\n', encoding="utf-8")
    run(path, "--language", "ru", "--country", "Russia", "--tag-separator", "|")
    person = Supporter.objects.get()
    assert (person.language, person.country_code) == ("ru", "RU")
    assert sorted(Tagging.objects.values_list("name", flat=True)) == ["a, b", "c"]
    with pytest.raises(CommandError, match="not a country we know"):
        run(path, "--country", "Atlantis")


def test_the_encoding_can_be_given_and_is_refused_when_the_file_is_not_in_it(tmp_path):
    path = tmp_path / "old.csv"
    path.write_bytes(koi8_list())
    assert "read as KOI8-R (Cyrillic)" in run(path, "--dry-run")
    with pytest.raises(CommandError, match="not UTF-8 text"):
        run(path, "--encoding", "utf-8")
    # Read in the other Cyrillic table, its header names no known column.
    with pytest.raises(CommandError, match="no 'email' column"):
        run(path, "--encoding", "cp1251")
    assert not Supporter.objects.exists()


def test_a_dry_run_writes_no_one_and_says_what_the_import_would_do(russian):
    before = table_counts()
    out = run(russian, "--dry-run", "--consent-source", "x")
    assert "dry run, nothing written: 11 rows" in out
    assert "4 would be new, 0 would be updated, 7 problems" in out
    after = table_counts()
    assert after.pop("supporters_import") == before.pop("supporters_import") + 1
    assert after == before
    assert (russian.parent / "список.errors.csv").exists()
    assert russian.exists()


def test_a_workbook_is_imported_by_the_command(tmp_path):
    path = tmp_path / "список.xlsx"
    path.write_bytes(workbook())
    out = run(path, "--consent-source", "форма")
    assert "read as an .xlsx workbook" in out and "2 new, 0 updated, 1 problem" in out
