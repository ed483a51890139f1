"""Everything that writes supporters and consents (their mail: supporters/outbox.py)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from geo import hexgrid
from geo.geocoding import Location
from supporters import emails, selectors
from supporters.consent import WORDING_VERSION
from supporters.models import (
    AreaArrival,
    ConsentRecord,
    MergedAddress,
    OutboxMessage,
    Purpose,
    RateLimitEvent,
    Supporter,
)
from supporters.outbox import message_queue
from supporters.ratelimit import ratelimit_hit


@dataclass(frozen=True)
class Preferences:
    channel: str
    frequency: str
    topics: list[str]


def supporter_location_fields(location: Location) -> dict:
    """The Supporter columns a Location fills (sign-up, a move, an import)."""
    return {
        "cell": location.cell,
        "location": location.centre,
        "location_precision": location.precision,
        "location_source": location.source,
        "city": location.city,
        "region": location.region,
        "country_code": location.country_code,
    }


def _address_known(email: str) -> bool:
    """Whether supporter_by_email would find someone for `email`, in one statement over the
    same two unique indexes: a new address (most sign-ups) costs one round trip, not two."""
    wanted = email.strip().lower()
    if not wanted:
        return False
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT FROM {quote(Supporter._meta.db_table)}"
            " WHERE lower(email) = %s AND NOT email = '')"
            f" OR EXISTS (SELECT FROM {quote(MergedAddress._meta.db_table)}"
            " WHERE lower(email) = %s)",
            [wanted, wanted],
        )
        return cursor.fetchone()[0]


@transaction.atomic
def supporter_sign_up(
    *,
    email: str,
    display_name: str,
    location: Location,
    consents: Iterable[str],
    preferences: Preferences,
    language: str,
    phone: str = "",
) -> Supporter:
    """Create a pending supporter and mail a confirmation link.

    An address already on the list, as a supporter's own or as one merged into their
    record, gets its owner a mail instead (their manage link, or a fresh confirmation link
    if they never confirmed) and nothing else changes, so the page the caller shows is the
    same either way: no account enumeration.
    """
    email = email.strip()
    existing = selectors.supporter_by_email(email=email) if _address_known(email) else None
    if existing is not None:
        if existing.status == Supporter.Status.PENDING:
            _queue_confirmation(existing)
        else:
            message_queue(
                supporter=existing,
                kind="already_registered",
                template="supporters/already_registered",
                context={"supporter": existing, "manage_url": emails.manage_url(existing)},
            )
        return existing

    granted = set(consents)
    supporter = Supporter(
        email=email,
        display_name=display_name.strip(),
        phone=phone.strip(),
        language=language,
        channel=preferences.channel,
        frequency=preferences.frequency,
        topics=list(preferences.topics),
        **supporter_location_fields(location),
        **{f"consent_{p.value}": p.value in granted for p in Purpose},
    )
    # Field checks only: the table's constraints are enforced by PostgreSQL on the INSERT
    # anyway, and checking them here first took three more queries (a quarter of a sign-up's
    # time under load, BENCHMARKS.md); the address was looked up just above.
    supporter.full_clean(validate_unique=False, validate_constraints=False)
    supporter.save()
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            supporter=supporter,
            purpose=p.value,
            granted=True,
            source=ConsentRecord.Source.FORM,
            wording_version=WORDING_VERSION,
        )
        for p in Purpose
        if p.value in granted
    )
    _queue_confirmation(supporter)
    return supporter


def _queue_confirmation(supporter: Supporter) -> None:
    message_queue(
        supporter=supporter,
        kind="confirm",
        template="supporters/confirm",
        context={
            "supporter": supporter,
            "confirm_url": emails.confirm_url(supporter),
            "hours": settings.SOSEDI_CONFIRM_LINK_MAX_AGE // 3600,
        },
    )


@transaction.atomic
def supporter_confirm(*, supporter: Supporter) -> Supporter:
    """Pending becomes active (once); a welcome mail carries the manage link."""
    supporter = Supporter.objects.select_for_update().get(pk=supporter.pk)
    if supporter.status != Supporter.Status.PENDING:
        return supporter
    supporter.status = Supporter.Status.ACTIVE
    supporter.confirmed_at = timezone.now()
    supporter.save(update_fields=["status", "confirmed_at"])
    _arrival_record(supporter)
    message_queue(
        supporter=supporter,
        kind="welcome",
        template="supporters/welcome",
        context={"supporter": supporter, "manage_url": emails.manage_url(supporter)},
    )
    return supporter


@transaction.atomic
def consent_set(*, supporter: Supporter, purpose: str, granted: bool, source: str) -> bool:
    """Grant or withdraw one purpose; records it only if it changes. Returns whether it did."""
    field = f"consent_{Purpose(purpose).value}"
    supporter = Supporter.objects.select_for_update().get(pk=supporter.pk)
    if getattr(supporter, field) == granted:
        return False
    setattr(supporter, field, granted)
    supporter.save(update_fields=[field])
    ConsentRecord.objects.create(
        supporter=supporter,
        purpose=purpose,
        granted=granted,
        source=source,
        wording_version=WORDING_VERSION,
    )
    return True


@transaction.atomic
def consents_update(*, supporter: Supporter, granted: Iterable[str], source: str) -> list[str]:
    """Make the current consents exactly `granted`; returns the purposes that changed."""
    wanted = set(granted)
    return [
        p.value
        for p in Purpose
        if consent_set(
            supporter=supporter, purpose=p.value, granted=p.value in wanted, source=source
        )
    ]


@transaction.atomic
def supporter_update_profile(
    *,
    supporter: Supporter,
    display_name: str,
    phone: str,
    language: str,
    preferences: Preferences,
) -> Supporter:
    """Change name, phone, language and preferences, and nothing else: the row is read
    again under a lock, so a consent withdrawn meanwhile (an unsubscribe link opened while
    the page was open) is not written back."""
    if not display_name.strip():
        # The model allows a blank name only for someone who joined by text and never
        # gave one; a profile saved from the manage page has one.
        raise ValidationError({"display_name": _("Enter your name.")})
    supporter = Supporter.objects.select_for_update().get(pk=supporter.pk)
    changed = {
        "display_name": display_name.strip(),
        "phone": phone.strip(),
        "language": language,
        "channel": preferences.channel,
        "frequency": preferences.frequency,
        "topics": list(preferences.topics),
    }
    for name, value in changed.items():
        setattr(supporter, name, value)
    supporter.full_clean(validate_unique=False)
    supporter.save(update_fields=list(changed))
    return supporter


@transaction.atomic
def supporter_relocate(*, supporter: Supporter, location: Location) -> Supporter:
    """Move a supporter's home cell; limited per month (moving is what a prober repeats)."""
    ratelimit_hit(
        scope="relocate",
        key=str(supporter.pk),
        limit=settings.SOSEDI_LOCATION_CHANGES_PER_MONTH,
        window=timedelta(days=30),
        message=_("You have changed your location too often this month. Try again later."),
    )
    supporter = Supporter.objects.select_for_update().get(pk=supporter.pk)
    changed = supporter_location_fields(location) | {"location_changed_at": timezone.now()}
    for name, value in changed.items():
        setattr(supporter, name, value)
    supporter.save(update_fields=list(changed))  # the rest may have changed meanwhile
    _arrival_record(supporter)
    return supporter


