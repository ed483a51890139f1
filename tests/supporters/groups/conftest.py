"""Fixtures for local groups: signed-in activists, staff in each role, a group approved
around central Moscow, and mail helpers."""

import pytest
from django.contrib.gis.geos import Point

from geo import areas
from supporters.groups import services
from supporters.models import OutboxMessage
from tests.supporters.nearby.conftest import link_in, signed_in  # noqa: F401
from tests.supporters.organize.conftest import _roles, as_role, make_staff  # noqa: F401

MOSCOW = Point(37.62, 55.75, srid=4326)
FAR = (30.31, 59.94)  # Saint Petersburg, 630 km away


def draft(**fields) -> services.GroupDraft:
    """A 5 km circle around central Moscow, unless `fields` say otherwise."""
    radius = fields.pop("radius_km", 5)
    centre = fields.pop("centre", MOSCOW)
    return services.GroupDraft(
        **{
            "name": "Соседи Хамовников",
            "description": "Parks, trees and the river bank.",
            "language": "ru",
            "area_kind": "circle",
            "area_name": "",
            "area": areas.circle(centre, radius),
            "centre": centre,
            "radius_km": radius,
            **fields,
        }
    )


@pytest.fixture
def approved_group(activist):
    """A group approved around central Moscow, led by its founder: (group, founder)."""
    founder = activist(name="Анна Лидер", email="leader@example.org")
    group = services.group_propose(founder=founder, draft=draft())
    group = services.group_review(group=group, decision="approve", note="", reviewer=None)
    return group, founder


def mails(to, kind: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(to_email=to.email, kind__startswith=kind))
