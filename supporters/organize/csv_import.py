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
"""

import csv
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import h3
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from geo import hexgrid
from geo.geocoding import GeocodingError, Location, Precision, geocode, geocode_each, locate_pin
from geo.nearest import places_nearest
from supporters.models import ConsentRecord, Purpose, Supporter
from supporters.organize.audit import audit_record_for_user
from supporters.organize.models import AuditEntry, ConsentSource, Import, Tagging

CONSENT_COLUMNS = {f"consent_{p.value}": p.value for p in Purpose}
KNOWN_COLUMNS = {
    "email",
    "name",
    "phone",
    "language",
    "location",
    "lat",
    "lon",
    "tags",
    "joined_at",
    "consent_source",
    *CONSENT_COLUMNS,
}
YES = {"yes", "y", "1", "true", "да", "д", "+", "x"}
NO = {"no", "n", "0", "false", "нет", "н", "-"}
MAX_ERRORS_KEPT = 100_000


class ImportFileError(Exception):
    """The file as a whole cannot be read (no header, no email column...)."""


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


def decode(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped) or, failing that, Windows-1251."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


def _reader(text: str) -> tuple[list[str], csv.reader]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
    except StopIteration as exc:
        raise ImportFileError("The file is empty.") from exc
    if "email" not in header:
        raise ImportFileError("The file has no 'email' column (the header is the first row).")
    unknown = [h for h in header if h and h not in KNOWN_COLUMNS]
    if unknown:
        raise ImportFileError(f"Unknown columns: {', '.join(unknown)}.")
    if len(set(header)) != len(header):
        raise ImportFileError("A column name appears twice in the header.")
    return header, reader


def count_rows(text: str) -> int:
    _header, reader = _reader(text)
    return sum(1 for row in reader if any(cell.strip() for cell in row))


@dataclass
class Parsed:
    line: int
    email: str
    name: str
    phone: str
    language: str
    # Whether the row itself gave them: a known person keeps theirs otherwise.
    name_given: bool
    language_given: bool
    location: Location | None
    tags: list[str]
    joined_at: datetime | None
    consents: dict[str, bool]
    consent_source: str


class _Locator:
    """Geocodes each distinct text or hexagon once per import (lists repeat cities a lot)."""

    def __init__(self, language: str = "en"):
        self.language = language
        self.by_text: dict[str, Location | GeocodingError] = {}
        self.by_cell: dict[tuple[int, str], Location] = {}

    @staticmethod
    def _key(query: str, language: str) -> str:
        return f"{language}|{' '.join(query.casefold().split())}"

    def prefetch_texts(self, texts: list[tuple[str, str]]) -> None:
        """Place a batch's town names with one query per language (exact gazetteer names);
        whatever that leaves is geocoded one by one by text()."""
        todo: dict[str, dict[str, str]] = {}
        for query, language in texts:
            if (key := self._key(query, language)) not in self.by_text:
                todo.setdefault(language, {})[key] = query
        for language, queries in todo.items():
            found = geocode_each(queries.values(), language=language)
            for key, query in queries.items():
                if query in found:
                    self.by_text[key] = found[query]

    def text(self, query: str, language: str) -> Location:
        key = self._key(query, language)
        if key not in self.by_text:
            try:
                self.by_text[key] = geocode(query, language=language)
            except GeocodingError as exc:
                self.by_text[key] = exc
        found = self.by_text[key]
        if isinstance(found, GeocodingError):
            raise found
        return found

    @staticmethod
    def _cell(lat: float, lon: float) -> int:
        return h3.str_to_int(h3.latlng_to_cell(lat, lon, settings.SOSEDI_H3_RESOLUTION))

    def prefetch(self, points: list[tuple[float, float, str]]) -> None:
        """Name the hexagons of a batch's points with one query (the nearest locality)."""
        todo = {}
        for lat, lon, language in points:
            key = (self._cell(lat, lon), language)
            if key not in self.by_cell and key not in todo:
                todo[key] = (lon, lat)
        for ((cell, language), (lon, lat)), place in zip(
            todo.items(), places_nearest(list(todo.values())), strict=True
        ):
            if place is None:
                continue  # point() asks again and reports why
            centre_cell, centre = hexgrid.snap(Point(lon, lat, srid=4326))
            self.by_cell[(cell, language)] = Location(
                cell=centre_cell,
                centre=centre,
                precision=Precision.STREET,
                source="import",
                city=place.display_name(language),
                region=place.region,
                country_code=place.country_code,
            )

    def point(self, lat: float, lon: float, language: str) -> Location:
        key = (self._cell(lat, lon), language)
        if key not in self.by_cell:
            self.by_cell[key] = locate_pin(lon=lon, lat=lat, language=language)
        return self.by_cell[key]


