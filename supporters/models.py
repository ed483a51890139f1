import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.geocoding import Precision


class Purpose(models.TextChoices):
    """What a person may consent to, one purpose at a time."""

    PUBLIC_MAP = "public_map", _("appear on the public map")
    INTRODUCTIONS = "introductions", _("be offered for introductions")
    EVENT_INVITATIONS = "event_invitations", _("receive event invitations")
    EMAIL_UPDATES = "email_updates", _("receive email updates")
    TEXT_MESSAGES = "text_messages", _("receive text messages")


class Frequency(models.TextChoices):
    DAILY = "daily", _("daily")
    WEEKLY = "weekly", _("weekly")
    MONTHLY = "monthly", _("monthly")
    CALLS_TO_ACTION = "calls_to_action", _("only calls to action")


class Channel(models.TextChoices):
    EMAIL = "email", _("email")
    PHONE = "phone", _("phone call or text message")


class Topic(models.TextChoices):
    CAMPAIGNS = "campaigns", _("campaigns and petitions")
    EVENTS = "events", _("local events and actions")
    ENVIRONMENT = "environment", _("environment and green spaces")
    CITY = "city", _("city life and transport")
    VOLUNTEERING = "volunteering", _("volunteering")
    NEWS = "news", _("news from the organizers")


class Supporter(models.Model):
    """A person on the list. Where they live is kept only as an H3 cell and its centre."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for email confirmation")
        ACTIVE = "active", _("active")
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Blank only for someone who joined by text message (a phone is required then); the
    # forms and the importer still require an address.
    email = models.EmailField(max_length=254, blank=True)
    display_name = models.CharField(_("name"), max_length=100, blank=True)
    # E.164 ("+79161234567"), from supporters.phones.phone_normalise.
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # A default, not auto_now_add, so an import can write a person's own join date in the
    # INSERT (updating fresh rows afterwards rewrote every index entry a second time).
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    # Locality, and the cell the person was snapped to (never the geocoded point).
    city = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=200, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    cell = models.BigIntegerField(help_text="H3 cell index at SOSEDI_H3_RESOLUTION")
    location = models.PointField(geography=True, help_text="centre of the H3 cell")
    location_precision = models.CharField(max_length=10, choices=Precision.choices)
    location_source = models.CharField(max_length=20)
    location_changed_at = models.DateTimeField(null=True, blank=True)

    # Current consents, at a glance; ConsentRecord holds the history behind each.
    consent_public_map = models.BooleanField(default=False)
    consent_introductions = models.BooleanField(default=False)
    consent_event_invitations = models.BooleanField(default=False)
    consent_email_updates = models.BooleanField(default=False)
    consent_text_messages = models.BooleanField(default=False)

    # Preferences.
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    frequency = models.CharField(
        max_length=20, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    topics = ArrayField(
        models.CharField(max_length=20, choices=Topic.choices), default=list, blank=True
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="supporter_email_ci_unique"
            ),
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone=""), name="supporter_email_or_phone"
            ),
            models.CheckConstraint(
                condition=Q(consent_text_messages=False) | ~Q(phone=""),
                name="supporter_texts_have_phone",
            ),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(confirmed_at__isnull=False),
                name="supporter_active_is_confirmed",
            ),
            models.CheckConstraint(
                condition=Q(channel="email") | ~Q(phone=""),
                name="supporter_phone_channel_has_phone",
            ),
        ]
        indexes = [
            models.Index(fields=["cell"], name="supporter_cell"),
            models.Index(fields=["status", "created_at"], name="supporter_status_created"),
            models.Index(fields=["country_code", "region", "city"], name="supporter_locality"),
            models.Index(fields=["phone"], condition=~Q(phone=""), name="supporter_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.email or self.phone}>"

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0] if self.display_name.strip() else ""

    def consents(self) -> dict[str, bool]:
        return {p.value: getattr(self, f"consent_{p.value}") for p in Purpose}


class ConsentRecord(models.Model):
    """One grant or withdrawal of one purpose: when, how, and under which wording."""

    class Source(models.TextChoices):
        FORM = "form", _("sign-up form")
        IMPORT = "import", _("import")
        MANAGE_PAGE = "manage_page", _("manage page")
        EMAIL_LINK = "email_link", _("link in an email")
        ADMIN = "admin", _("admin")
        DEMO = "demo", _("demo data")
        TEXT_MESSAGE = "text_message", _("text message")

    supporter = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="consent_records"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    granted = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    wording_version = models.CharField(max_length=20)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["supporter", "purpose", "-created_at"])]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrew"
        return f"{self.supporter_id} {verb} {self.purpose}"


class OutboxMessage(models.Model):
    """An email Sosedi sends: queued here, delivered by the worker, kept as the send log."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    supporter = models.ForeignKey(
        Supporter, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    # The person whose name and address this mail gives its recipient (an accepted
    # introduction, a request to be introduced): erasing them erases the mail, queued or sent.
    discloses = models.ForeignKey(
        Supporter, null=True, blank=True, on_delete=models.CASCADE, related_name="disclosed_in"
    )
    kind = models.CharField(max_length=40)
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.status})"


class MergedAddress(models.Model):
    """An address of a record merged into `supporter`: it still finds that person (sign-up,
    manage link, import) instead of making a new record. Erased with the person."""

    email = models.EmailField(max_length=254)
    supporter = models.ForeignKey(
        Supporter, on_delete=models.CASCADE, related_name="merged_addresses"
    )
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="merged_address_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email


class RateLimitEvent(models.Model):
    """One counted action (a sign-up from an IP, a location change...).

    `key` is a keyed hash: the raw IP address is never stored.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "created_at"])]


from supporters.groups.models import *  # noqa: E402,F403  (local groups)
from supporters.nearby.models import *  # noqa: E402,F403  (nearby introductions, events)
from supporters.organize.models import *  # noqa: E402,F403  (the organizer workspace)
from supporters.sms.models import *  # noqa: E402,F403  (text messages)
