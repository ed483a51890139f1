"""Reading an import file: its bytes become text, its lines rows of values by column."""

import csv
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass


class ImportFileError(Exception):
    """The file as a whole cannot be read (no header, no email column...)."""


def decode(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped) or, failing that, Windows-1251."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


@dataclass(slots=True)
class Row:
    """A line with something in it, numbered as in a spreadsheet (the header is row 1)."""

    line: int
    # The cells by column, or None when the line's fields do not match the header's.
    values: dict[str, str] | None
    width: int  # how many fields the line has


class Sheet:
    """CSV text, comma- or semicolon-separated, whose first line names the columns."""

    def __init__(self, text: str, *, columns: Collection[str]):
        self.text = text
        first_line = text.partition("\n")[0]
        self.delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        try:
            header = next(self._lines())
        except StopIteration as exc:
            raise ImportFileError("The file is empty.") from exc
        self.header = [h.strip().lower().replace(" ", "_") for h in header]
        if "email" not in self.header:
            raise ImportFileError("The file has no 'email' column (the header is the first row).")
        unknown = [h for h in self.header if h and h not in columns]
        if unknown:
            raise ImportFileError(f"Unknown columns: {', '.join(unknown)}.")
        if len(set(self.header)) != len(self.header):
            raise ImportFileError("A column name appears twice in the header.")

    def _lines(self) -> Iterator[list[str]]:
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)

    def _filled(self) -> Iterator[tuple[int, list[str]]]:
        lines = self._lines()
        next(lines)
        for line, cells in enumerate(lines, start=2):
            if any(cell.strip() for cell in cells):
                yield line, cells

    def rows(self) -> Iterator[Row]:
        """Every line below the header that is not blank."""
        width = len(self.header)
        for line, cells in self._filled():
            values = dict(zip(self.header, cells, strict=True)) if len(cells) == width else None
            yield Row(line=line, values=values, width=len(cells))

    def count(self) -> int:
        """How many rows `rows()` yields."""
        return sum(1 for _ in self._filled())
