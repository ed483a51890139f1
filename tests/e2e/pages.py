"""The pages of the browser tests that visit every page (test_accessibility.py,
test_mobile.py): how each is set up with the least it needs (a pending supporter for the
confirmation page, a snapshot for the map, an approved event and group, a segment) and
opened as the person who would see it (signed out, an activist, an organizer past both
factors)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from geo import areas
from supporters.demo import demo_supporters_seed
from supporters.groups import services as groups
from supporters.links import CONFIRM, MANAGE
from supporters.models import Supporter
from supporters.nearby import services as nearby
from supporters.nearby.views import SESSION_KEY
from supporters.organize import services as organize
from supporters.organize.roles import roles_ensure
from tests.conftest import verified_client
from tests.geo.test_snapshot import refresh_map

MOSCOW = Point(37.62, 55.75, srid=4326)
SETTLED = {"confirmed_at": timezone.now() - timedelta(days=90)}  # counted (nearby/holds.py)


def approved_event(make_supporter):
    """An event four days ahead at a Moscow courtyard, approved, with its host."""
    host = make_supporter(name="Irina Volkova", consents=["introductions"])
    start = timezone.now() + timedelta(days=4)
    draft = nearby.EventDraft(
        title="Courtyard clean-up",
        description="Bags and gloves provided. Tea afterwards.",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        venue_name="Courtyard of Pokrovka 12",
        venue=MOSCOW,
        radius_km=3,
    )
    event = nearby.event_propose(host=host, draft=draft)
    return nearby.event_review(event=event, approve=True, reviewer=None)


class Site:
    """What a page needs before it is opened: people, an event, a group, a session."""

    def __init__(self, *, context, live_server, make_supporter):
        self.context = context
        self.url = live_server.url
        self.make_supporter = make_supporter

    def session(self, client: Client) -> None:
        """Continue `client`'s session in the browser."""
        name = django_settings.SESSION_COOKIE_NAME
        self.context.add_cookies(
            [{"name": name, "value": client.cookies[name].value, "url": self.url}]
        )

    def activist(self) -> Supporter:
        """An activist signed in to /nearby/, with neighbours in the bands around her."""
        nina = self.make_supporter(
            **SETTLED,
            name="Nina Sokolova",
            email="nina@example.org",
            consents=["introductions", "event_invitations"],
            city="Moscow",
        )
        for i in range(6):
            self.make_supporter(
                **SETTLED, lon=37.58 + 0.03 * i, lat=55.72 + 0.01 * i, consents=["introductions"]
            )
        client = Client()
        session = client.session
        session[SESSION_KEY] = str(nina.pk)
        session.save()
        self.session(client)
        return nina

    def organizer(self, *, verified: bool = True):
        """An admin of the workspace (every page open to her), past the password and, if
        `verified`, the second factor."""
        from django.contrib.auth import get_user_model

        roles_ensure()  # an earlier transactional test may have flushed the groups
        user = get_user_model().objects.create_user(username="olga", password="pw-Org-2026!")  # noqa: S106
        user.groups.add(Group.objects.get(name="admin"))
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        if verified:
            self.session(verified_client(user, device))
        else:
            client = Client()
            client.force_login(user)
            self.session(client)
        return user

    def event(self):
        return approved_event(self.make_supporter)

    def group(self):
        founder = self.make_supporter(
            **SETTLED, name="Анна Лидер", consents=["introductions", "event_invitations"]
        )
        draft = groups.GroupDraft(
            name="Соседи Хамовников",
            description="Parks, trees and the river bank.",
            language="ru",
            area_kind="circle",
            area_name="",
            area=areas.circle(MOSCOW, 5),
            centre=MOSCOW,
            radius_km=5,
        )
        group = groups.group_propose(founder=founder, draft=draft)
        return groups.group_review(group=group, decision="approve", note="", reviewer=None)

    def segment(self):
        user = self.organizer()
        for i in range(3):
            self.make_supporter(lon=37.6 + 0.01 * i, consents=["email_updates"])
        return organize.segment_create(
            user=user,
            name="Central Moscow",
            area=None,
            centre=MOSCOW,
            radius_km=10,
            tags=[],
            purpose="email_updates",
        )


