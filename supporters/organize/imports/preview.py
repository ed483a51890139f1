"""The mapping page's reads: an uploaded file's header and first rows, and how those rows
would be imported with a given mapping (nothing is written)."""

from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from geo.geocoding import Precision
from supporters.models import Purpose
from supporters.organize.imports.checking import RowChecker
from supporters.organize.imports.mapping import ImportOptions, columns_problems
from supporters.organize.imports.reading import ImportFileError, Sheet, sheet_open
from supporters.organize.models import Import

PREVIEW_ROWS = 10


def import_sheet_open(*, job: Import, encoding: str = "", delimiter: str = "") -> Sheet:
    """An upload's sheet, read in `encoding` with `delimiter` (each guessed if empty)."""
    try:
        raw = Path(job.path).read_bytes()
    except OSError as exc:
        raise ImportFileError(_("The uploaded file is gone; upload it again.")) from exc
    return sheet_open(raw, filename=job.filename, encoding=encoding, delimiter=delimiter)


@dataclass
class PreviewRow:
    line: int
    cells: list[str]  # as read, one per column of the header
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)
    email: str = ""
    name: str = ""
    place: str = ""
    precision: str = ""
    consents: list[tuple[str, bool]] = field(default_factory=list)  # (purpose, granted)
    tags: list[str] = field(default_factory=list)
    joined: str = ""
    language: str = ""


def import_preview(
    *, sheet: Sheet, columns: dict[str, str], options: ImportOptions, rows: int = PREVIEW_ROWS
) -> list[PreviewRow]:
    """The first rows as the import would read them: each placed, with its consents and
    tags, or with the reasons it would be refused. Nothing if the mapping cannot be used."""
    if columns_problems(columns):
        return []
    checker = RowChecker(header=sheet.header, columns=columns, options=options)
    shown = []
    for checked in checker.check(sheet.head(rows)):
        values = checked.row.values or {}
        row = PreviewRow(
            line=checked.row.line, cells=[values.get(name, "") for name in sheet.header]
        )
        if not checked.ok:
            row.reasons = [(e.field, e.reason) for e in checked.result]
        else:
            clean = checked.result
            where = clean.location
            row.email, row.name, row.tags = clean.email, clean.name, clean.tags
            row.place = ", ".join(p for p in (where.city, where.region, where.country_code) if p)
            row.precision = Precision(where.precision).label
            row.consents = [(Purpose(p).label, granted) for p, granted in clean.consents.items()]
            row.joined = clean.joined_at.date().isoformat() if clean.joined_at else ""
            row.language = clean.language
        shown.append(row)
    return shown
