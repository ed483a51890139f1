"""Reads about local groups. Counts anyone outside a group's leaders and the organizers
sees are k-anonymous (geo.bands.k_shown with the public map's k)."""

from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet

from geo.bands import k_shown
from supporters.groups.models import GroupInvitation, GroupMembership, LocalGroup
from supporters.models import Supporter


def members_shown(n: int) -> int | None:
    """A group's member count as the public sees it: None below the map's k."""
    return k_shown(n, k=settings.SOSEDI_MAP_K)


def groups_public() -> QuerySet[LocalGroup]:
    """Approved groups with their member counts (`members`, to pass through members_shown)."""
    return LocalGroup.objects.filter(status=LocalGroup.Status.APPROVED).annotate(
        members=Count("memberships")
    )


def groups_at(point) -> QuerySet[LocalGroup]:
    """Approved groups whose area holds a point (a place searched for)."""
    return groups_public().filter(area__intersects=point)


def group_invitees(*, group: LocalGroup) -> QuerySet[Supporter]:
    """Who an approved group invites: active supporters with the event-invitations consent
    whose hexagon's centre lies in its area, not members, not invited to it yet, and under
    the weekly invitation limit they share with events."""
    from supporters.nearby.selectors import invitations_full_this_week

    return (
        Supporter.objects.filter(
            status=Supporter.Status.ACTIVE,
            consent_event_invitations=True,
            location__intersects=group.area,
        )
        # NOT IN, which PostgreSQL hashes once: a NOT EXISTS was planned as a scan of the
        # group's invitations per person while its invitations were being written.
        .exclude(pk__in=GroupMembership.objects.filter(group=group).values("supporter_id"))
        .exclude(pk__in=GroupInvitation.objects.filter(group=group).values("supporter_id"))
        .exclude(pk__in=invitations_full_this_week())
    )


# Members listed on one page of the leaders' page (a group of thousands is not one table).
ROSTER_PER_PAGE = 100


@dataclass(frozen=True)
class Roster:
    """The members as a group's leaders see them: those who share, by name and email, a
    page at a time (co-leaders and the leader first); the others only counted."""

    sharing: Page
    others: int


def group_roster(*, group: LocalGroup, page: str | int | None = None) -> Roster:
    """Page `page` of the members who share (the last for a number past it, the first for
    anything else)."""
    memberships = GroupMembership.objects.filter(group=group)
    sharing = (
        memberships.filter(Q(shares_contact=True))
        .select_related("supporter")
        .order_by("role", "joined_at", "pk")
    )
    return Roster(
        sharing=Paginator(sharing, ROSTER_PER_PAGE).get_page(page),
        others=memberships.filter(shares_contact=False).count(),
    )


def membership_of(*, group: LocalGroup, supporter: Supporter | None) -> GroupMembership | None:
    if supporter is None:
        return None
    return GroupMembership.objects.filter(group=group, supporter=supporter).first()


def memberships_of(*, supporter: Supporter) -> QuerySet[GroupMembership]:
    return GroupMembership.objects.filter(supporter=supporter).select_related("group")
