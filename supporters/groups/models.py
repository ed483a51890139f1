"""Local groups, their members, invitations and mail."""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from supporters.models import Supporter

__all__ = ["GroupInvitation", "GroupMail", "GroupMembership", "LocalGroup", "TrustedHost"]


class LocalGroup(models.Model):
    """A group for a town, a circle or a drawn area. The area is public (never smaller than
    a resolution-7 hexagon: geo.areas), its members' places never are."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("waiting for approval")
        CHANGES = "changes", _("changes asked for")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        SUSPENDED = "suspended", _("suspended by the organizers")
        ARCHIVED = "archived", _("archived")

    class AreaKind(models.TextChoices):
        TOWN = "town", _("a town")
        CIRCLE = "circle", _("a circle")
        POLYGON = "polygon", _("an area drawn on the map")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), max_length=4000)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    area_kind = models.CharField(max_length=10, choices=AreaKind.choices)
    area_name = models.CharField(max_length=200, blank=True)  # the town, or as given
    area = models.PolygonField(geography=True)
    centre = models.PointField(geography=True)
    radius_km = models.FloatField(null=True, blank=True)  # towns and circles
    founder = models.ForeignKey(
        Supporter, null=True, on_delete=models.SET_NULL, related_name="groups_founded"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    review_note = models.TextField(blank=True)  # why rejected, or what to change
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    # Set when the organizers should look: its last leader left and nobody took it over.
    needs_attention = models.BooleanField(default=False)
    invitations_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["name"]
        indexes = [models.Index(fields=["status"], name="localgroup_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.APPROVED


class GroupMembership(models.Model):
    """One person in one group. Leaders and co-leaders share their name and email with the
    group's other leaders; a member chooses (`shares_contact`) when joining."""

    class Role(models.TextChoices):
        LEADER = "leader", _("leader")
        CO_LEADER = "co_leader", _("co-leader")
        MEMBER = "member", _("member")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.ForeignKey(LocalGroup, on_delete=models.CASCADE, related_name="memberships")
    supporter = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="group_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    shares_contact = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["group", "supporter"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["group"], condition=Q(role="leader"), name="membership_one_leader"
            ),
            models.CheckConstraint(
                condition=Q(role="member") | Q(shares_contact=True),
                name="membership_leaders_share",
            ),
        ]

    @property
    def leads(self) -> bool:
        return self.role in (self.Role.LEADER, self.Role.CO_LEADER)


class GroupInvitation(models.Model):
    """A neighbour invited to join an approved group (one each; counted in the weekly
    invitation limit with event invitations)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.ForeignKey(LocalGroup, on_delete=models.CASCADE, related_name="invitations")
    supporter = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="group_invitations"
    )
    invited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        constraints = [
            models.UniqueConstraint(fields=["group", "supporter"], name="group_invitation_unique")
        ]
        indexes = [models.Index(fields=["supporter", "invited_at"], name="group_invitation_week")]


class GroupMail(models.Model):
    """A message a leader sent to the group through Sosedi (one outbox message a member).
    It goes when its sender is erased."""

    group = models.ForeignKey(LocalGroup, on_delete=models.CASCADE, related_name="mails")
    sender = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="group_mails")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), max_length=20000)
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-sent_at"]


class TrustedHost(models.Model):
    """A person whose later groups and events the organizers approve in advance."""

    supporter = models.OneToOneField(
        Supporter, on_delete=models.CASCADE, related_name="trusted_host"
    )
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
