from django.conf import settings


def sosedi(request):
    return {
        "debug_outbox": settings.DEBUG,
        "tile_url": settings.TILE_URL,
        "tile_attribution": settings.TILE_ATTRIBUTION,
    }
