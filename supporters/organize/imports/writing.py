"""Writing an import's clean rows: people created or updated, their consents and tags."""

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from geo.geocoding import Location
from supporters.models import ConsentRecord, Supporter
from supporters.organize.imports.copying import ids_reserve, rows_copy
from supporters.organize.imports.report import MAX_ERRORS_KEPT, Outcome, RowError
from supporters.organize.imports.validating import CleanRow
from supporters.organize.models import ConsentSource, Import, Tagging
from supporters.selectors import supporters_by_emails
from supporters.services import supporter_location_fields

IMPORTED_WORDING = "imported"
IMPORTED_SOURCE = ConsentRecord.Source.IMPORT.value


# A Location's centre is its cell's: written out once per cell (as hex EWKB, exact) for as
# long as the process imports.
_CENTRES: dict[int, str] = {}


def _centre_text(location: Location) -> str:
    if location.cell not in _CENTRES:
        if len(_CENTRES) >= 100_000:
            _CENTRES.clear()
        _CENTRES[location.cell] = location.centre.hexewkb.decode()
    return _CENTRES[location.cell]


def _supporter_columns() -> list[str]:
    return [f.attname for f in Supporter._meta.concrete_fields]


def _new_supporter_rows(rows: list[CleanRow], ids: list[uuid.UUID], now) -> list[list]:
    """COPY rows for new people, in the order of _supporter_columns()."""
    columns = _supporter_columns()
    # What a row does not fill (the channel, the topics...) as the model's defaults give it.
    defaults = {f.attname: f.get_default() for f in Supporter._meta.concrete_fields}
    out = []
    for sid, r in zip(ids, rows, strict=True):
        fields = supporter_location_fields(r.location)
        fields["location"] = _centre_text(r.location)
        values = {
            **defaults,
            "id": sid,
            "email": r.email,
            "display_name": r.name,
            "phone": r.phone,
            "language": r.language,
            "status": Supporter.Status.ACTIVE.value,
            "created_at": r.joined_at or now,
            "confirmed_at": r.joined_at or now,
            **fields,
            **{f"consent_{p}": v for p, v in r.consents.items()},
        }
        out.append([values[name] for name in columns])
    return out


@dataclass(slots=True)
class _Consent:
    supporter_id: uuid.UUID
    purpose: str
    granted: bool
    source: str  # where the row says it was given


def _consents_copy(consents: list[_Consent], *, job: Import | None, now) -> None:
    """Each consent's record, under Sosedi's 'imported' wording (the person agreed to
    someone else's), and where it was given (ConsentSource), in two COPYs."""
    ids = ids_reserve(ConsentRecord, len(consents))
    rows_copy(
        ConsentRecord,
        ["id", "supporter_id", "purpose", "granted", "created_at", "source", "wording_version"],
        (
            (i, c.supporter_id, c.purpose, c.granted, now, IMPORTED_SOURCE, IMPORTED_WORDING)
            for i, c in zip(ids, consents, strict=True)
        ),
    )
    job_id = job.pk if job is not None else None
    rows_copy(
        ConsentSource,
        ["record_id", "note", "import_job_id"],
        ((i, c.source or "(not given)", job_id) for i, c in zip(ids, consents, strict=True)),
    )


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
    new, consents, new_tags, known_tags = [], [], [], []
    for r in rows:
        s = existing.get(r.email.lower())
        if s is None:
            sid = uuid.uuid4()
            new.append((sid, r))
            consents += [
                _Consent(sid, p, True, r.consent_source) for p, v in r.consents.items() if v
            ]
            new_tags += [(sid, t) for t in r.tags]
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
                consents.append(_Consent(s.pk, purpose, granted, r.consent_source))
        if s.status == Supporter.Status.PENDING:
            s.status, s.confirmed_at = Supporter.Status.ACTIVE, r.joined_at or now
            changed += ["status", "confirmed_at"]
        s.save(update_fields=changed)
        known_tags += [Tagging(supporter_id=s.pk, name=t) for t in r.tags]
        outcome.updated += 1
    if new:
        ids, new_rows = zip(*new, strict=True)
        rows_copy(Supporter, _supporter_columns(), _new_supporter_rows(new_rows, ids, now))
    if consents:
        _consents_copy(consents, job=job, now=now)
    # A new person's tags are new (each row's are without repeats); a known person's may
    # be there already.
    if new_tags:
        rows_copy(Tagging, ["supporter_id", "name"], new_tags)
    Tagging.objects.bulk_create(known_tags, ignore_conflicts=True)
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
