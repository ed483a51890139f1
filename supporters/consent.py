"""The wording a person agrees to, per purpose. Change the text, bump the version."""

from django.utils.translation import gettext_lazy as _

from supporters.models import Purpose

WORDING_VERSION = "2026-11"

EXPLANATIONS = {
    Purpose.PUBLIC_MAP: _(
        "Count me on the public map. It only ever shows how many people live in an area "
        "of several square kilometres, never a person."
    ),
    Purpose.INTRODUCTIONS: _(
        "Offer me for introductions to other supporters nearby. Nobody learns who I am "
        "unless I accept an introduction."
    ),
    Purpose.EVENT_INVITATIONS: _(
        "Invite me by email to local events that supporters organize near me."
    ),
    Purpose.EMAIL_UPDATES: _(
        "Send me email updates on the topics and at the frequency I choose below."
    ),
    Purpose.TEXT_MESSAGES: _(
        "Send me text messages about local events and campaigns. Reply STOP to any of "
        "them to stop at once."
    ),
}
