"""Stub SMS gateways on 127.0.0.1 speaking the two real protocols, for the tests.

- AndroidStub: SMS Gateway for Android's local API (sms-gate.app): POST /message, basic
  auth, JSON in, 202 and the message's state out; its signed webhooks (sms:sent,
  sms:delivered, sms:failed, sms:received), X-Signature = hex HMAC-SHA256 under the
  signing key of the raw body followed by X-Timestamp.
- TwilioStub: Twilio's Messages API: POST /2010-04-01/Accounts/<sid>/Messages.json,
  form-encoded, basic auth sid:token, 201 with the message resource, Twilio's error
  bodies (20003, 21211...); its status callbacks and received texts, X-Twilio-Signature
  = base64 HMAC-SHA1 under the auth token of the full URL followed by each POST field's
  name and value, sorted by name.

Each records every complete request it received (`requests`; `taken()` those it accepted,
answered or not), and can fail the next N requests (`fail(n, status)`), delay its answers
(`delay`), answer as soon as it has the headers (`answer_early`), and SIGKILL a process
(`worker_pid`) when the n-th request has come as far as its headers and part of its body
(`kill_mid_body`) or all of it, before answering (`kill_before_answer`). The signing is
written here from the gateways' documentation, not taken from supporters/sms/gateways.py,
so that a test checks one against the other.

    with AndroidStub() as android:
        android.configure(settings)  # pytest-django's settings: SOSEDI_SMS_* point here
        ...
        android.report("sms:delivered", "sosedi-1").post(client)
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass
class Request:
    """One complete request the stub received, and what it did with it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # the answer's status; None if it never answered
    taken: bool = False  # accepted as a text to send (even if the answer got lost)
    gateway_id: str = ""

    def json(self) -> dict:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass(frozen=True)
