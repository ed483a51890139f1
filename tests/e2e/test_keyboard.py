"""Joining, Nearby, the page of one's data and an invitation by keyboard alone (Debian's
Chromium via Playwright): Tab, Shift+Tab, Space, Enter, arrows and typing, never a click,
and every control reached on the way shows where the focus is."""

import os
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from supporters.models import Supporter
from supporters.nearby.models import IntroductionRequest
from tests.e2e import SCREENSHOTS, watched_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The focused element, and whether it shows it: an outline or a box shadow, on a box that
# is drawn (a focus ring on something invisible shows nothing).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    element: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.name ? `[name=${el.name}]` : ''),
    text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40),
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none',
    drawn: box.width > 0 && box.height > 0 && style.visibility !== 'hidden',
  };
}"""


class Keyboard:
    """A person at the keyboard of `page`, checking the focus after every key."""

    def __init__(self, page):
        self.page = page
        self.visited: list[str] = []

    def focused(self) -> dict:
        focus = self.page.evaluate(FOCUSED)
        assert focus, f"the focus fell back to the page after {self.visited[-5:]}"
        self.visited.append(f"{focus['element']} {focus['text']!r}")
        assert focus["drawn"] and (focus["outline"] or focus["shadow"]), (
            f"no visible focus on {focus}"
        )
        return focus

    def press(self, key: str) -> dict:
        self.page.keyboard.press(key)
        return self.focused()

    def tab_to(self, selector: str, *, back: bool = False, limit: int = 60) -> None:
        """Tab (or Shift+Tab) until an element `selector` (Playwright's) finds has the
        focus; every stop on the way must show its focus too."""
        for _ in range(limit):
            self.press("Shift+Tab" if back else "Tab")
            target = self.page.locator(selector)
            if target.evaluate_all("els => els.includes(document.activeElement)"):
                return
        raise AssertionError(f"{selector} not reached in {limit} steps: {self.visited[-limit:]}")

    def leave(self, key: str = "Enter") -> None:
        """A key that follows a link or sends a form: the next page has the focus to check."""
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def skip_to_content(self) -> None:
        """The page's first stop is the skip link, shown when focused; Enter moves on to
        the page's own content, past the header."""
        link = self.press("Tab")
        assert link["element"] == "a" and link["text"] == "Skip to content", link
        box = self.page.locator(".skip-link").bounding_box()
        assert box["y"] >= 0 and box["height"] > 0  # on screen, not parked above it
        self.leave()
        self.page.wait_for_url("**#content")


def test_a_newcomer_joins_and_confirms_by_keyboard_alone(browser, live_server):
    page = watched_page(browser)
    keys = Keyboard(page)
    page.goto(f"{live_server.url}/join/")

    keys.skip_to_content()
    keys.tab_to("#id_display_name")
    keys.type("Мария Петрова")
    keys.tab_to("#id_email")
    keys.type("maria@exmaple.org")
    keys.tab_to("#id_location_text")
    keys.type("Новосибирскк")  # one letter too many: the form offers the town it knows
    keys.tab_to("#id_consent_public_map")
    page.screenshot(path=str(SCREENSHOTS / "keyboard-focus.png"))
    keys.press("Space")
    keys.tab_to("#id_consent_email_updates")
    keys.press("Space")
    keys.tab_to("main button[type=submit]")
    keys.leave()

    page.wait_for_selector("button.suggestion")
    assert "We could not find" in page.locator("main").inner_text()
    keys.skip_to_content()
    keys.tab_to("button.suggestion")
    keys.press("Space")  # the suggestion fills the place and gives it the focus back
    assert page.evaluate("document.activeElement.id") == "id_location_text"
    assert page.input_value("#id_location_text").startswith(("Новосибирск", "Novosibirsk"))
    # The email had a typo: back to it, put it right.
    keys.tab_to("#id_email", back=True)
    page.keyboard.press("Control+A")
    keys.type("maria@example.org")
    keys.tab_to("main button[type=submit]")
    assert page.is_checked("#id_consent_public_map") and page.is_checked(
        "#id_consent_email_updates"
    )
    keys.leave()

    page.wait_for_url("**/join/thanks/")
    supporter = Supporter.objects.get()
    assert supporter.email == "maria@example.org" and supporter.status == "pending"
    granted = {purpose for purpose, given in supporter.consents().items() if given}
    assert granted == {"public_map", "email_updates"}

    # The confirmation link, from the development outbox, by keyboard too.
    keys.tab_to("main a[href='/dev/outbox/']")
    keys.leave()
    page.wait_for_url("**/dev/outbox/")
    keys.tab_to("main a:text('Confirm')")
    keys.leave()
    page.wait_for_selector("pre.mail-body")
    keys.tab_to("pre.mail-body a")
    keys.leave()
    page.wait_for_url("**/confirm/**")
    keys.tab_to("main button[type=submit]")
    keys.leave()

    page.wait_for_selector("h1:has-text('Welcome')")
    supporter.refresh_from_db()
    assert supporter.status == "active"
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}


