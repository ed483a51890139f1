"""Forms of local groups: a proposal with its area, joining, a leader's mail, a review."""

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _

from geo import areas, hexgrid
from geo.geocoding import GeocodingError, geocode
from supporters.groups.models import LocalGroup
from supporters.groups.services import REVIEWS, GroupDraft

Kind = LocalGroup.AreaKind


class GroupForm(forms.Form):
    """A proposal: name, description, language and an area, which is a town (a circle of
    SOSEDI_GROUP_TOWN_RADIUS_KM around it), a circle around a pin, or a drawn polygon."""

    name = forms.CharField(label=_("Name of the group"), max_length=120)
    description = forms.CharField(
        label=_("What the group is for"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5})
    )
    language = forms.ChoiceField(label=_("Language of the group"), choices=settings.LANGUAGES)
    area_kind = forms.ChoiceField(
        label=_("Where"), choices=Kind.choices, initial=Kind.TOWN, widget=forms.RadioSelect
    )
    location_text = forms.CharField(
        label=_("Town"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "place-suggestions"}),
    )
    pin_lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    pin_lon = forms.FloatField(required=False, widget=forms.HiddenInput)
    radius_km = forms.FloatField(
        label=_("Radius of the circle (km)"), min_value=2, max_value=25, initial=5, required=False
    )
    polygon = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, language: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        self.fields["language"].initial = language

    def clean(self):
        data = super().clean()
        kind = data.get("area_kind")
        try:
            if kind == Kind.TOWN:
                data.update(self._town(data))
            elif kind == Kind.CIRCLE:
                data.update(self._circle(data))
            elif kind == Kind.POLYGON:
                data.update(self._polygon(data))
            if "area" in data:
                areas.area_check(data["area"])
        except areas.AreaError as exc:
            self.add_error(None, str(exc))
        return data

    def _town(self, data) -> dict:
        text = data.get("location_text", "").strip()
        if not text:
            raise areas.AreaError(_("Name the group's town."))
        try:
            place = geocode(text, language=self.language)
        except GeocodingError as exc:
            raise areas.AreaError(exc.message) from exc
        radius = settings.SOSEDI_GROUP_TOWN_RADIUS_KM
        return {
            "area": areas.circle(place.centre, radius),
            "centre": place.centre,
            "radius_km": radius,
            "area_name": place.city or text,
        }

    def _circle(self, data) -> dict:
        lat, lon, radius = data.get("pin_lat"), data.get("pin_lon"), data.get("radius_km")
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise areas.AreaError(_("Click the map on the circle's centre."))
        if radius is None:
            raise areas.AreaError(_("Give the circle's radius."))
        # The centre is public (the map's marker): the clicked point is kept only as the
        # centre of its resolution-7 hexagon, so that a click on a door says nothing.
        _cell, centre = hexgrid.snap(Point(lon, lat, srid=4326), resolution=areas.MIN_RESOLUTION)
        return {"area": areas.circle(centre, radius), "centre": centre, "radius_km": radius}

    def _polygon(self, data) -> dict:
        shape = areas.polygon_from_geojson(data.get("polygon") or "{}")
        return {"area": shape, "centre": shape.point_on_surface, "radius_km": None}

    @property
    def draft(self) -> GroupDraft:
        d = self.cleaned_data
        return GroupDraft(
            name=" ".join(d["name"].split()),
            description=d["description"].strip(),
            language=d["language"],
            area_kind=d["area_kind"],
            area_name=d.get("area_name", ""),
            area=d["area"],
            centre=d["centre"],
            radius_km=d["radius_km"],
        )


class JoinForm(forms.Form):
    shares_contact = forms.BooleanField(
        label=_("Share my name and email with this group's leaders"),
        required=False,
        help_text=_(
            "Without this, the leaders see only that one more member joined, and reach you "
            "through Sosedi's mail. You can change it later."
        ),
    )


class GroupMailForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Message"), max_length=20000, widget=forms.Textarea(attrs={"rows": 8})
    )

    def clean_subject(self) -> str:
        return " ".join(self.cleaned_data["subject"].split())  # one line: a mail header


class MemberForm(forms.Form):
    ACTIONS = {
        "co_leader": _("Make co-leader"),
        "member": _("End co-leadership"),
        "hand_over": _("Hand the group over"),
    }
    membership = forms.UUIDField()
    action = forms.ChoiceField(choices=list(ACTIONS.items()))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[(d, d) for d in (*REVIEWS, "suspend", "restore")])
    note = forms.CharField(max_length=2000, required=False)
