"""What people do with local groups: propose, review, invite, join, lead, mail, leave.

Every write is one transaction. Refusals a person can act on are GroupError (a 400 with
the message); limits are RateLimited (a 429), as in nearby.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from geo import areas
from supporters import links
from supporters.emails import absolute
from supporters.groups.models import (
    GroupInvitation,
    GroupMail,
    GroupMembership,
    LocalGroup,
    TrustedHost,
)
from supporters.groups.texts import group_texts
from supporters.models import OutboxMessage, Supporter
from supporters.nearby.selectors import supporter_is_banned
from supporters.outbox import message_queue, messages_queue
from supporters.ratelimit import ratelimit_hit
from supporters.sms.services import reached_by_text, texts_queue

Role = GroupMembership.Role
Status = LocalGroup.Status
# Groups that have been public; only these can be archived (and stay visible so).
PUBLISHED = (Status.APPROVED, Status.SUSPENDED)


class GroupError(Exception):
    """A request refused for a reason the person can act on (shown with a 400)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class GroupDraft:
    name: str
    description: str
    language: str
    area_kind: str
    area_name: str
    area: Polygon
    centre: Point
    radius_km: float | None = None


def founder_require(supporter: Supporter) -> None:
    """Who may propose a group: an active supporter open to introductions or to event
    invitations, not barred from nearby."""
    if supporter.status != Supporter.Status.ACTIVE:
        raise GroupError(_("Only active supporters can do this."))
    if not (supporter.consent_introductions or supporter.consent_event_invitations):
        raise GroupError(
            _(
                "To start a group, allow introductions or event invitations on your "
                "preferences page first."
            )
        )
    if supporter_is_banned(supporter=supporter):
        raise GroupError(_("The organizers have closed introductions and events for your account."))


def _area_check(area: Polygon) -> None:
    try:
        areas.area_check(area)
    except areas.AreaError as exc:
        raise GroupError(str(exc)) from exc


def group_url(group: LocalGroup) -> str:
    return absolute(reverse("groups:detail", args=[group.pk]))


def leave_url(membership: GroupMembership) -> str:
    return absolute(reverse("groups:leave", args=[links.GROUP_LEAVE.make(membership.pk)]))


@transaction.atomic
def group_propose(*, founder: Supporter, draft: GroupDraft) -> LocalGroup:
    """A supporter proposes a group and leads it; coordinators approve it first, unless
    the organizers have marked the founder a trusted host."""
    founder_require(founder)
    _area_check(draft.area)
    ratelimit_hit(
        scope="group_propose",
        key=str(founder.pk),
        limit=settings.SOSEDI_GROUP_PROPOSALS_PER_MONTH,
        window=timedelta(days=30),
        message=_("You have proposed %(n)s groups this month, the most we allow.")
        % {"n": settings.SOSEDI_GROUP_PROPOSALS_PER_MONTH},
    )
    group = LocalGroup(founder=founder, **vars(draft))
    group.full_clean(exclude=["founder"])
    group.save()
    GroupMembership.objects.create(
        group=group, supporter=founder, role=Role.LEADER, shares_contact=True
    )
    if TrustedHost.objects.filter(supporter=founder).exists():
        group = group_review(group=group, decision="approve", note="", reviewer=None)
    return group


@transaction.atomic
def group_change(*, group: LocalGroup, founder: Supporter, draft: GroupDraft) -> LocalGroup:
    """The founder changes a group the organizers asked changes of: it waits again."""
    group = LocalGroup.objects.select_for_update().get(pk=group.pk)
    if group.founder_id != founder.pk or group.status != Status.CHANGES:
        raise GroupError(_("This group cannot be changed now."))
    _area_check(draft.area)
    for field, value in vars(draft).items():
        setattr(group, field, value)
    group.status = Status.PROPOSED
    group.full_clean(exclude=["founder"])
    group.save()
    return group


REVIEWS = {"approve": Status.APPROVED, "reject": Status.REJECTED, "changes": Status.CHANGES}


@transaction.atomic
def group_review(*, group: LocalGroup, decision: str, note: str, reviewer) -> LocalGroup:
    """Approve (the worker then invites the neighbours), reject or ask for changes, with a
    note the founder reads (required unless approving)."""
    from supporters.groups.tasks import group_invitations_send

    group = (
        LocalGroup.objects.select_for_update(of=("self",))
        .select_related("founder")
        .get(pk=group.pk)
    )
    if group.status != Status.PROPOSED:
        raise GroupError(_("This group is not waiting for approval."))
    if decision not in REVIEWS:
        raise GroupError(_("Approve, reject or ask for changes."))
    note = note.strip()
    if decision != "approve" and not note:
        raise GroupError(_("Say why, so that the founder knows what to do."))
    group.status = REVIEWS[decision]
    group.review_note = note
    group.reviewed_at = timezone.now()
    group.reviewed_by = reviewer
    group.save(update_fields=["status", "review_note", "reviewed_at", "reviewed_by"])
    if group.founder is not None:
        message_queue(
            supporter=group.founder,
            kind="group_reviewed",
            template="groups/reviewed",
            context={"group": group, "decision": decision, "url": group_url(group)},
        )
    if decision == "approve":
        group_invitations_send.defer(group_id=str(group.pk))
    return group


