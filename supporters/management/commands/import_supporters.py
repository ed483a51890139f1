import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from supporters.organize.imports import decode, error_report_csv, import_execute
from supporters.organize.models import Import


class Command(BaseCommand):
    help = (
        "Import supporters from a CSV file (UTF-8 or Windows-1251, comma or semicolon); "
        "columns: email, name, phone, language, location or lat/lon, tags, joined_at, "
        "consent_<purpose>, consent_source. Upserts by email; bad rows are reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--errors", type=Path, help="write the error report (row, field, reason) here"
        )

    def handle(self, *args, file: Path, errors: Path | None, **options):
        try:
            raw = file.read_bytes()
            decode(raw)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        job = Import.objects.create(filename=file.name, path=str(file.resolve()))
        started = time.monotonic()
        bar = _ProgressBar(sys.stderr if sys.stderr.isatty() else None, plain=self.stdout)
        job = import_execute(import_id=job.pk, progress=bar.update)
        bar.close()
        if job.status == Import.Status.FAILED:
            raise CommandError(job.message)
        self.stdout.write(
            self.style.SUCCESS(
                f"{job.rows_done} rows in {time.monotonic() - started:.1f}s: "
                f"{job.created} new, {job.updated} updated, {job.failed} problems"
            )
        )
        if job.failed:
            report = errors or file.with_name(f"{file.stem}.errors.csv")
            report.write_text(error_report_csv(job), encoding="utf-8")
            self.stdout.write(f"rows not imported, with the reason: {report}")
            for e in job.errors[:10]:
                self.stdout.write(f"  row {e['row']}: {e['field']}: {e['reason']}")


class _ProgressBar:
    """A one-line progress bar on the terminal; plain lines every 10 % when piped."""

    def __init__(self, stream, *, plain):
        self.stream = stream
        self.plain = plain
        self.last_tenth = -1

    def update(self, done: int, total: int) -> None:
        share = done / total if total else 1
        if self.stream is None:
            tenth = int(share * 10)
            if tenth != self.last_tenth:
                self.last_tenth = tenth
                self.plain.write(f"{done}/{total} rows ({share:.0%})")
            return
        filled = int(share * 40)
        self.stream.write(f"\r[{'#' * filled}{'.' * (40 - filled)}] {done}/{total} ({share:.0%})")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
