"""How a file is read: its columns mapped to fields, the file's own settings, and the
mappings saved by name to be offered again for a file with the same header."""

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geo.countries import country_codes_for
from geo.gazetteer import normalise
from supporters.organize.imports.spellings import (
    FIELDS,
    MANY_COLUMNS,
    NAME_PARTS,
    PLACE_PARTS,
)
from supporters.organize.models import ImportMapping

# The tag separators an organizer can choose; '' splits at any of them.
TAG_SEPARATORS = {
    "": gettext_lazy("any of | , ;"),
    "|": "|",
    ",": ",",
    ";": ";",
    "/": "/",
}


@dataclass(frozen=True)
class ImportOptions:
    """A file's settings (Import.options): how it is read and what its rows leave out."""

    encoding: str = ""  # '' guessed
    delimiter: str = ""  # '' guessed from the header line
    consent_source: str = ""  # where a row's consents were given when the row does not say
    language: str = ""  # a new person's language when the row gives none ('' is English)
    country: str = ""  # two letters: the country of a town named without one
    tag_separator: str = ""  # '' is any of TAG_SEPARATORS

    # The settings a saved mapping keeps (how a file is read is found again from the file).
    SAVED = ("consent_source", "language", "country", "tag_separator")

    @classmethod
    def of(cls, data: dict | None) -> "ImportOptions":
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in (data or {}).items() if k in known and v})

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}

    def saved(self) -> dict:
        return {k: v for k, v in self.as_json().items() if k in self.SAVED}

    def default_language(self) -> str:
        return self.language if self.language in dict(settings.LANGUAGES) else "en"


def header_key(cells: list[str]) -> str:
    """What a saved mapping is found by: the header's cells, trimmed and lower-cased."""
    return hashlib.sha256("\n".join(c.strip().lower() for c in cells).encode()).hexdigest()


def columns_problems(columns: dict[str, str]) -> list[str]:
    """Why rows could not be read with this mapping ({column: field or ''}), if they can't."""
    by_field = defaultdict(list)
    for column, field in columns.items():
        if field:
            by_field[field].append(column)
    problems = [
        _("“%(column)s” is mapped to “%(field)s”, which is no field of an import.")
        % {"column": column, "field": field}
        for field, names in by_field.items()
        if field not in FIELDS
        for column in names
    ]
    if "email" not in by_field:
        problems.append(
            _(
                "The file has no 'email' column (the header is the first row): map one of "
                "its columns to the email address."
            )
        )
    for field, names in by_field.items():
        if len(names) > 1 and field in FIELDS and field not in MANY_COLUMNS:
            problems.append(
                _("%(columns)s are all mapped to “%(field)s”: keep one, ignore the others.")
                % {"columns": ", ".join(f"“{n}”" for n in names), "field": FIELDS[field]}
            )
    if ("lat" in by_field) != ("lon" in by_field):
        problems.append(_("Map both the latitude and the longitude, or neither."))
    if not any(f in by_field for f in ("location", "address", "postcode", "lat")):
        problems.append(
            _(
                "No column places the supporters: map a town, an address, a postcode, or "
                "the latitude and longitude."
            )
        )
    return problems


@lru_cache(maxsize=1024)
def country_code(text: str) -> str:
    """The two-letter code a country cell names ('RU', 'Russia'), or '' if none or several."""
    codes = country_codes_for(normalise(text)) if text.strip() else set()
    return next(iter(codes)) if len(codes) == 1 else ""


def place_query(*, town: str, address: str, postcode: str, country: str) -> str:
    """The text that places a row: the town first (so that with no street geocoder the
    town is found alone), then the street; a bare town or postcode gets its country."""
    if town and address:
        return f"{town}, {address}"
    if town:
        return f"{town}, {country}" if country and "," not in town else town
    if address:
        return address
    if postcode:
        return f"{postcode}, {country}" if country else postcode
    return ""


class RowShaper:
    """A row's cells by column become its values by field, as the row form takes them: a
    name put together from its parts, the place from town, address, postcode and country,
    the tags of several columns as one list."""

    def __init__(self, columns: dict[str, str], options: ImportOptions):
        self.sources: dict[str, list[str]] = defaultdict(list)
        for column, field in columns.items():
            if field in FIELDS:
                self.sources[field].append(column)
        self.options = options
        self.joiner = options.tag_separator or "|"
        self.single = {
            field: names[0]
            for field, names in self.sources.items()
            if field not in (*NAME_PARTS, *PLACE_PARTS, *MANY_COLUMNS)
        }
        self.parts = [self.sources[f][0] for f in NAME_PARTS if f in self.sources]
        self.place = {f: self.sources[f][0] for f in PLACE_PARTS if f in self.sources}
        self.tags = self.sources.get("tags", [])
        self.opt_outs = self.sources.get("email_opt_out", [])

    @property
    def fields(self) -> set[str]:
        """The fields the shaped values hold."""
        shaped = set(self.single)
        if self.parts:
            shaped.add("name")
        if self.place.keys() - {"country"}:
            shaped.add("location")
        if self.tags:
            shaped.add("tags")
        if self.opt_outs:
            shaped.add("email_opt_out")
        return shaped

    def shape(self, values: dict[str, str]) -> dict[str, str]:
        shaped = {field: values.get(column, "") for field, column in self.single.items()}
        if self.parts and not (shaped.get("name") or "").strip():
            shaped["name"] = " ".join(p for c in self.parts if (p := values[c].strip()))
        if self.place:
            cells = {f: " ".join(values[c].split()) for f, c in self.place.items()}
            shaped["location"] = place_query(
                town=cells.get("location", ""),
                address=cells.get("address", ""),
                postcode=cells.get("postcode", ""),
                country=country_code(cells.get("country", "")) or self.options.country,
            )
        if self.tags:
            shaped["tags"] = self.joiner.join(values[c] for c in self.tags if values[c].strip())
        if self.opt_outs:
            shaped["email_opt_out"] = "|".join(v for c in self.opt_outs if (v := values[c]))
        return shaped

    def reported_as(self, field: str) -> str:
        """How the report names a field: its column, when one column alone gives it."""
        if field in ("lat", "lon"):
            lat, lon = self.single.get("lat"), self.single.get("lon")
            return "lat/lon" if (lat, lon) == ("lat", "lon") or not lat else f"{lat}/{lon}"
        if field == "location":
            given = [c for f, c in self.place.items() if f != "country"]
            return given[0] if len(given) == 1 else field
        if field in MANY_COLUMNS and len(self.sources.get(field, [])) == 1:
            return self.sources[field][0]
        return self.single.get(field, field)


def mapping_saved(*, header_cells: list[str]) -> ImportMapping | None:
    """The mapping saved last for a file with this header, if any."""
    return (
        ImportMapping.objects.filter(header_key=header_key(header_cells))
        .order_by("-updated_at")
        .first()
    )


def import_mapping_save(
    *, name: str, header_cells: list[str], columns: dict, options: ImportOptions, user
) -> ImportMapping:
    """Save a mapping by name (replacing one of the same name)."""
    mapping, _created = ImportMapping.objects.update_or_create(
        name=name,
        defaults={
            "header_key": header_key(header_cells),
            "header": header_cells,
            "columns": columns,
            "options": options.saved(),
        },
        create_defaults={
            "header_key": header_key(header_cells),
            "header": header_cells,
            "columns": columns,
            "options": options.saved(),
            "created_by": user,
        },
    )
    return mapping
