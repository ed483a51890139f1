"""GeoJSON FeatureCollections built by PostGIS in one query (ST_AsGeoJSON, json_agg).

Used by the public cells API, the events feed and the organizer exports: the rows come
from a subquery of the caller's, and each feature is a geometry, an optional id and
properties, all SQL expressions over that subquery's row, named `f`.
"""

import json
import re
from collections.abc import Mapping, Sequence

from django.db import DEFAULT_DB_ALIAS, connections

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _key(name: str) -> str:
    # Member and property names are written into the SQL: only plain identifiers pass.
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a GeoJSON member name this helper writes: {name!r}")
    return f"'{name}'"


def feature_collection(
    *,
    source: str,
    params: Sequence = (),
    geometry: str,
    properties: Mapping[str, str],
    feature_id: str | None = None,
    order_by: str | None = None,
    precision: int = 6,
    members: Mapping[str, object] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[str, int]:
    """The FeatureCollection (JSON text) of the rows of `source`, and how many there are.

    `members` are foreign members of the collection (written before `features`, their
    values as JSON); `order_by` orders the features; `using` is the database alias to read
    (the one the caller's rows came from, e.g. a queryset's `.db`).
    """
    props = ", ".join(f"{_key(k)}, {expr}" for k, expr in properties.items())
    feature = ["'type', 'Feature'"]
    if feature_id is not None:
        feature.append(f"'id', {feature_id}")
    feature += [
        f"'geometry', ST_AsGeoJSON({geometry}, {int(precision)})::json",
        f"'properties', json_build_object({props})",
    ]
    order = f" ORDER BY {order_by}" if order_by else ""
    extra = "".join(f", {_key(k)}, %s::json" for k in members or {})
    sql = (
        f"SELECT json_build_object('type', 'FeatureCollection'{extra}, 'features',"
        f" COALESCE(json_agg(json_build_object({', '.join(feature)}){order}), '[]'::json)"
        f")::text, count(*) FROM ({source}) f"
    )
    values = [json.dumps(v) for v in (members or {}).values()]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [*values, *params])
        text, count = cursor.fetchone()
    return text, count