@transaction.atomic
def group_join(
    *,
    group: LocalGroup,
    supporter: Supporter,
    shares_contact: bool,
    invitation: GroupInvitation | None = None,
) -> GroupMembership:
    """Join an approved group, sharing one's name and email with its leaders or not (a
    second, separate choice). Joining again, signed in, changes only that choice.

    From an `invitation` (a link that may have been forwarded): it is used up, and a
    member's choice is never changed through it."""
    group = LocalGroup.objects.select_for_update().get(pk=group.pk)
    if not group.is_open:
        raise GroupError(_("This group is not open for members now."))
    if supporter.status != Supporter.Status.ACTIVE:
        raise GroupError(_("Only active supporters can do this."))
    membership = (
        GroupMembership.objects.select_for_update().filter(group=group, supporter=supporter).first()
    )
    if invitation is not None:
        used = GroupInvitation.objects.filter(pk=invitation.pk, group=group, supporter=supporter)
        if not used.delete()[0]:
            raise GroupError(_("This invitation has been used already."))
        if membership is not None:
            return membership
    if membership is not None:
        if not membership.leads and membership.shares_contact != shares_contact:
            membership.shares_contact = shares_contact
            membership.save(update_fields=["shares_contact"])
        return membership
    ratelimit_hit(
        scope="group_join",
        key=str(supporter.pk),
        limit=settings.SOSEDI_GROUP_JOINS_PER_HOUR,
        window=timedelta(hours=1),
        message=_("You have joined %(n)s groups in the last hour: please wait a little.")
        % {"n": settings.SOSEDI_GROUP_JOINS_PER_HOUR},
    )
    return GroupMembership.objects.create(
        group=group, supporter=supporter, shares_contact=shares_contact
    )


def _succession(group: LocalGroup, leaving: GroupMembership) -> None:
    """The leader leaves: the longest-serving co-leader leads (and is told so); with none,
    the group is archived and flagged for the organizers. A group never approved (nobody
    but its founder in it, never public) is deleted instead. The group is locked."""
    if group.status not in PUBLISHED:
        leaving.delete()
        group.delete()
        return
    heir = (
        GroupMembership.objects.select_for_update()
        .filter(group=group, role=Role.CO_LEADER)
        .exclude(pk=leaving.pk)
        .select_related("supporter")
        .order_by("joined_at", "pk")
        .first()
    )
    leaving.delete()
    if heir is None:
        group.status = Status.ARCHIVED
        group.needs_attention = True
        group.save(update_fields=["status", "needs_attention"])
        return
    heir.role = Role.LEADER
    heir.save(update_fields=["role"])
    message_queue(
        supporter=heir.supporter,
        kind="group_leader",
        template="groups/leader",
        context={"group": group, "url": absolute(reverse("groups:lead", args=[group.pk]))},
    )


@transaction.atomic
def group_leave(*, membership: GroupMembership) -> None:
    """Leave a group: the membership goes; a leader's group passes on (_succession).
    Leaving twice (a mail client's one-click and a person's click at once) is leaving."""
    # The group first, then its memberships: the order every service locks them in.
    group = LocalGroup.objects.select_for_update().filter(pk=membership.group_id).first()
    membership = GroupMembership.objects.select_for_update().filter(pk=membership.pk).first()
    if group is None or membership is None:
        return
    # An invitation not used yet cannot bring them back.
    GroupInvitation.objects.filter(group=group, supporter_id=membership.supporter_id).delete()
    if membership.role == Role.LEADER:
        _succession(group, membership)
    else:
        membership.delete()


def groups_erase(*, supporter: Supporter) -> None:
    """Before a person is erased: the groups they lead pass on as if they had left. Their
    memberships, invitations and the group mail they sent go with them by cascade."""
    for membership in GroupMembership.objects.filter(supporter=supporter, role=Role.LEADER):
        group_leave(membership=membership)


def _leader_require(
    group: LocalGroup, supporter: Supporter, *, leader_only=False
) -> GroupMembership:
    """The supporter's membership if they lead the group (the caller holds its lock)."""
    LocalGroup.objects.select_for_update().filter(pk=group.pk).first()
    membership = (
        GroupMembership.objects.select_for_update().filter(group=group, supporter=supporter).first()
    )
    allowed = (Role.LEADER,) if leader_only else (Role.LEADER, Role.CO_LEADER)
    if membership is None or membership.role not in allowed:
        raise GroupError(_("Only this group's leaders can do this."))
    return membership


