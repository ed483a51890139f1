"""/api/public/groups, the public map's groups layer: approved groups only, a point at the
area's centre, the k-anonymous member count, nothing about any member."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from supporters.groups import services
from supporters.groups.models import GroupMembership

from .conftest import draft

pytestmark = pytest.mark.django_db


def test_the_groups_layer_lists_approved_groups_at_their_centres_with_k_counts(
    approved_group, activist, client
):
    group, founder = approved_group
    members = [activist(email=f"m{i}@example.org") for i in range(settings.SOSEDI_MAP_K + 2)]
    for m in members:
        services.group_join(group=group, supporter=m, shares_contact=True)
    small = services.group_propose(founder=activist(), draft=draft(name="Small"))
    services.group_review(group=small, decision="approve", note="", reviewer=None)
    services.group_propose(founder=activist(), draft=draft(name="Waiting"))

    response = client.get(reverse("api:public_groups"))

    assert response.status_code == 200
    body = response.json()
    by_name = {f["properties"]["name"]: f for f in body["features"]}
    assert set(by_name) == {group.name, "Small"}  # not the one waiting for approval
    assert GroupMembership.objects.filter(group=group).count() == 13
    assert by_name[group.name]["properties"]["members"] == 10  # 13 rounded down, from k
    assert by_name["Small"]["properties"]["members"] is None  # 1 member: fewer than k
    lon, lat = by_name[group.name]["geometry"]["coordinates"]
    assert (round(lon, 4), round(lat, 4)) == (round(group.centre.x, 4), round(group.centre.y, 4))
    text = response.content.decode()
    for person in [founder, *members]:
        assert person.email not in text and str(person.cell) not in text
        assert person.display_name not in text


def test_the_public_map_asks_for_the_groups_layer(client):
    page = client.get(reverse("public_map:map")).content.decode()
    assert reverse("api:public_groups") in page


def test_a_segment_of_a_groups_members_holds_them_only(approved_group, activist, as_role):
    from supporters.organize.models import Segment

    group, founder = approved_group
    member = activist(email="member@example.org")
    services.group_join(group=group, supporter=member, shares_contact=False)
    activist(email="neighbour@example.org")  # same place, not a member
    coordinator = as_role("coordinator")

    response = coordinator.post(
        reverse("organize:segment_create"), {"name": "Хамовники", "group": str(group.pk)}
    )

    segment = Segment.objects.get()
    assert response.status_code == 302 and segment.group == group
    people = coordinator.get(reverse("organize:segment_people", args=[segment.pk]))
    text = people.content.decode()
    assert "member@example.org" in text and founder.email in text
    assert "neighbour@example.org" not in text
    assert segment.describe()["group"] == str(group.pk)
    proposed = services.group_propose(founder=activist(), draft=draft(name="Waiting"))
    refused = coordinator.post(
        reverse("organize:segment_create"), {"name": "x", "group": str(proposed.pk)}
    )
    assert refused.status_code == 400 and Segment.objects.count() == 1


def test_the_dashboard_heatmap_outlines_the_groups_areas_with_their_counts(approved_group, as_role):
    group, _founder = approved_group
    frame = as_role("organizer").get(reverse("organize:heatmap")).content.decode()
    # The hook's config is JSON with sorted keys: area, members, name.
    assert "sosediOrganizeMap" in frame
    assert f'"members": 1, "name": {json.dumps(group.name)}' in frame