def _snapshot(site: Site) -> None:
    demo_supporters_seed(count=3000, seed=1)
    refresh_map()


def _map(site: Site) -> str:
    _snapshot(site)
    return "/map/"


def _embed(site: Site) -> str:
    _snapshot(site)
    return "/map/embed/"


def _confirm(site: Site) -> str:
    pending = site.make_supporter(status=Supporter.Status.PENDING)
    return f"/confirm/{CONFIRM.make(pending.pk)}/"


def _manage(site: Site) -> str:
    supporter = site.make_supporter(consents=["public_map", "email_updates"])
    return f"/manage/{MANAGE.make(supporter.pk)}/"


def _nearby_signed_in(site: Site) -> str:
    site.activist()
    return "/nearby/"


def _event_new(site: Site) -> str:
    site.activist()
    return "/nearby/events/new/"


def _group_new(site: Site) -> str:
    site.activist()
    return "/groups/new/"


def _events(site: Site) -> str:
    site.event()
    return "/events/"


def _event(site: Site) -> str:
    return f"/events/{site.event().pk}/"


def _groups(site: Site) -> str:
    site.group()
    return "/groups/"


def _group(site: Site) -> str:
    return f"/groups/{site.group().pk}/"


def _verify(site: Site) -> str:
    site.organizer(verified=False)
    return "/organize/verify/"


def _dashboard(site: Site) -> str:
    demo_supporters_seed(count=500, seed=1)
    site.organizer()
    return "/organize/"


def _segment(site: Site) -> str:
    return f"/organize/segments/{site.segment().pk}/"


def _people(site: Site) -> str:
    return f"/organize/segments/{site.segment().pk}/people/"


def _organizer_page(path: str):
    def open_as_organizer(site: Site) -> str:
        site.organizer()
        return path

    return open_as_organizer


@dataclass(frozen=True)
class Page:
    """How to set a page up (returning its path), what to wait for before checking it, and
    what a person does on it first."""

    setup: Callable[[Site], str]
    ready: str | None = None
    then: Callable | None = None


def _submit_empty(page) -> None:
    page.click("main button[type=submit]")
    page.wait_for_selector("main .error")


def _open_pin_map(page) -> None:
    page.click("main summary")
    page.wait_for_selector("#pin-map.has-outlines")


PAGES = {
    "landing": Page(lambda site: "/"),
    "join": Page(lambda site: "/join/"),
    "join-with-errors": Page(lambda site: "/join/", then=_submit_empty),
    "join-pin-map": Page(lambda site: "/join/", then=_open_pin_map),
    "confirm": Page(_confirm),
    "manage": Page(_manage),
    "map": Page(_map, ready="#public-map path.sosedi-cell"),
    "map-embed": Page(_embed, ready="#public-map path.sosedi-cell"),
    "nearby-signed-out": Page(lambda site: "/nearby/"),
    "nearby-activist": Page(_nearby_signed_in),
    "event-new": Page(_event_new, ready="#pin-map.has-outlines"),
    "group-new": Page(_group_new),
    "events": Page(_events),
    "event": Page(_event, ready="#venue-map.has-outlines"),
    "groups": Page(_groups, ready=".groups-map.has-outlines"),
    "group": Page(_group, ready=".groups-map.has-outlines"),
    "organize-login": Page(lambda site: "/organize/login/"),
    "organize-verify": Page(_verify),
    "organize-dashboard": Page(_dashboard, ready="body[data-heatmap-ready=true]"),
    "organize-segment": Page(_segment),
    "organize-people": Page(_people),
    "organize-audit": Page(_organizer_page("/organize/audit/")),
    "organize-imports": Page(_organizer_page("/organize/imports/")),
}
