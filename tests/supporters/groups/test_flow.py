"""A local group from proposal to archive through the pages, the real worker and the
outbox: propose, approve, invitations only inside the area and within the weekly limit,
join with and without sharing, the leader's mail reaching the members and only them,
leaving from a mail's link, hand-over, archive and suspension."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from supporters.groups import services
from supporters.groups.models import GroupMembership, LocalGroup, TrustedHost
from supporters.models import OutboxMessage
from supporters.nearby.models import Rsvp

from .conftest import FAR, draft, link_in, mails

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_group_from_proposal_to_hand_over_through_pages_worker_and_outbox(
    activist, make_supporter, signed_in, as_role, run_worker
):
    founder = activist(name="Анна Лидер", email="anna@example.org")
    near = [
        make_supporter(email=f"near{i}@example.org", name=f"Near {i}", lon=37.62 + i * 0.01,
                       consents=["event_invitations"])
        for i in range(3)
    ]  # fmt: skip
    far = make_supporter(email="far@example.org", lon=FAR[0], lat=FAR[1],
                         consents=["event_invitations"])  # fmt: skip
    no_consent = make_supporter(email="quiet@example.org", consents=["email_updates"])
    busy = make_supporter(email="busy@example.org", consents=["event_invitations"])
    # Two event invitations this week already: the weekly limit, shared with groups.
    from tests.supporters.organize.test_merge import event

    for title in ("Walk", "Picnic"):
        Rsvp.objects.create(event=event(founder, title), supporter=busy, invited_at=timezone.now())

    # Propose through the page: a 5 km circle around a pin.
    page = signed_in(founder)
    response = page.post(
        reverse("groups:new"),
        {"name": "Соседи Хамовников", "description": "Деревья и набережная", "language": "ru",
         "area_kind": "circle", "pin_lat": "55.75", "pin_lon": "37.62", "radius_km": "5"},
    )  # fmt: skip
    group = LocalGroup.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/groups/{group.pk}/"
    assert group.status == "proposed"
    assert GroupMembership.objects.get().role == "leader"
    # Not public yet: the list and the page show it to nobody but its leader.
    assert "Соседи" not in page.get(reverse("groups:list")).content.decode()
    assert signed_in(near[0]).get(f"/groups/{group.pk}/").status_code == 404

    # A coordinator approves it; the worker invites the neighbours.
    coordinator = as_role("coordinator")
    queue = coordinator.get(reverse("organize_groups:queue")).content.decode()
    assert "Соседи Хамовников" in queue and "anna@example.org" in queue
    moderated = coordinator.post(
        reverse("organize_groups:moderate", args=[group.pk]), {"decision": "approve"}
    )
    assert moderated.status_code == 302
    assert mails(founder, "group_reviewed")
    run_worker(queues=["email"])
    invited = set(
        OutboxMessage.objects.filter(kind="group_invitation").values_list("to_email", flat=True)
    )
    assert invited == {p.email for p in near}  # not far away, not without consent, not busy
    run_worker(queues=["email"])  # running again invites nobody twice
    assert OutboxMessage.objects.filter(kind="group_invitation").count() == 3

    # Two join from their invitations: one shares their contact, one does not.
    for person, shares in ((near[0], True), (near[1], False)):
        (invitation,) = mails(person, "group_invitation")
        path = link_in(invitation.body_text, "/groups/invitation/")
        assert "Соседи Хамовников" in signed_in(person).get(path).content.decode()
        joined = signed_in(person).post(path, {"shares_contact": "on"} if shares else {})
        assert joined.status_code == 200 and "You are a member" in joined.content.decode()
        # The link is used up: a second post (a forwarded mail) changes nothing.
        again = signed_in(person).post(path, {} if shares else {"shares_contact": "on"})
        assert again.status_code == 410
    sharing, quiet = near[0], near[1]
    assert dict(
        GroupMembership.objects.filter(supporter__in=[sharing, quiet]).values_list(
            "supporter__email", "shares_contact"
        )
    ) == {sharing.email: True, quiet.email: False}
    assert GroupMembership.objects.filter(group=group).count() == 3

    # The leaders' page: the sharing member by name and email, the other only counted.
    lead = page.get(reverse("groups:lead", args=[group.pk])).content.decode()
    assert sharing.email in lead and quiet.email not in lead and quiet.display_name not in lead
    assert "1 member does not share" in lead
    assert signed_in(quiet).get(reverse("groups:lead", args=[group.pk])).status_code == 404

    # The leader mails the group: each member once, nobody else, no address of anyone else.
    OutboxMessage.objects.all().delete()
    sent = page.post(
        reverse("groups:lead", args=[group.pk]),
        {"action": "mail", "subject": "Субботник", "body": "В субботу в 10:00 у входа в парк."},
    )
    assert sent.status_code == 302
    group_mail = list(OutboxMessage.objects.filter(kind__startswith="group_mail:"))
    assert sorted(m.to_email for m in group_mail) == sorted([sharing.email, quiet.email])
    for message in group_mail:
        others = {founder.email, sharing.email, quiet.email} - {message.to_email}
        assert not any(o in message.body_text for o in others)
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.subject == "[Соседи Хамовников] Субботник"

    # Leaving from the mail: the link shows a button, the one-click POST leaves.
    mine = next(m for m in group_mail if m.to_email == quiet.email)
    leave = link_in(mine.body_text, "/groups/leave/")
    assert mine.headers["List-Unsubscribe"].strip("<>").endswith(leave)
    assert "Leave" in signed_in(quiet).get(leave).content.decode()
    assert Client().post(leave, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not GroupMembership.objects.filter(supporter=quiet).exists()

    # Hand-over to the member who shares; the founder stays as co-leader.
    handed = page.post(
        reverse("groups:lead", args=[group.pk]),
        {"membership": str(GroupMembership.objects.get(supporter=sharing).pk),
         "action": "hand_over"},
    )  # fmt: skip
    assert handed.status_code == 302
    roles = dict(GroupMembership.objects.values_list("supporter__email", "role"))
    assert roles == {founder.email: "co_leader", sharing.email: "leader"}

    # The new leader archives it: the page says so, nobody can join.
    signed_in(sharing).post(reverse("groups:lead", args=[group.pk]), {"action": "archive"})
    group.refresh_from_db()
    assert group.status == "archived"
    refused = signed_in(near[2]).post(reverse("groups:join", args=[group.pk]))
    assert refused.status_code == 400
    assert far.email not in invited and no_consent.email not in invited


def test_approval_rejection_and_changes_need_a_reason_and_tell_the_founder(activist):
    founder = activist()
    group = services.group_propose(founder=founder, draft=draft())
    with pytest.raises(services.GroupError):
        services.group_review(group=group, decision="reject", note=" ", reviewer=None)
    services.group_review(group=group, decision="changes", note="Назовите район", reviewer=None)
    (told,) = mails(founder, "group_reviewed")
    assert "Назовите район" in told.body_text
    group = services.group_change(group=group, founder=founder, draft=draft(name="Хамовники"))
    assert (group.status, group.name) == ("proposed", "Хамовники")
    services.group_review(group=group, decision="reject", note="Уже есть такая", reviewer=None)
    assert LocalGroup.objects.get().status == "rejected"
    with pytest.raises(services.GroupError):
        services.group_review(group=group, decision="approve", note="", reviewer=None)


def test_a_trusted_host_s_groups_and_events_are_approved_in_advance(activist, as_role):
    from supporters.nearby.services import event_propose
    from tests.supporters.nearby.conftest import event_draft

    founder = activist()
    first = services.group_propose(founder=founder, draft=draft())
    coordinator = as_role("coordinator")
    coordinator.post(reverse("organize_groups:moderate", args=[first.pk]), {"decision": "trust"})
    assert TrustedHost.objects.filter(supporter=founder).exists()

    later = services.group_propose(founder=founder, draft=draft(name="Second"))
    assert later.status == "approved"
    assert event_propose(host=founder, draft=event_draft()).status == "approved"


def test_a_suspended_group_takes_no_members_and_no_mail_until_restored(
    approved_group, activist, as_role
):
    group, founder = approved_group
    coordinator = as_role("coordinator")
    url = reverse("organize_groups:moderate", args=[group.pk])
    assert coordinator.post(url, {"decision": "suspend"}).status_code == 302
    group.refresh_from_db()
    with pytest.raises(services.GroupError):
        services.group_join(group=group, supporter=activist(), shares_contact=False)
    with pytest.raises(services.GroupError):
        services.group_mail_send(group=group, sender=founder, subject="s", body="b")
    assert coordinator.post(url, {"decision": "restore"}).status_code == 302
    group.refresh_from_db()
    services.group_join(group=group, supporter=activist(), shares_contact=False)
    assert as_role("organizer").post(url, {"decision": "suspend"}).status_code == 403


def test_only_sharing_members_lead_and_only_the_leader_appoints(approved_group, activist):
    group, founder = approved_group
    sharing = services.group_join(group=group, supporter=activist(), shares_contact=True)
    quiet = services.group_join(group=group, supporter=activist(), shares_contact=False)
    with pytest.raises(services.GroupError):
        services.group_co_leader_set(group=group, leader=founder, membership=quiet, co_leader=True)
    with pytest.raises(services.GroupError):
        services.group_hand_over(group=group, leader=founder, membership=quiet)
    services.group_co_leader_set(group=group, leader=founder, membership=sharing, co_leader=True)
    with pytest.raises(services.GroupError):  # a co-leader appoints nobody
        services.group_co_leader_set(
            group=group, leader=sharing.supporter, membership=quiet, co_leader=True
        )
    # A co-leader mails the group like the leader does.
    mail = services.group_mail_send(group=group, sender=sharing.supporter, subject="s", body="b")
    assert mail.recipients == 2


def test_the_leader_leaving_passes_the_group_on_or_archives_it(approved_group, activist):
    group, founder = approved_group
    first = services.group_join(group=group, supporter=activist(), shares_contact=True)
    second = services.group_join(group=group, supporter=activist(), shares_contact=True)
    for m in (second, first):  # `first` joined earlier: it takes over
        services.group_co_leader_set(group=group, leader=founder, membership=m, co_leader=True)
    leader = GroupMembership.objects.get(supporter=founder)
    services.group_leave(membership=leader)
    assert GroupMembership.objects.get(pk=first.pk).role == "leader"
    assert mails(first.supporter, "group_leader")

    group.refresh_from_db()
    assert group.status == "approved" and not group.needs_attention
    services.group_leave(membership=GroupMembership.objects.get(pk=first.pk))
    services.group_leave(membership=GroupMembership.objects.get(pk=second.pk))
    group.refresh_from_db()
    assert (group.status, group.needs_attention) == ("archived", True)
    assert not GroupMembership.objects.filter(group=group).exists()


def test_an_invitation_link_is_refused_when_forged(client):
    response = client.get("/groups/invitation/forged-token/")
    assert response.status_code == 400


@pytest.mark.parametrize("days", [0, 6])
def test_invitations_count_with_event_invitations_in_one_weekly_limit(
    approved_group, make_supporter, days, run_worker, settings
):
    group, founder = approved_group
    settings.SOSEDI_EVENT_INVITATIONS_PER_WEEK = 1
    person = make_supporter(consents=["event_invitations"])
    from supporters.groups.models import GroupInvitation

    other = services.group_propose(founder=founder, draft=draft(name="Other"))
    other = services.group_review(group=other, decision="approve", note="", reviewer=None)
    GroupInvitation.objects.create(group=other, supporter=person)
    GroupInvitation.objects.filter(supporter=person).update(
        invited_at=timezone.now() - timedelta(days=days)
    )
    from supporters.groups.selectors import group_invitees

    assert person not in group_invitees(group=group)  # one this week: the limit
    GroupInvitation.objects.filter(supporter=person).update(
        invited_at=timezone.now() - timedelta(days=8)
    )
    assert person in group_invitees(group=group)


def test_the_founder_changes_a_group_sent_back_on_its_page_and_it_waits_again(activist, signed_in):
    founder = activist()
    group = services.group_propose(founder=founder, draft=draft())
    services.group_review(group=group, decision="changes", note="Назовите район", reviewer=None)
    page = signed_in(founder)
    detail = page.get(reverse("groups:detail", args=[group.pk])).content.decode()
    edit = reverse("groups:edit", args=[group.pk])
    assert edit in detail and "Назовите район" in detail
    form = page.get(edit).content.decode()
    assert 'value="Соседи Хамовников"' in form and 'value="55.75' in form

    changed = page.post(
        edit,
        {"name": "Хамовники", "description": "Парки", "language": "ru", "area_kind": "circle",
         "pin_lat": "55.73", "pin_lon": "37.57", "radius_km": "4"},
    )  # fmt: skip

    assert changed.status_code == 302
    group.refresh_from_db()
    assert (group.status, group.name, group.radius_km) == ("proposed", "Хамовники", 4)
    assert signed_in(activist()).get(edit).status_code == 404  # not the founder
    assert page.get(edit).status_code == 404  # waiting again: nothing to change


def test_a_group_never_approved_never_becomes_public(activist, signed_in, client):
    founder = activist()
    proposed = services.group_propose(founder=founder, draft=draft(name="Proposal"))
    with pytest.raises(services.GroupError):  # only an approved group is archived
        services.group_archive(group=proposed, leader=founder)
    rejected = services.group_propose(founder=founder, draft=draft(name="Rejected"))
    services.group_review(group=rejected, decision="reject", note="нет", reviewer=None)

    # Its founder leaving (or being erased) deletes it: it was never anyone else's.
    for group in (proposed, rejected):
        services.group_leave(membership=GroupMembership.objects.get(group=group))
        assert not LocalGroup.objects.filter(pk=group.pk).exists()
        assert client.get(reverse("groups:detail", args=[group.pk])).status_code == 404


def test_leaving_twice_at_once_is_leaving_once(approved_group, activist, client):
    group, _leader = approved_group
    membership = services.group_join(group=group, supporter=activist(), shares_contact=False)
    stale = GroupMembership.objects.get(pk=membership.pk)
    services.group_leave(membership=membership)
    services.group_leave(membership=stale)  # the second click: nothing left, no error
    from supporters import links

    leave = reverse("groups:leave", args=[links.GROUP_LEAVE.make(membership.pk)])
    assert client.post(leave).status_code == 200


def test_a_circles_public_centre_is_its_hexagons_and_a_subject_is_one_line(
    approved_group, activist, signed_in
):
    import h3

    founder = activist()
    signed_in(founder).post(
        reverse("groups:new"),
        {"name": "Дверь", "description": "d", "language": "ru", "area_kind": "circle",
         "pin_lat": "55.751234", "pin_lon": "37.618765", "radius_km": "3"},
    )  # fmt: skip
    group = LocalGroup.objects.get(name="Дверь")
    cell = h3.latlng_to_cell(55.751234, 37.618765, 7)
    lat, lon = h3.cell_to_latlng(cell)
    assert (round(group.centre.y, 6), round(group.centre.x, 6)) == (round(lat, 6), round(lon, 6))

    approved, leader = approved_group
    signed_in(leader).post(
        reverse("groups:lead", args=[approved.pk]),
        {"action": "mail", "subject": "Встреча\r\nBcc: x@example.org", "body": "b"},
    )
    assert approved.mails.get().subject == "Встреча Bcc: x@example.org"


def test_an_area_across_the_180th_meridian_is_refused(activist, signed_in):
    import json

    box = [[179.9, 60], [-179.9, 60], [-179.9, 60.1], [179.9, 60.1], [179.9, 60]]
    response = signed_in(activist()).post(
        reverse("groups:new"),
        {"name": "X", "description": "d", "language": "ru", "area_kind": "polygon",
         "polygon": json.dumps({"type": "Polygon", "coordinates": [box]})},
    )  # fmt: skip
    assert response.status_code == 400 and "180th meridian" in response.content.decode()
    assert not LocalGroup.objects.exists()
