"""Every limit of local groups, through the pages: a 429 with a message a person can act
on, and a refused attempt writes nothing (PRODUCT.md, privacy model 5)."""

import pytest
from django.conf import settings
from django.urls import reverse

from supporters import links
from supporters.groups import services
from supporters.groups.models import GroupInvitation, GroupMail, GroupMembership, LocalGroup
from supporters.models import OutboxMessage, RateLimitEvent

from .conftest import draft

CIRCLE = {
    "name": "Соседи Хамовников",
    "description": "Деревья и набережная",
    "language": "ru",
    "area_kind": "circle",
    "pin_lat": "55.75",
    "pin_lon": "37.62",
    "radius_km": "5",
}


def written() -> dict[str, int]:
    """How many rows a refused attempt could have added."""
    models = (LocalGroup, GroupMembership, GroupMail, OutboxMessage, RateLimitEvent)
    return {m.__name__: m.objects.count() for m in models}


def approved_groups(activist, n: int) -> list[LocalGroup]:
    """`n` approved groups, each founded by someone else (founders have limits too)."""
    groups = []
    for i in range(n):
        founder = activist(email=f"founder{i}@example.org")
        group = services.group_propose(founder=founder, draft=draft(name=f"Группа {i}"))
        groups.append(
            services.group_review(group=group, decision="approve", note="", reviewer=None)
        )
    return groups


@pytest.mark.django_db
def test_proposals_beyond_the_monthly_limit_are_a_429_and_write_nothing(activist, signed_in):
    page = signed_in(activist())
    limit = settings.SOSEDI_GROUP_PROPOSALS_PER_MONTH
    for i in range(limit):
        response = page.post(reverse("groups:new"), {**CIRCLE, "name": f"Группа {i}"})
        assert response.status_code == 302, response.content.decode()
    before = written()

    refused = page.post(reverse("groups:new"), {**CIRCLE, "name": "Ещё одна"})

    assert refused.status_code == 429
    text = refused.content.decode()
    assert f"You have proposed {limit} groups this month, the most we allow." in text
    assert written() == before
    assert not LocalGroup.objects.filter(name="Ещё одна").exists()
    # Someone else may still propose.
    assert signed_in(activist()).post(reverse("groups:new"), CIRCLE).status_code == 302


@pytest.mark.django_db
def test_joins_beyond_the_hourly_limit_are_a_429_and_write_nothing(activist, signed_in):
    limit = settings.SOSEDI_GROUP_JOINS_PER_HOUR
    *allowed, last = approved_groups(activist, limit + 1)
    person = activist(email="joiner@example.org")
    page = signed_in(person)
    for group in allowed:
        assert page.post(reverse("groups:join", args=[group.pk])).status_code == 302
    before = written()

    refused = page.post(reverse("groups:join", args=[last.pk]), {"shares_contact": "on"})

    assert refused.status_code == 429
    assert f"You have joined {limit} groups in the last hour: please wait a little." in (
        refused.content.decode()
    )
    assert written() == before
    assert not GroupMembership.objects.filter(group=last, supporter=person).exists()
    # Changing one's choice in a group one is in is no new join: still allowed.
    again = page.post(reverse("groups:join", args=[allowed[0].pk]), {"shares_contact": "on"})
    assert again.status_code == 302
    assert GroupMembership.objects.get(group=allowed[0], supporter=person).shares_contact


@pytest.mark.django_db(transaction=True)
def test_joining_from_an_invitation_counts_in_the_same_hourly_limit(
    activist, make_supporter, signed_in, settings, run_worker
):
    settings.SOSEDI_GROUP_JOINS_PER_HOUR = 1
    settings.SOSEDI_EVENT_INVITATIONS_PER_WEEK = 5
    person = make_supporter(email="invited@example.org", consents=["event_invitations"])
    first, second = approved_groups(activist, 2)
    run_worker(queues=["email"])
    invitation = GroupInvitation.objects.get(group=second, supporter=person)
    assert signed_in(person).post(reverse("groups:join", args=[first.pk])).status_code == 302
    before = written()

    path = reverse("groups:invitation", args=[links.GROUP_INVITATION.make(invitation.pk)])
    refused = signed_in(person).post(path)

    assert refused.status_code == 429 and "please wait a little" in refused.content.decode()
    assert written() == before


@pytest.mark.django_db
def test_group_mail_beyond_the_weekly_limit_is_a_429_and_writes_nothing(
    approved_group, activist, signed_in
):
    group, leader = approved_group
    co = services.group_join(group=group, supporter=activist(), shares_contact=True)
    services.group_co_leader_set(group=group, leader=leader, membership=co, co_leader=True)
    services.group_join(group=group, supporter=activist(), shares_contact=False)
    lead = reverse("groups:lead", args=[group.pk])
    limit = settings.SOSEDI_GROUP_MAILS_PER_WEEK
    for i in range(limit):
        sent = signed_in(leader).post(
            lead, {"action": "mail", "subject": f"Письмо {i}", "body": "Субботник в 10:00"}
        )
        assert sent.status_code == 302
    before = written()

    # The limit is the group's: a co-leader cannot go past it either.
    refused = signed_in(co.supporter).post(
        lead, {"action": "mail", "subject": "Ещё письмо", "body": "И ещё одно"}
    )

    assert refused.status_code == 429
    assert f"This group has been mailed {limit} times this week, the most we allow." in (
        refused.content.decode()
    )
    assert written() == before
    assert not GroupMail.objects.filter(subject="Ещё письмо").exists()
    assert not OutboxMessage.objects.filter(subject__contains="Ещё письмо").exists()
