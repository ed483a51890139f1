"""Importing supporters from CSV: the one service behind the command and the upload page.

Columns (header names, case-insensitive; `email` and a place, `location` or `lat` and
`lon`, are required):

    email                 the key: an address already on the list is updated, not duplicated
    name                  display name (default for a new person: the part of the email
                          before '@'; a known person keeps theirs when the cell is empty)
    phone                 optional
    language              en or ru (default for a new person: en; a known person keeps
                          theirs when the cell is empty)
    location              a city, postcode or address, placed by the gazetteer first, the
                          configured geocoder after; or
    lat, lon              a point, snapped to its hexagon (never stored as given)
    tags                  labels separated by '|' (or ',' inside a quoted field)
    joined_at             when the person joined (YYYY-MM-DD), default: the import
    consent_public_map, consent_introductions, consent_event_invitations,
    consent_email_updates yes/no (1/0, true/false, да/нет); an absent column or an empty
                          cell grants nothing; 'no' withdraws
    consent_source        where the consent was given (e.g. 'paper form, rally 2024-05')

Files may be UTF-8 (with or without BOM) or Windows-1251, comma- or semicolon-separated.
A bad row never stops the others: each problem is reported with row, field and reason.
Rows are written in batches, each batch in one transaction together with the progress, so
a restarted import resumes where it stopped.

reading.py turns the file into rows, validating.py each row into clean values or reasons
(a Django form sharing the join form's fields), writing.py writes a batch, report.py keeps
the counts and reasons, and jobs.py runs an import from the upload page, the worker or the
command.
"""

from supporters.organize.imports.jobs import import_create, import_execute, import_text
from supporters.organize.imports.reading import ImportFileError, decode
from supporters.organize.imports.report import Outcome, RowError, error_report_csv

__all__ = [
    "ImportFileError",
    "Outcome",
    "RowError",
    "decode",
    "error_report_csv",
    "import_create",
    "import_execute",
    "import_text",
]
