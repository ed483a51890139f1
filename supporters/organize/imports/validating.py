"""Validating an import row: its values by field become clean values, or the reasons
they cannot.

The row form uses the join and manage forms' fields for name, email, phone, language and
consents (supporters/forms.py), with the report's own wording for their errors. What a row
leaves out comes from the file's settings (ImportOptions): the consent source, the
language, the tag separator.
"""

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from geo.batch import BatchGeocoder
from geo.geocoding import GeocodingError, Location
from supporters.forms import (
    CONSENT_FIELDS,
    EmailAddressField,
    LanguageField,
    NameField,
    PhoneField,
)
from supporters.organize.imports.mapping import ImportOptions
from supporters.organize.imports.report import RowError
from supporters.organize.models import Tagging

# Besides the usual words: a Russian spreadsheet's TRUE and FALSE, and the email
# subscription statuses of Action Network ('bouncing' says nothing about consent).
YES = {"yes", "y", "1", "true", "да", "д", "+", "x", "истина", "subscribed"}
NO = {"no", "n", "0", "false", "нет", "н", "-", "ложь", "unsubscribed", "spam complaint"}
NO_ANSWER = {"bouncing"}
LANGUAGES = dict(settings.LANGUAGES)
NOT_AN_EMAIL = "not a valid email address"
NOT_A_PHONE = "not a valid phone number"
TEXTS_NEED_A_PHONE = "text messages need a phone number in the row"
NOT_A_PIN = "not a latitude and longitude"
NO_SOURCE = "say where the consent was given: a column, or the file's consent source"
NOT_A_PAST_DAY = "not a date (YYYY-MM-DD or DD.MM.YYYY) in the past"
# How the report names a field when it is not the column's name.
REPORTED_AS = {"lat": "lat/lon", "lon": "lat/lon"}
# Fields whose clean value (or error) depends on the cell alone, which lists repeat: a
# handful of languages, yes and no, dates, tags, sources. Each distinct cell is cleaned once
# per import (names, addresses and phones are mostly distinct: not worth remembering).
SAME_CELL_SAME_VALUE = {
    "language",
    "lat",
    "lon",
    "location",
    "tags",
    "joined_at",
    *CONSENT_FIELDS,
    "email_opt_out",
    "consent_source",
}
REMEMBERED_CELLS = 10_000  # per field: a column of distinct cells stops being remembered


@dataclass(slots=True)
class CleanRow:
    line: int
    email: str
    name: str
    phone: str
    language: str
    # Whether the row itself gave them: a known person keeps theirs otherwise.
    name_given: bool
    language_given: bool
    location: Location
    tags: list[str]
    joined_at: datetime | None
    consents: dict[str, bool]
    consent_source: str


class _Remembered:
    """A field's clean, remembered by cell: the value (a copy of a list) or the reasons."""

    def __init__(self, clean: Callable):
        self.clean = clean
        self.seen: dict[object, object] = {}

    def __call__(self, value):
        try:
            found = self.seen[value]
        except KeyError:
            try:
                found = self.clean(value)
            except ValidationError as exc:
                found = exc.with_traceback(None)
            if len(self.seen) < REMEMBERED_CELLS:
                self.seen[value] = found
        if isinstance(found, ValidationError):
            # A new error each time: raising one instance again would grow its traceback.
            raise ValidationError(found.error_list)
        return list(found) if isinstance(found, list) else found


class LanguageCodeField(LanguageField):
    """A language as lists spell it ('ru', 'RU', 'ru-RU', 'Russian'): its first two letters."""

    def to_python(self, value):
        return super().to_python(value).strip().lower()[:2]


class TagsField(forms.CharField):
    """Labels separated by '|', ',' or ';' (or by the file's one separator), tidied,
    without repeats."""

    max_tag = Tagging._meta.get_field("name").max_length
    separators = re.compile(r"[|,;]")

    def clean(self, value) -> list[str]:
        tags, problems = [], []
        for raw in self.separators.split(super().clean(value)):
            tag = " ".join(raw.split()).casefold()
            if len(tag) > self.max_tag:
                problems.append(f"tag longer than {self.max_tag} characters: {tag[:20]}…")
            elif tag and tag not in tags:
                tags.append(tag)
        if problems:
            raise ValidationError(problems)
        return tags


