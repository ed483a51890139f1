"""Reads about supporters."""

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Prefetch
from django.db.models.functions import Lower

from geo.bands import BAND_EDGES_M, Band
from geo.countries import country_name
from supporters.groups.models import LocalGroup
from supporters.models import MergedAddress, Supporter
from supporters.nearby.models import Event, Introduction


def supporter_by_email(*, email: str) -> Supporter | None:
    """The supporter with this address, whatever its case, or the one a record with this
    address was merged into (MergedAddress).

    Compares lower(email), the expression of both unique indexes, so this is one index
    lookup (two for an address that is not a supporter's own); `email__iexact` compiles
    to UPPER(...) and scans the whole table (1.4 s at a million supporters).
    """
    wanted = email.strip().lower()
    if not wanted:
        return None  # people who joined by text have no address
    # The unique index is partial (not the blank addresses of those who joined by text):
    # the query names its condition so that PostgreSQL may use it.
    own = (
        Supporter.objects.exclude(email="")
        .annotate(email_lower=Lower("email"))
        .filter(email_lower=wanted)
    )
    if (supporter := own.first()) is not None:
        return supporter
    merged = (
        MergedAddress.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower=wanted)
        .select_related("supporter")
        .first()
    )
    return merged.supporter if merged is not None else None


def supporters_by_emails(
    *, emails: Iterable[str], for_update: bool = False
) -> dict[str, Supporter]:
    """{address in lower case: supporter} for those of `emails` that find someone, by
    their own address or a merged one (as supporter_by_email does), in two queries.

    One person reached by two of the addresses is one instance, under both keys. With
    `for_update` the supporters' rows are locked (inside the caller's transaction).
    """
    wanted = {e.strip().lower() for e in emails} - {""}
    own = (
        Supporter.objects.exclude(email="")  # the unique index's condition (above)
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted)
    )
    if for_update:
        own = own.select_for_update()
    found = {s.email.lower(): s for s in own}
    rest = wanted - found.keys()
    if not rest:
        return found
    merged = (
        MergedAddress.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=rest)
        .select_related("supporter")
    )
    if for_update:
        merged = merged.select_for_update(of=("supporter",))
    by_pk = {s.pk: s for s in found.values()}
    for address in merged:
        found[address.email.lower()] = by_pk.setdefault(address.supporter_id, address.supporter)
    return found


