"""Writing an import's clean rows: people created or updated, their consents and tags."""

import uuid

from django.db import transaction
from django.utils import timezone

from supporters.models import ConsentRecord, Supporter
from supporters.organize.imports.report import MAX_ERRORS_KEPT, Outcome, RowError
from supporters.organize.imports.validating import CleanRow
from supporters.organize.models import ConsentSource, Import, Tagging
from supporters.selectors import supporters_by_emails
from supporters.services import supporter_location_fields

IMPORTED_WORDING = "imported"


def _consent_record(supporter_id, purpose: str, granted: bool, source: str) -> ConsentRecord:
    record = ConsentRecord(
        supporter_id=supporter_id,
        purpose=purpose,
        granted=granted,
        source=ConsentRecord.Source.IMPORT,
        # Not Sosedi's wording: the person agreed to someone else's, noted in ConsentSource.
        wording_version=IMPORTED_WORDING,
    )
    record.note = source
    return record


@transaction.atomic
def batch_write(
    *, rows: list[CleanRow], job: Import | None, rows_done: int, outcome: Outcome
) -> None:
    """Upsert a batch: new people in bulk, known ones updated; progress in the same commit,
    so that a restarted import resumes after the last batch written."""
    now = timezone.now()
    # By their own address or one merged into theirs (one index scan each), locked.
    existing = supporters_by_emails(emails=[r.email for r in rows], for_update=True)
    rows = _one_row_per_person(rows, existing, outcome)
    new, records, taggings = [], [], []
    for r in rows:
        s = existing.get(r.email.lower())
        if s is None:
            sid = uuid.uuid4()
            new.append(
                Supporter(
                    id=sid,
                    email=r.email,
                    display_name=r.name,
                    phone=r.phone,
                    language=r.language,
                    status=Supporter.Status.ACTIVE,
                    created_at=r.joined_at or now,
                    confirmed_at=r.joined_at or now,
                    **supporter_location_fields(r.location),
                    **{f"consent_{p}": v for p, v in r.consents.items()},
                )
            )
            records += [
                _consent_record(sid, p, True, r.consent_source) for p, v in r.consents.items() if v
            ]
            taggings += [Tagging(supporter_id=sid, name=t) for t in r.tags]
            outcome.created += 1
            continue
        changed = ["phone", *supporter_location_fields(r.location)]
        s.phone = r.phone or s.phone
        if r.name_given:
            s.display_name = r.name
            changed.append("display_name")
        if r.language_given:
            s.language = r.language
            changed.append("language")
        for name, value in supporter_location_fields(r.location).items():
            setattr(s, name, value)
        for purpose, granted in r.consents.items():
            if getattr(s, f"consent_{purpose}") != granted:
                setattr(s, f"consent_{purpose}", granted)
                changed.append(f"consent_{purpose}")
                records.append(_consent_record(s.pk, purpose, granted, r.consent_source))
        if s.status == Supporter.Status.PENDING:
            s.status, s.confirmed_at = Supporter.Status.ACTIVE, r.joined_at or now
            changed += ["status", "confirmed_at"]
        s.save(update_fields=changed)
        taggings += [Tagging(supporter_id=s.pk, name=t) for t in r.tags]
        outcome.updated += 1
    Supporter.objects.bulk_create(new)
    ConsentRecord.objects.bulk_create(records)
    ConsentSource.objects.bulk_create(
        ConsentSource(record=r, note=r.note or "(not given)", import_job=job) for r in records
    )
    Tagging.objects.bulk_create(taggings, ignore_conflicts=True)
    _progress_save(job=job, rows_done=rows_done, outcome=outcome)


def _one_row_per_person(
    rows: list[CleanRow], known: dict[str, Supporter], outcome: Outcome
) -> list[CleanRow]:
    """A known person reached by two rows of a batch, by their address and by one merged
    into it: the first row is written, the second reported (as a repeated address is)."""
    first_row: dict[object, int] = {}
    kept = []
    for r in rows:
        person = known.get(r.email.lower())
        if person is not None and person.pk in first_row:
            reason = (
                f"the same person as row {first_row[person.pk]}: one of the two addresses"
                " was merged into the other"
            )
            outcome.errors.append(RowError(row=r.line, field="email", reason=reason))
            continue
        if person is not None:
            first_row[person.pk] = r.line
        kept.append(r)
    return kept


def _progress_save(*, job: Import | None, rows_done: int, outcome: Outcome) -> None:
    if job is not None:
        Import.objects.filter(pk=job.pk).update(
            rows_done=rows_done,
            created=outcome.created,
            updated=outcome.updated,
            failed=len(outcome.errors),
            errors=[e.__dict__ for e in outcome.errors[:MAX_ERRORS_KEPT]],
        )


def batch_count(
    *, rows: list[CleanRow], job: Import | None, rows_done: int, outcome: Outcome
) -> None:
    """A dry run's batch: what batch_write would do, counted (new or known addresses)
    without writing anyone; the progress is kept on the job as a real run keeps it."""
    # The same lookup as batch_write's, without its lock: nothing here is changed.
    known = supporters_by_emails(emails=[r.email for r in rows])
    for r in _one_row_per_person(rows, known, outcome):
        if r.email.lower() in known:
            outcome.updated += 1
        else:
            outcome.created += 1
    _progress_save(job=job, rows_done=rows_done, outcome=outcome)
