"""The leaders' page lists the members who share their contact a page at a time."""

import re

import pytest
from django.urls import reverse

from supporters.groups import selectors
from supporters.groups.models import GroupMembership

pytestmark = pytest.mark.django_db


def listed(html: str) -> list[str]:
    return re.findall(r"<td>([^<]*@example\.org)</td>", html)


def test_the_roster_is_shown_a_page_at_a_time_leaders_first(
    approved_group, make_supporter, signed_in, monkeypatch
):
    monkeypatch.setattr(selectors, "ROSTER_PER_PAGE", 2)
    group, leader = approved_group
    members = [make_supporter(email=f"m{n}@example.org") for n in range(4)]
    for n, member in enumerate(members):
        GroupMembership.objects.create(group=group, supporter=member, shares_contact=n != 3)
    page = signed_in(leader)
    lead = reverse("groups:lead", args=[group.pk])

    first = page.get(lead).content.decode()
    second = page.get(lead, {"page": 2}).content.decode()
    past_the_end = page.get(lead, {"page": 9}).content.decode()
    nonsense = page.get(lead, {"page": "x"}).content.decode()

    assert listed(first) == [leader.email, members[0].email]
    assert listed(second) == [members[1].email, members[2].email]
    assert listed(past_the_end) == listed(second) and listed(nonsense) == listed(first)
    assert "1 / 2" in first and 'href="?page=2#roster"' in first
    assert "2 / 2" in second and 'href="?page=1#roster"' in second
    assert "1 member does not share" in first and members[3].email not in first + second
