"""A coordinator imports a Russian Excel CSV in a real browser (Debian chromium via
Playwright), then finds and merges the duplicate it brought in.

The file is Windows-1251 with semicolons, a quoted "a;b" tag cell, a consent column and one
bad row. The mapping page proposes the fields, the consent source is set for the whole
file and the mapping saved; a dry run writes nothing, the import writes the good rows and
reports the bad one; Possible duplicates then pairs the imported person with the one
already on the list (same phone) and the merge keeps the older record. Screenshots:
import-mapping.png, import-done.png, duplicates.png, merge.png (where: tests/e2e/__init__.py).
"""

import os
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from supporters.models import MergedAddress, Supporter
from supporters.organize.models import Import, ImportMapping, SupporterMerge
from tests.e2e import (
    SCREENSHOTS,
    chromium,
    organizer_log_in,
    watched_page,
    worker_run,
)
from tests.supporters.organize.imports.files import _csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-Coord-2026!"

HEADER = ["Эл. почта", "ФИО", "Город", "Телефон", "Метки", "Согласие на рассылку"]
ROWS = [
    # 2: tags in one quoted cell holding a ';'
    ["anna@example.org", "Анна Смирнова", "Казань", "+7 900 000-00-01", "волонтёр;водитель",
     "да"],
    # 3: says no to email updates
    ["boris@example.org", "Борис Петров", "Пермь", "", "", "нет"],
    # 4: the bad row
    ["not-an-email", "Вера", "Казань", "", "", "да"],
    # 5: Oleg again, under another address: the number of the Oleg already on the list
    ["oleg.v@example.org", "Олег Волков", "Казань", "+7 926 555-44-33", "сосед", ""],
]  # fmt: skip
BAD_REASON = "not a valid email address"
CONSENT_SOURCE = "анкеты с пикета, май 2024"
# The progress line, in either case: the page writes the status as stored ("done: ...").
COUNTS = re.compile(r"^Done: 4 of 4 rows; 3 new, 0 updated, 1 problem$")
DRY_RUN_COUNTS = re.compile(
    r"^Done \(dry run\): 4 of 4 rows; 3 would be new, 0 would be updated, 1 problem$"
)


def russian_excel_file() -> bytes:
    """As Excel in a Russian locale saves 'CSV (разделители — точки с запятой)'."""
    return _csv(HEADER, ROWS, delimiter=";", lineterminator="\r\n").encode("cp1251")


@pytest.fixture
def coordinator(transactional_db, django_user_model, settings, tmp_path):
    from supporters.organize.roles import roles_ensure

    settings.SOSEDI_IMPORT_DIR = tmp_path
    roles_ensure()  # an earlier transactional test may have flushed the groups
    user = django_user_model.objects.create_user(username="katya", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="coordinator"))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


@pytest.fixture
def page(live_server, settings):
    from playwright.sync_api import sync_playwright

    settings.TILE_URL = ""  # no base layer: nothing but the app itself may be contacted
    with sync_playwright() as p:
        browser = chromium(p)
        page = watched_page(browser, width=1360, height=900)
        yield page
        browser.close()


def screenshot(page, name: str, down_to: str) -> None:
    """The page from its top to the bottom of `down_to`, full width (not the empty rest)."""
    bottom = page.locator(down_to).last.evaluate(
        "e => e.getBoundingClientRect().bottom + window.scrollY"
    )
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": bottom + 24}
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True, clip=clip)


def column(page, name: str):
    """The field select of the file's column `name` on the mapping page."""
    return (
        page.locator("#import-columns tbody tr")
        .filter(has=page.locator("label", has_text=re.compile(rf"^{re.escape(name)}$")))
        .locator("select")
    )


def preview_row(page, line: int):
    return page.locator("#import-preview tbody tr").filter(
        has=page.locator("td:first-child", has_text=re.compile(rf"^{line}$"))
    )


