"""The gateways texts go through: one interface, chosen by SOSEDI_SMS_GATEWAY.

A gateway `stage`s a text (http.py: everything but the request's last byte) and reads
the requests it makes to Sosedi: delivery reports and received texts, each authenticated
its own way (`verify`). README "Text messages" says how to set each one up.

- OutboxGateway ("outbox"): nothing leaves; /dev/outbox/ shows the texts, and a form
  there plays a received text, so the demo works without a phone.
- AndroidGateway ("android"): SMS Gateway for Android (sms-gate.app), the open-source app
  that makes a phone of your own the gateway. POST {url}/message with basic auth; its
  webhooks (sms:received, sms:sent, sms:delivered, sms:failed) are signed: X-Signature is
  the hex HMAC-SHA256, under the signing key, of the raw body followed by X-Timestamp.
- TwilioGateway ("twilio"): Twilio's Messages API (and providers speaking it). POST
  {url}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded, basic auth; status
  callbacks and received texts are signed: X-Twilio-Signature is the base64 HMAC-SHA1,
  under the auth token, of the full URL followed by each POST field's name and value,
  sorted by name.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from supporters.sms.http import Answer, GatewayError, http_get, http_stage


@dataclass(frozen=True)
class Outgoing:
    reference: str  # TextMessage.reference: "sosedi-<pk>"
    to: str  # E.164
    body: str


@dataclass(frozen=True)
class Report:
    """A delivery report: which text (our reference, or the gateway's id), what happened."""

    reference: str
    gateway_id: str
    status: str  # "sent", "delivered" or "failed"
    error: str = ""


@dataclass(frozen=True)
class Received:
    from_phone: str
    body: str
    gateway_id: str


class BadRequest(Exception):
    """A request from the gateway that is not one it would make: answered 400."""


def _field(value: object, *, limit: int = 10000) -> str:
    """A value of the gateway's request as text, without the NUL characters PostgreSQL
    cannot store (a text someone sent is kept, cleaned: refusing it would only make the
    gateway send it again and again); BadRequest past `limit` characters."""
    text = "" if value is None else str(value).replace("\x00", "")
    if len(text) > limit:
        raise BadRequest("a field no gateway sends")
    return text


class Gateway:
    name = ""

    def stage(self, text: Outgoing) -> Callable[[], str]:
        """Send all of `text` but the end; returns what sends the end and gives the
        gateway's id of the text. Raises GatewayError when nothing was sent."""
        raise NotImplementedError

    def verify(self, request: HttpRequest) -> bool:
        """Whether the request comes from the gateway (its signature, under our secret)."""
        raise NotImplementedError

    def read(self, request: HttpRequest) -> tuple[list[Report], list[Received]]:
        """The reports and received texts in a verified request; BadRequest if malformed."""
        raise NotImplementedError

    def acknowledge(self) -> HttpResponse:
        """What the gateway expects back once a request is handled."""
        return HttpResponse(status=204)

    def took(self, text: Outgoing, *, since: datetime) -> bool | None:
        """Whether the gateway has `text` (queued at `since`), asked after a worker died
        between committing "sent" and the request's last byte: True, False, or None when
        it cannot say."""
        return None


def _basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class OutboxGateway(Gateway):
    name = "outbox"

    def stage(self, text: Outgoing) -> Callable[[], str]:
        return lambda: ""

    def verify(self, request: HttpRequest) -> bool:
        return False  # nothing outside calls it; /dev/outbox/ plays received texts

    def read(self, request):
        raise BadRequest("the outbox takes no requests")


def _hook_url(name: str) -> str:
    return settings.SITE_URL + reverse("sms:hook", args=[name])


class AndroidGateway(Gateway):
    name = "android"
    STATES = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}
    MAX_SKEW = 300  # seconds a signed webhook may be old (a replay later is refused)

    def stage(self, text: Outgoing) -> Callable[[], str]:
        payload = {
            "id": text.reference,
            "textMessage": {"text": text.body},
            "phoneNumbers": [text.to],
            "withDeliveryReport": True,
        }
        credentials = f"{settings.SOSEDI_SMS_ANDROID_USER}:{settings.SOSEDI_SMS_ANDROID_PASSWORD}"
        finish = http_stage(
            settings.SOSEDI_SMS_ANDROID_URL.rstrip("/") + "/message",
            body=json.dumps(payload, ensure_ascii=False).encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
            },
        )

        def done() -> str:
            answer: Answer = finish()
            return str(answer.json().get("id") or text.reference)

        return done

    def took(self, text: Outgoing, *, since: datetime) -> bool | None:
        """The app keeps each message under the id it was given: ours. Exact."""
        answer = http_get(
            f"{settings.SOSEDI_SMS_ANDROID_URL.rstrip('/')}/message/{quote(text.reference)}",
            headers={
                "Authorization": _basic_auth(
                    settings.SOSEDI_SMS_ANDROID_USER, settings.SOSEDI_SMS_ANDROID_PASSWORD
                )
            },
        )
        if answer is None or answer.status not in (200, 404):
            return None
        return answer.status == 200

    def verify(self, request: HttpRequest) -> bool:
        key = settings.SOSEDI_SMS_ANDROID_SIGNING_KEY
        signature = request.headers.get("X-Signature", "")
        stamp = request.headers.get("X-Timestamp", "")
        if not key or not signature or not stamp.isdigit():
            return False
        if abs(time.time() - int(stamp)) > self.MAX_SKEW:
            return False
        expected = hmac.new(key.encode(), request.body + stamp.encode(), hashlib.sha256)
        return hmac.compare_digest(expected.hexdigest(), signature.lower())

    def read(self, request):
        try:
            event = json.loads(request.body)
            kind, payload = event["event"], event.get("payload") or {}
            if not isinstance(payload, dict):
                raise TypeError("payload")
            if kind == "sms:received":
                received = Received(
                    from_phone=_field(payload["phoneNumber"], limit=40),
                    body=_field(payload["message"]),
                    # The app's messageId is made from the content: the event's id is not.
                    gateway_id=_field(event.get("id"), limit=100),
                )
                return [], [received]
            if kind in self.STATES:
                report = Report(
                    reference=_field(payload["messageId"], limit=100),
                    gateway_id=_field(payload["messageId"], limit=100),
                    status=self.STATES[kind],
                    error=_field(payload.get("reason")),
                )
                return [report], []
            return [], []  # system:ping and the rest: nothing to do
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"not a gateway event: {exc}") from exc


