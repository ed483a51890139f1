"""The public map: its cells API and its pages. Everything here reads the snapshot only."""

from csp.decorators import csp_replace
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from geo import selectors
from geo.forms import CellsQueryForm

OUTLINES = "vendor/world-atlas/countries-50m.json"


def _cache(response, snapshot) -> HttpResponse:
    response["ETag"] = snapshot.etag
    response["Last-Modified"] = http_date(snapshot.created_at.timestamp())
    patch_cache_control(response, public=True, max_age=settings.SOSEDI_MAP_CACHE_SECONDS)
    return response


@require_GET
def public_cells(request):
    """GeoJSON of the published hexagons in a bbox, at a resolution fit for the zoom."""
    form = CellsQueryForm(request.GET)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        first = next(iter(errors.values()))[0]
        return JsonResponse({"error": first, "errors": errors}, status=400)
    snapshot = selectors.snapshot_current()
    if snapshot is None:
        response = JsonResponse(
            {"type": "FeatureCollection", "snapshot": None, "features": []},
            content_type="application/geo+json",
        )
        patch_cache_control(response, no_cache=True)
        return response
    not_modified = get_conditional_response(
        request, etag=snapshot.etag, last_modified=int(snapshot.created_at.timestamp())
    )
    if not_modified is not None:
        return _cache(not_modified, snapshot)
    page = selectors.cells_for_bbox(
        snapshot=snapshot,
        bbox=form.cleaned_data["bbox"],
        zoom=form.cleaned_data["zoom"],
        max_cells=settings.SOSEDI_MAP_MAX_CELLS,
    )
    return _cache(HttpResponse(page.geojson, content_type="application/geo+json"), snapshot)


def _map_context(request) -> dict:
    snapshot = selectors.snapshot_current()
    totals = selectors.area_totals(snapshot=snapshot) if snapshot else {}
    center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (55.75, 37.62))
    return {
        "snapshot": snapshot,
        "total": totals.get("total"),
        "regions": totals.get("regions", [])[:5],
        "k": snapshot.k if snapshot else settings.SOSEDI_MAP_K,
        "map_config": {
            "cells_url": reverse("public_map:cells"),
            "places_url": reverse("geo:places"),
            "outlines_url": static(OUTLINES),
            "lat": center[0],
            "lon": center[1],
            "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 4),
            "max_zoom": selectors.MAX_ZOOM,
            "tile_url": settings.TILE_URL,
            "tile_attribution": settings.TILE_ATTRIBUTION,
            "strings": {
                "about": _("about %(count)s supporters"),
                "no_cells": _("No hexagon here has enough supporters to be shown yet."),
                "error": _("The map could not be loaded. Try again in a moment."),
                "no_places": _("No place found by that name."),
                "copied": _("Copied"),
            },
        },
        "embed_url": request.build_absolute_uri(reverse("public_map:embed")),
    }


@require_GET
def public_map(request):
    return render(request, "geo/map.html", _map_context(request))


@require_GET
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
def public_map_embed(request):
    """The same map, for other sites' iframes: the one page that may be framed."""
    return render(request, "geo/map_embed.html", _map_context(request))
