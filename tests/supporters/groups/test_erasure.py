"""Erasing a person (supporter_erase) and local groups: their memberships, invitations and
the group mail they sent go, nobody else's rows do; a group they lead passes to its
longest-serving co-leader, or is archived and flagged; a group they founded stays; no
column of the group tables names them afterwards (PRODUCT.md, privacy model 8)."""

import pytest
from django.db import connection

from supporters.groups import services
from supporters.groups.models import (
    GroupInvitation,
    GroupMail,
    GroupMembership,
    LocalGroup,
    TrustedHost,
)
from supporters.models import OutboxMessage
from supporters.services import supporter_erase

from .conftest import draft, mails

GROUP_MODELS = (LocalGroup, GroupMembership, GroupInvitation, GroupMail, TrustedHost)


def others_rows(pk, email: str) -> dict[str, set]:
    """The primary keys of every group and outbox row that is not the person's."""
    return {
        "memberships": set(
            GroupMembership.objects.exclude(supporter_id=pk).values_list("pk", flat=True)
        ),
        "invitations": set(
            GroupInvitation.objects.exclude(supporter_id=pk).values_list("pk", flat=True)
        ),
        "mails": set(GroupMail.objects.exclude(sender_id=pk).values_list("pk", flat=True)),
        "outbox": set(
            OutboxMessage.objects.exclude(supporter_id=pk)
            .exclude(to_email__iexact=email)
            .values_list("pk", flat=True)
        ),
    }


def memberships_as_they_are(group, *, but=()) -> set[tuple]:
    """The group's memberships, every column, except those of the supporters `but`."""
    rows = GroupMembership.objects.filter(group=group).exclude(supporter_id__in=but)
    return set(rows.values_list("pk", "supporter_id", "role", "shares_contact", "joined_at"))


def text_naming(*needles: str) -> list[str]:
    """Every text or JSON value of the group tables that holds one of `needles`."""
    found = []
    with connection.cursor() as cursor:
        for model in GROUP_MODELS:
            table = model._meta.db_table
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                " AND data_type IN ('text', 'character varying', 'json', 'jsonb')",
                [table],
            )
            for (column,) in cursor.fetchall():
                for needle in needles:
                    cursor.execute(
                        f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608
                        [f"%{needle}%"],
                    )
                    if cursor.fetchone()[0]:
                        found.append(f"{table}.{column} holds {needle!r}")
    return found


@pytest.mark.django_db(transaction=True)
def test_erasing_a_member_removes_their_group_rows_and_nobody_else_s(
    approved_group, activist, run_worker
):
    group, leader = approved_group
    person = activist(name="Ксения Стираемая", email="ksenia@example.org", lon=37.63)
    sharer = activist(name="Лев Остаётся", email="lev@example.org", lon=37.61)
    quiet = activist(email="quiet@example.org", lon=37.64)
    mine = services.group_join(group=group, supporter=person, shares_contact=True)
    services.group_co_leader_set(group=group, leader=leader, membership=mine, co_leader=True)
    services.group_join(group=group, supporter=sharer, shares_contact=True)
    services.group_join(group=group, supporter=quiet, shares_contact=False)
    # A second group they are a member of, and a third that invites them (and others).
    second_leader = activist(email="second@example.org", lon=37.60)
    second = services.group_propose(founder=second_leader, draft=draft(name="Вторая"))
    second = services.group_review(group=second, decision="approve", note="", reviewer=None)
    services.group_join(group=second, supporter=person, shares_contact=False)
    services.group_join(group=second, supporter=sharer, shares_contact=False)
    third_leader = activist(email="third@example.org", lon=37.59)
    third = services.group_propose(founder=third_leader, draft=draft(name="Третья"))
    services.group_review(group=third, decision="approve", note="", reviewer=None)
    run_worker(queues=["email"])
    assert GroupInvitation.objects.filter(supporter=person).exists()
    assert GroupInvitation.objects.exclude(supporter=person).exists()
    # The group mail: the leader's, and the co-leader's about to be erased. The copies in
    # the others' outbox are theirs and stay (Sosedi sends them; they name nobody).
    services.group_mail_send(group=group, sender=leader, subject="Субботник", body="В 10:00")
    services.group_mail_send(group=group, sender=person, subject="Пикник", body="В парке")
    assert mails(person, "group_mail:") and GroupMail.objects.filter(sender=person).exists()
    person_id = person.pk  # None once deleted
    before = others_rows(person_id, person.email)
    groups_before = {g.pk: (g.status, g.needs_attention) for g in LocalGroup.objects.all()}

    supporter_erase(supporter=person)

    assert not GroupMembership.objects.filter(supporter_id=person_id).exists()
    assert not GroupInvitation.objects.filter(supporter_id=person_id).exists()
    assert not GroupMail.objects.filter(sender_id=person_id).exists()
    assert not OutboxMessage.objects.filter(to_email__iexact=person.email).exists()
    assert others_rows(person_id, person.email) == before
    assert {g.pk: (g.status, g.needs_attention) for g in LocalGroup.objects.all()} == groups_before
    assert text_naming(person.email, person.display_name, "Ксения") == []
    assert text_naming("Субботник")  # the scan finds what is there: the leader's mail


