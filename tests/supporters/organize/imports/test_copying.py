"""New people written with COPY: the same rows the model would write, and a batch that
breaks a constraint leaves nothing behind."""

import pytest
from django.db import IntegrityError

from geo.geocoding import geocode
from supporters.models import ConsentRecord, Supporter
from supporters.organize.imports import Outcome, import_text
from supporters.organize.imports.validating import CleanRow
from supporters.organize.imports.writing import batch_write
from supporters.organize.models import ConsentSource, Import, Tagging


def _row(line: int, email: str, **overrides) -> CleanRow:
    values = dict(
        line=line,
        email=email,
        name="Анна",
        phone="",
        language="ru",
        name_given=True,
        language_given=True,
        location=geocode("Казань"),
        tags=["volunteer"],
        joined_at=None,
        consents={"public_map": True},
        consent_source="paper form",
    )
    return CleanRow(**{**values, **overrides})


@pytest.mark.django_db
def test_a_new_person_has_the_models_defaults_and_the_cells_centre():
    kazan = geocode("Казань")
    outcome = import_text(
        "email,name,location,tags,consent_public_map,consent_source\n"
        "anna@example.org,Анна \\N,Казань,volunteer|driver,yes,анкета\\пикет\n"
    )
    assert (outcome.created, outcome.errors) == (1, [])
    anna = Supporter.objects.get()
    default = Supporter(cell=0)
    assert (anna.channel, anna.frequency, anna.topics) == (
        default.channel,
        default.frequency,
        default.topics,
    )
    assert anna.location_changed_at is None and anna.display_name == "Анна \\N"
    assert (anna.cell, anna.location.coords) == (kazan.cell, pytest.approx(kazan.centre.coords))
    assert anna.consent_public_map and not anna.consent_email_updates
    [record] = ConsentRecord.objects.filter(supporter=anna)
    assert (record.purpose, record.granted, record.source, record.wording_version) == (
        "public_map",
        True,
        "import",
        "imported",
    )
    assert record.imported_from.note == "анкета\\пикет"
    assert set(anna.taggings.values_list("name", flat=True)) == {"volunteer", "driver"}


@pytest.mark.django_db
def test_consent_sources_name_the_import_they_came_with():
    job = Import.objects.create(filename="list.csv", path="")
    rows = [_row(2, "anna@example.org"), _row(3, "boris@example.org", consents={})]
    batch_write(rows=rows, job=job, rows_done=2, outcome=Outcome())
    [source] = ConsentSource.objects.all()
    assert (source.import_job, source.note) == (job, "paper form")
    assert source.record.supporter.email == "anna@example.org"
    job.refresh_from_db()
    assert (job.rows_done, job.created) == (2, 2)


@pytest.mark.django_db
def test_a_batch_that_breaks_a_constraint_writes_no_one_of_it():
    job = Import.objects.create(filename="list.csv", path="")
    good = _row(2, "anna@example.org")
    # Texts without a phone: the form refuses it; here the table's constraint does.
    bad = _row(3, "boris@example.org", consents={"text_messages": True})
    with pytest.raises(IntegrityError):
        batch_write(rows=[good, bad], job=job, rows_done=2, outcome=Outcome())
    assert not Supporter.objects.exists()
    assert not ConsentRecord.objects.exists() and not Tagging.objects.exists()
    job.refresh_from_db()
    assert job.rows_done == 0
