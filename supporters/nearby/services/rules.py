"""What every write of nearby checks first, and how it refuses."""

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from supporters.models import Supporter
from supporters.nearby import holds, selectors
from supporters.ratelimit import RateLimited


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


def holds_refuse(supporter: Supporter) -> None:
    """Nearby answers wait while the supporter's account is held (holds.py): a limit, so
    RateLimited (429)."""
    if ends := holds.hold_ends(supporter=supporter):
        raise RateLimited(
            _(
                "Many new accounts appeared in your area this week, so nearby waits a little "
                "for new accounts there: it opens for you on %(date)s."
            )
            % {"date": formats.date_format(timezone.localtime(ends), "DATE_FORMAT")}
        )