def test_a_coordinator_imports_a_russian_excel_csv_and_merges_the_duplicate_it_brought(
    page, live_server, coordinator, make_supporter, run_worker
):
    _user, device = coordinator
    oleg = make_supporter(
        email="volkov@example.org",
        name="Олег Волков",
        lon=49.12,
        lat=55.79,
        city="Kazan",
        country_code="RU",
        phone="8 926 555 44 33",
        created_at=datetime(2023, 3, 1, 12, 0, tzinfo=UTC),
    )
    on_the_list = Supporter.objects.count()
    organizer_log_in(page, live_server, username="katya", password=PASSWORD, device=device)

    # The upload.
    page.click("nav.org-nav >> text=Import")
    page.wait_for_url("**/organize/imports/")
    page.set_input_files(
        "#id_file",
        files=[{"name": "пикет.csv", "mimeType": "text/csv", "buffer": russian_excel_file()}],
    )
    page.click("button:has-text('Upload and map the columns')")
    page.wait_for_url(re.compile(r"/organize/imports/\d+/map/$"))

    # How the file is read, and the field proposed for each column.
    expect(page.locator("#id_encoding")).to_have_value("cp1251")
    expect(page.locator("#id_delimiter")).to_have_value(";")
    proposed = {
        "Эл. почта": "email",
        "ФИО": "name",
        "Город": "location",
        "Телефон": "phone",
        "Метки": "tags",
        "Согласие на рассылку": "consent_email_updates",
    }
    for name, field in proposed.items():
        expect(column(page, name)).to_have_value(field)
    # The quoted cell is one cell, its ';' kept.
    expect(page.locator("#import-columns")).to_contain_text("волонтёр;водитель")

    # A consent source for the whole file, a name for the mapping, and the preview.
    page.fill("#id_consent_source", CONSENT_SOURCE)
    page.fill("#id_save_as", "Пикеты, Excel")
    page.click("button[name=action][value=preview]")
    page.wait_for_load_state()
    expect(page.locator("#import-preview tbody tr")).to_have_count(len(ROWS))
    anna = preview_row(page, 2)
    expect(anna).to_contain_text("anna@example.org")
    expect(anna).to_contain_text("Kazan")
    expect(anna).to_contain_text("(town or city)")
    expect(anna).to_contain_text("✓ receive email updates")
    expect(anna).to_contain_text("волонтёр, водитель")
    expect(preview_row(page, 3)).to_contain_text("✗ receive email updates")
    expect(preview_row(page, 3)).to_contain_text("Perm")
    expect(preview_row(page, 4)).to_contain_text(f"Not imported: Эл. почта: {BAD_REASON}")
    expect(preview_row(page, 5)).to_contain_text("сосед")
    # The settings typed are kept, and nothing is asked about the consents' source.
    expect(page.locator("#id_consent_source")).to_have_value(CONSENT_SOURCE)
    expect(page.locator("#import-preview")).not_to_contain_text("say where the consent")
    screenshot(page, "import-mapping.png", "#import-mapping + form")
    assert Supporter.objects.count() == on_the_list

    # The dry run: the counts, the bad row's reason, and nothing written.
    page.click("button[name=action][value=dry_run]")
    page.wait_for_url(re.compile(r"/organize/imports/\d+/$"))
    dry_run = Import.objects.get()
    expect(page.locator("#dry-run-notice")).to_be_visible()
    worker_run(run_worker, queue="imports")
    # The page polls its progress and reloads once done, offering what can follow.
    expect(page.locator("#after-dry-run")).to_be_visible(timeout=15_000)
    expect(page.locator("#progress-text")).to_have_text(DRY_RUN_COUNTS)
    expect(page.locator("main table")).to_contain_text(BAD_REASON)
    assert Supporter.objects.count() == on_the_list
    dry_run.refresh_from_db()
    assert (dry_run.dry_run, dry_run.status, dry_run.created, dry_run.failed) == (
        True,
        "done",
        3,
        1,
    )
    saved = ImportMapping.objects.get()
    assert saved.name == "Пикеты, Excel" and saved.header == HEADER
    assert saved.options["consent_source"] == CONSENT_SOURCE

    # The import itself, from the dry run.
    page.click("#after-dry-run button:has-text('Import now')")
    page.wait_for_url(re.compile(r"/organize/imports/\d+/$"))
    real = Import.objects.exclude(pk=dry_run.pk).get()
    assert page.url.endswith(f"/organize/imports/{real.pk}/")
    worker_run(run_worker, queue="imports")
    expect(page.locator("h2", has_text="Rows not imported")).to_be_visible(timeout=15_000)
    expect(page.locator("#progress-text")).to_have_text(COUNTS)
    report = page.locator("main table").last
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody tr td")).to_have_text(["4", "Эл. почта", BAD_REASON])
    screenshot(page, "import-done.png", "main table")
    assert Supporter.objects.count() == on_the_list + 3
    anna_imported = Supporter.objects.get(email="anna@example.org")
    assert sorted(anna_imported.taggings.values_list("name", flat=True)) == ["водитель", "волонтёр"]
    consent = anna_imported.consent_records.get()
    assert (consent.purpose, consent.granted, consent.source) == ("email_updates", True, "import")
    assert consent.imported_from.note == CONSENT_SOURCE  # the file's source

    # Possible duplicates: the search the page offers, run by the worker.
    page.click("nav.org-nav >> text=Possible duplicates")
    page.wait_for_url("**/organize/duplicates/")
    page.click("#duplicates button:has-text('Look again now')")
    page.wait_for_url("**/organize/duplicates/")
    worker_run(run_worker, queue="imports")
    page.reload()
    pair = page.locator("article.duplicate-pair")
    expect(pair).to_have_count(1)
    expect(pair.locator(".reason").first).to_have_text("same phone +7 926 555-44-33")
    expect(pair).to_contain_text("volkov@example.org")
    expect(pair).to_contain_text("oleg.v@example.org")
    screenshot(page, "duplicates.png", "#merges")

    # Merge, keeping the older record: the one that was on the list before the import.
    older = pair.locator(".org-columns > div").filter(has_text="volkov@example.org")
    expect(older).to_contain_text("2023-03-01")
    older.get_by_role("link", name="Merge, keeping this record").click()
    page.wait_for_url("**/organize/duplicates/merge/**")
    kept, merged = page.locator("#merge .org-columns > div").all()
    expect(kept).to_contain_text("volkov@example.org")
    expect(merged).to_contain_text("oleg.v@example.org")
    expect(merged).to_contain_text("сосед")
    screenshot(page, "merge.png", "#merge")
    page.click("#merge button:has-text('Merge oleg.v@example.org into this record')")
    page.wait_for_url("**/organize/duplicates/")

    # The merge is on the page, and one record remains.
    expect(page.locator("main")).to_contain_text(
        "Merged oleg.v@example.org into volkov@example.org"
    )
    expect(page.locator("article.duplicate-pair")).to_have_count(0)
    merges = page.locator("#merges tbody tr")
    expect(merges).to_have_count(1)
    expect(merges).to_contain_text("katya")
    expect(merges).to_contain_text("Олег Волков <volkov@example.org>")
    expect(merges).to_contain_text("oleg.v@example.org")
    assert Supporter.objects.count() == on_the_list + 2
    assert not Supporter.objects.filter(email="oleg.v@example.org").exists()
    (remaining,) = Supporter.objects.filter(display_name="Олег Волков")
    assert remaining.pk == oleg.pk
    assert list(remaining.taggings.values_list("name", flat=True)) == ["сосед"]
    assert MergedAddress.objects.get().email == "oleg.v@example.org"
    assert SupporterMerge.objects.get().kept_id == oleg.pk

    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
    assert not page.console_errors, page.console_errors
