"""An import from start to finish: rows read, checked and written (or, in a dry run,
counted) batch by batch; the upload kept until it is imported."""

import uuid
from collections.abc import Callable, Collection
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from supporters.organize.audit import audit_record_for_user
from supporters.organize.imports.checking import RowChecker
from supporters.organize.imports.mapping import (
    ImportOptions,
    columns_problems,
    import_mapping_save,
)
from supporters.organize.imports.reading import ImportFileError, Sheet, TextSheet, sheet_open
from supporters.organize.imports.report import Outcome, RowError
from supporters.organize.imports.spellings import columns_propose
from supporters.organize.imports.writing import batch_count, batch_write
from supporters.organize.models import AuditEntry, Import


def sheet_columns(sheet: Sheet, columns: dict[str, str] | None = None) -> dict[str, str]:
    """{column: field} for each named column of the sheet: as given (a column left out is
    ignored), or as proposed from the usual spellings; ImportFileError if rows cannot be
    read so (no email column, a field given twice...)."""
    if columns is None:
        columns = columns_propose(sheet.header)
    columns = {name: columns.get(name, "") for name in sheet.header if name}
    if problems := columns_problems(columns):
        raise ImportFileError(" ".join(problems))
    return columns


def _check_and_write(
    rows: list, checker: RowChecker, job, done: int, outcome: Outcome, dry_run: bool
) -> None:
    clean = []
    for checked in checker.check(rows):
        if checked.ok:
            clean.append(checked.result)
        else:
            outcome.errors.extend(checked.result)
    (batch_count if dry_run else batch_write)(rows=clean, job=job, rows_done=done, outcome=outcome)


def import_sheet(
    sheet: Sheet,
    *,
    columns: dict[str, str] | None = None,
    options: ImportOptions | None = None,
    job: Import | None = None,
    dry_run: bool = False,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    start_after: int = 0,
    refused_before: Collection[int] = (),
    outcome: Outcome | None = None,
    total: int | None = None,
) -> Outcome:
    """Import a sheet's rows (a dry run checks and counts them, writing no one). A resumed
    run skips the `start_after` rows done already, of which those not in `refused_before`
    were imported. `total`, the number of rows for progress, is counted here unless the
    caller already has it."""
    batch = batch or settings.SOSEDI_IMPORT_BATCH
    columns = sheet_columns(sheet, columns)
    options = options or ImportOptions()
    if total is None:
        total = sheet.count() if progress or job else 0
    outcome = outcome or Outcome()
    checker = RowChecker(header=sheet.header, columns=columns, options=options)
    refused_before = set(refused_before)
    pending = []
    done = 0
    for row in sheet.rows():
        done += 1
        if done <= start_after:  # done by an earlier run of this import
            if row.line not in refused_before:
                checker.remember(row)
            continue
        pending.append(row)
        if done % batch == 0:
            _check_and_write(pending, checker, job, done, outcome, dry_run)
            pending = []
            if progress:
                progress(done, total)
    _check_and_write(pending, checker, job, done, outcome, dry_run)
    if progress:
        progress(done, total)
    return outcome


def import_text(text: str, **kwargs) -> Outcome:
    """Import CSV text whose columns are named in the usual spellings."""
    return import_sheet(TextSheet(text), **kwargs)


# --- the upload page, the worker and the command -----------------------------------------


