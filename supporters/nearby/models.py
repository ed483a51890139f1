"""Tables of nearby introductions and local events.

Every foreign key to Supporter cascades, directly or through a parent row, so erasing a
person removes their sign-in links, introductions, blocks, reports, events, RSVPs and
activity at once (PRODUCT.md, privacy point 8).
"""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.bands import BAND_EDGES_M, Band
from geo.timezones import validate_timezone, zone_label
from supporters.models import Supporter

__all__ = [
    "Activity",
    "AreaArrival",
    "Block",
    "Event",
    "Introduction",
    "IntroductionRequest",
    "NearbyBan",
    "Report",
    "Rsvp",
    "SignInLink",
]


class SignInLink(models.Model):
    """A one-time sign-in link mailed to an activist; `used_at` makes it single use."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "supporters"
        indexes = [models.Index(fields=["created_at"], name="nearby_signin_created")]


class IntroductionRequest(models.Model):
    """An activist's request to be introduced to a few activists near them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="introduction_requests"
    )
    message = models.TextField(max_length=500)
    # What the requester chose (never how many were found): shown back to them.
    asked_for = models.PositiveSmallIntegerField(default=1)
    farthest = models.CharField(max_length=8, choices=Band.choices, default=Band.FROM_10_TO_25)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        app_label = "supporters"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="intro_request_expires_later"
            ),
        ]

    def __str__(self) -> str:
        return f"introduction request {self.pk}"

    @property
    def reach_km(self) -> str:
        return f"{BAND_EDGES_M[Band(self.farthest)][1] / 1000:g}"


class Introduction(models.Model):
    """One candidate asked by one request. Nothing about the candidate reaches the
    requester unless `status` becomes accepted."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for an answer")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        EXPIRED = "expired", _("expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        IntroductionRequest, on_delete=models.CASCADE, related_name="introductions"
    )
    candidate = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="introductions_offered"
    )
    band = models.CharField(max_length=10, choices=Band.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "candidate"], name="introduction_once"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(status="expired") | Q(answered_at__isnull=False),
                name="introduction_answer_has_time",
            ),
        ]
        indexes = [
            # The weekly cap on introduction emails a person receives counts these.
            models.Index(fields=["candidate", "created_at"], name="introduction_candidate"),
            models.Index(
                fields=["created_at"],
                name="introduction_pending",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"introduction {self.pk} ({self.status})"


class Block(models.Model):
    """`blocker` never hears from `blocked` again through Sosedi."""

    blocker = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]


class Report(models.Model):
    """A recipient's report of an introduction message, for the moderation queue."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        DISMISSED = "dismissed", _("dismissed")
        UPHELD = "upheld", _("upheld: sender barred from nearby")

    introduction = models.ForeignKey(Introduction, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="reports_made")
    reported = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="reports_received"
    )
    note = models.TextField(_("what is wrong"), max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "supporters"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["introduction", "reporter"], name="report_once"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="report_queue")]


class NearbyBan(models.Model):
    """A moderator's decision: this person may no longer request introductions or
    propose events."""

    supporter = models.OneToOneField(Supporter, on_delete=models.CASCADE, related_name="nearby_ban")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"


class AreaArrival(models.Model):
    """A supporter's own arrival in a resolution-7 area (about 5 km²): confirming their
    sign-up there, or moving their home there. Lists imported by organizers are not
    arrivals. Nearby holds every recent arrival of an area that has had more than
    SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK in a week from reading nearby answers
    (supporters/nearby/holds.py), and the moderation queue shows such areas until a
    moderator releases them."""

    AREA_RESOLUTION = 7

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="+")
    area = models.BigIntegerField(help_text="H3 cell at resolution 7 holding the home cell")
    arrived_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "supporters"
        indexes = [models.Index(fields=["arrived_at", "area"], name="arrival_recent")]


class Event(models.Model):
    """A local event an activist proposes. Its venue is a public place, shown as is.

    Its times are instants (UTC in the database); they are typed and shown as the local
    time at the venue, in `timezone`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("not approved")
        CANCELLED = "cancelled", _("cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    host = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="events_hosted")
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=4000)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    venue_name = models.CharField(_("venue"), max_length=200)
    venue = models.PointField(geography=True, help_text="the public venue's point")
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        validators=[validate_timezone],
        help_text="the venue's IANA time zone, in which the times are typed and shown",
    )
    radius_km = models.PositiveSmallIntegerField(_("invite supporters within (km)"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitations_sent_at = models.DateTimeField(null=True, blank=True)
    reminders_sent_at = models.DateTimeField(null=True, blank=True)
    # A local group's event invites its members, and supporters within the radius only if
    # its leader asked (`invite_nearby`); any other event invites those within the radius.
    group = models.ForeignKey(
        "supporters.LocalGroup", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="events",
    )  # fmt: skip
    invite_nearby = models.BooleanField(default=True)

    class Meta:
        app_label = "supporters"
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="event_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(radius_km__gte=1, radius_km__lte=25), name="event_radius_1_25_km"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "starts_at"], name="event_status_start"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def zone_label(self) -> str:
        """The venue's zone as shown next to the times (at the start, for DST zones)."""
        return zone_label(self.timezone, self.starts_at)


class Rsvp(models.Model):
    """One person on one event's guest list: invited by email, or answering from the page."""

    class Answer(models.TextChoices):
        YES = "yes", _("yes, I'm coming")
        MAYBE = "maybe", _("maybe")
        NO = "no", _("no")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rsvps")
    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="rsvps")
    invited_at = models.DateTimeField(null=True, blank=True)
    answer = models.CharField(max_length=5, choices=Answer.choices, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        app_label = "supporters"
        constraints = [
            models.UniqueConstraint(fields=["event", "supporter"], name="rsvp_once"),
            models.CheckConstraint(
                condition=Q(answer="") | Q(answered_at__isnull=False), name="rsvp_answer_has_time"
            ),
        ]
        indexes = [
            # The weekly cap on invitations a person receives counts these.
            models.Index(
                fields=["supporter", "invited_at"],
                name="rsvp_invited",
                condition=Q(invited_at__isnull=False),
            ),
        ]


class Activity(models.Model):
    """Something a supporter did, for the history organizers see and filter on."""

    class Kind(models.TextChoices):
        EVENT_ATTENDED = "event_attended", _("attended an event")
        EVENT_HOSTED = "event_hosted", _("hosted an event")

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="activity")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="activity")
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-occurred_at"]
        verbose_name_plural = "activity"
        constraints = [
            models.UniqueConstraint(
                fields=["supporter", "kind", "event"], name="activity_once_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "occurred_at"], name="activity_kind_time"),
        ]
