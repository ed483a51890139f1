from django.conf import settings

from geo import hexgrid


def sosedi(request):
    return {
        "cell_area_km2": hexgrid.cell_area_label(),
        "manage_link_days": settings.SOSEDI_MANAGE_LINK_MAX_AGE // 86400,
        "debug_outbox": settings.DEBUG,
        "tile_url": settings.TILE_URL,
        "tile_attribution": settings.TILE_ATTRIBUTION,
    }
