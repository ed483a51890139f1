"""Forms of the organizer workspace: filters, segments, mail, uploads, second factor."""

import json
from dataclasses import fields as dataclass_fields

from django import forms
from django.conf import settings
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point, Polygon
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from geo.countries import country_codes_for
from geo.gazetteer import normalise
from supporters.models import LocalGroup, Purpose, Supporter, Topic
from supporters.organize.imports import (
    ImportFileError,
    ImportOptions,
    import_sheet_open,
    mapping_saved,
    sheet_open,
)
from supporters.organize.imports.encodings import ENCODINGS
from supporters.organize.imports.mapping import TAG_SEPARATORS, columns_problems, header_key
from supporters.organize.imports.reading import DELIMITERS
from supporters.organize.imports.spellings import FIELDS, columns_propose
from supporters.organize.selectors import SupporterFilter

MAX_POLYGON_VERTICES = 500


def _split_tags(text: str) -> tuple[str, ...]:
    seen = []
    for raw in text.replace("|", ",").split(","):
        tag = " ".join(raw.split()).casefold()[:50]
        if tag and tag not in seen:
            seen.append(tag)
    return tuple(seen)


def _clean_country(text: str) -> str:
    country = text.strip().upper()
    if country and not country.isalpha():
        raise ValidationError(_("Two letters, e.g. RU."))
    return country


def _check_dates(data: dict) -> None:
    start, end = data.get("joined_from"), data.get("joined_to")
    if start and end and start > end:
        raise ValidationError(_("The start date is after the end date."))


