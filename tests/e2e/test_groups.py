"""A local group in real browsers (Debian chromium via Playwright), from proposal to the
leader's first mail.

An activist signed in through /nearby/ proposes a 5 km circle picked on the map; a
coordinator, logged in with a password and a TOTP code, approves it at /organize/groups/;
the worker invites the neighbours in the area (and nobody outside it); a neighbour opens the
invitation from the development outbox, shares her name and email and joins; the leader
sees her on the leaders' page and mails the group, which reaches its members and nobody
else. Nothing but the app is contacted. Screenshots: groups.png, group.png, group-new.png,
group-lead.png (where: tests/e2e/__init__.py).
"""

import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from supporters.groups import services
from supporters.groups.models import GroupMembership, LocalGroup
from supporters.models import OutboxMessage
from tests.e2e import (
    SCREENSHOTS,
    nearby_sign_in,
    open_mail,
    organizer_log_in,
    watched_page,
    worker_run,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-Coord-2026!"  # noqa: S105
NAME = "Соседи Хамовников"
SEEDED = 12  # members who joined before the neighbour, without sharing their contact


@pytest.fixture
def coordinator(transactional_db, django_user_model):
    from supporters.organize.roles import roles_ensure

    roles_ensure()  # an earlier transactional test may have flushed the groups
    user = django_user_model.objects.create_user(username="katya", password=PASSWORD)
    user.groups.add(Group.objects.get(name="coordinator"))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def _map_drawn(page, selector: str) -> None:
    """Country outlines under the map (no tile server), and at least one area on it."""
    page.wait_for_selector(f"{selector}.has-outlines")
    page.wait_for_selector(f"{selector} path.leaflet-interactive")
    page.wait_for_timeout(300)  # let the outlines settle before the picture


def _screenshot(page, name: str, down_to: str) -> None:
    """The page from its top to the bottom of `down_to`, full width."""
    bottom = page.locator(down_to).last.evaluate(
        "e => e.getBoundingClientRect().bottom + window.scrollY"
    )
    clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": bottom + 24}
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True, clip=clip)


