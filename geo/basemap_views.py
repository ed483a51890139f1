"""The base map's archive, served by the app itself (geo/basemap.py does the work)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from geo.basemap import archive_response, basemap_current


@require_safe
def basemap_archive(request: HttpRequest) -> HttpResponse:
    """The configured PMTiles archive, whole or by byte range; 404 when none is drawn."""
    basemap = basemap_current()
    if basemap.kind != "pmtiles":
        raise Http404("No base map archive is installed.")
    return archive_response(request, basemap.path)
