"""The inbox of received texts in a real browser (Debian chromium via Playwright): texts
come in (a STOP, a sign-up and questions), a coordinator logs in, opens the inbox from
the workspace's menu, sees only the questions, opens nothing else, marks one done.
Saves sms-inbox.png (where: tests/e2e/__init__.py)."""

import os
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from supporters.models import Supporter
from supporters.organize.models import AuditEntry
from supporters.sms.gateways import Received
from supporters.sms.inbound import text_received
from supporters.sms.models import InboundText
from tests.e2e import SCREENSHOTS, chromium, organizer_log_in, watched_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-Org-2026!"  # noqa: S105


@pytest.fixture
def coordinator(transactional_db, django_user_model):
    from supporters.organize.roles import roles_ensure

    roles_ensure()  # an earlier transactional test may have flushed the groups
    user = django_user_model.objects.create_user(username="irina", password=PASSWORD)
    user.groups.add(Group.objects.get(name="coordinator"))
    return user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def receive(phone: str, body: str, minutes_ago: int) -> InboundText:
    text = text_received(
        gateway="outbox", received=Received(from_phone=phone, body=body, gateway_id="")
    )
    InboundText.objects.filter(pk=text.pk).update(
        received_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return text


@pytest.fixture
def texts(make_supporter):
    anna = make_supporter(name="Анна Петрова", language="ru")
    mark = make_supporter(name="Mark Evans")
    Supporter.objects.filter(pk=anna.pk).update(phone="+79161234567")
    Supporter.objects.filter(pk=mark.pk).update(phone="+447700900123")
    return {
        "question": receive("+79161234567", "Можно прийти на субботник с собакой?", 12),
        "english": receive("+447700900123", "Is Sunday's meeting still on?", 40),
        "stranger": receive("+79035550101", "Кто это? Откуда у вас мой номер?", 95),
        "stop": receive("+79035550102", "СТОП", 5),
        "join": receive("+79035550103", "ВСТУПИТЬ Казань", 3),
        "thanks": receive("+79161234567", "Спасибо, всё понятно!", 300),
    }  # fmt: skip


@pytest.fixture
def page(live_server, settings):
    from playwright.sync_api import sync_playwright

    settings.TILE_URL = ""
    with sync_playwright() as p:
        browser = chromium(p)
        page = watched_page(browser, width=1360, height=760)
        yield page
        browser.close()


def test_a_coordinator_reads_the_texts_received_and_marks_one_done(
    page, live_server, coordinator, texts
):
    _user, device = coordinator
    organizer_log_in(page, live_server, username="irina", password=PASSWORD, device=device)

    page.click("nav.org-nav a:has-text('Texts received')")
    page.wait_for_url("**/organize/texts/inbox/")
    rows = page.locator("table.sms-inbox tbody tr")
    expect(rows).to_have_count(4)  # the STOP and the sign-up were handled, not inboxed
    expect(rows.nth(0)).to_contain_text("+7 916 123-45-67")
    expect(rows.nth(0)).to_contain_text("Анна Петрова")
    expect(rows.nth(2)).to_contain_text("not on the list")

    # The oldest question is answered by phone: done, and it goes below the open ones.
    thanks = page.locator(f"#text-{texts['thanks'].pk}")
    thanks.locator("button:has-text('Done')").click()
    page.wait_for_url("**/organize/texts/inbox/")
    expect(page.locator(f"#text-{texts['thanks'].pk}")).to_contain_text("done by irina")
    expect(rows.nth(3)).to_have_attribute("id", f"text-{texts['thanks'].pk}")
    assert InboundText.objects.get(pk=texts["thanks"].pk).done_by.username == "irina"

    # The second look at it, after Done, is in the audit log as the first one is.
    assert AuditEntry.objects.filter(filter={"inbox": True}, row_count=4).count() == 2
    page.screenshot(path=str(SCREENSHOTS / "sms-inbox.png"), full_page=False)

    # The person's name leads to their page in the workspace.
    page.click("a:has-text('Анна Петрова') >> nth=0")
    page.wait_for_url("**/organize/people/**")

    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
    assert not page.console_errors, page.console_errors
