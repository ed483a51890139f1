"""The upload pages: a file uploaded, its columns mapped on a page that shows how the first
rows will be read, then a dry run or the import, run by the worker."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from supporters.models import Supporter
from supporters.organize.models import Import, ImportMapping
from tests.supporters.organize.imports.files import (
    RUSSIAN_HEADER,
    RUSSIAN_IMPORTED,
    RUSSIAN_REFUSED,
    russian_excel_csv,
    workbook,
)
from tests.supporters.organize.imports.tables import table_counts


def selected(html: str, name: str) -> str:
    """The value chosen in the page's <select name=…>."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else ""


def column_choices(html: str) -> dict[str, str]:
    """{column as in the file: the field chosen for it} from the mapping table."""
    rows = re.findall(r'<label for="id_(col_\d+)">([^<]*)</label>', html)
    return {label: selected(html, name) for name, label in rows}


def upload(client, raw: bytes, name: str = "список.csv"):
    return client.post(reverse("organize:imports"), {"file": SimpleUploadedFile(name, raw)})


def mapping_data(html: str, **changes) -> dict:
    """The mapping form as the page shows it, with `changes` (col_N or a setting)."""
    data = {"header_key": re.search(r'name="header_key" value="([^"]*)"', html).group(1)}
    for name in re.findall(r'<select name="([^"]+)"', html):
        data[name] = selected(html, name)
    for name in ("consent_source", "country", "save_as"):
        found = re.search(rf'name="{name}"[^>]*?(?:value="([^"]*)")?[^>]*>', html)
        data[name] = (found.group(1) or "") if found else ""
    data.update(changes)
    return data


def col(html: str, column: str) -> str:
    """The name of the select of a column."""
    return re.search(rf'<label for="id_(col_\d+)">{re.escape(column)}</label>', html).group(1)


@pytest.fixture
def coordinator(as_role, settings, tmp_path):
    settings.SOSEDI_IMPORT_DIR = tmp_path
    return as_role("coordinator")


@pytest.mark.django_db
def test_the_mapping_page_proposes_a_field_per_column_and_previews_the_first_rows(coordinator):
    response = upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("organize:import_map", args=[job.pk])
    assert job.status == "new" and not Supporter.objects.exists()

    html = coordinator.get(response["Location"]).content.decode()
    assert (selected(html, "encoding"), selected(html, "delimiter")) == ("cp1251", ";")
    assert column_choices(html) == {
        "ФИО": "name",
        "Эл. почта": "email",
        "Телефон": "phone",
        "Город": "location",
        "Метки": "tags",
        "Согласие на рассылку": "consent_email_updates",
        "Согласие на показ на карте": "consent_public_map",
        "Дата": "joined_at",
        "Комментарий": "",
    }
    preview = html[html.index('id="import-preview"') :]
    assert "boris@example.org" in preview and "Perm, Perm Krai, RU" in preview
    assert "(town or city)" in preview
    assert "✗ receive email updates" in preview  # Boris said no
    assert "Эл. почта: not a valid email address" in preview  # row 4
    # Anna's row grants consents and nobody said where yet: the preview says so.
    assert "consent_source: say where the consent was given" in preview
    assert not Supporter.objects.exists()


