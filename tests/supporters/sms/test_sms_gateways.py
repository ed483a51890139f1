"""Both real gateways against stub servers on 127.0.0.1 speaking their protocols
(sms_stubs.py): a text delivered by the real worker arrives once with the right fields,
delivery reports through the signed hook move it on and never back, bad requests are
403/400/404 and never 500, failures are retried until the text arrives once or runs out
of attempts, refusals are recorded, and a text whose person withdrew the consent is
cancelled (an answer to their own text still goes)."""

import base64
import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest
from django.db import connection
from django.test import RequestFactory

from supporters.models import ConsentRecord, Purpose
from supporters.services import consent_set
from supporters.sms.gateways import Received, gateway
from supporters.sms.models import TextMessage
from supporters.sms.services import text_queue
from supporters.sms.tasks import MAX_ATTEMPTS
from tests.ops.servers import free_port
from tests.supporters.sms.sms_stubs import AndroidStub, TwilioStub

pytestmark = pytest.mark.django_db(transaction=True)

CYRILLIC = "Сход у леса в субботу в 11:00 — приходите! Ёлки, «Лес», №5"


@pytest.fixture
def android(settings):
    with AndroidStub() as stub:
        stub.configure(settings)
        yield stub


@pytest.fixture
def twilio(settings):
    with TwilioStub() as stub:
        stub.configure(settings)
        yield stub


@pytest.fixture(params=["android", "twilio"])
def stub(request):
    return request.getfixturevalue(request.param)


def _queue(person, *, body=CYRILLIC, kind="texting_test", **kw) -> TextMessage:
    return text_queue(supporter=person, kind=kind, body=body, **kw)


def _retry_now() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")


def _jobs(status: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = %s"
            " AND task_name = 'supporters.sms.tasks.deliver_text'",
            [status],
        )
        return cursor.fetchone()[0]


def _report(stub, text: TextMessage, state: str, *, error: str = ""):
    """The gateway's delivery report of `text`: "sent", "delivered" or "failed"."""
    if isinstance(stub, AndroidStub):
        extra = {"reason": error} if error else {}
        return stub.report(f"sms:{state}", text.reference, phone=text.to_phone, **extra)
    status = {"sent": "sent", "delivered": "delivered", "failed": "undelivered"}[state]
    return stub.status_callback(text.gateway_id, status, error_code=error)


def _sent(stub, texter, run_worker) -> TextMessage:
    text = _queue(texter())
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert text.status == "sent" and len(stub.taken()) == 1
    return text


# -- sending ---------------------------------------------------------------------------


def test_a_queued_text_reaches_the_gateway_once_with_its_number_body_and_reference(
    stub, texter, run_worker, settings
):
    person = texter(phone="+79161234567")
    text = _queue(person)
    run_worker(queues=["sms"])
    run_worker(queues=["sms"])  # nothing more to do: no second copy

    (request,) = stub.requests
    assert request.taken and request.status in (201, 202)
    text.refresh_from_db()
    assert (text.status, text.gateway, text.attempts, text.last_error) == (
        "sent",
        stub.__class__.__name__.removesuffix("Stub").lower(),
        1,
        "",
    )
    assert text.sent_at is not None and text.gateway_id == request.gateway_id
    if isinstance(stub, AndroidStub):
        assert request.path == "/message"
        assert request.headers["content-type"].startswith("application/json")
        assert CYRILLIC.encode() in request.body  # UTF-8 as it is, not \u escapes
        assert request.json() == {
            "id": text.reference,
            "textMessage": {"text": CYRILLIC},
            "phoneNumbers": ["+79161234567"],
            "withDeliveryReport": True,
        }
        assert text.gateway_id == text.reference  # the app keeps the id it is given
        credentials = base64.b64encode(b"sosedi:phone-pass").decode()
    else:
        assert request.path == f"/2010-04-01/Accounts/{stub.account_sid}/Messages.json"
        assert request.form() == {
            "To": "+79161234567",
            "From": settings.SOSEDI_SMS_TWILIO_FROM,
            "Body": CYRILLIC,
            "StatusCallback": f"http://testserver/sms/hooks/twilio/?ref={text.reference}",
        }
        assert text.gateway_id.startswith("SM") and len(text.gateway_id) == 34
        credentials = base64.b64encode(f"{stub.account_sid}:twilio-token".encode()).decode()
    assert request.headers["authorization"] == f"Basic {credentials}"
    assert stub.references() == [text.reference]


