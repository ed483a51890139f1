from django.contrib.gis.db import models


class Place(models.Model):
    """A GeoNames locality in the offline gazetteer.

    Reference data loaded by `manage.py load_gazetteer`, not user data. The table is
    created by a migration but marked unmanaged so that test flushes leave it loaded.
    """

    geonameid = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    name_ru = models.CharField(max_length=200, blank=True)
    country_code = models.CharField(max_length=2)
    region = models.CharField(max_length=200, blank=True)
    population = models.BigIntegerField()
    point = models.PointField(geography=True)
    # The IANA time zone GeoNames gives the locality (e.g. "Asia/Novosibirsk").
    timezone = models.CharField(max_length=64, blank=True)

    class Meta:
        managed = False
        db_table = "geo_place"

    def __str__(self) -> str:
        return f"{self.name}, {self.country_code}"

    def display_name(self, language: str = "en") -> str:
        if language == "ru" and self.name_ru:
            return self.name_ru
        return self.name


class PlaceName(models.Model):
    """One searchable spelling of a place (normalised: lower case, ё as е)."""

    place = models.ForeignKey(Place, on_delete=models.DO_NOTHING, related_name="names")
    name = models.CharField(max_length=200)

    class Meta:
        managed = False
        db_table = "geo_placename"


class GeocodeCache(models.Model):
    """A geocoder answer, keyed by a keyed hash of the query.

    Neither the typed text nor the geocoder's exact point is kept: only the snapped cell
    and the locality, so the cache cannot be read back as a list of addresses.
    """

    provider = models.CharField(max_length=20)
    query_hash = models.CharField(max_length=64)
    cell = models.BigIntegerField(null=True)
    precision = models.CharField(max_length=10, blank=True)
    city = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=200, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    found = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "query_hash"], name="geocode_cache_key"),
        ]


# The public map's snapshot tables live in their own module (issue 3).
from geo.snapshot_models import MapSnapshot, PublicArea, PublicCell  # noqa: E402

__all__ = ["GeocodeCache", "MapSnapshot", "Place", "PlaceName", "PublicArea", "PublicCell"]
