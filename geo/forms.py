import re

from django import forms
from django.utils.translation import gettext_lazy as _

from geo.selectors import MAX_ZOOM, BBox

# Plain decimal numbers in ASCII (what the OpenAPI document states): no spaces, exponents,
# underscores or other scripts' digits, which float() and int() would take; longitudes
# in -180..180 and latitudes in -90..90, so that every bbox the pattern admits is served.
_DECIMALS = r"(\.[0-9]+)?"
_LONGITUDE = rf"-?0*(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9]){_DECIMALS})"
_LATITUDE = rf"-?0*(90(\.0+)?|[1-8]?[0-9]{_DECIMALS})"
BBOX_PATTERN = rf"^{_LONGITUDE},{_LATITUDE},{_LONGITUDE},{_LATITUDE}$"
ZOOM_PATTERN = r"^-?[0-9]+$"


class AsciiIntegerField(forms.IntegerField):
    """A whole number written in ASCII digits: '5' or '-1', not '5.0', '٥' or '1_0'."""

    def to_python(self, value):
        if value not in self.empty_values and not re.fullmatch(ZOOM_PATTERN, str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class PatternField(forms.CharField):
    """Text that `pattern` matches whole (the API's OpenAPI document states the pattern)."""

    def __init__(self, *, pattern: str, **kwargs):
        self.pattern = pattern
        super().__init__(**kwargs)

    def run_validators(self, value):
        super().run_validators(value)  # the length first, with its own message
        if value not in self.empty_values and not re.fullmatch(self.pattern, value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class CoordinateField(forms.Field):
    """A number as float() reads it; the form checks `min_value`..`max_value`."""

    default_error_messages = {"invalid": _("Enter a number.")}

    def __init__(self, *, min_value: float, max_value: float, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class CellsQueryForm(forms.Form):
    """The query of GET /api/public/cells: bbox=W,S,E,N (WGS84 degrees) and zoom=Z.

    Any box the pattern admits is a box: a west east of east crosses the antimeridian,
    south and north may come in either order, and a zero width or height is a line.
    """

    bbox = PatternField(
        pattern=BBOX_PATTERN,
        max_length=200,
        strip=False,
        help_text="west,south,east,north in WGS84 degrees (a west east of east crosses "
        "the antimeridian)",
        error_messages={
            "invalid": _("bbox must be four numbers: west,south,east,north (degrees).")
        },
    )
    zoom = AsciiIntegerField(
        min_value=0,
        max_value=MAX_ZOOM,
        help_text="the map's Web Mercator zoom",
        error_messages={"invalid": _("zoom must be a whole number.")},
    )

    def clean_bbox(self) -> BBox:
        west, south, east, north = (float(p) for p in self.cleaned_data["bbox"].split(","))
        return BBox(west=west, south=min(south, north), east=east, north=max(south, north))


_REQUIRED_NUMBERS = _("lat and lon are required numbers")
_PIN_ERRORS = {"required": _REQUIRED_NUMBERS, "invalid": _REQUIRED_NUMBERS}


class PinQueryForm(forms.Form):
    """The query of GET /api/locate/: a pin's lat and lon (WGS84 degrees)."""

    lat = CoordinateField(min_value=-90, max_value=90, error_messages=_PIN_ERRORS)
    lon = CoordinateField(min_value=-180, max_value=180, error_messages=_PIN_ERRORS)

    def clean(self):
        data = super().clean()
        # Only once both are numbers: a missing one is the message to act on first.
        if not self.errors and not all(
            self.fields[name].min_value <= data[name] <= self.fields[name].max_value
            for name in ("lat", "lon")
        ):  # NaN compares false: outside too
            raise forms.ValidationError(_("Those coordinates are outside the map."))
        return data