@pytest.mark.django_db
def test_the_preview_follows_the_settings_and_columns_chosen(coordinator):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    page = reverse("organize:import_map", args=[job.pk])
    html = coordinator.get(page).content.decode()
    data = mapping_data(
        html,
        consent_source="анкеты с пикета",
        language="ru",
        action="preview",
        **{col(html, "Комментарий"): "tags", col(html, "Метки"): ""},
    )
    response = coordinator.post(page, data)
    assert response.status_code == 200
    preview = response.content.decode().split('id="import-preview"')[1]
    anna = preview.split("anna@example.org")[1].split("</tr>")[0]
    assert "Казань, Tatarstan Republic, RU" in anna  # named in the file's language
    assert "✓ receive email updates" in anna and "✓ appear on the public map" in anna
    assert "пришла на пикет" in anna and "волонтёр" not in anna
    assert "2024-05-01" in anna
    assert not Supporter.objects.exists() and Import.objects.get().status == "new"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"Эл. почта": ""}, "no &#x27;email&#x27; column"),
        ({"ФИО": "email"}, "are all mapped to"),
        ({"Город": "", "Дата": ""}, "No column places the supporters"),
        ({"Город": "shoe size"}, "Select a valid choice"),
    ],
)
def test_a_mapping_that_cannot_be_used_is_a_form_error_and_writes_nothing(
    coordinator, changes, message
):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    page = reverse("organize:import_map", args=[job.pk])
    html = coordinator.get(page).content.decode()
    data = mapping_data(html, action="import", **{col(html, c): f for c, f in changes.items()})
    before = table_counts()
    response = coordinator.post(page, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert table_counts() == before and Import.objects.get().status == "new"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0", "Upload a .csv, .tsv or .xlsx file."),
        ("list.xlsx", b"PK\x03\x04 broken", "This .xlsx file cannot be read"),
        ("list.csv", b"\x00\xff" * 50, "This is not a text file"),
        ("list.csv", b",,,\r\n", "The first row names no columns"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_at_upload_and_nothing_kept(
    coordinator, tmp_path, name, raw, message
):
    before = table_counts()
    response = upload(coordinator, raw, name)
    assert response.status_code == 400 and message in response.content.decode()
    assert table_counts() == before and not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_an_encoding_the_file_is_not_in_is_a_form_error(coordinator):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    page = reverse("organize:import_map", args=[job.pk])
    html = coordinator.get(page).content.decode()
    response = coordinator.post(page, mapping_data(html, encoding="utf-8", action="import"))
    assert response.status_code == 400
    assert "The file is not UTF-8 text: choose another encoding." in response.content.decode()
    assert Import.objects.get().status == "new"


@pytest.mark.django_db
def test_another_encoding_reads_the_header_again_and_proposes_its_columns(coordinator):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    page = reverse("organize:import_map", args=[job.pk])
    html = coordinator.get(page).content.decode()
    response = coordinator.post(
        page, mapping_data(html, encoding="koi8_r", consent_source="анкеты", action="import")
    )
    assert response.status_code == 200  # not imported: the columns must be checked again
    html = response.content.decode()
    assert "The file was read again" in html and selected(html, "encoding") == "koi8_r"
    assert 'value="анкеты"' in html  # the settings typed are kept
    assert "email" not in column_choices(html).values()  # a garbled header: nothing known
    assert Import.objects.get().status == "new"


@pytest.mark.django_db
def test_a_saved_mapping_is_offered_again_for_a_file_with_the_same_header(coordinator):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    page = reverse("organize:import_map", args=[job.pk])
    html = coordinator.get(page).content.decode()
    data = mapping_data(
        html,
        save_as="Отделение на Гороховой",
        consent_source="анкеты",
        action="dry_run",
        **{col(html, "Комментарий"): "tags"},
    )
    assert coordinator.post(page, data).status_code == 302
    saved = ImportMapping.objects.get()
    assert saved.name == "Отделение на Гороховой" and saved.header == RUSSIAN_HEADER
    assert saved.columns["Комментарий"] == "tags" and saved.options == {"consent_source": "анкеты"}

    upload(coordinator, russian_excel_csv(), "ещё.csv")
    again = Import.objects.get(filename="ещё.csv")
    html = coordinator.get(reverse("organize:import_map", args=[again.pk])).content.decode()
    assert "saved mapping “Отделение на Гороховой”" in html
    assert column_choices(html)["Комментарий"] == "tags"
    assert 'value="анкеты"' in html


@pytest.mark.django_db
def test_an_organizer_without_the_import_permission_is_refused(as_role, coordinator):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    organizer = as_role("organizer")
    assert organizer.get(reverse("organize:import_map", args=[job.pk])).status_code == 403
    for name in ("import_confirm", "import_remap", "import_delete"):
        assert organizer.post(reverse(f"organize:{name}", args=[job.pk])).status_code == 403


@pytest.mark.django_db
def test_deleting_an_upload_not_yet_mapped_deletes_it_with_its_file(coordinator, tmp_path):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    response = coordinator.post(reverse("organize:import_delete", args=[job.pk]))
    assert response["Location"] == reverse("organize:imports")
    assert not Import.objects.exists() and not list(tmp_path.iterdir())


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_from_the_page_writes_nothing_then_the_import_follows_it(
    coordinator, run_worker, tmp_path
):
    upload(coordinator, russian_excel_csv())
    job = Import.objects.get()
    page = reverse("organize:import_map", args=[job.pk])
    html = coordinator.get(page).content.decode()
    response = coordinator.post(page, mapping_data(html, consent_source="анкеты", action="dry_run"))
    assert response["Location"] == reverse("organize:import", args=[job.pk])
    before = table_counts()
    run_worker(queues=["imports"])
    assert table_counts() == before  # the job's own row changed, no row came or went
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.created, job.failed) == (
        "done",
        True,
        4,
        len(RUSSIAN_REFUSED),
    )
    detail = coordinator.get(reverse("organize:import", args=[job.pk])).content.decode()
    assert "nothing is written" in detail and "Import now" in detail
    assert "Rows that would not be imported" in detail

    response = coordinator.post(reverse("organize:import_confirm", args=[job.pk]))
    real = Import.objects.exclude(pk=job.pk).get()
    assert response["Location"] == reverse("organize:import", args=[real.pk])
    assert (real.columns, real.options, real.dry_run) == (job.columns, job.options, False)
    run_worker(queues=["imports"])
    real.refresh_from_db()
    assert (real.status, real.created, real.errors) == ("done", 4, job.errors)
    assert set(Supporter.objects.values_list("email", flat=True)) == RUSSIAN_IMPORTED
    assert not list(tmp_path.iterdir())  # the file went with the import
    job.refresh_from_db()
    assert job.path == ""
    response = coordinator.post(reverse("organize:import_confirm", args=[job.pk]))
    assert response["Location"] == reverse("organize:import", args=[job.pk])  # file gone
    assert Import.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_can_be_mapped_again(coordinator, run_worker):
    upload(coordinator, workbook(), "список.xlsx")
    job = Import.objects.get()
    page = reverse("organize:import_map", args=[job.pk])
    html = coordinator.get(page).content.decode()
    assert "An .xlsx workbook" in html and 'name="encoding"' not in html
    data = mapping_data(html, action="dry_run", **{col(html, "Метки"): ""})
    coordinator.post(page, {**data, "consent_source": "форма"})
    run_worker(queues=["imports"])
    response = coordinator.post(reverse("organize:import_remap", args=[job.pk]))
    again = Import.objects.get(status="new")
    assert response["Location"] == reverse("organize:import_map", args=[again.pk])
    html = coordinator.get(response["Location"]).content.decode()
    assert column_choices(html)["Метки"] == ""  # as the dry run had it
    assert 'value="форма"' in html


@pytest.mark.django_db(transaction=True)
def test_uploads_left_unimported_are_deleted_by_the_worker_after_the_days_kept(
    coordinator, run_worker, tmp_path, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from supporters.organize.tasks import imports_tidy

    settings.SOSEDI_IMPORT_KEEP_DAYS = 7
    for _ in range(3):
        upload(coordinator, russian_excel_csv())
    left, dry, recent = Import.objects.order_by("pk")
    page = reverse("organize:import_map", args=[dry.pk])
    html = coordinator.get(page).content.decode()
    coordinator.post(page, mapping_data(html, consent_source="анкеты", action="dry_run"))
    run_worker(queues=["imports"])
    assert len(list(tmp_path.iterdir())) == 3
    eight_days_ago = timezone.now() - timedelta(days=8)
    Import.objects.filter(pk__in=[left.pk, dry.pk]).update(created_at=eight_days_ago)

    imports_tidy.defer()
    run_worker(queues=["imports"])

    # The one never mapped is gone with its file; the dry run stays, without its file;
    # the recent upload stays as it was.
    assert list(Import.objects.order_by("pk").values_list("pk", "path")) == [
        (dry.pk, ""),
        (recent.pk, recent.path),
    ]
    assert list(tmp_path.iterdir()) == [Path(recent.path)]