def _store(raw: bytes, suffix: str) -> Path:
    directory = Path(settings.SOSEDI_IMPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(raw)
    return path


def import_create(*, upload, user) -> Import:
    """Keep an uploaded file until its mapping is chosen (the import waits for it)."""
    suffix = ".xlsx" if upload.name.lower().endswith(".xlsx") else ".csv"
    path = _store(upload.read(), suffix)
    return Import.objects.create(
        filename=upload.name[:255], path=str(path), status=Import.Status.NEW, created_by=user
    )


def import_start(
    *,
    job: Import,
    columns: dict[str, str],
    options: ImportOptions,
    dry_run: bool,
    user,
    save_as: str = "",
    header_cells: list[str] | None = None,
) -> Import:
    """Queue a mapped upload for the worker, as a dry run or for real; the mapping is
    saved by name too when `save_as` names it."""
    from supporters.organize.tasks import import_run

    with transaction.atomic():
        if save_as:
            import_mapping_save(
                name=save_as,
                header_cells=header_cells or list(columns),
                columns=columns,
                options=options,
                user=user,
            )
        job.columns, job.options, job.dry_run = columns, options.as_json(), dry_run
        job.status = Import.Status.QUEUED
        job.save(update_fields=["columns", "options", "dry_run", "status"])
        import_run.defer(import_id=job.pk)
    return job


class FileGone(Exception):
    """The upload an import would read again has been imported or discarded."""


def import_after_dry_run(*, job: Import, user) -> Import:
    """Import for real a file a dry run checked, with the same mapping and settings."""
    from supporters.organize.tasks import import_run

    if not (job.dry_run and job.status == Import.Status.DONE and job.path):
        raise FileGone
    with transaction.atomic():
        real = Import.objects.create(
            filename=job.filename,
            path=job.path,
            columns=job.columns,
            options=job.options,
            created_by=user,
        )
        import_run.defer(import_id=real.pk)
    return real


def import_remap(*, job: Import, user) -> Import:
    """A new import of a dry run's file, waiting for its mapping (the dry run's, to begin
    with), so that the organizer can change it."""
    if not (job.dry_run and job.path):
        raise FileGone
    return Import.objects.create(
        filename=job.filename,
        path=job.path,
        columns=job.columns,
        options=job.options,
        status=Import.Status.NEW,
        created_by=user,
    )


def _is_upload(path: str) -> bool:
    """Whether a file is one the upload page keeps (others are the operator's)."""
    uploaded = Path(path) if path else None
    return bool(uploaded) and (
        uploaded.parent.resolve() == Path(settings.SOSEDI_IMPORT_DIR).resolve()
    )


def _discard_upload(job: Import) -> None:
    """Delete an uploaded file once it is imported or refused: it is a copy of everyone on
    it. Files given to the command from elsewhere are the operator's and stay."""
    if _is_upload(job.path):
        Path(job.path).unlink(missing_ok=True)
        # A dry run or a mapping of the same file has nothing left to read either.
        Import.objects.filter(path=job.path).exclude(pk=job.pk).update(path="")
        job.path = ""


@transaction.atomic
def import_discard(*, job: Import) -> bool:
    """Delete an upload nobody will import: an import still waiting for its mapping goes
    with it, a dry run stays (without its file). A file an import waits to read or is
    reading is kept. Whether anything was deleted."""
    busy = Import.Status.QUEUED, Import.Status.RUNNING
    if not job.path or Import.objects.filter(path=job.path, status__in=busy).exists():
        return False
    if job.status == Import.Status.NEW:
        _discard_upload(job)
        job.delete()
        return True
    if job.dry_run and job.status in (Import.Status.DONE, Import.Status.FAILED):
        _discard_upload(job)
        job.save(update_fields=["path"])
        return True
    return False


def imports_abandoned_discard(*, before) -> int:
    """Delete the uploads left before `before` and never imported: those still waiting for
    their mapping (the import goes too) and those of a finished dry run. How many."""
    left = Import.objects.filter(created_at__lt=before).exclude(path="").filter(
        status=Import.Status.NEW
    ) | Import.objects.filter(
        created_at__lt=before,
        dry_run=True,
        status__in=(Import.Status.DONE, Import.Status.FAILED),
    ).exclude(path="")
    return sum(import_discard(job=job) for job in left.order_by("pk"))


def _fail(job: Import, message: str) -> Import:
    job.status, job.message, job.finished_at = Import.Status.FAILED, message, timezone.now()
    if not job.dry_run:
        _discard_upload(job)
    job.save(update_fields=["status", "message", "finished_at", "path"])
    return job


def import_execute(*, import_id: int, progress: Callable[[int, int], None] | None = None) -> Import:
    """Run (or resume) an import; its progress, counts and errors are kept on the row. A
    dry run keeps its file, for the import that may follow it, and no audit entry: it
    shows nobody's data."""
    job = Import.objects.get(pk=import_id)
    if job.status in (Import.Status.DONE, Import.Status.NEW):
        return job
    options = ImportOptions.of(job.options)
    try:
        sheet = sheet_open(
            Path(job.path).read_bytes(),
            filename=job.filename,
            encoding=options.encoding,
            delimiter=options.delimiter,
        )
        columns = sheet_columns(sheet, job.columns or None)
        total = sheet.count()
    except (OSError, ImportFileError) as exc:
        return _fail(job, str(exc))
    resumed = Outcome(
        created=job.created,
        updated=job.updated,
        errors=[RowError(**e) for e in job.errors],
    )
    Import.objects.filter(pk=job.pk).update(
        status=Import.Status.RUNNING, rows_total=total, columns=columns
    )
    try:
        outcome = import_sheet(
            sheet,
            columns=columns,
            options=options,
            job=job,
            dry_run=job.dry_run,
            progress=progress,
            start_after=job.rows_done,
            refused_before={e.row for e in resumed.errors},
            outcome=resumed,
            total=total,
        )
    except ImportFileError as exc:
        job.refresh_from_db()
        return _fail(job, str(exc))
    job.refresh_from_db()
    job.status, job.finished_at = Import.Status.DONE, timezone.now()
    if not job.dry_run:
        _discard_upload(job)
    job.save(update_fields=["status", "finished_at", "path"])
    if not job.dry_run:
        audit_record_for_user(
            user=job.created_by,
            action=AuditEntry.Action.IMPORT,
            filter={"import": job.pk, "file": job.filename},
            row_count=outcome.created + outcome.updated,
            detail=f"{outcome.created} new, {outcome.updated} updated, "
            f"{len(outcome.errors)} errors",
        )
    return job
