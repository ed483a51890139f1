"""An import end to end: every good row in, every bad row reported with row, field and
reason, from the command, the upload page and the worker, resumable."""

import csv
import io
import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from supporters.models import ConsentRecord, Supporter
from supporters.organize.imports import import_execute, import_text
from supporters.organize.models import AuditEntry, ConsentSource, Import, Tagging
from tests.supporters.organize.imports.sample import BAD, HEADER, sample


@pytest.mark.django_db
def test_every_bad_row_is_reported_and_every_good_row_is_in():
    outcome = import_text(sample(), batch=3)
    assert {(e.row, e.field) for e in outcome.errors} == BAD
    assert outcome.created == 3 and outcome.updated == 0
    assert set(Supporter.objects.values_list("email", flat=True)) == {
        "anna@example.org",
        "boris@example.org",
        "hana@example.org",
    }
    anna = Supporter.objects.get(email="anna@example.org")
    assert (anna.city, anna.region, anna.status) == ("Kazan", "Tatarstan Republic", "active")
    assert anna.consent_email_updates and anna.consent_public_map
    assert not anna.consent_introductions  # no column, no consent
    assert anna.created_at.date().isoformat() == "2024-05-01"
    assert sorted(Tagging.objects.filter(supporter=anna).values_list("name", flat=True)) == [
        "driver",
        "volunteer",
    ]
    sources = ConsentSource.objects.filter(record__supporter=anna)
    assert {s.note for s in sources} == {"paper form at the rally"}
    assert {r.source for r in ConsentRecord.objects.filter(supporter=anna)} == {"import"}
    boris = Supporter.objects.get(email="boris@example.org")
    assert not boris.consent_email_updates and boris.city  # nearest town named
    hana = Supporter.objects.get(email="hana@example.org")
    assert hana.display_name == "hana" and not any(hana.consents().values())
    reasons = {(e.row, e.field): e.reason for e in outcome.errors}
    assert "row 2" in reasons[(9, "email")]
    assert reasons[(6, "*")] == "2 fields where the header has 11"


@pytest.mark.django_db
def test_a_refused_upload_is_deleted_too(settings, tmp_path, admin_user):
    settings.SOSEDI_IMPORT_DIR = tmp_path
    path = tmp_path / "upload.csv"
    path.write_text("name,city\nA,B\n", encoding="utf-8")
    job = Import.objects.create(filename="list.csv", path=str(path), created_by=admin_user)
    job = import_execute(import_id=job.pk)
    assert job.status == "failed" and "email" in job.message
    assert not path.exists() and job.path == ""
    outside = tmp_path.parent / f"{tmp_path.name}-operator.csv"
    outside.write_text("name,city\nA,B\n", encoding="utf-8")
    job = Import.objects.create(filename="o.csv", path=str(outside), created_by=admin_user)
    assert import_execute(import_id=job.pk).status == "failed"
    assert outside.exists()  # a file given to the command from elsewhere is the operator's
    outside.unlink()


@pytest.mark.django_db
def test_the_command_writes_an_error_report_and_shows_progress(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(sample(), encoding="utf-8-sig")
    out = StringIO()
    call_command("import_supporters", str(path), stdout=out)
    report_text = (tmp_path / "people.errors.csv").read_text(encoding="utf-8-sig")
    report = list(csv.reader(io.StringIO(report_text)))
    assert report[0] == ["row", "field", "reason"]
    assert {(int(r[0]), r[1]) for r in report[1:]} == BAD
    assert [int(r[0]) for r in report[1:]] == sorted(int(r[0]) for r in report[1:])
    assert "11/11 rows (100%)" in out.getvalue()
    assert AuditEntry.objects.get().action == "import"


@pytest.mark.django_db(transaction=True)
def test_the_upload_page_runs_the_import_in_the_worker(as_role, run_worker, settings, tmp_path):
    settings.SOSEDI_IMPORT_DIR = tmp_path
    client = as_role("coordinator")
    upload = SimpleUploadedFile("list.csv", sample().encode("cp1251"), content_type="text/csv")
    response = client.post(reverse("organize:imports"), {"file": upload})
    job = Import.objects.get()
    # Deliberately changed: the upload leads to the mapping page, which queues the import.
    assert response["Location"] == reverse("organize:import_map", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    key = re.search(r'name="header_key" value="([^"]*)"', page).group(1)
    columns = {f"col_{i}": name for i, name in enumerate(HEADER.split(","))}
    response = client.post(
        response["Location"],
        {"header_key": key, "encoding": "cp1251", "delimiter": ",", "action": "import", **columns},
    )
    assert response["Location"] == reverse("organize:import", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "queued" and Supporter.objects.count() == 0
    run_worker(queues=["imports"])
    stored = job.path
    job.refresh_from_db()
    assert (job.status, job.rows_total, job.rows_done) == ("done", 11, 11)
    assert stored.startswith(str(tmp_path)) and not list(tmp_path.glob("*.csv"))  # deleted
    assert (job.created, job.failed) == (3, len(BAD))
    progress = client.get(reverse("organize:import_progress", args=[job.pk])).json()
    assert progress["percent"] == 100 and progress["status"] == "done"
    report = client.get(reverse("organize:import_errors", args=[job.pk])).content.decode()
    assert "12,joined_at," in report
    page = client.get(reverse("organize:import", args=[job.pk]))
    assert b"Qwxzvbnm" in page.content or b"location" in page.content


@pytest.mark.django_db
def test_a_restarted_import_resumes_after_the_rows_it_committed(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(sample(), encoding="utf-8")
    job = Import.objects.create(filename="list.csv", path=str(path), rows_done=3, created=2)

    import_execute(import_id=job.pk)
    job.refresh_from_db()
    # Rows 2 and 3 were done by the first run: not imported again.
    assert not Supporter.objects.filter(email__in=["anna@example.org", "boris@example.org"])
    assert Supporter.objects.filter(email="hana@example.org").exists()
    assert job.created == 3 and job.rows_done == 11
