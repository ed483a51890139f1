"""What a received text does (supporters/sms/inbound.py): STOP in each spelling and no
more texts after it, a sign-up by keyword, the limit per number, a webhook retried, the
inbox for the rest, and bad input through the real hook views never a 500."""

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from supporters.models import ConsentRecord, OutboxMessage, Purpose, RateLimitEvent, Supporter
from supporters.ratelimit import client_key
from supporters.sms.gateways import Received
from supporters.sms.inbound import text_received, words
from supporters.sms.models import InboundText, SurveyProgress, SurveyQuestion, TextMessage
from supporters.sms.services import text_queue

pytestmark = pytest.mark.django_db

STRANGER = "+79035550101"

STOP_SPELLINGS = [
    "STOP",
    "stop",
    "Stop!",
    " СТОП ",
    "стоп.",
    "Стоп пожалуйста",
    "ОТПИСКА",
    "отписка",
    "CTO\u041f",  # Latin C, T, O and a Cyrillic П
    "st\u043ep",  # a Cyrillic о in a Latin word
    "Отписаться",
    "отпишите меня",
    "Хватит!!!",
    "UNSUBSCRIBE",
    "stopall",
    "🛑 STOP 🛑",
    "end",
    "Quit.",
    "CANCEL",
    "«стоп»",
    "\x00STOP\x00",
]


def receive(phone: str, body: str, *, gateway_id: str = "", gateway: str = "outbox"):
    return text_received(
        gateway=gateway, received=Received(from_phone=phone, body=body, gateway_id=gateway_id)
    )


def replies(phone: str, kind: str | None = None):
    texts = TextMessage.objects.filter(to_phone=phone)
    return texts.filter(kind=kind) if kind else texts


# -- STOP ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", STOP_SPELLINGS)
def test_stop_in_each_spelling_withdraws_the_text_consent_at_once_and_is_answered(texter, body):
    person = texter()
    stored = receive(person.phone, body)

    assert stored.handled_as == InboundText.Handling.STOP
    assert stored.supporter == person
    person.refresh_from_db()
    assert person.consent_text_messages is False
    record = person.consent_records.filter(purpose=Purpose.TEXT_MESSAGES).first()
    assert (record.granted, record.source) == (False, ConsentRecord.Source.TEXT_MESSAGE)
    (reply,) = replies(person.phone)
    assert reply.kind == "sms_stop_reply"
    assert reply.status == TextMessage.Status.QUEUED
    assert "no more texts" in reply.body
    assert "http://testserver/manage/" in reply.body


@pytest.mark.parametrize(
    "body",
    ["End of the meeting?", "stopped by the office", "Не стоп", "please stop by", "STOPS"],
)
def test_text_that_only_contains_a_stop_word_is_no_stop(texter, body):
    person = texter()
    stored = receive(person.phone, body)
    assert stored.handled_as == InboundText.Handling.INBOX
    person.refresh_from_db()
    assert person.consent_text_messages is True
    assert not replies(person.phone).exists()


def test_a_second_stop_gets_no_second_answer(texter):
    person = texter()
    receive(person.phone, "STOP")
    second = receive(person.phone, "СТОП")
    assert second.handled_as == InboundText.Handling.STOP
    assert replies(person.phone).count() == 1
    assert person.consent_records.filter(purpose=Purpose.TEXT_MESSAGES, granted=False).count() == 1


def test_stop_from_a_number_nobody_has_is_not_answered():
    stored = receive(STRANGER, "STOP")
    assert stored.handled_as == InboundText.Handling.STOP
    assert stored.supporter is None
    assert not TextMessage.objects.exists()


def test_stop_reaches_everyone_with_the_number_cancels_what_is_queued_and_ends_the_survey(
    texter,
):
    phone = "+79161112233"
    first, second = texter(phone=phone), texter(phone=phone)
    other = texter()
    queued = text_queue(supporter=first, kind="nearby_event_invitation", body="Come on Sunday")
    to_other = text_queue(supporter=other, kind="nearby_event_invitation", body="Come too")
    question = SurveyQuestion.objects.create(position=1, asks="topics", prompts={"en": "Q?"})
    SurveyProgress.objects.create(supporter=second, question=question, asked_at=timezone.now())

    stored = receive(phone, "stop")

    assert stored.supporter is None  # two people have that number
    for person in (first, second):
        person.refresh_from_db()
        assert person.consent_text_messages is False
    queued.refresh_from_db()
    to_other.refresh_from_db()
    assert queued.status == TextMessage.Status.CANCELLED
    assert to_other.status == TextMessage.Status.QUEUED
    assert not SurveyProgress.objects.exists()
    assert replies(phone, "sms_stop_reply").count() == 1