class DayField(forms.CharField):
    """A day as YYYY-MM-DD, or DD.MM.YYYY as Russian spreadsheets write it (a time after
    it ignored). Slashes are refused: 01/05/2024 is May or January depending on who typed
    it."""

    def clean(self, value) -> date | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
        try:
            return datetime.strptime(text.split()[0], "%d.%m.%Y").date()
        except ValueError as exc:
            raise ValidationError(NOT_A_PAST_DAY) from exc


class YesNoField(forms.CharField):
    """yes/no in the usual spellings (1/0, true/false, да/нет); empty is no answer (None)."""

    def clean(self, value) -> bool | None:
        answer = " ".join(super().clean(value).casefold().split())
        if not answer or answer in NO_ANSWER:
            return None
        if answer in YES:
            return True
        if answer in NO:
            return False
        raise ValidationError("not yes or no")


class AnyYesField(YesNoField):
    """Answers of several columns, separated by '|': yes if any says yes."""

    def clean(self, value) -> bool | None:
        answers = [super(AnyYesField, self).clean(a) for a in (value or "").split("|")]
        if any(answers):
            return True
        return False if False in answers else None


# One yes/no column per consent the join form asks for.
ConsentAnswers = type(
    "ConsentAnswers",
    (forms.Form,),
    {name: YesNoField(required=False) for name in CONSENT_FIELDS},
)


class RowForm(ConsentAnswers):
    """One row's cells by column; its fields are the columns an import knows."""

    email = EmailAddressField(
        error_messages={
            "required": "missing",
            "invalid": NOT_AN_EMAIL,
            "max_length": NOT_AN_EMAIL,
            "null_characters_not_allowed": NOT_AN_EMAIL,
        }
    )
    name = NameField(required=False, error_messages={"max_length": "longer than 100 characters"})
    phone = PhoneField(
        error_messages={
            "max_length": NOT_A_PHONE,
            "invalid_phone": NOT_A_PHONE,
            "null_characters_not_allowed": NOT_A_PHONE,
        }
    )
    language = LanguageCodeField(
        required=False, error_messages={"invalid_choice": "must be en or ru"}
    )
    lat = forms.CharField(required=False, error_messages={"null_characters_not_allowed": NOT_A_PIN})
    lon = forms.CharField(required=False, error_messages={"null_characters_not_allowed": NOT_A_PIN})
    location = forms.CharField(required=False)
    tags = TagsField(required=False)
    joined_at = DayField(required=False)
    # CiviCRM's 'Do Not Email' and the like: yes withdraws the email consent, no gives none.
    email_opt_out = AnyYesField(required=False)
    consent_source = forms.CharField(required=False)

    # Cleaned in this order: the place needs the language, the source the consents.
    field_order = [
        "email",
        "name",
        "phone",
        "language",
        "lat",
        "lon",
        "location",
        "tags",
        "joined_at",
        *CONSENT_FIELDS,
        "email_opt_out",
        "consent_source",
    ]

    # Cleaned even when the file lacks their column: their methods report or default.
    always = {"email", "name", "lat", "location", "consent_source"}

    def __init__(
        self,
        data: dict | None = None,
        *,
        columns: Collection[str],
        places: BatchGeocoder,
        options: ImportOptions | None = None,
    ):
        super().__init__(data)
        self.options = options or ImportOptions()
        self.default_language = self.options.default_language()
        if self.options.tag_separator:
            self.fields["tags"].separators = re.compile(re.escape(self.options.tag_separator))
        # A column the file does not have would clean to its field's empty value for every
        # row: it is left out, and row_validate takes that value.
        self.fields = {
            name: field
            for name, field in self.fields.items()
            if name in columns or name in self.always
        }
        for name in SAME_CELL_SAME_VALUE & self.fields.keys():
            self.fields[name].clean = _Remembered(self.fields[name].clean)
        self.places = places
        self.name_given = False
        # Looked up once: the current zone is a thread-local, slow to read for every row.
        self.zone = timezone.get_current_timezone()
        self.today = timezone.localdate(timezone=self.zone)
        self.noons: dict[date, datetime] = {}

    def bind(self, data: dict) -> "RowForm":
        """This form, bound to another row's cells and not yet cleaned. Its fields and bound
        fields are kept: a new form for each row (which copies every field) took more than
        twice as long as validating the row."""
        self.data, self.is_bound, self._errors = data, True, None
        self.name_given = False
        return self

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        self.name_given = bool(name)
        if not name:  # a new person's default: the part of the address before '@'
            name = (self.data.get("email") or "").strip().split("@")[0]
            if len(name) > self.fields["name"].max_length:
                raise ValidationError(self.fields["name"].error_messages["max_length"])
        return name

    def clean_joined_at(self) -> datetime | None:
        """The day, taken as its noon; a day after today is a mistake."""
        joined = self.cleaned_data["joined_at"]
        if joined is None:
            return None
        # Today as the import began, else (a date after it) as it is now.
        if joined > self.today and joined > timezone.localdate(timezone=self.zone):
            raise ValidationError(NOT_A_PAST_DAY)
        if joined not in self.noons:
            self.noons[joined] = timezone.make_aware(datetime.combine(joined, time(12)), self.zone)
        return self.noons[joined]

    def clean_location(self) -> Location | None:
        """The place: a pin (lat and lon) if given, else the location text."""
        language = self.cleaned_data.get("language") or self.default_language
        if cell(self.data, "lat") or cell(self.data, "lon"):
            try:
                lon, lat = coordinates(self.data)
                return self.places.pin(lon=lon, lat=lat, language=language)
            except ValueError:
                self.add_error("lat", NOT_A_PIN)
            except GeocodingError as exc:
                self.add_error("lat", exc.message)
            return None
        text = self.cleaned_data["location"]
        if not text:
            raise ValidationError("missing: give a place or lat and lon")
        try:
            return self.places.text(text, language)
        except GeocodingError as exc:
            raise ValidationError(exc.message) from exc

    def clean_consent_text_messages(self) -> bool | None:
        # A number the row gives, or none; a known person's stored one is not looked up
        # here, so a row that allows texts says where to send them.
        granted = self.cleaned_data.get("consent_text_messages")
        if granted and not self.cleaned_data.get("phone") and "phone" not in self.errors:
            raise ValidationError(TEXTS_NEED_A_PHONE)
        return granted

    def clean_consent_source(self) -> str:
        source = " ".join(self.cleaned_data["consent_source"].split())[:200]
        source = source or self.options.consent_source
        if any(self.cleaned_data.get(name) for name in CONSENT_FIELDS) and not source:
            raise ValidationError(NO_SOURCE)
        return source


