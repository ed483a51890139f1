"""The public map's pages (its cells API is geo/api.py). Everything here reads the snapshot only."""

from csp.decorators import csp_replace
from django.conf import settings
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from geo import selectors
from geo.basemap import basemap_for_page
from ops.replica import reads_may_lag

OUTLINES = "vendor/world-atlas/countries-50m.json"


def _map_context(request) -> dict:
    snapshot = selectors.snapshot_current()
    totals = selectors.area_totals(snapshot=snapshot) if snapshot else {}
    center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (55.75, 37.62))
    basemap = basemap_for_page()
    return {
        "snapshot": snapshot,
        "total": totals.get("total"),
        "regions": totals.get("regions", [])[:5],
        # The map as a table (regions and their towns), for anyone who cannot use the map.
        "area_table": selectors.area_table(totals=totals, language=get_language() or "en"),
        "k": snapshot.k if snapshot else settings.SOSEDI_MAP_K,
        "map_config": {
            "cells_url": reverse("api:public_cells"),
            "places_url": reverse("api:places"),
            # Local groups' markers (supporters/groups/api.py), by URL name only.
            "groups_url": reverse("api:public_groups"),
            "outlines_url": static(OUTLINES),
            "lat": center[0],
            "lon": center[1],
            "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 4),
            "max_zoom": selectors.MAX_ZOOM,
            # The base map (geo/basemap.py): the app's own archive, a tile server or none.
            "tile_url": basemap["url"],
            "tile_attribution": basemap["attribution"],
            "strings": {
                "about": _("about %(count)s supporters"),
                "no_cells": _("No hexagon here has enough supporters to be shown yet."),
                "error": _("The map could not be loaded. Try again in a moment."),
                "no_places": _("No place found by that name."),
                "copied": _("Copied"),
                "group_members": _("%(count)s+ members"),
                "group_few": _("a new local group"),
            },
        },
        "embed_url": request.build_absolute_uri(reverse("public_map:embed")),
    }


@require_GET
@reads_may_lag
def public_map(request):
    return render(request, "geo/map.html", _map_context(request))


@require_GET
@reads_may_lag
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
def public_map_embed(request):
    """The same map, for other sites' iframes: the one page that may be framed."""
    return render(request, "geo/map_embed.html", _map_context(request))
