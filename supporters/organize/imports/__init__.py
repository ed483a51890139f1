"""Importing supporters from CSV, TSV or .xlsx: the one service behind the command and the
upload page.

A file's columns are mapped to fields (spellings.py proposes a field for each header in
its usual Russian, English, CiviCRM or Action Network spelling; the organizer may change
any; an unknown column is ignored). The fields (`email` and a place are required):

    email                 the key: an address already on the list is updated, not duplicated
    name, or first_name,  display name (default for a new person: the part of the email
    middle_name and       before '@'; a known person keeps theirs when the cells are empty)
    last_name
    phone                 optional
    language              en or ru (default: the file's language, else en; a known person
                          keeps theirs when the cell is empty)
    location, address,    the town, a street address, a postcode and a country, put together
    postcode, country     into one query for the gazetteer (then the configured geocoder);
                          none of them is kept: only the hexagon and the locality are; or
    lat, lon              a point, snapped to its hexagon (never stored as given)
    tags                  labels separated by '|', ',' or ';' (or the file's separator); any
                          number of columns
    joined_at             when the person joined (YYYY-MM-DD or DD.MM.YYYY), default: the import
    consent_public_map, consent_introductions, consent_event_invitations,
    consent_email_updates yes/no (1/0, true/false, да/нет); an absent column or an empty
                          cell grants nothing; 'no' withdraws
    email_opt_out         yes withdraws the email consent (CiviCRM's 'Do Not Email')
    consent_source        where the consent was given (default: the file's consent source)

Text files may be UTF-8 (with or without BOM), UTF-16, Windows-1251 or KOI8-R (guessed;
the organizer may choose), separated by commas, semicolons or tabs (guessed likewise).
A bad row never stops the others: each problem is reported with row, column and reason.
Rows are written in batches, each batch in one transaction together with the progress, so
a restarted import resumes where it stopped. A dry run checks and counts every row and
writes no one.

encodings.py and reading.py turn the file into rows, spellings.py and mapping.py rows into
values by field (and keep saved mappings), validating.py each row into clean values or
reasons (a Django form sharing the join form's fields), checking.py runs those on a batch,
writing.py writes (or counts) it, its new people, consents and tags with COPY (copying.py),
report.py keeps the counts and reasons, preview.py shows the first rows before anything is
written, and jobs.py runs an import from the upload page, the worker or the command.
"""

from supporters.organize.imports.jobs import (
    FileGone,
    import_after_dry_run,
    import_create,
    import_discard,
    import_execute,
    import_remap,
    import_sheet,
    import_start,
    import_text,
    sheet_columns,
)
from supporters.organize.imports.mapping import ImportOptions, import_mapping_save, mapping_saved
from supporters.organize.imports.preview import import_preview, import_sheet_open
from supporters.organize.imports.reading import ImportFileError, decode, sheet_open
from supporters.organize.imports.report import Outcome, RowError, error_report_csv

__all__ = [
    "FileGone",
    "ImportFileError",
    "ImportOptions",
    "Outcome",
    "RowError",
    "decode",
    "error_report_csv",
    "import_after_dry_run",
    "import_create",
    "import_discard",
    "import_execute",
    "import_mapping_save",
    "import_preview",
    "import_remap",
    "import_sheet",
    "import_sheet_open",
    "import_start",
    "import_text",
    "mapping_saved",
    "sheet_columns",
    "sheet_open",
]
