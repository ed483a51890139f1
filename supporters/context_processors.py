from django.conf import settings
from django.templatetags.static import static

from geo import hexgrid
from geo.map_views import OUTLINES


def sosedi(request):
    return {
        "cell_area_km2": hexgrid.cell_area_label(),
        "manage_link_days": settings.SOSEDI_MANAGE_LINK_MAX_AGE // 86400,
        "debug_outbox": settings.DEBUG,
        "tile_url": settings.TILE_URL,
        "tile_attribution": settings.TILE_ATTRIBUTION,
        # The maps' fallback base layer (static/js/base-layer.js).
        "outlines_url": static(OUTLINES),
        # Home pins are snapped to this hexagon in the page (static/js/location-field.js).
        "pin_snap_resolution": settings.SOSEDI_H3_RESOLUTION,
    }
