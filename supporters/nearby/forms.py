from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from geo.bands import BAND_EDGES_M, Band
from geo.geocoding import GeocodingError, geocode
from geo.timezones import timezone_at
from supporters.nearby.models import Rsvp
from supporters.nearby.services import EventDraft


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def _farthest_choices() -> list[tuple[str, str]]:
    return [
        (b.value, gettext("up to %(km)s km") % {"km": f"{BAND_EDGES_M[b][1] / 1000:g}"})
        for b in Band
    ]


class IntroductionRequestForm(forms.Form):
    count = forms.TypedChoiceField(
        label=_("How many people to ask"),
        coerce=int,
        initial=3,
        choices=[],
    )
    farthest = forms.ChoiceField(label=_("How far"), initial=Band.FROM_10_TO_25, choices=[])
    message = forms.CharField(
        label=_("Your message"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 500}),
        help_text=_(
            "Say who you are and what you would like to do together. They see your first "
            "name, this message and how far apart you live (as a band), nothing else."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        top = settings.SOSEDI_INTRODUCTION_MAX_CANDIDATES
        self.fields["count"].choices = [(n, str(n)) for n in range(1, top + 1)]
        self.fields["farthest"].choices = _farthest_choices()

    @property
    def band(self) -> Band:
        return Band(self.cleaned_data["farthest"])


class ReportForm(forms.Form):
    note = forms.CharField(
        label=_("What is wrong with this message? (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RsvpForm(forms.Form):
    answer = forms.ChoiceField(choices=Rsvp.Answer.choices)


_LOCAL = "%Y-%m-%dT%H:%M"


class WallClockField(forms.DateTimeField):
    """A date and time as typed, with no zone: the form reads it in the venue's zone
    (Django's field would read it in the server's)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        return forms.fields.BaseTemporalField.to_python(self, value)


class EventForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("What will happen"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    starts_at = WallClockField(
        label=_("Starts"),
        input_formats=[_LOCAL],
        help_text=_("Local time at the venue."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL),
    )
    ends_at = WallClockField(
        label=_("Ends"),
        input_formats=[_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL),
    )
    venue_name = forms.CharField(
        label=_("Venue"),
        max_length=200,
        help_text=_("A public place, e.g. “Gorky Park, main entrance”. Everyone will see it."),
    )
    location_text = forms.CharField(
        label=_("Town or address of the venue"),
        max_length=200,
        required=False,
        help_text=_("Or drop a pin exactly on the venue below."),
        widget=forms.TextInput(attrs={"list": "place-suggestions"}),
    )
    pin_lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    pin_lon = forms.FloatField(required=False, widget=forms.HiddenInput)
    radius_km = forms.IntegerField(
        label=_("Invite supporters living within (km)"),
        min_value=1,
        max_value=25,
        initial=5,
    )

    invite_nearby = forms.BooleanField(
        label=_("Also invite supporters within the radius who accept event invitations"),
        required=False,
        help_text=_("The group's members are invited in any case."),
    )

    def __init__(self, *args, language: str = "en", group=None, **kwargs):
        """`group`: a local group's event (its leader's), pre-filled with its area."""
        if group is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = {
                "pin_lat": round(group.centre.y, 6),
                "pin_lon": round(group.centre.x, 6),
                "radius_km": min(25, max(1, round(group.radius_km or 5))),
            }
        super().__init__(*args, **kwargs)
        self.language = language
        self.group = group
        if group is None:
            del self.fields["invite_nearby"]

    def clean(self):
        data = super().clean()
        data["venue"] = self._venue(data)
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The event must end after it starts."))
        if data["venue"] is None:
            return data
        # The times were typed as the venue's local time: they become instants there.
        data["timezone"] = timezone_at(data["venue"])
        zone = ZoneInfo(data["timezone"])
        for name in ("starts_at", "ends_at"):
            if data.get(name) and (instant := self._at_venue(name, data[name], zone)):
                data[name] = instant
        starts = data.get("starts_at")
        if starts and starts <= timezone.now():
            self.add_error("starts_at", _("The event must start in the future."))
        return data

    def _venue(self, data) -> Point | None:
        lat, lon = data.get("pin_lat"), data.get("pin_lon")
        if lat is not None and lon is not None:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                self.add_error("location_text", _("That pin is outside the map."))
                return None
            # A venue is a public place: its pin is kept as dropped, not snapped.
            return Point(lon, lat, srid=4326)
        text = data.get("location_text", "").strip()
        if not text:
            self.add_error("location_text", _("Say where the venue is, or drop a pin on it."))
            return None
        try:
            return geocode(text, language=self.language).centre
        except GeocodingError as exc:
            self.add_error("location_text", exc.message)
            return None

    def _at_venue(self, name: str, wall: datetime, zone: ZoneInfo) -> datetime | None:
        """`wall` as a time at the venue. A time the clocks skip there is refused; one they
        pass twice (when they go back) is the first of the two."""
        instant = wall.replace(tzinfo=zone)
        if instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            self.add_error(name, _("The clocks at the venue skip that time. Choose another."))
            return None
        return instant

    @property
    def draft(self) -> EventDraft:
        d = self.cleaned_data
        return EventDraft(
            title=d["title"].strip(),
            description=d["description"].strip(),
            starts_at=d["starts_at"],
            ends_at=d["ends_at"],
            venue_name=d["venue_name"].strip(),
            venue=d["venue"],
            radius_km=d["radius_km"],
            timezone=d["timezone"],
            group=self.group,
            invite_nearby=self.group is None or d.get("invite_nearby", False),
        )


class AttendanceForm(forms.Form):
    came = forms.MultipleChoiceField(
        label=_("Who came"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, guests, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["came"].choices = [
            (str(r.supporter_id), r.supporter.first_name) for r in guests
        ]
        self.initial.setdefault("came", [str(r.supporter_id) for r in guests if r.attended])