class GatewayStub(BaseHTTPRequestHandler):
    """SMS Gateway for Android's POST /message: records each text, answers its id."""

    protocol_version = "HTTP/1.1"
    taken: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = json.loads(body)
        self.taken.append(message)
        answer = json.dumps({"id": message["id"], "state": "Pending"}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def android_gateway(settings):
    GatewayStub.taken = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GatewayStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SOSEDI_SMS_GATEWAY = "android"
    settings.SOSEDI_SMS_ANDROID_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.SOSEDI_SMS_ANDROID_USER, settings.SOSEDI_SMS_ANDROID_PASSWORD = "sms", "pw"
    settings.SOSEDI_SMS_ANDROID_SIGNING_KEY = "signing-key"
    yield GatewayStub.taken
    server.shutdown()
    server.server_close()


def test_after_stop_the_worker_sends_that_number_nothing_but_the_one_answer(
    texter, run_worker, android_gateway
):
    person, other = texter(), texter()
    text_queue(supporter=person, kind="nearby_event_invitation", body="Come on Sunday")
    text_queue(supporter=person, kind="texting:7", body="Our news this week")
    text_queue(supporter=other, kind="texting:7", body="Our news this week")

    receive(person.phone, "CTO\u041f")
    receive(person.phone, "STOP")  # and again, impatient
    run_worker(queues=["sms"])

    to_them = [m for m in android_gateway if m["phoneNumbers"] == [person.phone]]
    assert len(to_them) == 1
    (reply,) = replies(person.phone, "sms_stop_reply")
    assert to_them[0]["id"] == reply.reference
    assert to_them[0]["textMessage"]["text"] == reply.body
    assert [m["phoneNumbers"] for m in android_gateway].count([other.phone]) == 1
    assert set(
        replies(person.phone).exclude(kind="sms_stop_reply").values_list("status", flat=True)
    ) == {TextMessage.Status.CANCELLED}


# -- joining by keyword ----------------------------------------------------------------


def test_join_with_a_town_in_russian_creates_a_pending_supporter_placed_there():
    stored = receive(STRANGER, "ВСТУПИТЬ Казань")

    assert stored.handled_as == InboundText.Handling.JOIN
    person = stored.supporter
    assert (person.status, person.email, person.display_name) == ("pending", "", "")
    assert (person.phone, person.language, person.channel) == (STRANGER, "ru", "phone")
    assert (person.city, person.country_code, person.location_source) == (
        "Казань",
        "RU",
        "gazetteer",
    )
    assert not any(person.consents().values())
    assert not person.consent_records.exists()
    (reply,) = replies(STRANGER)
    assert reply.kind == "sms_join_confirm" and reply.supporter == person
    assert "Казань" in reply.body
    assert not OutboxMessage.objects.exists()  # no address: nothing is mailed


def test_join_in_english_with_odd_spacing_and_punctuation():
    stored = receive(STRANGER, "  join:  Kazan! ")
    person = stored.supporter
    assert (person.language, person.city) == ("en", "Kazan")
    (reply,) = replies(STRANGER)
    assert reply.body.startswith("Sosedi: reply YES to join us in Kazan")
    assert "STOP" in reply.body


def test_the_join_keywords_are_a_setting(settings):
    settings.SOSEDI_SMS_JOIN_KEYWORDS = ["ЛЕС"]
    assert receive(STRANGER, "лес Казань").handled_as == InboundText.Handling.JOIN
    assert receive("+79035550102", "JOIN Kazan").handled_as == InboundText.Handling.INBOX
    # a keyword typed with Latin look-alikes is the keyword
    assert receive("+79035550103", "ЛEC Москва").handled_as == InboundText.Handling.JOIN


@pytest.mark.parametrize("body", ["JOIN", "JOIN Zzzqqxx", "ВСТУПИТЬ 🌲🌲", "join 12345"])
def test_a_town_not_found_is_asked_for_again_and_nobody_is_created(body):
    stored = receive(STRANGER, body)
    assert stored.handled_as == InboundText.Handling.JOIN
    assert stored.supporter is None
    assert not Supporter.objects.exists()
    (reply,) = replies(STRANGER)
    assert reply.kind == "sms_join_where" and reply.supporter is None
    keyword = "ВСТУПИТЬ" if body.startswith("ВСТУПИТЬ") else "JOIN"
    assert f"{keyword} " in reply.body


def test_someone_on_the_list_already_is_told_so_and_nothing_else(texter):
    person = texter()
    stored = receive(person.phone, "JOIN Kazan")
    assert stored.handled_as == InboundText.Handling.JOIN
    assert stored.supporter == person
    assert Supporter.objects.count() == 1
    (reply,) = replies(person.phone)
    assert reply.kind == "sms_join_known"
    assert "on our list already" in reply.body


def test_joining_twice_by_text_before_confirming_asks_for_the_yes_again():
    receive(STRANGER, "JOIN Kazan")
    receive(STRANGER, "JOIN Moscow")
    assert Supporter.objects.count() == 1
    known = replies(STRANGER, "sms_join_known").get()
    assert "Reply YES" in known.body


def test_stop_before_yes_erases_the_sign_up_by_text_unanswered():
    person = receive(STRANGER, "JOIN Kazan").supporter
    stored = receive(STRANGER, "СТОП")
    assert stored.handled_as == InboundText.Handling.STOP
    assert stored.supporter is None
    assert not Supporter.objects.filter(pk=person.pk).exists()
    assert not replies(STRANGER).exists()  # the confirmation request went with them
    assert receive(STRANGER, "yes").handled_as == InboundText.Handling.INBOX


# -- confirming by YES -----------------------------------------------------------------


@pytest.mark.parametrize("yes", ["YES", "yes!", "Y", "ok", "Да", "да.", "Д", "ДA"])
def test_yes_confirms_a_sign_up_by_text(yes):
    person = receive(STRANGER, "JOIN Kazan").supporter
    stored = receive(STRANGER, yes)

    assert stored.handled_as == InboundText.Handling.CONFIRM
    assert stored.supporter == person
    person.refresh_from_db()
    assert person.status == Supporter.Status.ACTIVE and person.confirmed_at is not None
    assert person.consent_text_messages is True
    (grant,) = person.consent_records.all()
    assert (grant.purpose, grant.granted, grant.source) == (
        Purpose.TEXT_MESSAGES,
        True,
        ConsentRecord.Source.TEXT_MESSAGE,
    )
    welcome = replies(STRANGER, "sms_welcome").get()
    assert "http://testserver/manage/" in welcome.body
    assert not replies(STRANGER, "sms_survey_question").exists()  # no survey set up
    assert not OutboxMessage.objects.exists()


def test_confirming_records_the_arrival_as_the_join_form_does():
    from supporters.nearby.models import AreaArrival

    person = receive(STRANGER, "JOIN Kazan").supporter
    receive(STRANGER, "yes")
    assert AreaArrival.objects.filter(supporter=person).count() == 1


def test_a_second_yes_confirms_nothing_more():
    receive(STRANGER, "JOIN Kazan")
    receive(STRANGER, "yes")
    again = receive(STRANGER, "yes")
    assert again.handled_as == InboundText.Handling.INBOX
    assert replies(STRANGER, "sms_welcome").count() == 1


def test_yes_after_the_confirmation_time_is_over_confirms_nothing(settings):
    person = receive(STRANGER, "JOIN Kazan").supporter
    Supporter.objects.filter(pk=person.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.SOSEDI_CONFIRM_LINK_MAX_AGE + 60)
    )
    assert receive(STRANGER, "YES").handled_as == InboundText.Handling.INBOX
    person.refresh_from_db()
    assert person.status == Supporter.Status.PENDING