@transaction.atomic
def group_co_leader_set(
    *, group: LocalGroup, leader: Supporter, membership: GroupMembership, co_leader: bool
) -> GroupMembership:
    """The leader appoints a member who shares their contact as co-leader, or ends that."""
    _leader_require(group, leader, leader_only=True)
    membership = GroupMembership.objects.select_for_update().get(pk=membership.pk, group=group)
    if membership.role == Role.LEADER:
        raise GroupError(_("The leader is already leading."))
    if co_leader and not membership.shares_contact:
        raise GroupError(_("Only members who share their name and email can lead."))
    membership.role = Role.CO_LEADER if co_leader else Role.MEMBER
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def group_hand_over(
    *, group: LocalGroup, leader: Supporter, membership: GroupMembership
) -> GroupMembership:
    """The leader hands the group to a member who shares their contact; the old leader
    stays as co-leader."""
    mine = _leader_require(group, leader, leader_only=True)
    membership = GroupMembership.objects.select_for_update().get(pk=membership.pk, group=group)
    if membership.pk == mine.pk:
        raise GroupError(_("You lead this group already."))
    if not membership.shares_contact:
        raise GroupError(_("Only members who share their name and email can lead."))
    mine.role = Role.CO_LEADER
    mine.save(update_fields=["role"])
    membership.role = Role.LEADER
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def group_archive(*, group: LocalGroup, leader: Supporter) -> LocalGroup:
    _leader_require(group, leader, leader_only=True)
    group = LocalGroup.objects.select_for_update().get(pk=group.pk)
    if group.status not in PUBLISHED:
        raise GroupError(_("Only an approved group can be archived."))
    group.status = Status.ARCHIVED
    group.save(update_fields=["status"])
    return group


@transaction.atomic
def group_suspend(*, group: LocalGroup, suspend: bool, reviewer) -> LocalGroup:
    """Organizers suspend an approved group (its page says so, nobody may join or be
    mailed) or lift the suspension."""
    group = LocalGroup.objects.select_for_update().get(pk=group.pk)
    wanted_from = Status.APPROVED if suspend else Status.SUSPENDED
    if group.status != wanted_from:
        raise GroupError(_("This group cannot be suspended or restored now."))
    group.status = Status.SUSPENDED if suspend else Status.APPROVED
    group.reviewed_at, group.reviewed_by = timezone.now(), reviewer
    group.save(update_fields=["status", "reviewed_at", "reviewed_by"])
    return group


def _group_footer(language: str) -> str:
    with translation.override(language):
        return _(
            "You get this as a member of %(group)s on Sosedi. Its leaders do not see your "
            "address unless you chose to share it. To leave the group, open: %(link)s"
        )


def _group_message(
    mail: GroupMail, membership: GroupMembership, footers: dict | None = None
) -> OutboxMessage:
    """One member's copy; `footers` keeps the footer per language across members."""
    link = leave_url(membership)
    person = membership.supporter
    footers = {} if footers is None else footers
    if person.language not in footers:
        footers[person.language] = _group_footer(person.language)
    footer = footers[person.language] % {"group": mail.group.name, "link": link}
    return OutboxMessage(
        supporter=person,
        kind=f"group_mail:{mail.pk}",
        to_email=person.email,
        subject=f"[{mail.group.name}] {mail.subject}",
        body_text=f"{mail.body}\n\n-- \n{footer}\n",
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Precedence": "bulk",
        },
    )


@transaction.atomic
def group_mail_send(*, group: LocalGroup, sender: Supporter, subject: str, body: str) -> GroupMail:
    """A leader mails every other member through the outbox: one message each, with the
    group's leave link; nobody sees anyone's address. SOSEDI_GROUP_MAILS_PER_WEEK a group.
    Members whose channel is texts get it as a text instead, in the same transaction."""
    _leader_require(group, sender)
    group = LocalGroup.objects.select_for_update().get(pk=group.pk)
    if not group.is_open:
        raise GroupError(_("This group cannot be mailed now."))
    ratelimit_hit(
        scope="group_mail",
        key=str(group.pk),
        limit=settings.SOSEDI_GROUP_MAILS_PER_WEEK,
        window=timedelta(days=7),
        message=_("This group has been mailed %(n)s times this week, the most we allow.")
        % {"n": settings.SOSEDI_GROUP_MAILS_PER_WEEK},
    )
    members = list(
        GroupMembership.objects.filter(group=group, supporter__status=Supporter.Status.ACTIVE)
        .exclude(supporter=sender)
        .select_related("supporter")
    )
    mail = GroupMail.objects.create(
        group=group, sender=sender, subject=subject.strip(), body=body.strip(),
        recipients=len(members),
    )  # fmt: skip
    by_text = [m for m in members if reached_by_text(m.supporter)]
    texted, footers = {m.pk for m in by_text}, {}
    messages_queue(_group_message(mail, m, footers) for m in members if m.pk not in texted)
    texts_queue(group_texts(mail, by_text))
    return mail
