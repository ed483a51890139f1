"""What an import came to: counts, and each refused row's field and reason."""

import csv
import io
from dataclasses import dataclass, field

from supporters.organize.models import Import

MAX_ERRORS_KEPT = 100_000


@dataclass
class RowError:
    row: int
    field: str
    reason: str


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def error_report_csv(job: Import) -> str:
    """The job's problems as CSV (row, field, reason), by row, with a BOM for spreadsheets."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(["row", "field", "reason"])
    for e in sorted(job.errors, key=lambda e: (e["row"], e["field"])):
        writer.writerow([e["row"], e["field"], e["reason"]])
    return buffer.getvalue()
