"""The dashboard: counts, localities, hotspots and growth of the filtered supporters, with
the heatmap as a framed document of its own."""

import hashlib
import json
import time
from dataclasses import replace

from csp.constants import NONCE, SELF
from csp.decorators import csp_replace, csp_update
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from geo import gazetteer
from geo.basemap import basemap_for_page
from geo.heatmap import (
    HEATMAP_RESOLUTION,
    CellCounts,
    MapAssets,
    cell_counts,
    cell_counts_and_subset,
    counts_placed,
    figure_html,
    heatmap_figure,
)
from geo.hotspots import hotspots_find
from ops.replica import reads_may_lag
from supporters.models import Purpose, Supporter
from supporters.organize import charts, roles, selectors
from supporters.organize.forms import FilterForm, HotspotForm, SegmentForm
from supporters.organize.models import Segment
from supporters.organize.tally import tally_counts

# The dashboard's consent counts: one whole phrase per purpose, so that translations can
# agree with their own grammar (Purpose's labels continue "I agree to …").
AGREED_TO = {
    Purpose.PUBLIC_MAP: gettext_lazy("agreed to appear on the public map"),
    Purpose.INTRODUCTIONS: gettext_lazy("agreed to be offered for introductions"),
    Purpose.EVENT_INVITATIONS: gettext_lazy("agreed to receive event invitations"),
    Purpose.EMAIL_UPDATES: gettext_lazy("agreed to receive email updates"),
    Purpose.TEXT_MESSAGES: gettext_lazy("agreed to receive text messages"),
}


def _filters(request) -> tuple[FilterForm, selectors.SupporterFilter]:
    form = FilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.filters()
    return form, selectors.SupporterFilter()


HOTSPOT_CACHE_SECONDS = 300


def _cells(filters, queryset) -> tuple[CellCounts, CellCounts]:
    """The heatmap's cells (every status the filters allow) and the hotspots' cells.

    Hotspots count as a segment counts (active supporters only, whatever the status
    filter), so the people "within 3 km" of a meeting point are exactly the "3 km segment"
    around it. Filtered by status alone (or not at all), both come from the tally of
    supporters per cell and status; other filters count the filtered rows.
    """
    active = Supporter.Status.ACTIVE
    if replace(filters, status="") == selectors.SupporterFilter():
        return counts_placed(tally_counts(status=filters.status, resolution=HEATMAP_RESOLUTION))
    if filters.status == active:
        cells = cell_counts(queryset)
        return cells, cells
    if not filters.status:
        return cell_counts_and_subset(queryset, Q(status=active))
    return cell_counts(queryset), cell_counts(selectors.segment_population(filters=filters))


def _hotspots(request, cells) -> tuple[HotspotForm, list]:
    """Hotspots of these cells (see _cells), named after the nearest locality.

    Cached for a few minutes by the cells' content, so the dashboard and its map frame
    (two requests) compute them once, and a new supporter changes the key.
    """
    form = HotspotForm(request.GET or None)
    params = form.cleaned_data if form.is_bound and form.is_valid() else {}
    eps_km = params.get("eps_km") or 1.0
    min_supporters = params.get("min_supporters") or 10
    language = (get_language() or "en")[:2]
    digest = hashlib.sha256(repr((eps_km, min_supporters, language)).encode())
    digest.update(cells.cell.tobytes())
    digest.update(cells.count.tobytes())
    key = f"organize:hotspots:{digest.hexdigest()}"
    labelled = cache.get(key)
    if labelled is None:
        labelled = []
        for h in hotspots_find(cells, eps_km=eps_km, min_supporters=min_supporters):
            place = gazetteer.place_nearest(Point(h.meeting_lon, h.meeting_lat, srid=4326))
            labelled.append({"spot": h, "place": place.display_name(language) if place else ""})
        cache.set(key, labelled, HOTSPOT_CACHE_SECONDS)
    return form, labelled


