"""The local groups operation of the public JSON API (/api/): the markers of the public
map's groups layer, each at its area's centre (the area is public; no member's place is
in it, ever)."""

from typing import Literal
from uuid import UUID

from django.urls import reverse
from ninja import Field, Router, Schema

from geo.api import Point
from ops.replica import reads_may_lag
from supporters.groups import selectors

router = Router()


class GroupProperties(Schema):
    name: str
    area: str = Field(description="the town, or empty for a circle or a drawn area")
    members: int | None = Field(
        description="members, rounded down to a multiple of 5; null below the map's k"
    )
    url: str


class GroupFeature(Schema):
    type: Literal["Feature"]
    id: UUID
    geometry: Point
    properties: GroupProperties


class Groups(Schema):
    type: Literal["FeatureCollection"]
    features: list[GroupFeature]


@router.get(
    "/public/groups",
    url_name="public_groups",
    response=Groups,
    summary="Approved local groups (GeoJSON)",
    description="A point at each group's area centre, its name and k-anonymous member count.",
)
@reads_may_lag
def public_groups(request):
    features = [
        {
            "type": "Feature",
            "id": g.pk,
            "geometry": {
                "type": "Point",
                "coordinates": [round(g.centre.x, 3), round(g.centre.y, 3)],
            },
            "properties": {
                "name": g.name,
                "area": g.area_name,
                "members": selectors.members_shown(g.members),
                "url": request.build_absolute_uri(reverse("groups:detail", args=[g.pk])),
            },
        }
        for g in selectors.groups_public().defer("area", "description").order_by("name")
    ]
    return {"type": "FeatureCollection", "features": features}