def _arrival_record(supporter: Supporter) -> None:
    """A person's own arrival in an area (confirming there, moving there): what nearby's
    holds count (supporters/nearby/holds.py). Imports by organizers are not arrivals."""
    area = hexgrid.cell_parent(supporter.cell, AreaArrival.AREA_RESOLUTION)
    AreaArrival.objects.create(supporter=supporter, area=area, arrived_at=timezone.now())


@transaction.atomic
def supporter_unsubscribe(*, supporter: Supporter, source: str) -> Supporter:
    """Leave the list: every consent withdrawn, no more mail. The data stays until erased."""
    consents_update(supporter=supporter, granted=[], source=source)
    Supporter.objects.filter(pk=supporter.pk).update(status=Supporter.Status.UNSUBSCRIBED)
    supporter.refresh_from_db()
    return supporter


@transaction.atomic
def outbox_requeue(*, messages: Iterable[OutboxMessage]) -> int:
    """Give failed messages a new round of attempts (after a long mail-server outage)."""
    from supporters.tasks import deliver_message

    # The rows as they are now, locked: a message another admin queued again meanwhile is
    # not failed any more, and gets no second delivery job.
    ids = list(
        OutboxMessage.objects.select_for_update()
        .filter(pk__in=[m.pk for m in messages], status=OutboxMessage.Status.FAILED)
        .values_list("pk", flat=True)
    )
    OutboxMessage.objects.filter(pk__in=ids).update(status=OutboxMessage.Status.QUEUED, attempts=0)
    for pk in ids:
        deliver_message.defer(message_id=pk)
    return len(ids)


