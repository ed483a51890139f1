"""Inviting the neighbours of an approved group: batches of invitations, their mails and
the mails' jobs, each in one transaction (the worker's group_invitations_send)."""

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from supporters import links
from supporters.emails import absolute
from supporters.groups import selectors
from supporters.groups.models import GroupInvitation, LocalGroup
from supporters.outbox import messages_compose, messages_queue


def _invitation_url(invitation: GroupInvitation) -> str:
    return absolute(reverse("groups:invitation", args=[links.GROUP_INVITATION.make(invitation.pk)]))


def group_invitations_send(*, group_id) -> int:
    """Invite everyone `selectors.group_invitees` finds, batch by batch; how many. As for
    events, the area is searched once and each batch checks the next of those it held."""
    group = LocalGroup.objects.get(pk=group_id)
    found = list(selectors.group_invitees(group=group).order_by("pk").values_list("pk", flat=True))
    batch, invited = settings.SOSEDI_MAILING_BATCH, 0
    for start in range(0, len(found), batch):
        invited += group_invitations_prepare_batch(
            group_id=group_id, batch=batch, among=found[start : start + batch]
        )
    while n := group_invitations_prepare_batch(group_id=group_id, batch=batch):
        invited += n
    return invited


def group_invitations_prepare_batch(*, group_id, batch: int, among: list | None = None) -> int:
    """Invite the next `batch` neighbours (of those with their id in `among` if given) to
    an approved group; how many (0 when done).

    As event invitations do: the invitations, their mails and the mails' jobs are written
    in one transaction, serialised with event invitations so that the weekly limit they
    share holds; an invited person is not an invitee any more."""
    with transaction.atomic():
        group = LocalGroup.objects.select_for_update().get(pk=group_id)
        if group.status != LocalGroup.Status.APPROVED:
            return 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sosedi:invitations'))")
        invitees = selectors.group_invitees(group=group)
        if among is not None:
            invitees = invitees.filter(pk__in=among)
        people = list(invitees.order_by("pk")[:batch])
        if not people:
            if among is None and group.invitations_sent_at is None:
                group.invitations_sent_at = timezone.now()
                group.save(update_fields=["invitations_sent_at"])
            return 0
        invitations = GroupInvitation.objects.bulk_create(
            GroupInvitation(group=group, supporter=p) for p in people
        )
        invited = [(i.supporter, {"url": _invitation_url(i)}) for i in invitations]
        messages_queue(
            messages_compose(
                people=invited,
                kind="group_invitation",
                template="groups/invitation",
                context={"group": group},
            )
        )
    return len(people)