@pytest.mark.django_db
def test_erasing_the_leader_passes_the_group_to_the_longest_serving_co_leader(
    approved_group, activist
):
    group, leader = approved_group
    first = services.group_join(group=group, supporter=activist(), shares_contact=True)
    second = services.group_join(group=group, supporter=activist(), shares_contact=True)
    quiet = services.group_join(group=group, supporter=activist(), shares_contact=False)
    for m in (second, first):  # `first` joined earlier, though appointed later: it leads
        services.group_co_leader_set(group=group, leader=leader, membership=m, co_leader=True)
    services.group_mail_send(group=group, sender=leader, subject="Привет", body="От Анны")
    before = memberships_as_they_are(group, but=(leader.pk, first.supporter_id))

    supporter_erase(supporter=leader)

    group.refresh_from_db()
    assert (group.status, group.needs_attention, group.founder_id) == ("approved", False, None)
    assert GroupMembership.objects.get(pk=first.pk).role == "leader"
    assert GroupMembership.objects.get(pk=second.pk).role == "co_leader"
    (told,) = mails(first.supporter, "group_leader")
    assert group.name in told.subject and leader.display_name not in told.body_text
    others = memberships_as_they_are(group, but=(first.supporter_id,))
    assert others == before and GroupMembership.objects.filter(pk=quiet.pk).exists()
    assert not GroupMail.objects.filter(group=group).exists()
    assert text_naming(leader.email, leader.display_name) == []


@pytest.mark.django_db
def test_erasing_the_only_leader_archives_the_group_for_the_organizers_and_keeps_its_members(
    approved_group, activist
):
    group, leader = approved_group
    services.group_join(group=group, supporter=activist(), shares_contact=True)
    services.group_join(group=group, supporter=activist(), shares_contact=False)
    members = memberships_as_they_are(group, but=(leader.pk,))

    supporter_erase(supporter=leader)

    group.refresh_from_db()
    assert (group.status, group.needs_attention, group.founder_id) == ("archived", True, None)
    assert memberships_as_they_are(group) == members
    assert not GroupMembership.objects.filter(group=group, role="leader").exists()
    assert text_naming(leader.email, leader.display_name) == []


@pytest.mark.django_db
def test_erasing_the_founder_who_handed_the_group_over_keeps_the_group(approved_group, activist):
    group, founder = approved_group
    heir = services.group_join(group=group, supporter=activist(), shares_contact=True)
    services.group_hand_over(group=group, leader=founder, membership=heir)
    TrustedHost.objects.create(supporter=founder)
    members = memberships_as_they_are(group, but=(founder.pk,))

    supporter_erase(supporter=founder)

    group.refresh_from_db()
    assert (group.status, group.needs_attention, group.founder_id) == ("approved", False, None)
    assert memberships_as_they_are(group) == members
    assert GroupMembership.objects.get(pk=heir.pk).role == "leader"
    assert not TrustedHost.objects.exists()
    assert text_naming(founder.email, founder.display_name) == []
