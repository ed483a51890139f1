"""Checking rows batch by batch, the same for an import, its dry run and its preview:
each row's cells shaped by the mapping, placed, validated, and held against the rows of
the file already imported."""

from dataclasses import dataclass

from geo.batch import BatchGeocoder
from supporters.organize.imports.mapping import ImportOptions, RowShaper
from supporters.organize.imports.reading import Row
from supporters.organize.imports.report import RowError
from supporters.organize.imports.validating import (
    CleanRow,
    RowForm,
    cell,
    places_prefetch,
    row_validate,
)


@dataclass(slots=True)
class Checked:
    row: Row
    # What the row was shaped into (None when its fields did not fit the header).
    values: dict | None
    result: CleanRow | list[RowError]

    @property
    def ok(self) -> bool:
        return isinstance(self.result, CleanRow)


class RowChecker:
    """One import's rows to clean values or reasons. A second row with an address is
    refused only when the first one is imported: a row refused for its own reasons
    leaves the address to the next row that has it, which is checked on its own."""

    def __init__(self, *, header: list[str], columns: dict[str, str], options: ImportOptions):
        self.width = len(header)
        self.options = options
        self.shaper = RowShaper(columns, options)
        self.places = BatchGeocoder(pin_source="import")
        # One form for every row (see RowForm.bind).
        self.form = RowForm(columns=self.shaper.fields, places=self.places, options=options)
        # Each address imported so far, with the row it was imported from.
        self.imported: dict[str, int] = {}

    def remember(self, row: Row) -> None:
        """A row an earlier run of this import wrote: its address is taken."""
        if row.values is not None:
            key = cell(self.shaper.shape(row.values), "email").lower()
            if key:
                self.imported.setdefault(key, row.line)

    def check(self, rows: list[Row]) -> list[Checked]:
        """The rows of a batch, in their order, each with its clean values or reasons."""
        shaped = [
            (row, None if row.values is None else self.shaper.shape(row.values)) for row in rows
        ]
        places_prefetch(
            [(row.line, values) for row, values in shaped if values is not None],
            places=self.places,
            language=self.options.default_language(),
        )
        return [Checked(row, values, self._check(row, values)) for row, values in shaped]

    def _check(self, row: Row, values: dict | None) -> CleanRow | list[RowError]:
        if values is None:
            reason = f"{row.width} fields where the header has {self.width}"
            return [RowError(row.line, "*", reason)]
        key = cell(values, "email").lower()
        if key in self.imported:
            reason = f"the same address as row {self.imported[key]}, imported there"
            return [RowError(row.line, self.shaper.reported_as("email"), reason)]
        checked = row_validate(
            row.line, values, form=self.form, reported_as=self.shaper.reported_as
        )
        if isinstance(checked, CleanRow):
            self.imported[key] = row.line
            self.imported.setdefault(checked.email.lower(), row.line)
        return checked
