"""Texts sent and received, and the survey by text."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Texting(models.Model):
    """A text written in the workspace for the people in a segment who accept texts."""

    class Status(models.TextChoices):
        PREPARING = "preparing", _("preparing")
        SENDING = "sending", _("sending")
        DONE = "done", _("done")

    segment = models.ForeignKey(
        "supporters.Segment", on_delete=models.PROTECT, related_name="textings"
    )
    body = models.TextField(_("text"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREPARING)
    recipients_total = models.PositiveIntegerField(default=0)
    parts_total = models.PositiveIntegerField(default=0)
    cost_estimate = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.body[:40]


class TextMessage(models.Model):
    """A text Sosedi sends: queued here, delivered by the worker through the gateway, kept
    as the send log; the gateway's delivery reports move it on to delivered or failed."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")  # the gateway took it
        DELIVERED = "delivered", _("delivered")  # the recipient's phone has it
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")  # STOP came first, or the consent went

    supporter = models.ForeignKey(
        "supporters.Supporter", null=True, blank=True, on_delete=models.CASCADE,
        related_name="texts",
    )  # fmt: skip
    texting = models.ForeignKey(
        Texting, null=True, blank=True, on_delete=models.CASCADE, related_name="texts"
    )
    # What it is ("texting:<id>", "sms_stop_reply", "nearby_event_invitation"...). Kinds in
    # services.REPLY_KINDS answer a text the person sent; the rest need their consent.
    kind = models.CharField(max_length=40)
    to_phone = models.CharField(max_length=16)
    body = models.TextField()
    parts = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Not before this instant (quiet hours in the recipient's time zone).
    not_before = models.DateTimeField(null=True, blank=True)
    gateway = models.CharField(max_length=20, blank=True)
    gateway_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "supporters"
        ordering = ["-created_at", "-id"]
        constraints = [
            # The guarantee against a second copy: one text per person per texting.
            models.UniqueConstraint(
                fields=["texting", "supporter"],
                condition=Q(texting__isnull=False),
                name="texting_once",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="text_status_created"),
            models.Index(fields=["to_phone", "status"], name="text_phone_status"),
            models.Index(
                fields=["gateway", "gateway_id"],
                condition=~Q(gateway_id=""),
                name="text_gateway_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_phone} ({self.status})"

    @property
    def reference(self) -> str:
        """The id the gateway is given for it, and names it by in delivery reports."""
        return f"sosedi-{self.pk}"


class InboundText(models.Model):
    """A text someone sent to Sosedi's number, and what it did (inbound.py)."""

    class Handling(models.TextChoices):
        STOP = "stop", _("stopped texts")
        JOIN = "join", _("sign-up")
        CONFIRM = "confirm", _("confirmed a sign-up")
        SURVEY = "survey", _("survey answer")
        INBOX = "inbox", _("inbox")

    supporter = models.ForeignKey(
        "supporters.Supporter", null=True, blank=True, on_delete=models.CASCADE,
        related_name="inbound_texts",
    )  # fmt: skip
    from_phone = models.CharField(max_length=16)
    body = models.TextField()
    gateway = models.CharField(max_length=20)
    # The gateway's id of the text (or of its webhook event): a retried webhook is one text.
    gateway_id = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    handled_as = models.CharField(max_length=10, choices=Handling.choices)
    # Inbox texts: a coordinator marks them done.
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip

    class Meta:
        app_label = "supporters"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_id"],
                condition=~Q(gateway_id=""),
                name="inbound_text_once",
            ),
        ]
        indexes = [
            models.Index(fields=["handled_as", "-received_at"], name="inbound_handled"),
            models.Index(fields=["from_phone"], name="inbound_from_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.from_phone}: {self.body[:40]}"


class SurveyQuestion(models.Model):
    """One question of the survey by text, set by organizers; answered with numbers."""

    class Asks(models.TextChoices):
        TOPICS = "topics", _("topics (several numbers)")
        FREQUENCY = "frequency", _("how often (one number)")

    position = models.PositiveSmallIntegerField(unique=True)
    asks = models.CharField(max_length=10, choices=Asks.choices)
    # The question in each language, {"en": "...", "ru": "..."}; the numbered choices follow.
    prompts = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "supporters"
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.position}. {self.asks}"


class SurveyProgress(models.Model):
    """Which question a person who joined by text was asked last, and when."""

    supporter = models.OneToOneField(
        "supporters.Supporter", on_delete=models.CASCADE, related_name="sms_survey"
    )
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="+")
    asked_at = models.DateTimeField()
    reminded = models.BooleanField(default=False)  # asked again after an answer not understood

    class Meta:
        app_label = "supporters"

    def __str__(self) -> str:
        return f"{self.supporter_id} at question {self.question_id}"


__all__ = ["InboundText", "SurveyProgress", "SurveyQuestion", "TextMessage", "Texting"]