def _at(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def _km(metres: float) -> float:
    return metres / 1000


def _event_summary(event: Event) -> dict:
    """An event as its public page shows it, its times local to the venue."""
    zone = ZoneInfo(event.timezone)
    return {
        "id": str(event.pk),
        "title": event.title,
        "starts_at": event.starts_at.astimezone(zone).isoformat(),
        "ends_at": event.ends_at.astimezone(zone).isoformat(),
        "timezone": event.timezone,
        "venue": event.venue_name,
    }


def _introductions_asked(supporter: Supporter) -> list[dict]:
    """The person's requests as their nearby page shows them: of the people asked, only
    those who accepted, with the name and address both sides were then mailed."""
    accepted = Prefetch(
        "introductions",
        queryset=Introduction.objects.filter(status=Introduction.Status.ACCEPTED)
        .select_related("candidate")
        .order_by("answered_at"),
        to_attr="accepted",
    )
    return [
        {
            "asked_at": r.created_at.isoformat(),
            "message": r.message,
            "asked_for": r.asked_for,
            "within_km": _km(BAND_EDGES_M[Band(r.farthest)][1]),
            "expires_at": r.expires_at.isoformat(),
            "accepted_by": [
                {
                    "name": i.candidate.display_name,
                    "email": i.candidate.email,
                    "accepted_at": i.answered_at.isoformat(),
                }
                for i in r.accepted
            ],
        }
        for r in supporter.introduction_requests.prefetch_related(accepted)
    ]


def _introductions_offered(supporter: Supporter) -> list[dict]:
    """Requests the person was asked to answer, as the email and page showed them: the
    asker's first name, the distance band and the message; their name and address only
    once the person accepted (both sides were mailed them then)."""
    offered = []
    for i in supporter.introductions_offered.select_related("request__requester"):
        asker = i.request.requester
        low, high = BAND_EDGES_M[Band(i.band)]
        entry = {
            "offered_at": i.created_at.isoformat(),
            "from": asker.first_name,
            "distance_km": {"from": _km(low), "to": _km(high)},
            "message": i.request.message,
            "status": i.status,
            "answered_at": _at(i.answered_at),
        }
        if i.status == Introduction.Status.ACCEPTED:
            entry |= {"name": asker.display_name, "email": asker.email}
        offered.append(entry)
    return offered


def _group_summary(group: LocalGroup) -> dict:
    return {"id": str(group.pk), "name": group.name}


def _groups(supporter: Supporter) -> dict:
    """The person's local groups: their memberships and the choice each records, the
    groups they founded, the invitations they got and the mail they sent to members.
    Never another member's name or address (the leaders' page shows those, not this)."""
    trusted = getattr(supporter, "trusted_host", None)
    return {
        "memberships": [
            {
                "group": _group_summary(m.group),
                "role": m.role,
                "shares_name_and_email_with_leaders": m.shares_contact,
                "joined_at": m.joined_at.isoformat(),
            }
            for m in supporter.group_memberships.select_related("group")
        ],
        "founded": [
            _group_summary(g)
            | {
                "description": g.description,
                "language": g.language,
                "status": g.status,
                "area": {
                    "kind": g.area_kind,
                    "name": g.area_name,
                    "centre": {"lat": g.centre.y, "lon": g.centre.x},
                    "radius_km": g.radius_km,
                },
                "review_note": g.review_note,
                "proposed_at": g.created_at.isoformat(),
            }
            for g in supporter.groups_founded.order_by("created_at")
        ],
        "invitations": [
            {"group": _group_summary(i.group), "invited_at": i.invited_at.isoformat()}
            for i in supporter.group_invitations.select_related("group").order_by("invited_at")
        ],
        "mail_sent": [
            {
                "group": _group_summary(m.group),
                "subject": m.subject,
                "body": m.body,
                "sent_at": m.sent_at.isoformat(),
                "recipients": m.recipients,
            }
            for m in supporter.group_mails.select_related("group").order_by("sent_at")
        ],
        "trusted_host_since": trusted.marked_at.isoformat() if trusted else None,
    }


def supporter_data_export(*, supporter: Supporter) -> dict:
    """Everything Sosedi holds about one person, as they may download it. Anyone else
    appears only as Sosedi has already shown them to this person."""
    return {
        "id": str(supporter.pk),
        "email": supporter.email,
        "name": supporter.display_name,
        "phone": supporter.phone,
        "language": supporter.language,
        "status": supporter.status,
        "joined_at": supporter.created_at.isoformat(),
        "confirmed_at": supporter.confirmed_at.isoformat() if supporter.confirmed_at else None,
        "location": {
            "city": supporter.city,
            "region": supporter.region,
            "country": country_name(supporter.country_code),
            "country_code": supporter.country_code,
            "h3_cell": f"{supporter.cell:x}",
            "cell_centre": {"lat": supporter.location.y, "lon": supporter.location.x},
            "precision": supporter.location_precision,
            "source": supporter.location_source,
            "note": "Sosedi keeps only the centre of your hexagon, never your address.",
        },
        "consents": supporter.consents(),
        "consent_history": [
            {
                "purpose": r.purpose,
                "granted": r.granted,
                "at": r.created_at.isoformat(),
                "source": r.source,
                "wording_version": r.wording_version,
            }
            for r in supporter.consent_records.all()
        ],
        "preferences": {
            "channel": supporter.channel,
            "frequency": supporter.frequency,
            "topics": supporter.topics,
        },
        "tags": sorted(t.name for t in supporter.taggings.all()),
        "merged_addresses": [
            {"email": a.email, "merged_at": a.merged_at.isoformat()}
            for a in supporter.merged_addresses.order_by("merged_at")
        ],
        # Records of theirs merged into this one (their own earlier address and name).
        "merges": [
            {"email": m.merged_email, "name": m.merged_name, "at": m.merged_at.isoformat()}
            for m in supporter.merges.order_by("merged_at")
        ],
        "introductions_asked": _introductions_asked(supporter),
        "introductions_offered": _introductions_offered(supporter),
        # The people they blocked and reported, by the first name Sosedi showed them.
        "blocks": [
            {"first_name": b.blocked.first_name, "at": b.created_at.isoformat()}
            for b in supporter.blocks_made.select_related("blocked").order_by("created_at")
        ],
        "reports_made": [
            {
                "first_name": r.reported.first_name,
                "note": r.note,
                "status": r.status,
                "at": r.created_at.isoformat(),
            }
            for r in supporter.reports_made.select_related("reported").order_by("created_at")
        ],
        "events_hosted": [
            _event_summary(e)
            | {
                "description": e.description,
                "venue_point": {"lat": e.venue.y, "lon": e.venue.x},
                "invite_within_km": e.radius_km,
                "status": e.status,
                "proposed_at": e.created_at.isoformat(),
            }
            for e in supporter.events_hosted.order_by("starts_at")
        ],
        "event_rsvps": [
            {
                "event": _event_summary(r.event),
                "invited_at": _at(r.invited_at),
                "answer": r.answer,
                "answered_at": _at(r.answered_at),
                "reminded_at": _at(r.reminded_at),
                "attended": r.attended,
            }
            for r in supporter.rsvps.select_related("event").order_by("event__starts_at")
        ],
        "activity": [
            {
                "kind": a.kind,
                "event": _event_summary(a.event),
                "at": a.occurred_at.isoformat(),
                "recorded_at": a.recorded_at.isoformat(),
            }
            for a in supporter.activity.select_related("event")
        ],
        "groups": _groups(supporter),
        "emails_sent": [
            {
                "kind": m.kind,
                "subject": m.subject,
                "at": m.created_at.isoformat(),
                "status": m.status,
            }
            for m in supporter.messages.all()
        ],
        "text_messages": _texts(supporter),
    }


def _texts(supporter: Supporter) -> dict:
    """Their number, the text consent, the texts sent to them and the ones they sent. Only
    the rows tied to them: a number shared with someone (a family phone) is not read."""
    survey = getattr(supporter, "sms_survey", None)
    return {
        "phone": supporter.phone,
        "consent": supporter.consent_text_messages,
        "sent_to_you": [
            {
                "kind": t.kind,
                "to": t.to_phone,
                "text": t.body,
                "parts": t.parts,
                "status": t.status,
                "at": t.created_at.isoformat(),
                "sent_at": _at(t.sent_at),
                "delivered_at": _at(t.delivered_at),
            }
            for t in supporter.texts.order_by("created_at", "id")
        ],
        "received_from_you": [
            {
                "from": t.from_phone,
                "text": t.body,
                "at": t.received_at.isoformat(),
                "handled_as": t.handled_as,
            }
            for t in supporter.inbound_texts.order_by("received_at", "id")
        ],
        "survey": {"question": survey.question.position, "asked_at": _at(survey.asked_at)}
        if survey is not None
        else None,
    }