class Hook:
    """A signed request the gateway would make to Sosedi, to post with Django's client."""

    path: str  # with its query string
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def post(self, client, **headers):
        return client.post(
            self.path, self.body, content_type=self.content_type, headers=self.headers | headers
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        self.server.stub._handle(self)

    def do_GET(self):
        self.server.stub._handle(self)


class StubGateway:
    """The server, its switches and its record; subclasses speak a protocol."""

    def __init__(self):
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.arrivals = 0  # requests that came as far as their headers
        self.worker_pid: int | None = None
        self.kill_mid_body: set[int] = set()  # n-th arrival: killed with part of its body
        self.kill_before_answer: set[int] = set()  # n-th arrival: killed once it is whole
        self.kills = 0
        self.delay = 0.0
        self.answer_early: int | None = None  # answer this status once the headers came
        self._failing = 0
        self._fail_status = 503
        self._server: ThreadingHTTPServer | None = None

    # -- running -------------------------------------------------------------------------

    def __enter__(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.worker_pid = None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, n: int, status: int = 503) -> None:
        """Answer the next `n` requests with `status` (after reading them whole)."""
        with self.lock:
            self._failing, self._fail_status = n, status

    def taken(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.taken]

    def references(self) -> list[str]:
        """Our reference of each text taken, once per time it was taken."""
        return [self.reference(r) for r in self.taken()]

    # -- the protocol (subclasses) -------------------------------------------------------

    def answer(self, request: Request) -> tuple[int, dict, dict]:
        """(status, JSON body, extra headers); sets request.taken for a text accepted."""
        raise NotImplementedError

    def reference(self, request: Request) -> str:
        raise NotImplementedError

    # -- the server's side ---------------------------------------------------------------

    def _kill(self) -> None:
        if self.worker_pid:
            with self.lock:
                self.kills += 1
            os.kill(self.worker_pid, signal.SIGKILL)

    def _handle(self, h: _Handler) -> None:
        if h.command == "GET":  # a lookup (after a worker died mid-send): never a kill
            request = Request(
                method="GET",
                path=h.path,
                headers={k.lower(): v for k, v in h.headers.items()},
                body=b"",
            )
            status, payload, extra = self.answer(request)
            self._write(h, status, payload, extra)
            return
        with self.lock:
            self.arrivals += 1
            n = self.arrivals
        length = int(h.headers.get("Content-Length") or 0)
        if self.answer_early is not None:
            # As a server checking the credentials before reading on: the body unread.
            status, self.answer_early = self.answer_early, None
            self._write(h, status, {"message": "refused before the body"}, {})
            h.close_connection = True
            return
        body = b""
        if n in self.kill_mid_body:
            body = h.rfile.read(max(1, length // 2))
            self._kill()
        with suppress(OSError):
            body += h.rfile.read(length - len(body))
        if len(body) < length:  # the client went before the end: not a request
            h.close_connection = True
            return
        request = Request(
            method=h.command,
            path=h.path,
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        with self.lock:
            self.requests.append(request)
            failing = self._failing > 0
            if failing:
                self._failing -= 1
        if failing:
            status, payload, extra = self._fail_status, {"message": "unavailable"}, {}
        else:
            status, payload, extra = self.answer(request)
        if n in self.kill_before_answer:
            self._kill()  # it has the text; the sender never hears so
            h.close_connection = True
            return
        if self.delay:
            time.sleep(self.delay)
        request.status = status
        self._write(h, status, payload, extra)

    def _write(self, h: _Handler, status: int, payload: dict, extra: dict) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            h.close_connection = True


def _basic(headers: dict[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:], validate=True).decode().partition(":")
    except ValueError:
        return None
    return user, password


class AndroidStub(StubGateway):
    """SMS Gateway for Android in local-server mode."""

    def __init__(self, *, user="sosedi", password="phone-pass", signing_key="signing-key"):  # noqa: S107
        super().__init__()
        self.user, self.password, self.signing_key = user, password, signing_key
        self.messages: dict[str, dict] = {}

    def configure(self, settings) -> None:
        settings.SOSEDI_SMS_GATEWAY = "android"
        settings.SOSEDI_SMS_ANDROID_URL = self.url
        settings.SOSEDI_SMS_ANDROID_USER = self.user
        settings.SOSEDI_SMS_ANDROID_PASSWORD = self.password
        settings.SOSEDI_SMS_ANDROID_SIGNING_KEY = self.signing_key

    def env(self) -> dict[str, str]:
        return {
            "SOSEDI_SMS_GATEWAY": "android",
            "SOSEDI_SMS_ANDROID_URL": self.url,
            "SOSEDI_SMS_ANDROID_USER": self.user,
            "SOSEDI_SMS_ANDROID_PASSWORD": self.password,
            "SOSEDI_SMS_ANDROID_SIGNING_KEY": self.signing_key,
        }

    def reference(self, request: Request) -> str:
        return request.json().get("id", "")

    def answer(self, request):
        if _basic(request.headers) != (self.user, self.password):
            return 401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Basic realm="SMS"'}
        if request.method == "GET" and request.path.startswith("/message/"):
            found = self.messages.get(request.path.removeprefix("/message/"))
            return (200, found, {}) if found else (404, {"message": "message not found"}, {})
        if request.method != "POST" or request.path != "/message":
            return 404, {"message": "Not Found"}, {}
        try:
            message = json.loads(request.body)
            text = message["textMessage"]["text"]
            numbers = message["phoneNumbers"]
            if not (isinstance(text, str) and text) or not numbers:
                raise ValueError("empty")
            if not all(isinstance(p, str) and p for p in numbers):
                raise ValueError("phoneNumbers")
            if not isinstance(message.get("id", ""), str):
                raise ValueError("id")
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"message": f"invalid request: {exc}"}, {}
        message_id = message.get("id") or secrets.token_urlsafe(16)
        state = {
            "id": message_id,
            "deviceId": "stub-device",
            "state": "Pending",
            "isHashed": False,
            "isEncrypted": False,
            "recipients": [{"phoneNumber": p, "state": "Pending"} for p in numbers],
            "states": {},
        }
        with self.lock:
            self.messages[message_id] = state
        request.taken, request.gateway_id = True, message_id
        return 202, state, {"Location": f"/message/{message_id}"}

    # -- webhooks ------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: str, key: str | None = None) -> str:
        key = self.signing_key if key is None else key
        return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()

    def webhook(
        self, event: str, payload: dict, *, timestamp: int | None = None, key: str | None = None
    ) -> Hook:
        """The event as the app posts it to its registered webhook URL, signed."""
        body = json.dumps(
            {
                "deviceId": "stub-device",
                "event": event,
                "id": secrets.token_urlsafe(16),
                "payload": payload,
                "webhookId": "stub-webhook",
            },
            ensure_ascii=False,
        ).encode()
        return self.signed(body, timestamp=timestamp, key=key)

    def signed(self, body: bytes, *, timestamp: int | None = None, key: str | None = None) -> Hook:
        """Any body, signed as the app signs it."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return Hook(
            path="/sms/hooks/android/",
            body=body,
            content_type="application/json",
            headers={"X-Signature": self.sign(body, stamp, key), "X-Timestamp": stamp},
        )

    def report(self, event: str, message_id: str, *, phone: str = "+79160000000", **kw) -> Hook:
        """sms:sent, sms:delivered or sms:failed (reason=...) for the message `message_id`."""
        at = {"sms:sent": "sentAt", "sms:delivered": "deliveredAt", "sms:failed": "failedAt"}
        payload = {
            "messageId": message_id,
            "phoneNumber": phone,
            "simNumber": None,
            at[event]: "2026-05-01T12:00:00.000+03:00",
            **kw,
        }
        return self.webhook(event, payload)

    def received(self, phone: str, message: str) -> Hook:
        return self.webhook(
            "sms:received",
            {
                "messageId": hashlib.md5(message.encode()).hexdigest()[:8],  # noqa: S324
                "message": message,
                "phoneNumber": phone,
                "simNumber": 1,
                "receivedAt": "2026-05-01T12:00:00.000+03:00",
            },
        )


class TwilioStub(StubGateway):
    """Twilio's Programmable Messaging REST API, 2010-04-01."""

    def __init__(self, *, account_sid="AC" + "1" * 32, auth_token="twilio-token", sender=""):  # noqa: S107
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.sender = sender or "+15005550006"
        self.messages: dict[str, dict] = {}  # by sid: the message and its StatusCallback

    def configure(self, settings) -> None:
        settings.SOSEDI_SMS_GATEWAY = "twilio"
        settings.SOSEDI_SMS_TWILIO_URL = self.url
        settings.SOSEDI_SMS_TWILIO_ACCOUNT_SID = self.account_sid
        settings.SOSEDI_SMS_TWILIO_AUTH_TOKEN = self.auth_token
        settings.SOSEDI_SMS_TWILIO_FROM = self.sender

    def env(self) -> dict[str, str]:
        return {
            "SOSEDI_SMS_GATEWAY": "twilio",
            "SOSEDI_SMS_TWILIO_URL": self.url,
            "SOSEDI_SMS_TWILIO_ACCOUNT_SID": self.account_sid,
            "SOSEDI_SMS_TWILIO_AUTH_TOKEN": self.auth_token,
            "SOSEDI_SMS_TWILIO_FROM": self.sender,
        }

    def reference(self, request: Request) -> str:
        callback = request.form().get("StatusCallback", "")
        return parse_qs(urlsplit(callback).query).get("ref", [""])[0]

    @staticmethod
    def _error(status: int, code: int, message: str) -> tuple[int, dict, dict]:
        return (
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            {},
        )

    def answer(self, request):
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if _basic(request.headers) != (self.account_sid, self.auth_token):
            return self._error(401, 20003, "Authenticate")
        if request.method == "GET" and urlsplit(request.path).path == path:
            wanted = parse_qs(urlsplit(request.path).query).get("To", [""])[0]
            with self.lock:
                found = [m for m in self.messages.values() if m["to"] == wanted]
            listed = [{k: v for k, v in m.items() if k != "status_callback"} for m in found]
            return 200, {"messages": listed, "page": 0, "page_size": 50}, {}
        if request.method != "POST" or request.path != path:
            return self._error(404, 20404, "The requested resource was not found")
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return self._error(400, 21602, "Message body is required.")
        form = request.form()
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From", ""), form.get("MessagingServiceSid", "")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not (sender or service):
            return self._error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return self._error(400, 21617, "The concatenated message body exceeds the limit.")
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self.lock:
            self.messages[sid] = {**message, "status_callback": form.get("StatusCallback", "")}
        request.taken, request.gateway_id = True, sid
        return 201, message, {}

    # -- requests to Sosedi --------------------------------------------------------------

    def sign(self, url: str, fields: dict[str, str], token: str | None = None) -> str:
        token = self.auth_token if token is None else token
        data = url + "".join(name + fields[name] for name in sorted(fields))
        digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def signed(self, url: str, fields: dict[str, str], *, token: str | None = None) -> Hook:
        """A form post to `url` (the full URL Twilio was given), signed as Twilio signs."""
        parts = urlsplit(url)
        return Hook(
            path=parts.path + (f"?{parts.query}" if parts.query else ""),
            body=urlencode(fields).encode(),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": self.sign(url, fields, token)},
        )

    def status_callback(self, sid: str, status: str, *, error_code: str = "") -> Hook:
        """The status callback of message `sid` to the StatusCallback it was sent with."""
        message = self.messages[sid]
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message["from"] or "",
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if error_code:
            fields["ErrorCode"] = error_code
        return self.signed(message["status_callback"], fields)

    def inbound(self, from_: str, body: str, *, url: str) -> Hook:
        """A text received on the number, posted to its messaging webhook `url`."""
        sid = "SM" + secrets.token_hex(16)
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "Body": body,
            "From": from_,
            "FromCountry": "RU",
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": self.sender,
            "ToCountry": "US",
        }
        return self.signed(url, fields)


__all__ = ["AndroidStub", "Hook", "Request", "StubGateway", "TwilioStub"]