def test_twilio_is_given_the_messaging_service_when_the_sender_is_one(
    twilio, texter, run_worker, settings
):
    settings.SOSEDI_SMS_TWILIO_FROM = "MG" + "2" * 32
    _queue(texter(), body="Hello")
    run_worker(queues=["sms"])
    form = twilio.requests[0].form()
    assert form["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in form


def test_a_202_with_an_empty_body_is_a_text_sent(settings, texter, run_worker):
    class Terse(AndroidStub):
        def answer(self, request):
            status, _, extra = super().answer(request)
            return status, None, extra

    with Terse() as stub:
        stub.configure(settings)
        text = _queue(texter())
        run_worker(queues=["sms"])
    text.refresh_from_db()
    assert stub.requests[0].body and stub.requests[0].status == 202
    assert (text.status, text.gateway_id, text.last_error) == ("sent", text.reference, "")
    assert text.sent_at is not None


# -- delivery reports ------------------------------------------------------------------


def test_delivery_reports_move_a_text_on_and_never_back(stub, texter, run_worker, client):
    text = _sent(stub, texter, run_worker)
    assert _report(stub, text, "sent").post(client).status_code in (200, 204)
    text.refresh_from_db()
    assert text.status == "sent" and text.delivered_at is None

    assert _report(stub, text, "delivered").post(client).status_code in (200, 204)
    text.refresh_from_db()
    delivered_at = text.delivered_at
    assert text.status == "delivered" and delivered_at is not None

    # Late, repeated and contradicting reports change nothing.
    for state in ("sent", "failed", "delivered", "sent"):
        assert _report(stub, text, state, error="30005").post(client).status_code in (200, 204)
    text.refresh_from_db()
    assert (text.status, text.delivered_at, text.last_error) == ("delivered", delivered_at, "")


def test_a_delivery_report_before_the_sent_one_is_kept(stub, texter, run_worker, client):
    text = _sent(stub, texter, run_worker)
    _report(stub, text, "delivered").post(client)
    _report(stub, text, "sent").post(client)
    text.refresh_from_db()
    assert text.status == "delivered"


def test_a_failed_report_records_the_reason_and_a_later_delivery_wins(
    stub, texter, run_worker, client
):
    text = _sent(stub, texter, run_worker)
    reason = "RESULT_ERROR_GENERIC_FAILURE" if isinstance(stub, AndroidStub) else "30003"
    assert _report(stub, text, "failed", error=reason).post(client).status_code in (200, 204)
    text.refresh_from_db()
    assert text.status == "failed" and reason in text.last_error
    _report(stub, text, "sent").post(client)
    text.refresh_from_db()
    assert text.status == "failed"
    _report(stub, text, "delivered").post(client)  # the phone had it after all
    text.refresh_from_db()
    assert text.status == "delivered"


def test_the_hooks_answer_as_each_gateway_expects(stub, texter, run_worker, client):
    text = _sent(stub, texter, run_worker)
    response = _report(stub, text, "delivered").post(client)
    if isinstance(stub, AndroidStub):
        assert response.status_code == 204
    else:
        assert response.status_code == 200 and response["Content-Type"] == "text/xml"
        assert b"<Response></Response>" in response.content


def test_a_report_of_a_text_of_the_other_gateway_or_none_changes_nothing(
    android, texter, run_worker, client
):
    text = _sent(android, texter, run_worker)
    TextMessage.objects.filter(pk=text.pk).update(gateway="twilio")
    assert android.report("sms:delivered", text.reference).post(client).status_code == 204
    assert android.report("sms:delivered", "sosedi-999999").post(client).status_code == 204
    assert android.report("sms:delivered", "someone-else").post(client).status_code == 204
    text.refresh_from_db()
    assert text.status == "sent"


# -- requests that are not the gateway's -----------------------------------------------


def test_a_bad_signature_is_403_and_changes_nothing(stub, texter, run_worker, client):
    text = _sent(stub, texter, run_worker)
    good = _report(stub, text, "delivered")
    if isinstance(stub, AndroidStub):
        forged = [
            stub.signed(good.body, key="another-key"),
            good.__class__(
                good.path,
                good.body.replace(b"delivered", b"failed"),
                good.content_type,
                good.headers,
            ),  # fmt: skip
            good.__class__(good.path, good.body, good.content_type, {}),
            good.__class__(
                good.path, good.body, good.content_type, {**good.headers, "X-Timestamp": "soon"}
            ),  # fmt: skip
        ]
    else:
        url = f"http://testserver{good.path}"
        fields = dict(parse_qsl(good.body.decode()))
        forged = [
            stub.signed(url, fields, token="another-token"),
            good.__class__(good.path, good.body + b"&Extra=1", good.content_type, good.headers),
            good.__class__(good.path, good.body, good.content_type, {}),
            # Signed for another text's callback URL, posted to this one.
            good.__class__(
                good.path.replace(text.reference, "sosedi-0"),
                good.body,
                good.content_type,
                good.headers,
            ),  # fmt: skip
        ]
    for hook in forged:
        assert hook.post(client).status_code == 403
    text.refresh_from_db()
    assert text.status == "sent"


@pytest.mark.parametrize("age", [-600, 301, 3600])
def test_an_android_webhook_signed_too_long_ago_or_ahead_is_403(age, android, client, texter):
    text = _queue(texter())
    body = json.dumps({"event": "sms:failed", "payload": {"messageId": text.reference}}).encode()
    assert android.signed(body, timestamp=int(time.time()) - age).post(client).status_code == 403
    assert android.signed(body).post(client).status_code == 204  # the same, signed now


ANDROID_MALFORMED = [
    b"",
    b"not json",
    b"\xff\xfe\x00",
    b"[]",
    b"null",
    b'{"event": "sms:sent"}',
    b'{"event": "sms:sent", "payload": "sosedi-1"}',
    b'{"event": "sms:sent", "payload": {"phoneNumber": "+79160000000"}}',
    b'{"payload": {"messageId": "sosedi-1"}}',
    b'{"event": "sms:received", "payload": {"phoneNumber": "+79160000000"}}',
    json.dumps({"event": "sms:sent", "payload": {"messageId": "x" * 500}}).encode(),
]


@pytest.mark.parametrize("body", ANDROID_MALFORMED)
def test_a_malformed_android_webhook_is_400(body, android, client):
    assert android.signed(body).post(client).status_code == 400


def test_a_received_text_with_nul_characters_is_kept_without_them(android, client):
    """Refusing it would only make the gateway send it again and again."""
    from supporters.sms.models import InboundText

    body = {"phoneNumber": "+79160000001", "message": "a\x00b"}
    assert android.webhook("sms:received", body).post(client).status_code == 204
    assert InboundText.objects.get(gateway="android").body == "ab"


def test_a_received_twilio_text_with_nul_characters_is_kept_without_them(twilio, client):
    from supporters.sms.models import InboundText

    fields = {"MessageSid": "SMnul", "From": "+79160000002", "Body": "c\x00d"}
    hook = twilio.signed("http://testserver/sms/hooks/twilio/", fields)
    assert hook.post(client).status_code == 200
    assert InboundText.objects.get(gateway="twilio").body == "cd"


def test_android_events_it_does_not_act_on_are_acknowledged(android, client):
    ping = android.webhook("system:ping", {"health": {"status": "pass"}})
    assert ping.post(client).status_code == 204
    odd = android.report("sms:delivered", "sosedi-²")  # a digit, but not 0-9
    assert odd.post(client).status_code == 204
    huge = android.report("sms:delivered", "sosedi-" + "9" * 30)
    assert huge.post(client).status_code == 204


TWILIO_MALFORMED = [
    {},
    {"MessageStatus": "delivered"},
    {"MessageSid": "SM" + "1" * 200, "MessageStatus": "delivered"},
    {"MessageSid": "SM1", "Body": "hello"},  # a received text with no sender
    {"MessageSid": "SM1", "From": "+79160000000"},  # ...or no body
]


@pytest.mark.parametrize("fields", TWILIO_MALFORMED)
def test_a_malformed_twilio_request_is_400(fields, twilio, client):
    hook = twilio.signed("http://testserver/sms/hooks/twilio/", fields)
    assert hook.post(client).status_code == 400


def test_twilio_callbacks_with_odd_references_or_states_change_nothing(
    twilio, texter, run_worker, client
):
    text = _sent(twilio, texter, run_worker)
    for ref in ("sosedi-²", "sosedi-" + "9" * 30, "", "sosedi-"):
        fields = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
        url = "http://testserver/sms/hooks/twilio/?" + urlencode({"ref": ref})
        hook = twilio.signed(url, fields)
        assert hook.post(client).status_code == 200
    for status in ("queued", "sending", "accepted", "read", "nonsense"):
        assert twilio.status_callback(text.gateway_id, status).post(client).status_code == 200
    text.refresh_from_db()
    assert text.status == "sent"


def test_a_twilio_post_that_is_not_a_form_is_refused_not_500(twilio, client):
    for content_type, body in [
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: garbage\r\n"),
        ("multipart/form-data", b"no boundary"),
        ("application/json", b'{"MessageSid": "SM1"}'),
    ]:
        response = client.post(
            "/sms/hooks/twilio/", body, content_type=content_type,
            headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        )  # fmt: skip
        assert response.status_code in (400, 403)


def test_only_the_configured_gateway_is_heard(android, client, settings):
    for name in ("twilio", "outbox", "nonsense"):
        assert client.post(f"/sms/hooks/{name}/", b"", content_type="text/plain").status_code == 404
    assert client.get("/sms/hooks/android/").status_code == 405
    settings.SOSEDI_SMS_GATEWAY = "outbox"
    hook = android.webhook("system:ping", {})
    assert hook.post(client).status_code == 404


def test_received_texts_are_read_from_signed_requests(android, twilio, settings):
    """The hook hands each received text to supporters.sms.inbound (tested there)."""
    factory = RequestFactory()

    def request(hook):
        return factory.post(
            hook.path, hook.body, content_type=hook.content_type, headers=hook.headers
        )

    android.configure(settings)
    hook = android.received("+79161234567", "СТОП")
    backend = gateway("android")
    assert backend.verify(request(hook))
    event_id = json.loads(hook.body)["id"]
    assert backend.read(request(hook)) == (
        [],
        [Received(from_phone="+79161234567", body="СТОП", gateway_id=event_id)],
    )
    twilio.configure(settings)
    hook = twilio.inbound("+79161234567", "ЛЕС Казань", url="http://testserver/sms/hooks/twilio/")
    backend = gateway("twilio")
    assert backend.verify(request(hook))
    sid = dict(parse_qsl(hook.body.decode()))["MessageSid"]
    assert backend.read(request(hook)) == (
        [],
        [Received(from_phone="+79161234567", body="ЛЕС Казань", gateway_id=sid)],
    )


# -- failures and retries --------------------------------------------------------------


def test_a_failing_gateway_leaves_the_text_queued_and_it_arrives_once_it_recovers(
    stub, texter, run_worker
):
    text = _queue(texter())
    stub.fail(1, 503)
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("queued", 1) and "HTTP 503" in text.last_error
    assert _jobs("todo") == 1  # procrastinate will try again, later
    run_worker(queues=["sms"])
    assert len(stub.requests) == 1  # not before its time

    stub.fail(1, 500)
    _retry_now()
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("queued", 2) and "HTTP 500" in text.last_error

    _retry_now()
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.attempts, text.last_error) == ("sent", 3, "")
    assert [r.status for r in stub.requests] == [503, 500, 201 if text.gateway == "twilio" else 202]
    assert stub.references() == [text.reference]
    assert _jobs("todo") == 0