def _parse(line: int, values: dict, locator: _Locator, errors: list[RowError]) -> Parsed | None:
    """One row, checked field by field; every problem found goes to `errors`."""
    problems: list[RowError] = []

    def bad(field_name: str, reason: str):
        problems.append(RowError(line, field_name, reason))

    email = values.get("email", "").strip()
    try:
        validate_email(email)
    except ValidationError:
        bad("email", "not a valid email address" if email else "missing")
    name_given = " ".join(values.get("name", "").split())
    name = name_given or email.split("@")[0]
    if len(name) > 100:
        bad("name", "longer than 100 characters")
    phone = values.get("phone", "").strip()
    if len(phone) > 32 or (phone and not re.fullmatch(r"[0-9+()\-.\s]{3,32}", phone)):
        bad("phone", "not a phone number")
    language = _language(values)
    if values.get("language", "").strip() and values["language"].strip().lower()[:2] != language:
        bad("language", "must be en or ru")

    location = None
    text = values.get("location", "").strip()
    lat_text, lon_text = values.get("lat", "").strip(), values.get("lon", "").strip()
    if lat_text or lon_text:
        try:
            lat, lon = float(lat_text.replace(",", ".")), float(lon_text.replace(",", "."))
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError
            location = locator.point(lat, lon, language)
        except ValueError:
            bad("lat/lon", "not a latitude and longitude")
        except GeocodingError as exc:
            bad("lat/lon", exc.message)
    elif text:
        try:
            location = locator.text(text, language)
        except GeocodingError as exc:
            bad("location", exc.message)
    else:
        bad("location", "missing: give a place or lat and lon")

    tags = []
    for raw in values.get("tags", "").replace(",", "|").split("|"):
        tag = " ".join(raw.split()).casefold()
        if len(tag) > 50:
            bad("tags", f"tag longer than 50 characters: {tag[:20]}…")
        elif tag and tag not in tags:
            tags.append(tag)

    joined_at = None
    joined_text = values.get("joined_at", "").strip()
    if joined_text:
        try:
            joined = date.fromisoformat(joined_text[:10])
            if joined > timezone.localdate():
                raise ValueError
            joined_at = timezone.make_aware(datetime.combine(joined, time(12)))
        except ValueError:
            bad("joined_at", "not a date (YYYY-MM-DD) in the past")

    consents = {}
    for column, purpose in CONSENT_COLUMNS.items():
        cell = values.get(column, "").strip().casefold()
        if not cell:
            continue
        if cell in YES:
            consents[purpose] = True
        elif cell in NO:
            consents[purpose] = False
        else:
            bad(column, "not yes or no")
    source = " ".join(values.get("consent_source", "").split())[:200]
    if any(consents.values()) and not source:
        bad("consent_source", "say where the consent was given")

    if problems:
        errors.extend(problems)
        return None
    return Parsed(
        line=line,
        email=email,
        name=name,
        phone=phone,
        language=language,
        name_given=bool(name_given),
        language_given=bool(values.get("language", "").strip()),
        location=location,
        tags=tags,
        joined_at=joined_at,
        consents=consents,
        consent_source=source,
    )


def _location_fields(location: Location) -> dict:
    return {
        "cell": location.cell,
        "location": location.centre,
        "location_precision": location.precision,
        "location_source": location.source,
        "city": location.city,
        "region": location.region,
        "country_code": location.country_code,
    }


IMPORTED_WORDING = "imported"


