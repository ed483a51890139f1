import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from geo.geocoding import GeocodingError, Location, geocode, locate_pin
from supporters.consent import EXPLANATIONS
from supporters.models import Channel, Frequency, Purpose, Supporter, Topic
from supporters.phones import phone_example, phone_normalise
from supporters.services import Preferences

# --- the rules for a person's details, shared by these forms and the import's row form ----


def _max_length(field: str) -> int:
    return Supporter._meta.get_field(field).max_length


# What a typed number may hold besides digits: a number with words in it ("ext. 5",
# "call me") is refused rather than read in part.
PHONE_CHARACTERS = re.compile(r"\A[0-9+()\-.\s]{3,}\Z")


class NameField(forms.CharField):
    """A display name: runs of spaces become one, as long as the model allows (100)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Your name"))
        super().__init__(max_length=_max_length("display_name"), **kwargs)

    def to_python(self, value):
        return " ".join(super().to_python(value).split())

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "autocomplete": "name"}


class EmailAddressField(forms.EmailField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Email"))
        super().__init__(max_length=_max_length("email"), **kwargs)

    def widget_attrs(self, widget):
        # type=email (Django's EmailInput) brings the phone's address keyboard.
        return {**super().widget_attrs(widget), "autocomplete": "email"}


class TelInput(forms.TextInput):
    """type=tel: the phone's number pad, and the browser may offer the person's number."""

    input_type = "tel"


class PhoneField(forms.CharField):
    """A phone number, stored in E.164 ("+79161234567"); one without a country code is
    read as one of SOSEDI_PHONE_REGION's. A number no phone can have is refused (code
    "invalid_phone"), with an example of the region's numbers."""

    default_error_messages = {
        "invalid_phone": _("Enter a valid phone number, for example %(example)s."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Phone (optional)"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", TelInput(attrs={"autocomplete": "tel"}))
        super().__init__(max_length=_max_length("phone"), **kwargs)

    def clean(self, value) -> str:
        value = super().clean(value)
        if not value:
            return ""
        try:
            if not PHONE_CHARACTERS.match(value):
                raise ValueError("not a number")
            return phone_normalise(value)
        except ValueError:
            raise ValidationError(
                self.error_messages["invalid_phone"],
                code="invalid_phone",
                params={"example": phone_example()},
            ) from None


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


# Consents that are kept only by mail: not for someone who has no address (joined by text).
NEED_AN_ADDRESS = (Purpose.EMAIL_UPDATES, Purpose.INTRODUCTIONS)
TEXTS = f"consent_{Purpose.TEXT_MESSAGES.value}"


class ConsentsForm(forms.Form):
    """Per-purpose consents. Texts need a phone and the mail-only consents an address:
    the person's own on the manage page (`supporter`), else this form's phone field."""

    def __init__(self, *args, supporter: Supporter | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.supporter = supporter
        self.fields.update(consent_fields())

    def clean(self):
        data = super().clean()
        if self.supporter is not None:
            phone, email = self.supporter.phone, self.supporter.email
        else:
            phone, email = data.get("phone", ""), "address given"
            if "phone" in self.errors:
                return data  # the phone's own error says it
        if data.get(TEXTS) and not phone:
            self.add_error(
                TEXTS,
                _("Give a phone number to get text messages.")
                if self.supporter is None
                else _("Add your phone number below first, then allow text messages."),
            )
        if not email:
            for purpose in NEED_AN_ADDRESS:
                if data.get(f"consent_{purpose.value}"):
                    self.add_error(
                        f"consent_{purpose.value}",
                        _("This needs an email address, and we have none for you."),
                    )
        return data

    @property
    def granted(self) -> list[str]:
        return [p.value for name, p in CONSENT_FIELDS.items() if self.cleaned_data.get(name)]


class JoinForm(LocationFields, PreferenceFields, ConsentsForm):
    display_name = NameField()
    email = EmailAddressField()

    field_order = ["display_name", "email", "location_text", "pin_lat", "pin_lon"]


class ProfileForm(PreferenceFields):
    """Name, language, channel and phone on the manage page. With `supporter`, the number
    cannot go while texts are allowed or when it is the only way to reach them."""

    display_name = NameField()
    language = LanguageField()

    field_order = ["display_name", "language", "channel", "frequency", "topics", "phone"]

    def __init__(self, *args, supporter: Supporter | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.supporter = supporter

    def clean(self):
        data = super().clean()
        if self.supporter is None or "phone" in self.errors or data.get("phone"):
            return data
        if self.supporter.consent_text_messages:
            self.add_error(
                "phone", _("You allow text messages: stop them above before removing your number.")
            )
        elif not self.supporter.email:
            self.add_error("phone", _("We have no email address for you: keep a phone number."))
        return data


class ManageLinkForm(forms.Form):
    email = EmailAddressField()


class DevTextForm(forms.Form):
    """The development outbox's "a text arrives": a received text played without a gateway."""

    from_phone = PhoneField(label=_("From"), required=True)
    body = forms.CharField(label=_("Text"), max_length=1600)
