import math
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from geo.selectors import MAX_ZOOM, BBox, max_span_degrees

# Plain decimal numbers in ASCII (what the OpenAPI document promises): no spaces,
# exponents, underscores or other scripts' digits, which float() and int() would take.
_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
BBOX_PATTERN = rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$"
ZOOM_PATTERN = r"^-?[0-9]+$"


class AsciiIntegerField(forms.IntegerField):
    """A whole number written in ASCII digits: '5' or '-1', not '5.0', '٥' or '1_0'."""

    def to_python(self, value):
        if value not in self.empty_values and not re.fullmatch(ZOOM_PATTERN, str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class CellsQueryForm(forms.Form):
    """The query of GET /api/public/cells: bbox=W,S,E,N (WGS84 degrees) and zoom=Z."""

    bbox = forms.CharField(max_length=200, strip=False)
    zoom = AsciiIntegerField(
        min_value=0,
        max_value=MAX_ZOOM,
        error_messages={"invalid": _("zoom must be a whole number.")},
    )

    def clean_bbox(self) -> BBox:
        text = self.cleaned_data["bbox"]
        if not re.fullmatch(BBOX_PATTERN, text):
            raise forms.ValidationError(
                _("bbox must be four numbers: west,south,east,north (degrees).")
            )
        west, south, east, north = (float(p) for p in text.split(","))
        if not all(map(math.isfinite, (west, south, east, north))):
            raise forms.ValidationError(_("bbox must be four finite numbers."))
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            raise forms.ValidationError(_("bbox longitudes must be between -180 and 180."))
        if not (-90 <= south <= 90 and -90 <= north <= 90):
            raise forms.ValidationError(_("bbox latitudes must be between -90 and 90."))
        if west >= east or south >= north:
            raise forms.ValidationError(
                _("bbox is inverted or empty: west must be less than east, south less than north.")
            )
        return BBox(west=west, south=south, east=east, north=north)

    def clean(self):
        data = super().clean()
        bbox, zoom = data.get("bbox"), data.get("zoom")
        if isinstance(bbox, BBox) and zoom is not None:
            limit = max_span_degrees(zoom)
            if bbox.east - bbox.west > limit or bbox.north - bbox.south > limit:
                raise forms.ValidationError(
                    _("bbox is too large for zoom %(zoom)s: at most %(limit)s degrees across."),
                    params={"zoom": zoom, "limit": f"{limit:g}"},
                )
        return data
