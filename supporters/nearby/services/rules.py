"""What every write of nearby checks first, and how it refuses."""

from django.utils.translation import gettext as _

from supporters.models import Supporter
from supporters.nearby import selectors


class NearbyError(Exception):
    """A request the app refuses for a reason the person can act on (shown with a 400)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def activist_require(supporter: Supporter) -> None:
    if supporter.status != Supporter.Status.ACTIVE:
        raise NearbyError(_("Only active supporters can do this."))
    if selectors.supporter_is_banned(supporter=supporter):
        raise NearbyError(
            _("The organizers have closed introductions and events for your account.")
        )
