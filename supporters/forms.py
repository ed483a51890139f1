from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from geo.geocoding import GeocodingError, Location, geocode, locate_pin
from supporters.consent import EXPLANATIONS
from supporters.models import Channel, Frequency, Purpose, Topic
from supporters.services import Preferences


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
    phone = forms.CharField(label=_("Phone (optional)"), max_length=32, required=False)

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
        f"consent_{p.value}": forms.BooleanField(
            label=p.label, help_text=EXPLANATIONS[p], required=False, initial=False
        )
        for p in Purpose
    }


class ConsentsForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(consent_fields())

    @property
    def granted(self) -> list[str]:
        return [p.value for p in Purpose if self.cleaned_data.get(f"consent_{p.value}")]


class JoinForm(LocationFields, PreferenceFields, ConsentsForm):
    display_name = forms.CharField(label=_("Your name"), max_length=100)
    email = forms.EmailField(label=_("Email"), max_length=254)

    field_order = ["display_name", "email", "location_text", "pin_lat", "pin_lon"]


class ProfileForm(PreferenceFields):
    display_name = forms.CharField(label=_("Your name"), max_length=100)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    field_order = ["display_name", "language", "channel", "frequency", "topics", "phone"]


class ManageLinkForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
