"""An import from start to finish: rows read, validated and written batch by batch."""

import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from geo.batch import BatchGeocoder
from supporters.organize.audit import audit_record_for_user
from supporters.organize.imports.reading import ImportFileError, Sheet, decode
from supporters.organize.imports.report import Outcome, RowError
from supporters.organize.imports.validating import RowForm, places_prefetch, row_validate
from supporters.organize.imports.writing import batch_write
from supporters.organize.models import AuditEntry, Import


def sheet_read(text: str) -> Sheet:
    """The text as a sheet of the columns an import knows (ImportFileError if it is not)."""
    return Sheet(text, columns=RowForm.base_fields)


def _validate_and_write(
    rows: list[tuple[int, dict]], form: RowForm, job, done: int, outcome: Outcome
) -> None:
    places_prefetch(rows, places=form.places)
    clean = []
    for line, values in rows:
        checked = row_validate(line, values, form=form)
        if isinstance(checked, list):
            outcome.errors.extend(checked)
        else:
            clean.append(checked)
    batch_write(rows=clean, job=job, rows_done=done, outcome=outcome)


def import_text(
    text: str,
    *,
    job: Import | None = None,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    start_after: int = 0,
    outcome: Outcome | None = None,
    total: int | None = None,
) -> Outcome:
    """Import CSV text; rows numbered as in a spreadsheet (the header is row 1). `total`,
    the number of rows for progress, is counted here unless the caller already has it."""
    batch = batch or settings.SOSEDI_IMPORT_BATCH
    sheet = sheet_read(text)
    if total is None:
        total = sheet.count() if progress or job else 0
    outcome = outcome or Outcome()
    # One form for every row (see RowForm.bind).
    form = RowForm(columns=sheet.header, places=BatchGeocoder(pin_source="import"))
    seen: dict[str, int] = {}
    pending: list[tuple[int, dict]] = []
    done = 0
    for row in sheet.rows():
        done += 1
        if row.values is None:
            if done > start_after:
                outcome.errors.append(
                    RowError(
                        row.line,
                        "*",
                        f"{row.width} fields where the header has {len(sheet.header)}",
                    )
                )
            continue
        key = row.values.get("email", "").strip().lower()
        if key and key in seen:
            if done > start_after:
                outcome.errors.append(
                    RowError(
                        row.line, "email", f"the same address as row {seen[key]}, imported there"
                    )
                )
            continue
        if key:
            seen[key] = row.line
        if done <= start_after:
            continue  # done by an earlier run of this import
        pending.append((row.line, row.values))
        if done % batch == 0:
            _validate_and_write(pending, form, job, done, outcome)
            pending = []
            if progress:
                progress(done, total)
    _validate_and_write(pending, form, job, done, outcome)
    if progress:
        progress(done, total)
    return outcome


# --- the upload page and the command ----------------------------------------------------


def _store(raw: bytes) -> Path:
    directory = Path(settings.SOSEDI_IMPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(raw)
    return path


def import_create(*, upload, user, queue: bool) -> Import:
    """Keep an uploaded file and queue its import for the worker."""
    from supporters.organize.tasks import import_run

    path = _store(upload.read())
    with transaction.atomic():
        job = Import.objects.create(filename=upload.name[:255], path=str(path), created_by=user)
        if queue:
            import_run.defer(import_id=job.pk)
    return job


def _discard_upload(job: Import) -> None:
    """Delete an uploaded file once it is imported or refused: it is a copy of everyone on
    it. Files given to the command from elsewhere are the operator's and stay."""
    uploaded = Path(job.path) if job.path else None
    if uploaded and uploaded.parent.resolve() == Path(settings.SOSEDI_IMPORT_DIR).resolve():
        uploaded.unlink(missing_ok=True)
        job.path = ""


def import_execute(*, import_id: int, progress: Callable[[int, int], None] | None = None) -> Import:
    """Run (or resume) an import; its progress, counts and errors are kept on the row."""
    job = Import.objects.get(pk=import_id)
    if job.status == Import.Status.DONE:
        return job
    try:
        text = decode(Path(job.path).read_bytes())
        total = sheet_read(text).count()
    except (OSError, ImportFileError) as exc:
        job.status, job.message, job.finished_at = Import.Status.FAILED, str(exc), timezone.now()
        _discard_upload(job)
        job.save(update_fields=["status", "message", "finished_at", "path"])
        return job
    resumed = Outcome(
        created=job.created,
        updated=job.updated,
        errors=[RowError(**e) for e in job.errors],
    )
    Import.objects.filter(pk=job.pk).update(status=Import.Status.RUNNING, rows_total=total)
    outcome = import_text(
        text, job=job, progress=progress, start_after=job.rows_done, outcome=resumed, total=total
    )
    job.refresh_from_db()
    job.status, job.finished_at = Import.Status.DONE, timezone.now()
    _discard_upload(job)
    job.save(update_fields=["status", "finished_at", "path"])
    audit_record_for_user(
        user=job.created_by,
        action=AuditEntry.Action.IMPORT,
        filter={"import": job.pk, "file": job.filename},
        row_count=outcome.created + outcome.updated,
        detail=f"{outcome.created} new, {outcome.updated} updated, {len(outcome.errors)} errors",
    )
    return job
