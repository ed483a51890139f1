"""Small JSON endpoints for place search and pin previews (no personal data)."""

from django.http import JsonResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from geo import gazetteer
from geo.geocoding import GeocodingError, locate_pin, place_label


def _language() -> str:
    return (get_language() or "en")[:2]


@require_GET
def places(request):
    query = request.GET.get("q", "")[:100]
    found = gazetteer.place_search(query, limit=8) if query.strip() else []
    lang = _language()
    return JsonResponse(
        {
            "results": [
                {
                    "name": p.display_name(lang),
                    "label": place_label(p, lang),
                    "country_code": p.country_code,
                    "lat": p.point.y,
                    "lon": p.point.x,
                }
                for p in found
            ]
        }
    )


@require_GET
def locate(request):
    """The locality a pin would be recorded with (no point is echoed back)."""
    try:
        lat = float(request.GET["lat"])
        lon = float(request.GET["lon"])
    except (KeyError, ValueError):
        return JsonResponse({"error": _("lat and lon are required numbers")}, status=400)
    try:
        location = locate_pin(lon=lon, lat=lat, language=_language())
    except ValueError:
        return JsonResponse({"error": _("Those coordinates are outside the map.")}, status=400)
    except GeocodingError as exc:
        return JsonResponse({"error": exc.message}, status=404)
    return JsonResponse(
        {"city": location.city, "region": location.region, "country_code": location.country_code}
    )