class FilterForm(forms.Form):
    purpose = forms.ChoiceField(
        label=_("Consent"), required=False, choices=[("", _("any"))] + Purpose.choices
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any"))] + Supporter.Status.choices
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=300, help_text=_("comma-separated; any")
    )
    joined_from = forms.DateField(label=_("Joined from"), required=False)
    joined_to = forms.DateField(label=_("Joined until"), required=False)
    country = forms.CharField(label=_("Country code"), required=False, max_length=2)
    region = forms.CharField(label=_("Region"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        # The dashboard shows this form beside the segment form, whose fields share names.
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)

    def clean_country(self):
        return _clean_country(self.cleaned_data["country"])

    def clean(self):
        data = super().clean()
        _check_dates(data)
        return data

    def filters(self) -> SupporterFilter:
        d = self.cleaned_data
        return SupporterFilter(
            purpose=d["purpose"],
            status=d["status"],
            tags=_split_tags(d["tags"]),
            joined_from=d["joined_from"],
            joined_to=d["joined_to"],
            country=d["country"],
            region=d["region"].strip(),
        )


class HotspotForm(forms.Form):
    eps_km = forms.FloatField(
        label=_("Neighbours within (km)"), min_value=0.3, max_value=10, required=False
    )
    min_supporters = forms.IntegerField(
        label=_("At least (supporters)"), min_value=2, max_value=100000, required=False
    )


class SegmentForm(forms.Form):
    """An area (a drawn polygon as GeoJSON, or a circle), tags and a consent purpose."""

    name = forms.CharField(label=_("Segment name"), max_length=120)
    area = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100_000)
    lat = forms.FloatField(label=_("Centre latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(
        label=_("Centre longitude"), required=False, min_value=-180, max_value=180
    )
    radius_km = forms.FloatField(
        label=_("Radius (km)"), required=False, min_value=0.1, max_value=500
    )
    tags = forms.CharField(label=_("Tags"), required=False, max_length=300)
    purpose = forms.ChoiceField(
        label=_("Consent"), required=False, choices=[("", _("any"))] + Purpose.choices
    )
    group = forms.ModelChoiceField(
        label=_("Members of the local group"),
        required=False,
        # Groups that have been public (a proposal may yet be deleted with its founder).
        queryset=LocalGroup.objects.filter(
            status__in=[
                LocalGroup.Status.APPROVED,
                LocalGroup.Status.SUSPENDED,
                LocalGroup.Status.ARCHIVED,
            ]
        ).order_by("name"),
        empty_label=_("any"),
    )
    # The dashboard's other filters, carried from it unchanged (shown as a summary).
    country = forms.CharField(required=False, max_length=2, widget=forms.HiddenInput)
    region = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    joined_from = forms.DateField(required=False, widget=forms.HiddenInput)
    joined_to = forms.DateField(required=False, widget=forms.HiddenInput)

    @classmethod
    def from_filters(cls, filters: SupporterFilter) -> "SegmentForm":
        """An empty segment that keeps the dashboard's filters (all but the status)."""
        return cls(
            initial={
                "purpose": filters.purpose,
                "tags": ",".join(filters.tags),
                "country": filters.country,
                "region": filters.region,
                "joined_from": filters.joined_from,
                "joined_to": filters.joined_to,
            }
        )

    def segment_fields(self) -> dict:
        """The segment the valid form describes, as the fields of a Segment."""
        d = self.cleaned_data
        return {
            "name": d.get("name") or "",
            "area": d["area"],
            "centre": d["centre"],
            "radius_km": d["radius_km"] if d["centre"] else None,
            "tags": d["tag_list"],
            "purpose": d["purpose"],
            "country_code": d["country"],
            "region": d["region"],
            "joined_from": d["joined_from"],
            "joined_to": d["joined_to"],
            "group": d.get("group"),
        }

    def clean_country(self):
        return _clean_country(self.cleaned_data["country"])

    def clean_region(self):
        return self.cleaned_data["region"].strip()

    def clean_area(self) -> Polygon | None:
        text = self.cleaned_data["area"].strip()
        if not text:
            return None
        try:
            geometry = GEOSGeometry(json.dumps(json.loads(text).get("geometry", json.loads(text))))
        except (ValueError, GEOSException, AttributeError, TypeError) as exc:
            raise ValidationError(_("The drawn area could not be read; draw it again.")) from exc
        geometry.srid = 4326
        if geometry.geom_type != "Polygon" or not geometry.valid:
            raise ValidationError(_("Draw the area as one polygon whose sides do not cross."))
        if geometry.num_coords > MAX_POLYGON_VERTICES:
            raise ValidationError(_("The area has too many corners."))
        return geometry

    def clean(self):
        data = super().clean()
        circle = [data.get("lat"), data.get("lon"), data.get("radius_km")]
        if any(v is not None for v in circle) and not all(v is not None for v in circle):
            raise ValidationError(_("A circle needs a centre (latitude, longitude) and a radius."))
        if data.get("area") is not None and all(v is not None for v in circle):
            raise ValidationError(_("Choose a drawn area or a circle, not both."))
        data["centre"] = (
            Point(data["lon"], data["lat"], srid=4326)
            if all(v is not None for v in circle)
            else None
        )
        data["tag_list"] = list(_split_tags(data.get("tags", "")))
        _check_dates(data)
        return data


class MailingForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Message"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "Plain text. “{name}” becomes each person's name; an unsubscribe link is added."
        ),
    )
    topic = forms.ChoiceField(
        label=_("Topic"),
        choices=[("", _("a general update (no particular topic)"))] + Topic.choices,
        required=False,
        help_text=_("With a topic, it goes only to those who chose that topic or no topic at all."),
    )
    call_to_action = forms.BooleanField(
        label=_("Call to action"),
        required=False,
        help_text=_(
            "Something to do now (a petition, a protest). It also reaches those who want "
            "only calls to action, and those who chose weekly or monthly mail and already "
            "had a mailing this week or month."
        ),
    )
    # What the page counted when it showed the numbers: the count, for this topic and kind.
    confirm_count = forms.IntegerField(widget=forms.HiddenInput)
    counted_topic = forms.ChoiceField(
        choices=[("", "")] + Topic.choices, required=False, widget=forms.HiddenInput
    )
    counted_call_to_action = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def counted_as_shown(self, *, recipients: int) -> bool:
        """Whether the numbers on the page were for what is being sent, and still hold."""
        d = self.cleaned_data
        return (
            d["confirm_count"] == recipients
            and d["counted_topic"] == d["topic"]
            and d["counted_call_to_action"] == d["call_to_action"]
        )


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self):
        return "".join(self.cleaned_data["token"].split())


class SecondStepForm(TokenForm):
    """The login's second step: the app's 6-digit code or an 8-character recovery code."""

    token = forms.CharField(
        label=_("6-digit code or recovery code"),
        max_length=16,
        # Recovery codes have letters, so no numeric keypad; they are lower case.
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self):
        return super().clean_token().lower()


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV, TSV or .xlsx file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".tsv", ".txt", ".xlsx")):
            raise ValidationError(_("Upload a .csv, .tsv or .xlsx file."))
        raw = upload.read()
        upload.seek(0)
        try:
            sheet_open(raw, filename=upload.name)
        except ImportFileError as exc:
            raise ValidationError(str(exc)) from exc
        return upload