def _consent_record(supporter_id, purpose: str, granted: bool, source: str) -> ConsentRecord:
    record = ConsentRecord(
        supporter_id=supporter_id,
        purpose=purpose,
        granted=granted,
        source=ConsentRecord.Source.IMPORT,
        # Not Sosedi's wording: the person agreed to someone else's, noted in ConsentSource.
        wording_version=IMPORTED_WORDING,
    )
    record.note = source
    return record


@transaction.atomic
def _write_batch(rows: list[Parsed], job: Import | None, rows_done: int, outcome: Outcome):
    """Upsert a batch: new people in bulk, known ones updated; progress in the same commit."""
    now = timezone.now()
    # lower(email) is what the unique index holds, so this is one index scan.
    existing = {
        s.email.lower(): s
        for s in Supporter.objects.select_for_update()
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=[r.email.lower() for r in rows])
    }
    new, records, taggings = [], [], []
    for r in rows:
        s = existing.get(r.email.lower())
        if s is None:
            sid = uuid.uuid4()
            new.append(
                Supporter(
                    id=sid,
                    email=r.email,
                    display_name=r.name,
                    phone=r.phone,
                    language=r.language,
                    status=Supporter.Status.ACTIVE,
                    created_at=r.joined_at or now,
                    confirmed_at=r.joined_at or now,
                    **_location_fields(r.location),
                    **{f"consent_{p}": v for p, v in r.consents.items()},
                )
            )
            records += [
                _consent_record(sid, p, True, r.consent_source) for p, v in r.consents.items() if v
            ]
            taggings += [Tagging(supporter_id=sid, name=t) for t in r.tags]
            outcome.created += 1
            continue
        changed = ["phone", *_location_fields(r.location)]
        s.phone = r.phone or s.phone
        if r.name_given:
            s.display_name = r.name
            changed.append("display_name")
        if r.language_given:
            s.language = r.language
            changed.append("language")
        for name, value in _location_fields(r.location).items():
            setattr(s, name, value)
        for purpose, granted in r.consents.items():
            if getattr(s, f"consent_{purpose}") != granted:
                setattr(s, f"consent_{purpose}", granted)
                changed.append(f"consent_{purpose}")
                records.append(_consent_record(s.pk, purpose, granted, r.consent_source))
        if s.status == Supporter.Status.PENDING:
            s.status, s.confirmed_at = Supporter.Status.ACTIVE, r.joined_at or now
            changed += ["status", "confirmed_at"]
        s.save(update_fields=changed)
        taggings += [Tagging(supporter_id=s.pk, name=t) for t in r.tags]
        outcome.updated += 1
    Supporter.objects.bulk_create(new)
    ConsentRecord.objects.bulk_create(records)
    ConsentSource.objects.bulk_create(
        ConsentSource(record=r, note=r.note or "(not given)", import_job=job) for r in records
    )
    Tagging.objects.bulk_create(taggings, ignore_conflicts=True)
    if job is not None:
        Import.objects.filter(pk=job.pk).update(
            rows_done=rows_done,
            created=outcome.created,
            updated=outcome.updated,
            failed=len(outcome.errors),
            errors=[e.__dict__ for e in outcome.errors[:MAX_ERRORS_KEPT]],
        )


def _language(values: dict) -> str:
    language = (values.get("language", "").strip().lower() or "en")[:2]
    return language if language in dict(settings.LANGUAGES) else "en"


def _floats(values: dict) -> tuple[float, float] | None:
    try:
        lat = float(values.get("lat", "").replace(",", "."))
        lon = float(values.get("lon", "").replace(",", "."))
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _parse_and_write(raw, locator: _Locator, job, done: int, outcome: Outcome) -> None:
    locator.prefetch([(*p, _language(values)) for _, values in raw if (p := _floats(values))])
    locator.prefetch_texts(
        [
            (text, _language(values))
            for _, values in raw
            if (text := values.get("location", "").strip())
            and not (values.get("lat", "").strip() or values.get("lon", "").strip())
        ]
    )
    parsed = [_parse(index, values, locator, outcome.errors) for index, values in raw]
    _write_batch([p for p in parsed if p is not None], job, done, outcome)


