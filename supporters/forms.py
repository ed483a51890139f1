from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from geo.geocoding import GeocodingError, Location, geocode, locate_pin
from supporters.consent import EXPLANATIONS
from supporters.models import Channel, Frequency, Purpose, Supporter, Topic
from supporters.services import Preferences

# --- the rules for a person's details, shared by these forms and the import's row form ----


def _max_length(field: str) -> int:
    return Supporter._meta.get_field(field).max_length


validate_phone = RegexValidator(
    r"\A[0-9+()\-.\s]{3,}\Z",
    _("Enter a phone number: digits, spaces and + ( ) - . only."),
    code="invalid_phone",
)


class NameField(forms.CharField):
    """A display name: runs of spaces become one, as long as the model allows (100)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Your name"))
        super().__init__(max_length=_max_length("display_name"), **kwargs)

    def to_python(self, value):
        return " ".join(super().to_python(value).split())


class EmailAddressField(forms.EmailField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Email"))
        super().__init__(max_length=_max_length("email"), **kwargs)


class PhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Phone (optional)"))
        kwargs.setdefault("required", False)
        super().__init__(max_length=_max_length("phone"), validators=[validate_phone], **kwargs)


class LanguageField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Language"))
        super().__init__(choices=settings.LANGUAGES, **kwargs)


# The consent a form or an import column gives, by field name, one per purpose.
CONSENT_FIELDS = {f"consent_{p.value}": p for p in Purpose}


class CoordinatesOutOfRange(Exception):
    """A pin outside WGS84: not a form error but a bad request (400)."""


class LocationFields(forms.Form):
    """Where you live: free text, or a pin dropped on the map (which wins if both are given)."""

    location_text = forms.CharField(
        label=_("Town, postcode or address"),
        max_length=200,
        required=False,
        help_text=_("We keep only the neighbourhood, never the address."),
        widget=forms.TextInput(
            attrs={"autocomplete": "address-level2", "list": "place-suggestions"}
        ),
    )
    pin_lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    pin_lon = forms.FloatField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, language: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        self.suggestions: list[str] = []

    def clean(self):
        data = super().clean()
        lat, lon = data.get("pin_lat"), data.get("pin_lon")
        if lat is not None and lon is not None:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise CoordinatesOutOfRange
            try:
                data["location"] = locate_pin(lon=lon, lat=lat, language=self.language)
            except GeocodingError as exc:
                self.add_error("location_text", exc.message)
            return data
        text = data.get("location_text", "")
        if "location_text" in self.errors:
            return data
        try:
            data["location"] = geocode(text, language=self.language)
        except GeocodingError as exc:
            self.suggestions = exc.suggestions
            self.add_error("location_text", exc.message)
        return data

    @property
    def location(self) -> Location:
        return self.cleaned_data["location"]


class PreferenceFields(forms.Form):
    channel = forms.ChoiceField(
        label=_("How to reach you"),
        choices=Channel.choices,
        initial=Channel.EMAIL,
        widget=forms.RadioSelect,
    )
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=Frequency.choices,
        initial=Frequency.MONTHLY,
        widget=forms.RadioSelect,
    )
    topics = forms.MultipleChoiceField(
        label=_("Topics"),
        choices=Topic.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    phone = PhoneField()

    def clean(self):
        data = super().clean()
        if data.get("channel") == Channel.PHONE and not data.get("phone", "").strip():
            self.add_error("phone", _("Give a phone number to be reached by phone."))
        return data

    @property
    def preferences(self) -> Preferences:
        d = self.cleaned_data
        return Preferences(channel=d["channel"], frequency=d["frequency"], topics=d["topics"])


def consent_fields() -> dict[str, forms.BooleanField]:
    # Every consent starts unchecked: giving one is an act, not a default.
    return {
        name: forms.BooleanField(
            label=p.label, help_text=EXPLANATIONS[p], required=False, initial=False
        )
        for name, p in CONSENT_FIELDS.items()
    }


class ConsentsForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(consent_fields())

    @property
    def granted(self) -> list[str]:
        return [p.value for name, p in CONSENT_FIELDS.items() if self.cleaned_data.get(name)]


class JoinForm(LocationFields, PreferenceFields, ConsentsForm):
    display_name = NameField()
    email = EmailAddressField()

    field_order = ["display_name", "email", "location_text", "pin_lat", "pin_lon"]


class ProfileForm(PreferenceFields):
    display_name = NameField()
    language = LanguageField()

    field_order = ["display_name", "language", "channel", "frequency", "topics", "phone"]


class ManageLinkForm(forms.Form):
    email = EmailAddressField()
