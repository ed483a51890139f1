"""Reading an import file: CSV or TSV text, or the first sheet of an .xlsx workbook, as
rows of cells by column, numbered as in a spreadsheet (the header is row 1)."""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supporters.organize.imports.encodings import ENCODINGS, UndecodableError, text_decode

DELIMITERS = {",": gettext_lazy("comma"), ";": gettext_lazy("semicolon"), "\t": gettext_lazy("tab")}
SPREADSHEET_SUFFIXES = (".xlsx",)
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_QUOTED = re.compile(r'"[^"]*"')


class ImportFileError(Exception):
    """The file as a whole cannot be read (no header, no email column...)."""


def decode(raw: bytes) -> str:
    """The text of a CSV file in the encoding it appears to be in (a BOM is dropped)."""
    return text_decode(raw).text


def delimiter_guess(line: str) -> str:
    """The separator the header line uses most outside quotes: ',', ';' or a tab."""
    bare = _QUOTED.sub("", line)
    counts = {d: bare.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def column_names(cells: list[str]) -> list[str]:
    """The header's cells, trimmed; a name met again is told apart as 'Name (2)'."""
    names, seen = [], set()
    for cell in cells:
        name = " ".join(cell.split())
        if name:
            base, n = name, 1
            while name.casefold() in seen:
                n += 1
                name = f"{base} ({n})"
            seen.add(name.casefold())
        names.append(name)
    return names


@dataclass(slots=True)
class Row:
    """A line with something in it, numbered as in a spreadsheet (the header is row 1)."""

    line: int
    # The cells by column name, or None when the line's fields do not match the header's.
    values: dict[str, str] | None
    width: int  # how many fields the line has


class Sheet:
    """A file's rows under its header; `header` holds the column names ('' for none)."""

    kind = ""
    encoding = ""
    delimiter = ""
    header: list[str]
    header_cells: list[str]  # as in the file

    def _lines(self) -> Iterator[list[str]]:
        raise NotImplementedError

    def _start(self) -> None:
        lines = self._lines()
        try:
            self.header_cells = next(lines)
            self.header = column_names(self.header_cells)
        except StopIteration as exc:
            raise ImportFileError(_("The file is empty.")) from exc
        if not any(self.header):
            raise ImportFileError(_("The first row names no columns: it must be the header."))

    def _filled(self) -> Iterator[tuple[int, list[str]]]:
        lines = self._lines()
        next(lines)
        for line, cells in enumerate(lines, start=2):
            if any(cell.strip() for cell in cells):
                yield line, cells

    def _fitted(self, cells: list[str]) -> list[str] | None:
        """The cells, one per column of the header, or None if the line does not fit."""
        width = len(self.header)
        if len(cells) == width:
            return cells
        if len(cells) > width and not any(c.strip() for c in cells[width:]):
            return cells[:width]  # separators at the end of the line
        return None

    def rows(self) -> Iterator[Row]:
        """Every line below the header that is not blank."""
        named = [(i, name) for i, name in enumerate(self.header) if name]
        for line, cells in self._filled():
            fitted = self._fitted(cells)
            values = None if fitted is None else {name: fitted[i] for i, name in named}
            yield Row(line=line, values=values, width=len(cells))

    def head(self, n: int) -> list[Row]:
        """The first `n` rows."""
        rows = []
        for row in self.rows():
            rows.append(row)
            if len(rows) == n:
                break
        return rows

    def count(self) -> int:
        """How many rows `rows()` yields."""
        return sum(1 for _ in self._filled())


class TextSheet(Sheet):
    """CSV text (comma-, semicolon- or tab-separated) whose first line names the columns."""

    kind = "csv"

    def __init__(self, text: str, *, delimiter: str = "", encoding: str = ""):
        self.text = text
        self.encoding = encoding
        if "\x00" in text.partition("\n")[0]:
            raise ImportFileError(
                _("This is not a text file. Save the spreadsheet as .xlsx or CSV.")
            )
        self.delimiter = delimiter or delimiter_guess(text.partition("\n")[0])
        self._start()

    def _lines(self) -> Iterator[list[str]]:
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)


def cell_text(value) -> str:
    """A spreadsheet cell as the text a CSV export would hold: dates in ISO, whole numbers
    without '.0' (phone numbers typed as numbers), TRUE/FALSE as yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


class WorkbookSheet(Sheet):
    """The first sheet of an .xlsx workbook: formulas as the values last calculated."""

    kind = "xlsx"

    def __init__(self, raw: bytes):
        self.raw = raw
        self._start()

    def _lines(self) -> Iterator[list[str]]:
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(self.raw), read_only=True, data_only=True)
            try:
                for cells in book.worksheets[0].iter_rows(values_only=True):
                    yield [cell_text(value) for value in cells]
            finally:
                book.close()
        except Exception as exc:
            # A damaged workbook fails in the zip, the XML or openpyxl's own checks, each
            # with exceptions of its own; all of them mean the same to the organizer.
            raise ImportFileError(_("This .xlsx file cannot be read; save it again.")) from exc

    def _fitted(self, cells: list[str]) -> list[str]:
        # A grid has no line too short; a cell right of the last named column is ignored.
        width = len(self.header)
        return (cells + [""] * width)[:width]


def sheet_open(raw: bytes, *, filename: str, encoding: str = "", delimiter: str = "") -> Sheet:
    """The file as a sheet: .xlsx by its name or content, else text in `encoding` (guessed
    if empty) separated by `delimiter` (guessed if empty)."""
    name = filename.lower()
    if name.endswith(SPREADSHEET_SUFFIXES) or raw.startswith(b"PK\x03\x04"):
        return WorkbookSheet(raw)
    if name.endswith((".xls", ".ods", ".numbers")):
        raise ImportFileError(_("Save the spreadsheet as .xlsx or CSV, then upload it again."))
    try:
        decoded = text_decode(raw, encoding=encoding)
    except UndecodableError as exc:
        raise ImportFileError(
            _("The file is not %(encoding)s text: choose another encoding.")
            % {"encoding": ENCODINGS.get(str(exc), str(exc))}
        ) from exc
    return TextSheet(decoded.text, delimiter=delimiter, encoding=decoded.encoding)
