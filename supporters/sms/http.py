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
"""

import http.client
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class GatewayError(Exception):
    """The gateway refused the text, or could not be reached: nothing was sent."""


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


def http_stage(url: str, *, body: bytes, headers: dict[str, str]) -> Callable[[], Answer]:
    """POST `body` to `url` but its last byte; returns what sends it and reads the answer.

    Raises GatewayError if the connection fails (nothing was sent then). The returned
    function raises GatewayError on a 4xx or 5xx answer (the gateway took nothing) and
    OSError if the connection dropped before the answer (it may have the text).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not body:
        raise GatewayError(f"not a gateway URL: {url!r}")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(parts.hostname, parts.port, timeout=settings.SOSEDI_SMS_TIMEOUT)
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
            conn.send(body[-1:])
            response = conn.getresponse()
            answer = Answer(response.status, response.read(64 * 1024))
        except (TimeoutError, http.client.HTTPException) as exc:
            raise OSError(f"no answer from the gateway: {exc}") from exc
        finally:
            with suppress(Exception):
                conn.close()
        if answer.status >= 400:
            raise GatewayError(f"HTTP {answer.status}: {answer.body[:200]!r}")
        return answer

    return finish