def test_yes_from_someone_who_signed_up_on_the_form_is_no_confirmation(make_supporter):
    person = make_supporter(status=Supporter.Status.PENDING)
    Supporter.objects.filter(pk=person.pk).update(phone=STRANGER)
    stored = receive(STRANGER, "yes")
    assert stored.handled_as == InboundText.Handling.INBOX
    person.refresh_from_db()
    assert person.status == Supporter.Status.PENDING


# -- the limit, retries, the inbox -----------------------------------------------------


def test_beyond_the_limit_a_number_s_texts_are_dropped_unanswered(settings, texter):
    settings.SOSEDI_SMS_INBOUND_PER_HOUR = 3
    person = texter()
    for n in range(3):
        assert receive(person.phone, f"hello {n}") is not None
    assert receive(person.phone, "STOP") is None
    assert receive("+7 903 555-01-01", "hello") is not None  # another number still counts
    assert InboundText.objects.filter(from_phone=person.phone).count() == 3
    person.refresh_from_db()
    assert person.consent_text_messages is True
    assert not replies(person.phone).exists()
    assert (
        RateLimitEvent.objects.filter(scope="sms_inbound", key=client_key(person.phone)).count()
        == 3
    )


def test_a_retried_webhook_is_one_text(texter):
    person = texter()
    first = receive(person.phone, "STOP", gateway_id="evt-1", gateway="android")
    again = receive(person.phone, "STOP", gateway_id="evt-1", gateway="android")
    assert again.pk == first.pk
    assert InboundText.objects.count() == 1
    assert replies(person.phone).count() == 1
    # The same id from another gateway is another text.
    assert receive(person.phone, "hi", gateway_id="evt-1", gateway="twilio").pk != first.pk


