"""Files as organizers bring them, imported end to end: every good row in, every bad row
reported with its true reason, under the name its column has in the file."""

import pytest

from supporters.models import ConsentRecord, Supporter
from supporters.organize.imports import ImportOptions, import_sheet, sheet_open
from supporters.organize.imports.validating import NO_SOURCE
from supporters.organize.models import ConsentSource, Tagging
from tests.supporters.organize.imports.files import (
    RUSSIAN_IMPORTED,
    RUSSIAN_REFUSED,
    action_network_export,
    civicrm_export,
    excel_unicode_text,
    koi8_list,
    russian_excel_csv,
    workbook,
)

pytestmark = pytest.mark.django_db


def imported(raw: bytes, filename: str, **options):
    sheet = sheet_open(raw, filename=filename)
    outcome = import_sheet(sheet, options=ImportOptions(**options), batch=4)
    return sheet, outcome, {(e.row, e.field, e.reason) for e in outcome.errors}


def tags_of(email: str) -> list[str]:
    return sorted(Tagging.objects.filter(supporter__email=email).values_list("name", flat=True))


def test_a_russian_excel_csv_with_a_consent_source_for_the_file_goes_in_whole():
    sheet, outcome, refused = imported(
        russian_excel_csv(), "список.csv", consent_source="анкеты с пикета 2024", language="ru"
    )
    assert (sheet.encoding, sheet.delimiter) == ("cp1251", ";")
    assert refused == RUSSIAN_REFUSED
    assert (outcome.created, outcome.updated) == (4, 0)
    assert set(Supporter.objects.values_list("email", flat=True)) == RUSSIAN_IMPORTED
    anna = Supporter.objects.get(email="anna@example.org")
    assert (anna.display_name, anna.city, anna.language) == ("Анна Смирнова", "Казань", "ru")
    assert anna.consent_email_updates and anna.consent_public_map
    assert anna.created_at.date().isoformat() == "2024-05-01"  # DD.MM.YYYY
    assert tags_of("anna@example.org") == ["водитель", "волонтёр"]  # "a;b" in one cell
    egor = Supporter.objects.get(email="egor@example.org")
    assert egor.consent_email_updates  # the row gave no source: the file's is used
    assert {s.note for s in ConsentSource.objects.filter(record__supporter=egor)} == {
        "анкеты с пикета 2024"
    }
    boris = Supporter.objects.get(email="boris@example.org")
    assert not boris.consent_email_updates
    assert not ConsentRecord.objects.filter(supporter=boris).exists()
    gleb = Supporter.objects.get(email="gleb@example.org")
    assert (gleb.display_name, gleb.city) == ("Глеб Иванов", "Самара")  # row 13, not row 5


def test_without_a_consent_source_each_row_granting_a_consent_says_what_is_missing():
    _sheet, outcome, refused = imported(russian_excel_csv(), "список.csv")
    assert refused - RUSSIAN_REFUSED == {
        (2, "consent_source", NO_SOURCE),
        (4, "consent_source", NO_SOURCE),  # besides its address: every reason is given
        (9, "consent_source", NO_SOURCE),
    }
    # Row 2 refused, its address is imported from row 7, which is no repeat any more.
    assert (7, "Эл. почта", "the same address as row 2, imported there") not in refused
    assert Supporter.objects.get(email__iexact="anna@example.org").display_name == "Анна С."
    assert outcome.created == 3


def test_an_old_koi8_r_list_is_read_in_koi8_r():
    sheet, outcome, refused = imported(koi8_list(), "old.csv")
    assert sheet.encoding == "koi8_r" and refused == set()
    olga = Supporter.objects.get(email="olga@example.org")
    assert (olga.display_name, olga.city) == ("Ольга Сергеевна", "Saint Petersburg")
    assert Supporter.objects.get(email="pavel@example.org").city == "Novosibirsk"


