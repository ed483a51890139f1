"""A dry run checks the whole file and writes no supporter: the counts and the report are
the real run's, every supporters_* table keeps its rows, and the file stays for the import
that may follow."""

import pytest

from supporters.organize.imports import ImportOptions, import_execute
from supporters.organize.models import AuditEntry, Import
from tests.supporters.organize.imports.files import RUSSIAN_REFUSED, russian_excel_csv
from tests.supporters.organize.imports.tables import table_counts

pytestmark = pytest.mark.django_db


def job_for(path, *, dry_run: bool, **options) -> Import:
    return Import.objects.create(
        filename=path.name,
        path=str(path),
        dry_run=dry_run,
        options=ImportOptions(**options).as_json(),
    )


def test_a_dry_run_writes_nothing_and_reports_what_the_import_would(
    settings, tmp_path, make_supporter
):
    settings.SOSEDI_IMPORT_DIR = tmp_path
    settings.SOSEDI_IMPORT_BATCH = 3
    make_supporter(email="boris@example.org", name="Борис")  # known: an update
    path = tmp_path / "upload.csv"
    path.write_bytes(russian_excel_csv())
    dry = job_for(path, dry_run=True, consent_source="анкеты")
    before = table_counts()

    dry = import_execute(import_id=dry.pk)

    assert table_counts() == before
    assert (dry.status, dry.rows_total, dry.rows_done) == ("done", 11, 11)
    assert (dry.created, dry.updated, dry.failed) == (3, 1, len(RUSSIAN_REFUSED))
    assert {(e["row"], e["field"], e["reason"]) for e in dry.errors} == RUSSIAN_REFUSED
    assert path.exists() and dry.path == str(path)  # kept for the import that follows
    assert not AuditEntry.objects.exists()  # it showed nobody's data

    real = import_execute(import_id=job_for(path, dry_run=False, consent_source="анкеты").pk)
    assert (real.created, real.updated, real.failed) == (dry.created, dry.updated, dry.failed)
    assert real.errors == dry.errors
    assert table_counts()["supporters_supporter"] == before["supporters_supporter"] + 3
    assert not path.exists() and AuditEntry.objects.get().action == "import"


def test_a_dry_run_of_a_file_that_cannot_be_read_fails_and_keeps_nothing_else(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,city\nA,B\n", encoding="utf-8")
    job = job_for(path, dry_run=True)
    before = table_counts()
    job = import_execute(import_id=job.pk)
    assert job.status == "failed" and "no 'email' column" in job.message
    assert table_counts() == before