def test_a_group_is_proposed_approved_joined_and_mailed_in_three_browsers(
    browser, live_server, make_supporter, coordinator, run_worker
):
    settled = {"confirmed_at": timezone.now() - timedelta(days=90)}
    founder = make_supporter(
        **settled,
        name="Irina Volkova",
        email="irina@example.org",
        consents=["introductions", "event_invitations"],
        city="Moscow",
    )
    neighbour = make_supporter(
        **settled,
        name="Olga Petrova",
        email="olga@example.org",
        lon=37.63,
        lat=55.755,
        consents=["event_invitations"],
        city="Moscow",
    )
    # Saint Petersburg, 630 km away: open to invitations, but outside the area.
    far = make_supporter(
        email="far@example.org", lon=30.31, lat=59.94, consents=["event_invitations"]
    )
    # Inside the area, but not open to invitations.
    quiet = make_supporter(email="quiet@example.org", lon=37.61, lat=55.745, consents=[])
    _user, device = coordinator

    # The activist proposes a 5 km circle around a point she clicks on the map.
    page = watched_page(browser)
    nearby_sign_in(page, live_server, founder.email)
    page.goto(f"{live_server.url}/groups/new/")
    page.fill("#id_name", NAME)
    page.fill("#id_description", "Парки, деревья и набережная. Встречаемся по субботам.")
    page.select_option("#id_language", "ru")
    page.click("summary:has-text('A circle: click its centre')")
    page.wait_for_selector("#pin-map.has-outlines")
    # The map opens on central Moscow at zoom 4: zoom in on its centre, click there.
    page.locator("#pin-map").scroll_into_view_if_needed()
    box = page.locator("#pin-map").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    for _ in range(8):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
    page.mouse.click(*centre)
    page.wait_for_selector("#pin-status:has-text('✓')")
    assert abs(float(page.input_value("#id_pin_lat")) - 55.75) < 0.03
    assert abs(float(page.input_value("#id_pin_lon")) - 37.62) < 0.05
    # Clicking the circle's centre chooses "a circle" as the kind of area, and the circle
    # is drawn at the radius given.
    expect(page.locator("input[name=area_kind][value=circle]")).to_be_checked()
    page.fill("#id_radius_km", "5")
    page.wait_for_selector("#pin-map path.group-circle")
    page.wait_for_timeout(300)
    _screenshot(page, "group-new.png", "#group-form button[type=submit]")
    page.click("button:has-text('Propose the group')")
    page.wait_for_url("**/groups/*/")
    expect(page.locator(".messages")).to_have_text(
        "Thank you: the organizers will look at your group and write to you."
    )
    expect(page.locator("#group .notice.warning")).to_have_text("Waiting for approval")
    group = LocalGroup.objects.get()
    assert (group.area_kind, group.radius_km, group.status) == ("circle", 5, "proposed")
    assert group.founder == founder

    # A coordinator approves it in the organizers' workspace.
    organizer = watched_page(browser, width=1360, height=1000)
    organizer_log_in(organizer, live_server, username="katya", password=PASSWORD, device=device)
    organizer.click("nav.org-nav a:has-text('Groups')")
    organizer.wait_for_url("**/organize/groups/")
    waiting = organizer.locator("#groups-waiting article.moderation-item", has_text=NAME)
    expect(waiting).to_contain_text("A circle, 5 km")
    expect(waiting).to_contain_text("Irina Volkova <irina@example.org>")
    waiting.locator("button[value=approve]").click()
    expect(organizer.locator(".messages")).to_have_text(f"{NAME}: done.")
    expect(organizer.locator("#groups-waiting")).to_contain_text("No group is waiting.")
    row = organizer.locator("#groups-all tbody tr", has_text=NAME)
    expect(row.locator("td").nth(1)).to_have_text("approved")

    # Twelve supporters had joined already (from the page, without sharing their contact).
    for i in range(SEEDED):
        member = make_supporter(
            lon=37.60 + 0.004 * i, lat=55.74 + 0.002 * i, consents=["introductions"]
        )
        services.group_join(group=group, supporter=member, shares_contact=False)

    # The worker sends the invitations: to the neighbour only.
    worker_run(run_worker, queue="email")
    invited = OutboxMessage.objects.filter(kind="group_invitation")
    assert sorted(invited.values_list("to_email", flat=True)) == [neighbour.email]

    # The neighbour, in her own browser, opens the invitation and joins, sharing her contact.
    guest = watched_page(browser)
    link = open_mail(guest, live_server, to=neighbour.email, subject_contains=f"Join {NAME}")
    assert NAME in guest.locator("pre.mail-body").inner_text()
    guest.goto(link)
    expect(guest.locator("#invitation h1")).to_have_text(NAME)
    guest.get_by_label("Share my name and email with this group's leaders").check()
    guest.click("#join button:has-text('Join')")
    # Back on the invitation (she is not signed in), which now says she is a member.
    expect(guest).to_have_url(re.compile(r"/groups/invitation/[^/]+/$"))
    expect(guest.locator(".messages")).to_have_text(
        "You are a member. The leaders see your name and email."
    )
    expect(guest.locator("#invitation")).to_contain_text("You are a member of this group.")
    membership = GroupMembership.objects.get(group=group, supporter=neighbour)
    assert membership.shares_contact and membership.role == "member"
    # The public count (14 members, rounded down to a multiple of 5) is checked below.

    # The group's page and the list, as anybody sees them.
    visitor = watched_page(browser)
    visitor.goto(f"{live_server.url}/groups/{group.pk}/")
    expect(visitor.locator("#group h1")).to_have_text(NAME)
    expect(visitor.locator("#group .notice")).to_have_count(0)  # approved: no status notice
    expect(visitor.locator("#group")).to_contain_text("10+ members")
    expect(visitor.locator("#group")).to_contain_text("Sign in with your email to join")
    _map_drawn(visitor, "#groups-map")
    _screenshot(visitor, "group.png", "#group")
    visitor.goto(f"{live_server.url}/groups/")
    expect(visitor.locator("ul.groups li")).to_have_count(1)
    expect(visitor.locator("ul.groups li")).to_contain_text(f"{NAME} 10+ members")
    _map_drawn(visitor, "#groups-map")
    _screenshot(visitor, "groups.png", "#groups")

    # The leader sees the neighbour on the leaders' page and mails the group.
    page.goto(f"{live_server.url}/groups/{group.pk}/")
    page.click('a:has-text("The leaders\' page")')
    page.wait_for_url(f"**/groups/{group.pk}/lead/")
    roster = page.locator("#roster tbody tr")
    expect(roster).to_have_count(2)
    expect(roster.nth(0)).to_contain_text("Irina Volkova")
    expect(roster.nth(1)).to_contain_text("Olga Petrova")
    expect(roster.nth(1)).to_contain_text("olga@example.org")
    expect(page.locator("#lead")).to_contain_text(
        f"{SEEDED} members do not share their name and email"
    )
    page.fill("#id_subject", "Субботник в парке")
    page.fill("#id_body", "В субботу в 11:00 у входа в парк. Перчатки и мешки будут.")
    page.click("button:has-text('Send to the group')")
    page.wait_for_url(f"**/groups/{group.pk}/lead/")
    expect(page.locator(".messages")).to_have_text(
        f"Your message is on its way to {SEEDED + 1} members."
    )
    expect(page.locator("#lead")).to_contain_text(f"Субботник в парке ({SEEDED + 1} members)")
    _screenshot(page, "group-lead.png", "#lead")

    # One mail to each member but the leader, one of them the neighbour's; none outside.
    group_mails = OutboxMessage.objects.filter(kind__startswith="group_mail:")
    members = set(
        GroupMembership.objects.filter(group=group)
        .exclude(supporter=founder)
        .values_list("supporter__email", flat=True)
    )
    sent_to = list(group_mails.values_list("to_email", flat=True))
    assert len(sent_to) == len(members) == SEEDED + 1 and set(sent_to) == members
    assert sent_to.count(neighbour.email) == 1
    for outsider in (founder, far, quiet):
        assert not group_mails.filter(to_email=outsider.email).exists()
    # The neighbour reads it in the outbox, with the group's leave link.
    link = open_mail(guest, live_server, to=neighbour.email, subject_contains=f"[{NAME}]")
    body = guest.locator("pre.mail-body").inner_text()
    assert "Перчатки и мешки будут." in body and "/groups/leave/" in link
    assert "irina@example.org" not in body

    own = urlsplit(live_server.url).netloc
    for person in (page, organizer, guest, visitor):
        assert person.hosts_requested == {own}
        assert not person.console_errors, person.console_errors