class ImportMappingForm(forms.Form):
    """How an uploaded file is read: its encoding and separator (shown as guessed), a field
    for each column (as proposed, saved or chosen before), the file's settings, and a name
    to save the mapping under. Posted with another encoding or separator that changes the
    header, the columns are proposed afresh instead of being checked."""

    ACTIONS = ("preview", "dry_run", "import")

    encoding = forms.ChoiceField(label=_("Encoding"))
    delimiter = forms.ChoiceField(label=_("Separator"))
    consent_source = forms.CharField(
        label=_("Consent source for the whole file"),
        max_length=200,
        required=False,
        help_text=_("Used for every row that grants a consent and does not say where."),
    )
    language = forms.ChoiceField(
        label=_("Language of new supporters"),
        choices=[("", _("as each row says, else English")), *settings.LANGUAGES],
        required=False,
        help_text=_("For rows without a language."),
    )
    country = forms.CharField(
        label=_("Country of the towns"),
        max_length=60,
        required=False,
        help_text=_(
            "Two letters (RU) or a name: towns named without a country are looked for there first."
        ),
    )
    tag_separator = forms.ChoiceField(label=_("Tags are separated by"), required=False)
    save_as = forms.CharField(
        label=_("Save this mapping as"),
        max_length=100,
        required=False,
        help_text=_("Offered again for a file with the same header."),
    )
    header_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data=None, *, job):
        stored = ImportOptions.of(job.options)
        reading = {
            "encoding": _posted_choice(data, "encoding", ENCODINGS, stored.encoding),
            "delimiter": _posted_choice(data, "delimiter", DELIMITERS, stored.delimiter),
        }
        self.file_error, self.sheet, self.saved = "", None, None
        try:
            self.sheet = import_sheet_open(job=job, **reading)
        except ImportFileError as exc:
            self.file_error = str(exc)
        header = self.sheet.header if self.sheet else []
        key = header_key(self.sheet.header_cells) if self.sheet else ""
        if self.sheet:
            self.saved = mapping_saved(header_cells=self.sheet.header_cells)
        columns = job.columns or (self.saved.columns if self.saved else columns_propose(header))
        options = stored.as_json() or (self.saved.options if self.saved else {})
        initial = {
            **options,
            "encoding": self.sheet.encoding if self.sheet else reading["encoding"],
            "delimiter": self.sheet.delimiter if self.sheet else reading["delimiter"],
            "header_key": key,
            **{f"col_{i}": columns.get(name, "") for i, name in enumerate(header) if name},
        }
        # Read again with another encoding or separator: the posted columns were another
        # header's. The settings typed are kept; the columns are proposed for the new one.
        self.reread = data is not None and data.get("header_key") != key
        if self.reread:
            kept = ("consent_source", "language", "country", "tag_separator", "save_as")
            initial.update({k: data.get(k, "") for k in kept})
            data = None
        super().__init__(data, initial=initial)
        self.action = (data or {}).get("action", "preview")
        self.fields["encoding"].choices = list(ENCODINGS.items())
        self.fields["delimiter"].choices = list(DELIMITERS.items())
        self.fields["tag_separator"].choices = list(TAG_SEPARATORS.items())
        if self.sheet and self.sheet.kind == "xlsx":
            del self.fields["encoding"], self.fields["delimiter"]
        choices = [("", _("— ignore —")), *FIELDS.items()]
        self.columns_named = []
        for i, name in enumerate(header):
            if name:
                self.fields[f"col_{i}"] = forms.ChoiceField(
                    label=name, choices=choices, required=False
                )
                self.columns_named.append((name, f"col_{i}"))

    def column_fields(self):
        """(column, its select, its first values) for each named column."""
        rows = [r.values for r in self.sheet.head(3) if r.values] if self.sheet else []
        return [
            (name, self[field_name], [v for r in rows if (v := r[name].strip())])
            for name, field_name in self.columns_named
        ]

    def clean_country(self) -> str:
        text = self.cleaned_data["country"].strip()
        if not text:
            return ""
        codes = country_codes_for(normalise(text))
        if len(codes) != 1:
            raise ValidationError(_("Not a country we know: give its two letters, e.g. RU."))
        return next(iter(codes))

    def clean_save_as(self) -> str:
        return " ".join(self.cleaned_data["save_as"].split())

    def clean(self):
        data = super().clean()
        if self.file_error:
            raise ValidationError(self.file_error)
        if self.action not in self.ACTIONS:
            raise ValidationError(_("Choose Preview, Dry run or Import."))
        for problem in columns_problems(self.columns()):
            self.add_error(None, problem)
        return data

    def columns(self) -> dict[str, str]:
        """{column: field}: as posted once valid, else as the page first showed them."""
        source = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else None
        return {
            name: (source.get(f, "") if source is not None else self[f].initial or "")
            for name, f in self.columns_named
        }

    def options(self):
        data = self.cleaned_data if self.is_bound and self.is_valid() else self.initial
        return ImportOptions.of(
            {f.name: data.get(f.name, "") for f in dataclass_fields(ImportOptions)}
        )

    def starts(self) -> bool:
        """Whether the organizer asked to run the import (or its dry run) and may."""
        return self.is_bound and self.action in ("dry_run", "import") and self.is_valid()

    def problems(self) -> list[str]:
        """What keeps the mapping shown from being used (on a page not yet posted)."""
        return [] if self.is_bound or not self.sheet else columns_problems(self.columns())


def _posted_choice(data, name: str, choices, default: str) -> str:
    value = (data or {}).get(name, default) or ""
    return value if value in choices else default
