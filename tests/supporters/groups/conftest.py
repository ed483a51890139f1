"""Fixtures for local groups: signed-in activists, staff in each role, a group approved
around central Moscow, and mail helpers."""

import re

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from geo import areas
from supporters.groups import services
from supporters.models import OutboxMessage
from supporters.nearby.views import SESSION_KEY
from tests.supporters.organize.conftest import _roles, as_role, make_staff  # noqa: F401

MOSCOW = Point(37.62, 55.75, srid=4326)
FAR = (30.31, 59.94)  # Saint Petersburg, 630 km away


@pytest.fixture
def signed_in():
    """signed_in(supporter) -> a client whose nearby session is theirs."""

    def make(supporter) -> Client:
        client = Client()
        session = client.session
        session[SESSION_KEY] = str(supporter.pk)
        session.save()
        return client

    return make


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


def link_in(body: str, fragment: str) -> str:
    """The path of the first link in a mail body containing `fragment`."""
    url = next(u for u in re.findall(r"https?://\S+", body) if fragment in u)
    return re.sub(r"^https?://[^/]+", "", url)