def import_text(
    text: str,
    *,
    job: Import | None = None,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    start_after: int = 0,
    outcome: Outcome | None = None,
) -> Outcome:
    """Import CSV text; rows numbered as in a spreadsheet (the header is row 1)."""
    batch = batch or settings.SOSEDI_IMPORT_BATCH
    header, reader = _reader(text)
    total = count_rows(text) if progress or job else 0
    outcome = outcome or Outcome()
    locator = _Locator()
    seen: dict[str, int] = {}
    raw: list[tuple[int, dict]] = []
    done = 0
    for index, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        done += 1
        if len(cells) != len(header):
            if done > start_after:
                outcome.errors.append(
                    RowError(index, "*", f"{len(cells)} fields where the header has {len(header)}")
                )
            continue
        values = dict(zip(header, cells, strict=True))
        key = values.get("email", "").strip().lower()
        if key and key in seen:
            if done > start_after:
                outcome.errors.append(
                    RowError(index, "email", f"the same address as row {seen[key]}, imported there")
                )
            continue
        if key:
            seen[key] = index
        if done <= start_after:
            continue  # done by an earlier run of this import
        raw.append((index, values))
        if done % batch == 0:
            _parse_and_write(raw, locator, job, done, outcome)
            raw = []
            if progress:
                progress(done, total)
    _parse_and_write(raw, locator, job, done, outcome)
    if progress:
        progress(done, total)
    return outcome


# --- the upload page and the command ----------------------------------------------------


def _store(raw: bytes, filename: str) -> Path:
    directory = Path(settings.SOSEDI_IMPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(raw)
    return path


def import_create(*, upload, user, queue: bool) -> Import:
    """Keep an uploaded file and queue its import for the worker."""
    from supporters.organize.tasks import import_run

    raw = upload.read()
    path = _store(raw, upload.name)
    with transaction.atomic():
        job = Import.objects.create(filename=upload.name[:255], path=str(path), created_by=user)
        if queue:
            import_run.defer(import_id=job.pk)
    return job


def _discard_upload(job: Import) -> None:
    """Delete an uploaded file once it is imported or refused: it is a copy of everyone on
    it. Files given to the command from elsewhere are the operator's and stay."""
    uploaded = Path(job.path) if job.path else None
    if uploaded and uploaded.parent.resolve() == Path(settings.SOSEDI_IMPORT_DIR).resolve():
        uploaded.unlink(missing_ok=True)
        job.path = ""


def import_execute(*, import_id: int, progress: Callable[[int, int], None] | None = None) -> Import:
    """Run (or resume) an import; its progress, counts and errors are kept on the row."""
    job = Import.objects.get(pk=import_id)
    if job.status == Import.Status.DONE:
        return job
    try:
        text = decode(Path(job.path).read_bytes())
        total = count_rows(text)
    except (OSError, ImportFileError) as exc:
        job.status, job.message, job.finished_at = Import.Status.FAILED, str(exc), timezone.now()
        _discard_upload(job)
        job.save(update_fields=["status", "message", "finished_at", "path"])
        return job
    resumed = Outcome(
        created=job.created,
        updated=job.updated,
        errors=[RowError(**e) for e in job.errors],
    )
    Import.objects.filter(pk=job.pk).update(status=Import.Status.RUNNING, rows_total=total)
    outcome = import_text(
        text, job=job, progress=progress, start_after=job.rows_done, outcome=resumed
    )
    job.refresh_from_db()
    job.status, job.finished_at = Import.Status.DONE, timezone.now()
    _discard_upload(job)
    job.save(update_fields=["status", "finished_at", "path"])
    audit_record_for_user(
        user=job.created_by,
        action=AuditEntry.Action.IMPORT,
        filter={"import": job.pk, "file": job.filename},
        row_count=outcome.created + outcome.updated,
        detail=f"{outcome.created} new, {outcome.updated} updated, {len(outcome.errors)} errors",
    )
    return job


def error_report_csv(job: Import) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(["row", "field", "reason"])
    for e in sorted(job.errors, key=lambda e: (e["row"], e["field"])):
        writer.writerow([e["row"], e["field"], e["reason"]])
    return buffer.getvalue()
