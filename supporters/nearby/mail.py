"""The emails of nearby introductions and events, through the same outbox and worker."""

from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import translation

from supporters.models import OutboxMessage, Supporter

# Kinds of mail that hand one person's address to another (after both accepted).
DISCLOSING_KINDS = ("nearby_introduced",)


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def nearby_message_queue(
    *, supporter: Supporter, kind: str, template: str, context: dict
) -> OutboxMessage:
    """Render templates/nearby/email/<template>.txt in the recipient's language (first line
    the subject), store it in the outbox and queue its delivery in the same transaction."""
    from supporters.tasks import deliver_message

    with translation.override(supporter.language):
        text = render_to_string(f"nearby/email/{template}.txt", {"recipient": supporter, **context})
    subject, _, body = text.strip().partition("\n")
    message = OutboxMessage.objects.create(
        supporter=supporter,
        kind=f"nearby_{kind}",
        to_email=supporter.email,
        subject=subject.strip(),
        body_text=body.strip() + "\n",
    )
    deliver_message.defer(message_id=message.pk)
    return message


@receiver(pre_delete, sender=Supporter, dispatch_uid="nearby_erase_disclosures")
def _erase_disclosures(sender, instance: Supporter, **kwargs) -> None:
    """Erasure is real: mail that gave this person's address to someone they were
    introduced to goes too (and, if still queued, is never sent)."""
    OutboxMessage.objects.filter(
        kind__in=DISCLOSING_KINDS, body_text__icontains=instance.email
    ).delete()
