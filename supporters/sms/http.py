"""An HTTP request sent all but its last byte, so that a text is sent once.

A gateway's API has no two-phase commit, but a server reads a request only when its
whole body has come (Content-Length says how long it is). So `http_stage` connects and
sends the headers and the body but its last byte; the caller commits "sent"; `finish()`
sends that byte and reads the answer. A worker killed before the commit leaves the text
queued and the gateway with half a request it drops, and the retry sends it once; killed
after it, the text is marked sent and the gateway has it, or is about to. What remains
is the instant between the COMMIT's answer and the one write of that byte (as with mail:
supporters/mailer.py): the text is marked sent and never reached the gateway (`sent_at`
empty shows it).

A server may answer before the body has ended (a 401 once it has read the headers) and
close the connection: until the last byte is written the gateway cannot have the text, so
an early answer, a closed connection or a failed write of that byte is a GatewayError
(try again), never the "it may have it" of a connection lost after it.
"""

import http.client
import json
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Answers that refuse this text for what it is (a number the gateway will not take, a body
# it cannot send): the same request would be refused again, so it is not retried.
PERMANENT = frozenset({400, 413, 422})


class GatewayError(Exception):
    """The gateway refused the text, or could not be reached: nothing was sent.

    `permanent` when it refused the text itself (PERMANENT), so that trying again is vain.
    """

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> dict:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def refusal(self) -> GatewayError:
        text = self.body[:300].decode("utf-8", "replace").strip()
        return GatewayError(
            f"HTTP {self.status}: {text}" if text else f"HTTP {self.status}",
            permanent=self.status in PERMANENT,
        )


def http_stage(url: str, *, body: bytes, headers: dict[str, str]) -> Callable[[], Answer]:
    """POST `body` to `url` but its last byte; returns what sends it and reads the answer.

    Raises GatewayError if the connection fails (nothing was sent then). The returned
    function raises GatewayError if the gateway did not take the text (an answer other
    than 2xx, or the connection gone before the last byte was written) and OSError if
    the connection dropped after it, before the answer (it may have the text).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not body:
        raise GatewayError(f"not a gateway URL: {url!r}")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    try:
        conn = connection_class(parts.hostname, parts.port, timeout=settings.SOSEDI_SMS_TIMEOUT)
    except ValueError as exc:  # a port that is not a number
        raise GatewayError(f"not a gateway URL: {url!r}") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        conn.putrequest("POST", path)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(body[:-1])
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise GatewayError(f"{type(exc).__name__}: {exc}") from exc

    def finish() -> Answer:
        try:
            _send_last_byte(conn, body[-1:])
            try:
                response = conn.getresponse()
                answer = Answer(response.status, response.read(64 * 1024))
            except (TimeoutError, http.client.HTTPException) as exc:
                raise OSError(f"no answer from the gateway: {exc}") from exc
        finally:
            with suppress(Exception):
                conn.close()
        if not 200 <= answer.status < 300:
            raise answer.refusal()
        return answer

    return finish


def _send_last_byte(conn: http.client.HTTPConnection, last: bytes) -> None:
    """Write the request's last byte, unless the server has answered or gone already."""
    sock = conn.sock
    if sock is None:  # never let http.client open a new connection for one byte
        raise GatewayError("the connection to the gateway was closed")
    early = _early_answer(sock, timeout=conn.timeout)
    if early is not None:  # it spoke (or hung up) before having the whole request
        if not early:
            raise GatewayError("the gateway closed the connection before the request ended")
        line = early.split(b"\r\n", 1)[0].split()
        status = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
        text = early[:300].decode("utf-8", "replace").strip()
        raise GatewayError(
            f"HTTP {status} before the request ended: {text}", permanent=status in PERMANENT
        )
    try:
        conn.send(last)
    except OSError as exc:  # not written, so not received
        raise GatewayError(f"{type(exc).__name__}: {exc}") from exc


def _early_answer(sock, *, timeout: float | None) -> bytes | None:
    """What the server has sent so far (b"" if it hung up), or None if nothing yet.

    A non-blocking read rather than select(): over TLS 1.3 the server's session tickets
    make the socket readable with no answer in it, and reading them consumes nothing.
    """
    try:
        sock.settimeout(0)
        return sock.recv(64 * 1024)
    except (BlockingIOError, ssl.SSLWantReadError):
        return None
    except OSError:  # reset: it hung up without a word
        return b""
    finally:
        with suppress(OSError):
            sock.settimeout(timeout)


def http_get(url: str, *, headers: dict[str, str]) -> Answer | None:
    """GET `url`: the answer, or None if the gateway could not be reached or hung up."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(parts.hostname, parts.port, timeout=settings.SOSEDI_SMS_TIMEOUT)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.read(1024 * 1024))
    except (OSError, http.client.HTTPException):
        return None
    finally:
        with suppress(Exception):
            conn.close()