def test_an_unreachable_gateway_leaves_the_text_queued_until_it_is_back(
    stub, texter, run_worker, settings
):
    name = "ANDROID" if isinstance(stub, AndroidStub) else "TWILIO"
    setattr(settings, f"SOSEDI_SMS_{name}_URL", f"http://127.0.0.1:{free_port()}")
    text = _queue(texter())
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("queued", 1)
    assert "ConnectionRefused" in text.last_error
    setattr(settings, f"SOSEDI_SMS_{name}_URL", stub.url)
    _retry_now()
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert text.status == "sent" and stub.references() == [text.reference]


def test_a_text_that_ran_out_of_attempts_is_failed(stub, texter, run_worker):
    text = _queue(texter())
    stub.fail(MAX_ATTEMPTS + 5, 503)
    for _ in range(MAX_ATTEMPTS + 2):
        run_worker(queues=["sms"])
        _retry_now()
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("failed", MAX_ATTEMPTS)
    assert "HTTP 503" in text.last_error
    assert len(stub.requests) == MAX_ATTEMPTS and stub.taken() == []
    assert _jobs("todo") == 0


def test_a_number_twilio_refuses_is_failed_at_once_with_its_reason(twilio, texter, run_worker):
    text = _queue(texter(), to_phone="+7916")
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("failed", 1)
    assert "HTTP 400" in text.last_error and "21211" in text.last_error
    assert twilio.requests[0].status == 400 and twilio.taken() == []
    assert _jobs("todo") == 0  # no retry of what would be refused again