def test_anything_else_lands_in_the_inbox_linked_to_the_one_person_with_the_number(texter):
    person = texter()
    stored = receive(person.phone, "Can I bring my neighbour on Sunday?")
    assert stored.handled_as == InboundText.Handling.INBOX
    assert stored.supporter == person
    assert stored.done_at is None
    assert not replies(person.phone).exists()
    assert receive(STRANGER, "who is this?").supporter is None


def test_numbers_are_stored_in_e164_and_other_senders_as_given(texter):
    person = texter(phone="+79161234567")
    assert receive("8 (916) 123-45-67", "hello").supporter == person
    assert receive("+7 916 123 45 67", "hello").from_phone == "+79161234567"
    odd = receive("MegaFon", "STOP")  # a short code or a name: not a number to act on
    assert (odd.from_phone, odd.handled_as) == ("MegaFon", InboundText.Handling.INBOX)
    person.refresh_from_db()
    assert person.consent_text_messages is True


def test_words_fold_mixed_alphabets_and_split_numbers():
    assert words("CTO\u041f!") == ["стоп"]
    assert words("1и3, 5") == ["1", "и", "3", "5"]
    assert words("  ДA 🙂 ") == ["да"]
    assert words("Kazan") == ["kazan"]


# -- bad input through the real hook views ---------------------------------------------

BAD_BODIES = [
    "",
    "Привет " * 250,  # 1,750 characters: stored as its first 1,600
    "\x01\x02 hello \x1b[31m\x7f",
    "🙂🌲🛑" * 50,
    "\u202eevil\u202c",
    "   \n\t  ",
    "STOP\u200b",
]
# What a gateway may refuse itself (400) before Sosedi reads it; if it passes them on,
# they are stored clean.
EXTREME_BODIES = ["x" * 5000, "STOP\x00", "\x00" * 10]


def test_text_received_stores_any_body_clean():
    for n, body in enumerate(BAD_BODIES + EXTREME_BODIES):
        assert receive(f"+7903555{n:04d}", body) is not None
    assert_stored_clean(len(BAD_BODIES + EXTREME_BODIES))
    assert InboundText.objects.get(from_phone="+79035550007").body == "x" * 1600
    assert InboundText.objects.get(from_phone="+79035550008").handled_as == "stop"
    assert InboundText.objects.get(from_phone="+79035550009").body == ""


def android_hook(client, event: dict, key: str = "signing-key"):
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/sms/hooks/android/",
        body,
        content_type="application/json",
        headers={"X-Signature": signature, "X-Timestamp": stamp},
    )


def twilio_hook(client, fields: dict, token: str = "twilio-token"):  # noqa: S107
    url = "http://testserver/sms/hooks/twilio/"
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return client.post(
        "/sms/hooks/twilio/",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": base64.b64encode(digest).decode()},
    )