@require_GET
@reads_may_lag
@roles.permission_required(roles.VIEW_AGGREGATES)
def dashboard(request):
    started = time.perf_counter()
    form, filters = _filters(request)
    queryset = selectors.supporters_filtered(filters=filters)
    cells, hotspot_cells = _cells(filters, queryset)
    hotspot_form, spots = _hotspots(request, hotspot_cells)
    context = {
        "form": form,
        "hotspot_form": hotspot_form,
        "totals": (totals := selectors.supporter_totals(queryset=queryset)),
        "status_counts": [(label, totals.by_status[v]) for v, label in Supporter.Status.choices],
        "purpose_counts": [(AGREED_TO[p], totals.by_purpose[p]) for p in Purpose],
        "regions": selectors.supporters_by_region(queryset=queryset),
        "localities": selectors.supporters_by_locality(
            queryset=queryset, language=(get_language() or "en")[:2]
        ),
        "hotspots": spots,
        "cells": len(cells),
        "query": request.GET.urlencode(),
        "segment_form": SegmentForm.from_filters(filters),
        "segment_scope": [
            (form.fields[name].label, value)
            for name, value in [
                ("country", filters.country),
                ("region", filters.region),
                ("joined_from", filters.joined_from),
                ("joined_to", filters.joined_to),
            ]
            if value
        ],
        "segment_ignores_status": filters.status not in ("", Supporter.Status.ACTIVE),
        "segments": Segment.objects.all()[:10],
        "role": roles.role_of(request.user),
        "config": {
            "size_url": reverse("organize:segment_size"),
            "strings": {
                "size": _("%(n)s active supporters, %(m)s of them reachable by email"),
                "drawn": _("Area drawn on the map."),
            },
        },
    }
    response = render(request, "organize/dashboard.html", context)
    response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.0f}"
    return response


def _asset_urls() -> MapAssets:
    return MapAssets(
        leaflet_js=static("leaflet/leaflet.js"),
        leaflet_css=static("leaflet/leaflet.css"),
        heat_js=static("vendor/leaflet.heat/leaflet-heat.js"),
        extra_js=(static("leaflet/draw/leaflet.draw.js"), static("js/organize-map.js")),
        extra_css=(static("leaflet/draw/leaflet.draw.css"), static("css/organize-map.css")),
    )


@require_GET
@reads_may_lag
@roles.permission_required(roles.VIEW_AGGREGATES)
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
@csp_update({"script-src": [NONCE], "style-src": [NONCE]})
def heatmap_frame(request):
    """The folium heatmap as its own document, framed by the dashboard."""
    _form, filters = _filters(request)
    queryset = selectors.supporters_filtered(filters=filters)
    cells, hotspot_cells = _cells(filters, queryset)
    _hotspot_form, spots = _hotspots(request, hotspot_cells)
    centre = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (55.75, 37.62))
    basemap = basemap_for_page()
    fmap = heatmap_figure(
        cells,
        assets=_asset_urls(),
        tile_url=basemap["url"],
        attribution=basemap["attribution"],
        center=centre,
        zoom=settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 4),
        hook=(
            "sosediOrganizeMap",
            {
                "cells": len(cells),
                "hotspots": [
                    {
                        "rank": s["spot"].rank,
                        "lat": s["spot"].meeting_lat,
                        "lon": s["spot"].meeting_lon,
                        "supporters": s["spot"].supporters,
                        "label": s["place"],
                    }
                    for s in spots
                ],
                "groups": _group_areas(),
                "strings": {
                    "group": _("Local group %(name)s: %(n)s members"),
                    "hotspot": _("Hotspot %(rank)s near %(place)s: %(n)s active supporters"),
                    "empty": _("No supporters match these filters."),
                },
            },
        ),
    )
    return HttpResponse(figure_html(fmap, nonce=request.csp_nonce))


def _group_areas() -> list[dict]:
    """The approved local groups' areas and member counts, for the heatmap's outline layer."""
    from supporters.groups.selectors import groups_public

    return [
        {"name": g.name, "members": g.members, "area": json.loads(g.area.json)}
        for g in groups_public().order_by("name")
    ]


@require_GET
@reads_may_lag
@roles.permission_required(roles.VIEW_AGGREGATES)
def growth_svg(request):
    _form, filters = _filters(request)
    weeks = selectors.supporter_weekly_growth(
        queryset=selectors.supporters_filtered(filters=filters)
    )
    return render(
        request,
        "organize/growth.svg",
        charts.growth_svg_context(weeks),
        content_type="image/svg+xml; charset=utf-8",
    )