def test_bad_credentials_are_recorded_and_retried(stub, texter, run_worker, settings):
    name = "ANDROID_PASSWORD" if isinstance(stub, AndroidStub) else "TWILIO_AUTH_TOKEN"
    good = getattr(settings, f"SOSEDI_SMS_{name}")
    setattr(settings, f"SOSEDI_SMS_{name}", "wrong")
    text = _queue(texter())
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("queued", 1) and "HTTP 401" in text.last_error
    setattr(settings, f"SOSEDI_SMS_{name}", good)
    _retry_now()
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert text.status == "sent" and stub.references() == [text.reference]


def test_an_answer_before_the_body_ends_is_a_refusal_not_a_send(android, texter, run_worker):
    """A server that checks the credentials on the headers and closes: it cannot have
    the text, so it is queued again, not kept as sent."""
    android.answer_early = 401
    text = _queue(texter())
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("queued", 1)
    assert "401" in text.last_error or "closed" in text.last_error
    assert android.requests == []  # it never had a whole request
    _retry_now()
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert text.status == "sent" and android.references() == [text.reference]


def test_no_answer_keeps_the_text_sent_and_never_sends_it_twice(
    stub, texter, run_worker, settings, client
):
    settings.SOSEDI_SMS_TIMEOUT = 1
    stub.delay = 2.5
    text = _queue(texter())
    run_worker(queues=["sms"])
    text.refresh_from_db()
    assert (text.status, text.sent_at) == ("sent", None)
    assert "no answer" in text.last_error
    stub.delay = 0
    _retry_now()
    run_worker(queues=["sms"])
    assert stub.references() == [text.reference]  # it had it: no second copy
    if isinstance(stub, TwilioStub):  # our id of it comes back with its callback
        text.gateway_id = stub.requests[0].gateway_id
    _report(stub, text, "sent").post(client)
    text.refresh_from_db()
    assert text.sent_at is not None  # the gateway's report shows it had it


# -- consent ---------------------------------------------------------------------------


def test_a_text_whose_person_withdrew_consent_is_cancelled_but_a_reply_still_goes(
    android, texter, run_worker
):
    person = texter()
    news = _queue(person, body="Новости")
    reply = _queue(person, body="Вы отписаны", kind="sms_stop_reply")
    consent_set(
        supporter=person,
        purpose=Purpose.TEXT_MESSAGES,
        granted=False,
        source=ConsentRecord.Source.TEXT_MESSAGE,
    )
    run_worker(queues=["sms"])
    news.refresh_from_db()
    reply.refresh_from_db()
    assert (news.status, news.attempts, news.sent_at) == ("cancelled", 0, None)
    assert reply.status == "sent"
    assert android.references() == [reply.reference]
    assert [r.json()["textMessage"]["text"] for r in android.requests] == ["Вы отписаны"]
