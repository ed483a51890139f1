from django.conf import settings
from django.templatetags.static import static

from geo import hexgrid
from geo.basemap import basemap_for_page
from geo.map_views import OUTLINES


def sosedi(request):
    # The base map (geo/basemap.py): a raster tile URL template, the app's own PMTiles
    # archive (a URL ending in .pmtiles), or nothing for country outlines only.
    basemap = basemap_for_page()
    return {
        "cell_area_km2": hexgrid.cell_area_label(),
        "manage_link_days": settings.SOSEDI_MANAGE_LINK_MAX_AGE // 86400,
        "debug_outbox": settings.DEBUG,
        "tile_url": basemap["url"],
        "tile_attribution": basemap["attribution"],
        # The maps' fallback base layer (static/js/base-layer.js).
        "outlines_url": static(OUTLINES),
        # Home pins are snapped to this hexagon in the page (static/js/location-field.js).
        "pin_snap_resolution": settings.SOSEDI_H3_RESOLUTION,
    }
