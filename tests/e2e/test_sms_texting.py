"""Texting a segment in a real browser (Debian chromium via Playwright): a coordinator opens
a segment, follows "Text this segment", types a Cyrillic text and sees its parts and cost
counted as the server counts them, sends it and watches it go on the texting's page.
Saves sms-texting.png (where: tests/e2e/__init__.py)."""

import os
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from supporters.models import ConsentRecord, Purpose, Supporter
from supporters.organize.models import Segment
from supporters.services import consent_set
from supporters.sms import texting
from supporters.sms.models import Texting, TextMessage
from tests.e2e import SCREENSHOTS, chromium, organizer_log_in, watched_page, worker_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-Org-2026!"  # noqa: S105
TEXT = "Субботник в парке Горького в субботу в 11:00. Приходите с друзьями, перчатки дадим!"


@pytest.fixture
def coordinator(transactional_db, django_user_model):
    from supporters.organize.roles import roles_ensure

    roles_ensure()  # an earlier transactional test may have flushed the groups
    user = django_user_model.objects.create_user(username="irina", password=PASSWORD)
    user.groups.add(Group.objects.get(name="coordinator"))
    return user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.fixture
def segment(make_supporter, settings):
    """Moscow's centre: 9 people who accept texts (6 read Russian), one of them over the
    weekly limit, one at a number no text can reach; 3 who only want email."""
    settings.SOSEDI_SMS_PER_WEEK = 2
    segment = Segment.objects.create(
        name="Центр Москвы", centre=Point(37.62, 55.75, srid=4326), radius_km=10
    )
    people = []
    for i in range(9):
        person = make_supporter(
            lon=37.6 + i * 0.005,
            lat=55.75,
            name=f"Участник {i}",
            language="ru" if i < 6 else "en",
            consents=["email_updates"],
        )
        phone = "8 916 000" if i == 8 else f"+7916555{i:04d}"
        Supporter.objects.filter(pk=person.pk).update(phone=phone)
        person.refresh_from_db()
        consent_set(
            supporter=person,
            purpose=Purpose.TEXT_MESSAGES,
            granted=True,
            source=ConsentRecord.Source.FORM,
        )
        people.append(person)
    for _i in range(3):
        make_supporter(lon=37.61, lat=55.76, consents=["email_updates"])
    earlier = [
        Texting.objects.create(segment=segment, body=body, recipients_total=8, status="sending")
        for body in ("Сбор подписей у метро в четверг", "Спасибо всем, кто пришёл!")
    ]
    for t in earlier:  # two this week already: the weekly limit leaves this one out
        TextMessage.objects.create(
            supporter=people[7], texting=t, kind=f"texting:{t.pk}", to_phone=people[7].phone,
            body=t.body, status="delivered",
        )  # fmt: skip
    return segment


@pytest.fixture
def page(live_server, settings):
    from playwright.sync_api import sync_playwright

    settings.TILE_URL = ""
    settings.SOSEDI_SMS_PRICE_PER_PART = 0.05
    settings.SOSEDI_SMS_CURRENCY = "EUR"
    settings.SOSEDI_SMS_QUIET_HOURS = ()  # the texts go whatever the hour the test runs
    with sync_playwright() as p:
        browser = chromium(p)
        page = watched_page(browser, width=1100, height=1000)
        yield page
        browser.close()


def test_a_coordinator_texts_a_segment_seeing_parts_and_cost_as_they_type(
    page, live_server, coordinator, segment, run_worker
):
    _user, device = coordinator
    organizer_log_in(page, live_server, username="irina", password=PASSWORD, device=device)
    page.goto(f"{live_server.url}/organize/segments/{segment.pk}/")
    page.click("a:has-text('Text this segment')")
    page.wait_for_url(f"**/organize/segments/{segment.pk}/text/")
    expect(page.locator("#texting-recipients")).to_have_text("7")
    expect(page.locator("#left-out-limit")).to_contain_text("1 is left out by the weekly limit")
    expect(page.locator("#left-out-phone")).to_contain_text("1 of them has no mobile number")

    body = page.locator("#id_body")
    body.press_sequentially("Привет")
    short = texting.texting_parts(body="Привет", language="en")
    expect(page.locator("#sms-parts")).to_have_text(str(short.parts))
    expect(page.locator("#sms-encoding")).to_have_text("UCS-2")
    assert short.parts == 1

    body.fill(TEXT)
    counted = texting.texting_parts(body=TEXT, language="en")
    assert counted.parts == 2  # 70 characters make one part; this is longer
    expect(page.locator("#sms-parts")).to_have_text("2")
    expect(page.locator("#sms-length")).to_have_text(str(counted.length))
    audience = texting.texting_audience(segment=segment, body=TEXT)
    assert audience.recipients == 7 and audience.parts_total == 14
    expect(page.locator("#texting-parts-total")).to_have_text("14")
    expect(page.locator("#texting-cost-line")).to_have_text(f"{audience.cost}")  # 0.70
    assert str(audience.cost) == "0.70"
    for language in ("ru", "en"):
        share = next(s for s in audience.languages if s.language == language)
        row = page.locator(f"#texting-languages tr[data-language={language}]")
        expect(row.locator(".sms-parts")).to_have_text(str(share.parts.parts))
        expect(row.locator(".sms-cost")).to_have_text(str(share.cost))

    # The page counts as parts.py does: extension characters take two, an emoji two units.
    for sample in ("Meet at 10 [gate B] ~ €5", "Line one\nline two", "Soon 👍"):
        body.fill(sample)
        expected = texting.texting_parts(body=sample, language="en")
        expect(page.locator("#sms-length")).to_have_text(str(expected.length))
        expect(page.locator("#sms-encoding")).to_have_text(expected.encoding)
    body.fill("ж" * 400)  # far over SOSEDI_SMS_MAX_PARTS
    expect(page.locator("#sms-too-long")).to_be_visible()

    body.fill(TEXT)
    expect(page.locator("#sms-too-long")).to_be_hidden()
    expect(page.locator("#sms-parts")).to_have_text("2")
    page.screenshot(path=str(SCREENSHOTS / "sms-texting.png"), full_page=True)

    page.click("button[type=submit]:has-text('Send to 7 people')")
    page.wait_for_url(re.compile(r".*/organize/texts/\d+/$"))
    sent = Texting.objects.get(body=TEXT)
    assert page.url.endswith(f"/organize/texts/{sent.pk}/")
    expect(page.locator("h1")).to_contain_text("Центр Москвы")

    worker_run(run_worker, queue="sms")
    # The page polls its progress and shows every text gone.
    expect(page.locator("#progress-text")).to_contain_text("7 of 7 sent", timeout=15_000)
    texts = TextMessage.objects.filter(texting=sent)
    assert texts.count() == 7 and set(texts.values_list("status", flat=True)) == {"sent"}
    page.reload()
    expect(page.locator("table.org-table tbody tr")).to_have_count(7)

    assert page.hosts_requested == {urlsplit(live_server.url).netloc}
    assert not page.console_errors, page.console_errors
