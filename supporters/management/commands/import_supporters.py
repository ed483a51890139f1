import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supporters.organize.imports import (
    ImportFileError,
    ImportOptions,
    error_report_csv,
    import_execute,
    mapping_saved,
    sheet_columns,
    sheet_open,
)
from supporters.organize.imports.encodings import ENCODINGS
from supporters.organize.imports.mapping import TAG_SEPARATORS
from supporters.organize.imports.reading import DELIMITERS
from supporters.organize.imports.spellings import FIELDS, columns_propose
from supporters.organize.models import Import, ImportMapping

DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", ",": ",", ";": ";"}
IGNORED = ("", "-", "ignore")


class Command(BaseCommand):
    help = (
        "Import supporters from a CSV, TSV or .xlsx file. Columns are recognised by their "
        "usual names (Russian, English, CiviCRM and Action Network exports); --map and "
        "--mapping choose others. Upserts by email; each refused row is reported with its "
        "reason; --dry-run checks every row and writes no one."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--errors", type=Path, help="write the error report (row, field, reason) here"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help=f"read a column as a field (or 'ignore' it); fields: {', '.join(FIELDS)}",
        )
        parser.add_argument("--mapping", help="the columns and settings of a saved mapping")
        parser.add_argument(
            "--consent-source", help="where the consents were given, for rows that do not say"
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            help="language of new supporters whose row gives none",
        )
        parser.add_argument("--country", help="country of towns named without one (e.g. RU)")
        parser.add_argument(
            "--tag-separator",
            choices=[s for s in TAG_SEPARATORS if s],
            help="the one separator of tags (default: any of | , ;)",
        )
        parser.add_argument("--encoding", choices=list(ENCODINGS), help="default: guessed")
        parser.add_argument("--delimiter", choices=list(DELIMITER_NAMES), help="default: guessed")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count every row; write no one"
        )

    def handle(self, *args, file: Path, errors: Path | None, **options):
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        saved = self._saved(options["mapping"])
        settings_ = self._options(options, saved)
        try:
            sheet = sheet_open(
                raw,
                filename=file.name,
                encoding=settings_.encoding,
                delimiter=settings_.delimiter,
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        if saved is None and (saved := mapping_saved(header_cells=sheet.header_cells)):
            self.stdout.write(f"the saved mapping “{saved.name}” has this header: using it")
            settings_ = self._options(options, saved)
        columns = columns_propose(sheet.header)
        if saved is not None:
            columns.update({k: v for k, v in saved.columns.items() if k in columns})
        columns.update(self._overrides(options["map"], sheet.header))
        try:
            columns = sheet_columns(sheet, columns)
        except ImportFileError as exc:
            raise CommandError(f'{exc} Use --map "HEADER=email".') from exc
        self._describe(sheet, columns)
        job = Import.objects.create(
            filename=file.name,
            path=str(file.resolve()),
            columns=columns,
            options=settings_.as_json(),
            dry_run=options["dry_run"],
        )
        started = time.monotonic()
        bar = _ProgressBar(sys.stderr if sys.stderr.isatty() else None, plain=self.stdout)
        job = import_execute(import_id=job.pk, progress=bar.update)
        bar.close()
        if job.status == Import.Status.FAILED:
            raise CommandError(job.message)
        problems = f"{job.failed} problem" + ("" if job.failed == 1 else "s")
        if job.dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"dry run, nothing written: {job.rows_done} rows in "
                    f"{time.monotonic() - started:.1f}s: {job.created} would be new, "
                    f"{job.updated} would be updated, {problems}"
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{job.rows_done} rows in {time.monotonic() - started:.1f}s: "
                    f"{job.created} new, {job.updated} updated, {problems}"
                )
            )
        if job.failed:
            report = errors or file.with_name(f"{file.stem}.errors.csv")
            report.write_text(error_report_csv(job), encoding="utf-8")
            self.stdout.write(f"rows not imported, with the reason: {report}")
            for e in job.errors[:10]:
                self.stdout.write(f"  row {e['row']}: {e['field']}: {e['reason']}")

    def _saved(self, name: str | None) -> ImportMapping | None:
        if not name:
            return None
        try:
            return ImportMapping.objects.get(name=name)
        except ImportMapping.DoesNotExist as exc:
            known = ", ".join(ImportMapping.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No saved mapping “{name}” (saved: {known}).") from exc

    def _options(self, options: dict, saved: ImportMapping | None) -> ImportOptions:
        """The saved mapping's settings, and over them the ones given here."""
        given = {
            "encoding": options["encoding"],
            "delimiter": DELIMITER_NAMES.get(options["delimiter"] or ""),
            "consent_source": " ".join((options["consent_source"] or "").split())[:200],
            "language": options["language"],
            "country": self._country(options["country"]),
            "tag_separator": options["tag_separator"],
        }
        base = saved.options if saved is not None else {}
        return ImportOptions.of({**base, **{k: v for k, v in given.items() if v}})

    def _country(self, text: str | None) -> str:
        from supporters.organize.imports.mapping import country_code

        if not text:
            return ""
        if not (code := country_code(text)):
            raise CommandError(f"--country: not a country we know: {text} (e.g. RU)")
        return code

    def _overrides(self, pairs: list[str], header: list[str]) -> dict[str, str]:
        """--map "Header=field": the header as in the file (in any case)."""
        by_name = {name.casefold(): name for name in header if name}
        chosen = {}
        for pair in pairs:
            column, sep, field = pair.rpartition("=")
            column, field = column.strip(), field.strip().lower()
            if not sep or not column:
                raise CommandError(f'--map "{pair}": write it as "Header=field".')
            if column.casefold() not in by_name:
                names = ", ".join(n for n in header if n)
                raise CommandError(f"--map: the file has no column “{column}” (it has: {names})")
            if field not in FIELDS and field not in IGNORED:
                raise CommandError(f"--map: no field “{field}” (fields: {', '.join(FIELDS)})")
            chosen[by_name[column.casefold()]] = "" if field in IGNORED else field
        return chosen

    def _describe(self, sheet, columns: dict[str, str]) -> None:
        if sheet.kind == "xlsx":
            self.stdout.write("read as an .xlsx workbook (its first sheet)")
        else:
            self.stdout.write(
                f"read as {ENCODINGS[sheet.encoding]}, separated by {DELIMITERS[sheet.delimiter]}"
            )
        mapped = [f"{c} → {f}" for c, f in columns.items() if f]
        ignored = [c for c, f in columns.items() if not f]
        self.stdout.write(f"columns: {'; '.join(mapped)}")
        if ignored:
            self.stdout.write(f"ignored: {'; '.join(ignored)}")


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
