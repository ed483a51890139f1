"""Exports of a segment: counts per cell for organizers, person rows for coordinators.

Points are always cell centres (the only location Sosedi keeps). GeoJSON is built by
PostGIS; CSV by the csv module.
"""

import csv
import io
from collections.abc import Iterator

from django.contrib.postgres.aggregates import StringAgg
from django.db import connections
from django.db.models import QuerySet

from geo.geojson import feature_collection
from supporters.models import Purpose

PEOPLE_FIELDS = [
    "name",
    "email",
    "phone",
    "language",
    "status",
    "joined_at",
    "city",
    "region",
    "country_code",
    "h3_cell",
    "cell_lat",
    "cell_lon",
    *(f"consent_{p.value}" for p in Purpose),
    "tags",
]
CELL_FIELDS = ["h3_cell", "cell_lat", "cell_lon", "supporters"]


def _cells_sql(queryset: QuerySet) -> tuple[str, list]:
    inner, params = queryset.order_by().values("cell", "location").query.sql_with_params()
    return (
        f"""SELECT to_hex(q.cell) AS cell, count(*) AS n,
                   ST_Centroid(ST_Collect(q.location::geometry)) AS geom
            FROM ({inner}) q GROUP BY q.cell""",
        list(params),
    )


def cells_rows(queryset: QuerySet) -> list[tuple]:
    sql, params = _cells_sql(queryset)
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            f"SELECT cell, round(ST_Y(geom)::numeric, 6), round(ST_X(geom)::numeric, 6), n"
            f" FROM ({sql}) c ORDER BY n DESC, cell",
            params,
        )
        return cursor.fetchall()


def cells_geojson(queryset: QuerySet) -> tuple[str, int]:
    sql, params = _cells_sql(queryset)
    return feature_collection(
        source=sql,
        params=params,
        geometry="f.geom",
        properties={"h3_cell": "f.cell", "supporters": "f.n"},
        order_by="f.n DESC, f.cell",
        using=queryset.db,
    )


def _people(queryset: QuerySet) -> QuerySet:
    return queryset.order_by("created_at", "pk").annotate(
        tag_list=StringAgg("taggings__name", delimiter="|", order_by="taggings__name")
    )


def people_rows(queryset: QuerySet) -> Iterator[list]:
    for s in _people(queryset).iterator(chunk_size=2000):
        yield [
            s.display_name,
            s.email,
            s.phone,
            s.language,
            s.status,
            s.created_at.isoformat(),
            s.city,
            s.region,
            s.country_code,
            f"{s.cell:x}",
            round(s.location.y, 6),
            round(s.location.x, 6),
            *("yes" if getattr(s, f"consent_{p.value}") else "no" for p in Purpose),
            s.tag_list or "",
        ]


def people_geojson(queryset: QuerySet) -> tuple[str, int]:
    inner, params = (
        _people(queryset)
        .values(
            "display_name",
            "email",
            "phone",
            "status",
            "city",
            "region",
            "country_code",
            "location",
            "tag_list",
        )
        .query.sql_with_params()
    )
    return feature_collection(
        source=inner,
        params=params,
        geometry="f.location",
        properties={
            "name": "f.display_name",
            "email": "f.email",
            "phone": "f.phone",
            "status": "f.status",
            "city": "f.city",
            "region": "f.region",
            "country_code": "f.country_code",
            "tags": "f.tag_list",
        },
        using=queryset.db,
    )


def csv_text(header: list[str], rows) -> tuple[str, int]:
    """CSV with a BOM, so spreadsheet programs read Cyrillic right; and the row count."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return buffer.getvalue(), n
