"""One-time sign-in links mailed to activists."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from supporters.emails import absolute
from supporters.links import SIGN_IN, LinkError
from supporters.models import Supporter
from supporters.nearby.models import SignInLink
from supporters.outbox import message_queue
from supporters.ratelimit import ratelimit_hit
from supporters.selectors import supporter_by_email


@transaction.atomic
def sign_in_link_send(*, email: str) -> None:
    """Mail a one-time sign-in link if the address belongs to an active supporter (as their
    own or a merged one: the link goes to their own); silent otherwise, so the page shown
    is the same either way. Limited per person per hour."""
    supporter = supporter_by_email(email=email)
    if supporter is None or supporter.status != Supporter.Status.ACTIVE:
        return
    ratelimit_hit(
        scope="nearby_sign_in",
        key=str(supporter.pk),
        limit=settings.SOSEDI_NEARBY_SIGN_INS_PER_HOUR,
        window=timedelta(hours=1),
        message=_("We have sent you several sign-in links in the last hour. Use the newest one."),
    )
    link = SignInLink.objects.create(supporter=supporter)
    message_queue(
        supporter=supporter,
        kind="nearby_sign_in",
        template="nearby/sign_in",
        context={
            "url": absolute(reverse("nearby:sign_in", args=[SIGN_IN.make(link.pk)])),
            "minutes": settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES,
        },
    )


@transaction.atomic
def sign_in_link_use(*, token: str) -> Supporter:
    """The active supporter a sign-in link is for; the link works once (LinkError after)."""
    link_id = SIGN_IN.read(token)
    used = SignInLink.objects.filter(
        pk=link_id, used_at__isnull=True, supporter__status=Supporter.Status.ACTIVE
    ).update(used_at=timezone.now())
    if used != 1:
        raise LinkError(expired=False)
    # Older unused links of the same person stop working too: one live session path.
    link = SignInLink.objects.select_related("supporter").get(pk=link_id)
    SignInLink.objects.filter(supporter=link.supporter, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return link.supporter


def sign_in_links_prune() -> int:
    """Forget sign-in links once they can no longer be used."""
    old = timezone.now() - timedelta(minutes=settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES + 60)
    deleted, _ = SignInLink.objects.filter(created_at__lt=old).delete()
    return deleted