class TwilioGateway(Gateway):
    name = "twilio"
    STATES = {
        "sent": "sent",
        "delivered": "delivered",
        "undelivered": "failed",
        "failed": "failed",
    }

    def stage(self, text: Outgoing) -> Callable[[], str]:
        sid = settings.SOSEDI_SMS_TWILIO_ACCOUNT_SID
        sender = settings.SOSEDI_SMS_TWILIO_FROM
        fields = {
            "To": text.to,
            "Body": text.body,
            "StatusCallback": _hook_url(self.name) + "?" + urlencode({"ref": text.reference}),
            ("MessagingServiceSid" if sender.startswith("MG") else "From"): sender,
        }
        credentials = f"{sid}:{settings.SOSEDI_SMS_TWILIO_AUTH_TOKEN}"
        finish = http_stage(
            f"{settings.SOSEDI_SMS_TWILIO_URL.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json",
            body=urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                "Accept": "application/json",
            },
        )

        def done() -> str:
            answer: Answer = finish()
            return str(answer.json().get("sid") or "")

        return done

    def took(self, text: Outgoing, *, since: datetime) -> bool | None:
        """The API keeps no id of ours: a message to the number with the same body,
        created since the text was queued, is taken for it (the same text queued twice
        to one number within the same minutes would be taken for one: never two copies)."""
        sid = settings.SOSEDI_SMS_TWILIO_ACCOUNT_SID
        base = settings.SOSEDI_SMS_TWILIO_URL.rstrip("/")
        answer = http_get(
            f"{base}/2010-04-01/Accounts/{sid}/Messages.json?" + urlencode({"To": text.to}),
            headers={
                "Authorization": _basic_auth(sid, settings.SOSEDI_SMS_TWILIO_AUTH_TOKEN),
                "Accept": "application/json",
            },
        )
        messages = answer.json().get("messages") if answer and answer.status == 200 else None
        if not isinstance(messages, list):
            return None
        earliest = since - timedelta(minutes=1)
        for message in messages:
            try:
                created = parsedate_to_datetime(message["date_created"])
            except (KeyError, TypeError, ValueError):
                continue
            if message.get("body") == text.body and created >= earliest:
                return True
        return False

    def signature(self, url: str, fields: dict[str, str]) -> str:
        data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
        token = settings.SOSEDI_SMS_TWILIO_AUTH_TOKEN.encode()
        return base64.b64encode(hmac.new(token, data.encode(), hashlib.sha1).digest()).decode()

    def verify(self, request: HttpRequest) -> bool:
        if not settings.SOSEDI_SMS_TWILIO_AUTH_TOKEN:
            return False
        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.SITE_URL + request.get_full_path()
        fields = {name: request.POST.get(name, "") for name in request.POST}
        return bool(signature) and hmac.compare_digest(self.signature(url, fields), signature)

    def read(self, request):
        post = request.POST
        sid = _field(post.get("MessageSid") or post.get("SmsSid"), limit=100)
        if not sid:
            raise BadRequest("no MessageSid")
        if "MessageStatus" in post and "Body" not in post:
            status = self.STATES.get(post["MessageStatus"])
            if status is None:
                return [], []  # queued, accepted, sending...: nothing new
            report = Report(
                reference=_field(request.GET.get("ref"), limit=100),
                gateway_id=sid,
                status=status,
                error=_field(post.get("ErrorCode")),
            )
            return [report], []
        if not post.get("From") or "Body" not in post:
            raise BadRequest("no From or Body")
        received = Received(
            from_phone=_field(post["From"], limit=40), body=_field(post["Body"]), gateway_id=sid
        )
        return [], [received]

    def acknowledge(self) -> HttpResponse:
        # An empty TwiML answer: replies go out through the API, like every other text.
        return HttpResponse(
            '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
            content_type="text/xml",
        )


GATEWAYS = {g.name: g for g in (OutboxGateway, AndroidGateway, TwilioGateway)}


@cache
def _gateway(name: str) -> Gateway:
    return GATEWAYS[name]()


def gateway(name: str = "") -> Gateway:
    """The configured gateway (or the one named)."""
    return _gateway(name or settings.SOSEDI_SMS_GATEWAY)


__all__ = ["BadRequest", "Gateway", "GatewayError", "Outgoing", "Received", "Report", "gateway"]
