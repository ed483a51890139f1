"""Writes of nearby, one module per thing people do: sign in, be introduced, hold events."""

from supporters.nearby.services.events import (
    EventDraft,
    event_attendance_record,
    event_invitations_prepare_batch,
    event_invitations_send,
    event_propose,
    event_reminders_send,
    event_review,
    rsvp_answer,
)
from supporters.nearby.services.introductions import (
    introduction_accept,
    introduction_decline,
    introduction_report,
    introduction_request,
    introductions_expire,
    report_review,
    requester_block,
)
from supporters.nearby.services.rules import NearbyError, activist_require
from supporters.nearby.services.sign_in import (
    sign_in_link_send,
    sign_in_link_use,
    sign_in_links_prune,
)

__all__ = [
    "EventDraft",
    "NearbyError",
    "activist_require",
    "event_attendance_record",
    "event_invitations_prepare_batch",
    "event_invitations_send",
    "event_propose",
    "event_reminders_send",
    "event_review",
    "introduction_accept",
    "introduction_decline",
    "introduction_report",
    "introduction_request",
    "introductions_expire",
    "report_review",
    "requester_block",
    "rsvp_answer",
    "sign_in_link_send",
    "sign_in_link_use",
    "sign_in_links_prune",
]
