"""Areas that people draw or choose (a local group's): a circle around a point, or a
polygon, checked to be a real shape of a size that can single nobody out.

An area is never smaller than a resolution-7 hexagon (about 5.2 km², the coarsest cell the
public map shows at city zoom), so that "a group of my street" cannot exist, nor larger
than SOSEDI_GROUP_MAX_AREA_KM2. Areas are measured on the spheroid by PostGIS.
"""

import json

import h3
from django.conf import settings
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point, Polygon, WKBWriter
from django.db import connection
from django.utils.translation import gettext as _

MIN_RESOLUTION = 7
MAX_VERTICES = 500


class AreaError(ValueError):
    """An area refused, with a reason a person can act on."""


def min_area_km2() -> float:
    return h3.average_hexagon_area(MIN_RESOLUTION, unit="km^2")


def circle(centre: Point, radius_km: float) -> Polygon:
    """The circle as a 64-sided polygon on the spheroid (PostGIS ST_Buffer on geography)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_AsText(ST_Buffer(ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography,"
            " %s, 16)::geometry)",
            [centre.x, centre.y, radius_km * 1000],
        )
        (wkt,) = cursor.fetchone()
    return GEOSGeometry(wkt, srid=4326)


def area_km2(polygon: Polygon) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Area(ST_GeomFromEWKT(%s)::geography) / 1e6", [polygon.ewkt])
        return cursor.fetchone()[0]


def polygon_from_geojson(text: str) -> Polygon:
    """A GeoJSON Polygon (or a Feature holding one) as drawn on the map; AreaError if it
    is not one valid polygon of at most MAX_VERTICES points inside the map."""
    try:
        data = json.loads(text)
        if data.get("type") == "Feature":
            data = data.get("geometry") or {}
        if data.get("type") != "Polygon":
            raise AreaError(_("Draw one area on the map."))
        shape = GEOSGeometry(json.dumps(data), srid=4326)
    # GDAL parses the GeoJSON: coordinates that are not numbers are a GDALException.
    except (ValueError, TypeError, AttributeError, GEOSException, GDALException) as exc:
        if isinstance(exc, AreaError):
            raise
        raise AreaError(_("Draw one area on the map.")) from exc
    if shape.empty:
        raise AreaError(_("Draw one area on the map."))
    if shape.hasz:  # heights from another tool: the area column is flat (WKB out in 2D)
        shape = GEOSGeometry(WKBWriter().write(shape), srid=4326)
    if shape.num_coords > MAX_VERTICES + 1:
        raise AreaError(_("Draw the area with at most %(n)s points.") % {"n": MAX_VERTICES})
    if not shape.valid:
        raise AreaError(_("The area's edges cross each other: draw it again."))
    xmin, ymin, xmax, ymax = shape.extent
    if xmax - xmin > 180:
        raise AreaError(_("Draw the area without crossing the 180th meridian."))
    if not (xmin >= -180 and xmax <= 180 and ymin >= -90 and ymax <= 90):
        raise AreaError(_("The area is outside the map."))
    return shape


def area_check(polygon: Polygon) -> float:
    """Its area in km², or AreaError if it is too small to hide anyone or too large."""
    km2 = area_km2(polygon)
    if km2 < min_area_km2():
        raise AreaError(
            _("The area must be at least %(km2).1f km², so that it never points at anyone.")
            % {"km2": min_area_km2()}
        )
    if km2 > settings.SOSEDI_GROUP_MAX_AREA_KM2:
        raise AreaError(
            _("The area must be at most %(km2)s km².") % {"km2": settings.SOSEDI_GROUP_MAX_AREA_KM2}
        )
    return km2