def test_a_workbook_with_a_formula_and_dates_is_imported():
    _sheet, outcome, refused = imported(workbook(), "список.xlsx", consent_source="форма")
    assert refused == {(4, "Email", "not a valid email address")}
    olga = Supporter.objects.get(email="olga@example.org")  # the formula's value
    assert (olga.display_name, olga.phone, olga.city) == ("Ольга Смирнова", "+79001234567", "Kazan")
    assert olga.created_at.date().isoformat() == "2024-05-01" and olga.consent_email_updates
    assert tags_of("olga@example.org") == ["водитель", "волонтёр"]
    petr = Supporter.objects.get(email="petr@example.org")
    assert petr.display_name == "Пётр" and not petr.consent_email_updates
    assert outcome.created == 2


def test_excels_unicode_text_utf16_and_tabs_is_imported():
    sheet, outcome, refused = imported(excel_unicode_text(), "export.txt")
    assert (sheet.encoding, sheet.delimiter) == ("utf-16", "\t")
    assert refused == {(4, "Населённый пункт", "missing: give a place or lat and lon")}
    irina = Supporter.objects.get(email="irina@example.org")
    assert irina.city == "Nizhniy Novgorod" and irina.consent_event_invitations
    assert tags_of("irina@example.org") == ["соседи", "субботник"]
    assert ConsentSource.objects.get(record__supporter=irina).note == "анкета на субботнике"
    assert outcome.created == 2


def test_a_civicrm_export_is_imported_with_its_opt_outs_and_groups(make_supporter):
    maria = make_supporter(email="maria.i@example.org", consents=["email_updates"])
    _sheet, outcome, refused = imported(civicrm_export(), "civicrm.csv")
    assert refused == {(5, "Preferred Language", "must be en or ru")}
    assert (outcome.created, outcome.updated) == (2, 1)
    anna = Supporter.objects.get(email="anna.s@example.org")
    assert (anna.display_name, anna.language, anna.city) == ("Anna Smirnova", "ru", "Казань")
    assert tags_of("anna.s@example.org") == ["driver", "newsletter", "volunteers"]
    boris = Supporter.objects.get(email="boris.o@example.org")
    assert boris.display_name == "Boris Orlov" and not boris.consent_email_updates
    maria.refresh_from_db()
    assert not maria.consent_email_updates  # 'No Bulk Emails' withdrew it, and says so
    assert ConsentRecord.objects.filter(supporter=maria, granted=False).count() == 1
    assert maria.city == "Petropavlovsk-Kamchatsky"  # in the row's country, not Kazakhstan


def test_an_action_network_export_is_imported_with_its_subscription_statuses():
    _sheet, outcome, refused = imported(
        action_network_export(), "an.csv", consent_source="Action Network list"
    )
    assert refused == {(5, "email", "missing")}
    svetlana = Supporter.objects.get(email="svetlana@example.org")
    assert (svetlana.display_name, svetlana.city, svetlana.phone) == (
        "Svetlana Kim",
        "Yekaterinburg",
        "+79120000001",
    )
    assert svetlana.consent_email_updates  # subscribed
    assert tags_of("svetlana@example.org") == ["rally-2024", "volunteer"]
    timur = Supporter.objects.get(email="timur@example.org")
    assert not timur.consent_email_updates  # unsubscribed
    ulyana = Supporter.objects.get(email="ulyana@example.org")
    assert not ulyana.consent_email_updates  # bouncing says nothing about consent
    assert not ConsentRecord.objects.filter(supporter=ulyana).exists()
    assert outcome.created == 3


def test_the_default_country_places_a_bare_town_named_in_several_countries():
    raw = b"email,city\r\na@example.org,Petropavlovsk\r\n"
    imported(raw, "a.csv")
    assert Supporter.objects.get().country_code == "KZ"  # the largest of that name
    Supporter.objects.all().delete()
    imported(raw, "a.csv", country="RU")
    assert Supporter.objects.get().city == "Petropavlovsk-Kamchatsky"
