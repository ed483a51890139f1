"""The public map's snapshot: published hexagon counts and area totals, never people.

Rebuilt by `geo.snapshot.snapshot_refresh` in one transaction, so a reader sees either the
previous snapshot or the new one whole. Public requests read only these tables.
"""

from django.contrib.gis.db import models
from django.db.models import Q

# No public cell is finer than resolution 7 (about 5 km²).
MAX_PUBLIC_RESOLUTION = 7
# Resolution 1 has 842 cells on the whole Earth, so a response can always fit under the
# per-response cap by falling back to it.
MIN_PUBLIC_RESOLUTION = 1
# No published count is ever below this, whatever k is configured (k itself is ≥ 5).
MIN_PUBLISHED_COUNT = 5


class MapSnapshot(models.Model):
    """One build of the public map. The current snapshot is the highest committed version."""

    version = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()
    k = models.PositiveSmallIntegerField(help_text="minimum distinct supporters per cell")
    cells = models.PositiveIntegerField(default=0, help_text="published cells, all resolutions")
    build_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(condition=Q(k__gte=5), name="map_snapshot_k_at_least_5"),
        ]

    def __str__(self) -> str:
        return f"map snapshot {self.version}"

    @property
    def etag(self) -> str:
        return f'"map-{self.version}"'


class PublicCell(models.Model):
    """A published H3 cell: its hexagon and its perturbed, rounded count."""

    snapshot = models.ForeignKey(MapSnapshot, on_delete=models.CASCADE, related_name="+")
    resolution = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField(help_text="H3 index")
    count = models.PositiveIntegerField(help_text="perturbed and rounded to a multiple of 5")
    geom = models.PolygonField(srid=4326)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "cell"], name="public_cell_unique"),
            models.CheckConstraint(
                condition=Q(resolution__gte=MIN_PUBLIC_RESOLUTION)
                & Q(resolution__lte=MAX_PUBLIC_RESOLUTION),
                name="public_cell_resolution_range",
            ),
            models.CheckConstraint(
                condition=Q(count__gte=MIN_PUBLISHED_COUNT), name="public_cell_count_floor"
            ),
        ]
        indexes = [models.Index(fields=["snapshot", "resolution"], name="public_cell_snap_res")]

    def __str__(self) -> str:
        return f"{self.cell:x}: {self.count}"


class PublicArea(models.Model):
    """A published total for the world, a country, a region or a town, perturbed like the
    cells and shown only from k people."""

    class Level(models.TextChoices):
        WORLD = "world"
        COUNTRY = "country"
        REGION = "region"
        LOCALITY = "locality"

    snapshot = models.ForeignKey(MapSnapshot, on_delete=models.CASCADE, related_name="areas")
    level = models.CharField(max_length=10, choices=Level.choices)
    country_code = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=200, blank=True)
    locality = models.CharField(max_length=200, blank=True)
    # A town's gazetteer place (GeoNames id), to name it in the page's language. No foreign
    # key: the gazetteer is rebuilt from its source while snapshots stay.
    place_id = models.IntegerField(null=True, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-count", "country_code", "region", "locality"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "level", "country_code", "region", "locality", "place_id"],
                name="public_area_unique",
            ),
            models.CheckConstraint(
                condition=Q(count__gte=MIN_PUBLISHED_COUNT), name="public_area_count_floor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.country_code} {self.region} {self.locality}: {self.count}"