@pytest.fixture
def twilio(settings):
    settings.SOSEDI_SMS_GATEWAY = "twilio"
    settings.SOSEDI_SMS_TWILIO_ACCOUNT_SID = "AC123"
    settings.SOSEDI_SMS_TWILIO_AUTH_TOKEN = "twilio-token"
    settings.SOSEDI_SMS_TWILIO_FROM = "+79990000000"


def assert_stored_clean(count: int):
    stored = list(InboundText.objects.all())
    assert len(stored) == count
    for text in stored:
        assert len(text.body) <= 1600
        assert "\x00" not in text.body and "\x1b" not in text.body and "\u202e" not in text.body
        assert "\x00" not in text.from_phone and len(text.from_phone) <= 16


def test_bad_bodies_through_the_android_hook_are_stored_clean_and_never_a_500(
    client, android_gateway, texter
):
    person = texter()
    for n, body in enumerate(BAD_BODIES):
        event = {
            "id": f"evt-{n}",
            "event": "sms:received",
            "payload": {"phoneNumber": person.phone, "message": body},
        }
        assert android_hook(client, event).status_code == 204
    assert_stored_clean(len(BAD_BODIES))
    # "STOP" and a zero-width space is STOP.
    person.refresh_from_db()
    assert person.consent_text_messages is False
    stored = len(BAD_BODIES)
    for n, body in enumerate(EXTREME_BODIES):
        event = {"id": f"far-{n}", "event": "sms:received",
                 "payload": {"phoneNumber": person.phone, "message": body}}  # fmt: skip
        status = android_hook(client, event).status_code
        assert status in (204, 400)
        stored += status == 204
        assert_stored_clean(stored)
    for n, sender in enumerate(["", "\x00", "not a number", "+" + "9" * 40, "☎️"]):
        event = {"id": f"odd-{n}", "event": "sms:received",
                 "payload": {"phoneNumber": sender, "message": "hello"}}  # fmt: skip
        status = android_hook(client, event).status_code
        assert status in (204, 400)
        stored += status == 204
        assert_stored_clean(stored)
    assert stored >= len(BAD_BODIES) + 3  # "", "not a number" and "☎️" at least
    # Malformed events are the gateway's 400, unsigned ones 403: nothing stored.
    assert android_hook(client, {"event": "sms:received", "payload": []}).status_code == 400
    assert android_hook(client, {"id": "x"}, key="wrong").status_code == 403
    assert_stored_clean(stored)


def test_bad_bodies_through_the_twilio_hook_are_stored_clean_and_never_a_500(
    client, twilio, texter
):
    person = texter()
    for n, body in enumerate(BAD_BODIES):
        fields = {"MessageSid": f"SM{n:032d}", "From": person.phone, "To": "+79990000000",
                  "Body": body, "NumMedia": "0"}  # fmt: skip
        response = twilio_hook(client, fields)
        assert response.status_code == 200
        assert b"<Response></Response>" in response.content
    assert_stored_clean(len(BAD_BODIES))
    stored = len(BAD_BODIES)
    for n, body in enumerate(EXTREME_BODIES):
        fields = {"MessageSid": f"SMfar{n}", "From": person.phone, "Body": body}
        status = twilio_hook(client, fields).status_code
        assert status in (200, 400)
        stored += status == 200
        assert_stored_clean(stored)
    for n, sender in enumerate(["", "anonymous", "+1" * 30]):
        fields = {"MessageSid": f"SModd{n}", "From": sender, "Body": "hello"}
        assert twilio_hook(client, fields).status_code in (200, 400)
    assert all(len(t.from_phone) <= 16 for t in InboundText.objects.all())


def test_a_join_through_the_twilio_hook_retried_by_twilio_is_one_sign_up(client, twilio):
    fields = {"MessageSid": "SM1", "From": STRANGER, "Body": "ВСТУПИТЬ Казань"}
    assert twilio_hook(client, fields).status_code == 200
    assert twilio_hook(client, fields).status_code == 200
    assert Supporter.objects.filter(phone=STRANGER).count() == 1
    assert replies(STRANGER, "sms_join_confirm").count() == 1
