"""A local group's events: proposed by its leaders through the event form pre-filled with
the group's area; its members are invited, supporters nearby only if the leader asks."""

from dataclasses import replace

import pytest
from django.urls import reverse

from supporters.groups import services
from supporters.models import OutboxMessage
from supporters.nearby.services import (
    NearbyError,
    event_invitations_send,
    event_propose,
    event_review,
)
from tests.supporters.nearby.conftest import event_draft

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("nearby", [False, True])
def test_a_group_event_invites_its_members_and_nearby_people_only_if_asked(
    approved_group, activist, make_supporter, nearby
):
    group, leader = approved_group
    # Members far away (Rostov): one accepts event invitations, one does not.
    member = make_supporter(
        email="member@example.org", lon=39.7, lat=47.23, consents=["event_invitations"]
    )
    services.group_join(group=group, supporter=member, shares_contact=False)
    no_consent = make_supporter(email="quiet@example.org", lon=39.7, lat=47.23)
    services.group_join(group=group, supporter=no_consent, shares_contact=False)
    neighbour = make_supporter(email="neighbour@example.org", consents=["event_invitations"])
    event = event_propose(
        host=leader, draft=replace(event_draft(), group=group, invite_nearby=nearby)
    )
    event_review(event=event, approve=True, reviewer=None)

    event_invitations_send(event=event)

    invited = set(
        OutboxMessage.objects.filter(kind="nearby_event_invitation").values_list(
            "to_email", flat=True
        )
    )
    assert invited == ({member.email, neighbour.email} if nearby else {member.email})


def test_only_a_leader_holds_a_groups_event_and_the_form_starts_at_its_area(
    approved_group, activist, signed_in
):
    group, leader = approved_group
    member = activist()
    services.group_join(group=group, supporter=member, shares_contact=True)
    with pytest.raises(NearbyError):
        event_propose(host=member, draft=replace(event_draft(), group=group))
    assert (
        signed_in(member).get(reverse("nearby:event_new") + f"?group={group.pk}").status_code == 404
    )
    assert signed_in(leader).get(reverse("nearby:event_new") + "?group=nonsense").status_code == 404

    page = signed_in(leader).get(reverse("nearby:event_new") + f"?group={group.pk}")
    html = page.content.decode()
    assert page.status_code == 200 and group.name in html
    assert f'value="{round(group.centre.y, 6)}"' in html and 'name="invite_nearby"' in html
    group_page = signed_in(leader).get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert f"?group={group.pk}" in group_page


def test_the_organizers_page_counts_each_groups_members_mail_events_and_attendance(
    approved_group, activist, as_role
):
    import re
    from datetime import timedelta

    from django.utils import timezone

    from supporters.nearby.models import Activity, Event

    group, leader = approved_group
    member = services.group_join(group=group, supporter=activist(), shares_contact=False)
    services.group_mail_send(group=group, sender=leader, subject="s", body="b")
    event = event_propose(host=leader, draft=replace(event_draft(), group=group))
    past = timezone.now() - timedelta(days=3)
    Event.objects.filter(pk=event.pk).update(
        status="approved", starts_at=past, ends_at=past + timedelta(hours=2)
    )
    Activity.objects.create(
        supporter=member.supporter, kind="event_attended", event=event, occurred_at=past
    )

    html = as_role("coordinator").get(reverse("organize_groups:queue")).content.decode()

    row = re.search(rf"<tr>\s*<td><a [^>]*>{group.name}</a></td>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    # status, members, sharing, joined in 30 days, mails, events held, attendances
    assert cells[:7] == ["approved", "2", "1", "2", "1", "1", "1"]