def test_an_activist_signs_in_and_asks_for_an_introduction_by_keyboard(
    browser, live_server, make_supporter
):
    settled = {"confirmed_at": timezone.now() - timedelta(days=90)}  # counted (nearby/holds.py)
    nina = make_supporter(
        **settled,
        name="Nina Sokolova",
        email="nina@example.org",
        consents=["introductions"],
        city="Moscow",
    )
    for i in range(6):  # activists around, in the bands
        make_supporter(
            **settled, lon=37.58 + 0.03 * i, lat=55.72 + 0.01 * i, consents=["introductions"]
        )
    page = watched_page(browser)
    keys = Keyboard(page)
    page.goto(f"{live_server.url}/nearby/")

    keys.skip_to_content()
    keys.tab_to("#id_email")
    keys.type(nina.email)
    keys.leave()  # Enter in the field sends the form
    page.wait_for_selector("h1:has-text('Check your email')")

    # The sign-in link, from the development outbox through the header's link.
    keys.tab_to("header a.dev")
    keys.leave()
    page.wait_for_url("**/dev/outbox/")
    keys.tab_to("main a:text('sign-in link')")
    keys.leave()
    page.wait_for_selector("pre.mail-body")
    keys.tab_to("pre.mail-body a")
    keys.leave()
    page.wait_for_url("**/nearby/sign-in/**")
    keys.tab_to("main button[type=submit]")
    keys.leave()
    page.wait_for_url("**/nearby/")
    assert "Hello, Nina" in page.locator("h1").inner_text()

    # The request: how many, how far, a message, sent.
    keys.skip_to_content()
    keys.tab_to("#id_count")
    keys.press("ArrowUp")  # a closed select steps through its options: 3, 2, 1
    keys.press("ArrowUp")
    keys.tab_to("#id_farthest")
    keys.press("ArrowUp")  # up to 25 km, 10 km, 3 km
    keys.press("ArrowUp")
    keys.tab_to("#id_message")
    keys.type("Hi! A repair café in our block? Coffee is on me.")
    keys.tab_to("main button[type=submit]:has-text('Send my request')")
    keys.leave()

    sent = page.locator("#request-sent").inner_text()
    assert "We wrote to the nearest activist within 3 km" in sent
    request = IntroductionRequest.objects.get()
    assert request.requester == nina and request.message.startswith("Hi! A repair café")
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}


def test_a_supporter_withdraws_a_consent_and_answers_an_invitation_by_keyboard(
    browser, live_server, make_supporter
):
    from supporters.links import MANAGE
    from supporters.nearby import services
    from supporters.nearby.models import Rsvp
    from tests.supporters.nearby.conftest import event_draft

    oleg = make_supporter(
        name="Oleg Petrov",
        email="oleg@example.org",
        lon=37.63,
        lat=55.755,
        consents=["email_updates", "event_invitations"],
    )
    host = make_supporter(name="Irina Volkova", consents=["introductions"])
    event = services.event_propose(host=host, draft=event_draft(title="Courtyard clean-up"))
    event = services.event_review(event=event, approve=True, reviewer=None)
    services.event_invitations_send(event=event)  # what the worker does on approval
    page = watched_page(browser)
    keys = Keyboard(page)

    # From the link in any of our mails: no more email updates.
    page.goto(f"{live_server.url}/manage/{MANAGE.make(oleg.pk)}/")
    keys.skip_to_content()
    keys.tab_to("#id_consent_email_updates")
    keys.press("Space")
    keys.tab_to("main button[type=submit]:has-text('Save what I allow')")
    keys.leave()
    page.wait_for_selector("text=Saved.")
    oleg.refresh_from_db()
    assert not oleg.consent_email_updates and oleg.consent_event_invitations

    # The invitation, from the development outbox, answered yes.
    keys.tab_to("header a.dev")
    keys.leave()
    page.wait_for_url("**/dev/outbox/")
    keys.tab_to("main a:text('Invitation')")
    keys.leave()
    page.wait_for_selector("pre.mail-body")
    keys.tab_to("pre.mail-body a")
    keys.leave()
    page.wait_for_url("**/events/rsvp/**")
    keys.tab_to("main button[value=yes]")
    keys.leave()
    page.wait_for_selector("text=Your answer: yes")
    assert Rsvp.objects.get(event=event, supporter=oleg).answer == Rsvp.Answer.YES
    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
