"""axe-core (the npm package, from node_modules/) in Debian's Chromium on every public,
activist and organizer page, in English and in Russian: no violation of WCAG 2.0/2.1 A or
AA whose impact is serious or critical.

Each page is set up with the least it needs (a pending supporter for the confirmation
page, a snapshot for the map, an approved event and group, a segment), opened as the
person who would see it (signed out, an activist, an organizer past both factors) with the
`django_language` cookie, and checked once its maps have drawn.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
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
from tests.e2e import ROOT, chromium
from tests.geo.test_snapshot import refresh_map

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = {"serious", "critical"}
MOSCOW = Point(37.62, 55.75, srid=4326)
SETTLED = {"confirmed_at": timezone.now() - timedelta(days=90)}  # counted (nearby/holds.py)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        yield browser
        browser.close()


@pytest.fixture
def site(browser, live_server, settings, make_supporter):
    settings.DEBUG = True  # the development outbox's link in the header
    settings.TILE_URL = ""  # no base layer: the maps draw country outlines
    settings.SITE_URL = live_server.url
    # The pages' Content-Security-Policy allows no inline script, and axe is injected as
    # one: this context alone bypasses it (the app's own scripts run as they always do).
    context = browser.new_context(
        bypass_csp=True, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    yield Site(context=context, live_server=live_server, make_supporter=make_supporter)
    context.close()


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
        host = self.make_supporter(name="Irina Volkova", consents=["introductions"])
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


def axe_violations(page) -> list[dict]:
    """axe-core's violations of WCAG 2.0/2.1 A and AA on the page as it is now, its frames
    (the dashboard's heatmap) included."""
    for frame in page.frames:
        frame.add_script_tag(path=str(AXE))
    return page.evaluate(
        """tags => axe.run(document, {
              runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
            })
            .then(r => r.violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help,
              targets: v.nodes.map(n => n.target.join(' ')),
              why: v.nodes.map(n => [...n.any, ...n.all, ...n.none].map(c => c.message)[0] || ''),
            })))""",
        WCAG_A_AA,
    )


# axe 4.14 no longer checks duplicate ids (WCAG 2.2 dropped the parsing criterion) and only
# flags a reference to a missing id for review; both still leave a field with the wrong
# label or a description that is never read. An empty `for` (Django's id_for_label of a
# group of radio buttons) labels nothing either.
ID_PROBLEMS = """() => {
  const count = new Map();
  for (const el of document.querySelectorAll('[id]')) {
    count.set(el.id, (count.get(el.id) || 0) + 1);
  }
  const problems = [...count].filter(([, n]) => n > 1)
    .map(([id, n]) => `id "${id}" is used ${n} times`);
  for (const label of document.querySelectorAll('label[for=""]')) {
    problems.push(`label "${label.textContent.trim()}" has an empty for="": it labels nothing`);
  }
  const referring = ['for', 'list', 'aria-describedby', 'aria-labelledby', 'aria-controls',
                     'aria-errormessage'];
  for (const attr of referring) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) {
          const name = el.tagName.toLowerCase()
            + (el.id ? '#' + el.id : el.name ? `[name=${el.name}]` : '');
          problems.push(`${name} ${attr}="${id}" names no element`);
        }
      }
    }
  }
  return problems;
}"""


def id_problems(page) -> list[str]:
    """Duplicate ids, and labels or ARIA attributes naming an id that is not there."""
    return [problem for frame in page.frames for problem in frame.evaluate(ID_PROBLEMS)]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']}\n"
        + "".join(
            f"    {target}: {why[:160]}\n"
            for target, why in zip(v["targets"][:10], v["why"], strict=False)
        )
        + (f"    … and {len(v['targets']) - 10} more\n" if len(v["targets"]) > 10 else "")
        for v in violations
    )


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("name", PAGES)
def test_no_serious_or_critical_wcag_violation(site, name, language):
    spec = PAGES[name]
    path = spec.setup(site)
    site.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": site.url}]
    )
    page = site.context.new_page()
    response = page.goto(site.url + path)
    assert response.status == 200, f"{path}: {response.status}"
    if spec.ready:
        page.wait_for_selector(spec.ready, state="attached", timeout=20_000)
    if spec.then:
        spec.then(page)
    # Every document in the page, the dashboard's framed heatmap too, in its language.
    langs = {frame.url: frame.locator("html").get_attribute("lang") for frame in page.frames}
    assert set(langs.values()) == {language}, langs
    # Leaflet's zoom buttons are named in the page's language, not Leaflet's English.
    zoom_in = {"en": "Zoom in", "ru": "Приблизить"}[language]
    for frame in page.frames:
        for button in frame.locator(".leaflet-control-zoom-in").all():
            assert button.get_attribute("aria-label") == zoom_in, frame.url
    violations = [v for v in axe_violations(page) if v["impact"] in FAILING]
    problems = id_problems(page)
    assert not violations and not problems, (
        f"{path} in {language}:\n{describe(violations)}" + "".join(f"  {p}\n" for p in problems)
    )