def cell(values: dict, column: str) -> str:
    return (values.get(column) or "").strip()


def coordinates(values: dict) -> tuple[float, float]:
    """(lon, lat) from a row's lat and lon cells, a decimal comma allowed; else ValueError."""
    lat = float(cell(values, "lat").replace(",", "."))
    lon = float(cell(values, "lon").replace(",", "."))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("coordinates out of range")
    return lon, lat


def language_of(values: dict, default: str = "en") -> str:
    """The row's language if it gives a known one, else the file's."""
    code = RowForm.base_fields["language"].to_python(values.get("language"))
    return code if code in LANGUAGES else default


def places_prefetch(
    rows: list[tuple[int, dict]], *, places: BatchGeocoder, language: str = "en"
) -> None:
    """Place a batch's pins and towns in a few queries before its rows are validated."""
    pins, texts = [], []
    for _line, values in rows:
        if cell(values, "lat") or cell(values, "lon"):
            try:
                pins.append((*coordinates(values), language_of(values, language)))
            except ValueError:
                continue  # row_validate reports it
        elif text := cell(values, "location"):
            texts.append((text, language_of(values, language)))
    places.pins_prefetch(pins)
    places.texts_prefetch(texts)


def row_validate(
    line: int,
    values: dict,
    *,
    form: RowForm,
    reported_as: Callable[[str], str] | None = None,
) -> CleanRow | list[RowError]:
    """One row's clean values, or every problem found in it (each reason once), each named
    as `reported_as` names its field (by default: the field, 'lat/lon' for a pin)."""
    form.bind(values)
    if not form.is_valid():
        report = reported_as or (lambda name: REPORTED_AS.get(name, name))
        reasons = {
            (report(name), reason): None
            for name, messages in form.errors.items()
            for reason in messages
        }
        return [RowError(line, name, reason) for name, reason in reasons]
    data = form.cleaned_data
    language = data.get("language", "")
    consents = {
        purpose.value: granted
        for name, purpose in CONSENT_FIELDS.items()
        if (granted := data.get(name)) is not None
    }
    if data.get("email_opt_out"):
        consents[CONSENT_FIELDS["consent_email_updates"].value] = False
    return CleanRow(
        line=line,
        email=data["email"],
        name=data["name"],
        phone=data.get("phone", ""),
        language=language or form.default_language,
        name_given=form.name_given,
        language_given=bool(language),
        location=data["location"],
        tags=data.get("tags", []),
        joined_at=data.get("joined_at"),
        consents=consents,
        consent_source=data["consent_source"],
    )