@transaction.atomic
def supporter_erase(*, supporter: Supporter) -> None:
    """Delete the person and every row about them, now, and nobody else's.

    What keys on the person goes by its foreign key's cascade: consents, their mail and the
    mail that named them to someone else (OutboxMessage.discloses), introductions, blocks,
    reports, events, RSVPs, activity, sign-in links, the addresses of records merged into
    theirs and the merges' records, group memberships, group invitations and the group
    mail they sent, the texts sent to them and received from them, their survey by text.
    The rest is deleted here; a group they lead passes on first. Texts to or from their
    number that no row ties to anyone (a STOP before they joined, an answer to a sign-up
    by text) go too; those tied to another person who shares the number stay theirs.
    """
    # Mail to their addresses that no row ties to them (queued before they were a
    # supporter), their own and any merged into their record.
    addresses = [supporter.email, *supporter.merged_addresses.values_list("email", flat=True)]
    to_them = Q()
    for address in addresses:
        to_them |= Q(to_email__iexact=address)
    OutboxMessage.objects.filter(to_them).delete()
    # Limits counted under the person's id (home moves): no longer about anyone once erased.
    RateLimitEvent.objects.filter(key=str(supporter.pk)).delete()
    if supporter.phone:
        from supporters.ratelimit import client_key
        from supporters.sms.models import InboundText, TextMessage

        TextMessage.objects.filter(to_phone=supporter.phone, supporter__isnull=True).delete()
        InboundText.objects.filter(from_phone=supporter.phone, supporter__isnull=True).delete()
        # Received texts are counted per number (a keyed hash of it): the count goes with
        # them, unless the number is also someone else's (a family phone) and still counted.
        shared = Supporter.objects.filter(phone=supporter.phone).exclude(pk=supporter.pk)
        if not shared.exists():
            RateLimitEvent.objects.filter(
                scope__startswith="sms", key=client_key(supporter.phone)
            ).delete()
    # The groups they lead pass to a co-leader, or are archived (their memberships, group
    # invitations and the group mail they sent go by cascade).
    from supporters.groups.services import groups_erase  # it mails through this module

    groups_erase(supporter=supporter)
    supporter.delete()


def manage_link_send(*, email: str) -> None:
    """Mail a fresh manage link if the address is on the list (a supporter's own or merged
    into their record: the link goes to their own); silent otherwise."""
    supporter = selectors.supporter_by_email(email=email)
    if supporter is None:
        return
    message_queue(
        supporter=supporter,
        kind="manage_link",
        template="supporters/manage_link",
        context={"supporter": supporter, "manage_url": emails.manage_url(supporter)},
    )
