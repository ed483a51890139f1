"""Sending one email so that it is delivered once, even if the worker dies mid-send.

SMTP has no two-phase commit, but a message only counts once the server has read its
final "." and answered 250: a connection lost before that is a message never received.
So `mail_stage` runs the whole SMTP transaction but that last line; the caller commits
"sent" in the database; `finish()` then sends the "." and reads the answer. A worker
killed before the commit leaves the row queued and the server with nothing, and the
retry sends it once; killed after it, the row says sent and the server has it, or is
about to. What remains is the instant between the COMMIT's answer and the one write of
"." (a crash exactly there loses that one mail, shown in the admin as sent but never
confirmed: `sent_at` empty). Backends other than SMTP (the outbox in development, tests)
send at once and `finish` does nothing.
"""

import re
import smtplib
from collections.abc import Callable
from contextlib import suppress

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

CRLF = b"\r\n"


def _dot_stuffed(data: bytes) -> bytes:
    """The DATA payload: CRLF line ends, a leading '.' doubled (RFC 5321 4.5.2)."""
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", CRLF, data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(CRLF) else data + CRLF


def _noop() -> None:
    return None


def mail_stage(email: EmailMessage) -> Callable[[], None]:
    """Send everything of `email` but the end of its DATA; returns what sends the end.

    Raises what the server or the connection raised; nothing was delivered then.
    """
    backend = get_connection()
    if not isinstance(backend, SMTPBackend):
        email.connection = backend
        email.send()
        return _noop
    backend.open()
    conn: smtplib.SMTP = backend.connection
    try:
        encoding = email.encoding or settings.DEFAULT_CHARSET
        sender = sanitize_address(email.from_email, encoding)
        recipients = [sanitize_address(a, encoding) for a in email.recipients()]
        data = _dot_stuffed(email.message().as_bytes(linesep="\r\n"))
        conn.ehlo_or_helo_if_needed()
        options = [f"size={len(data)}"] if conn.has_extn("size") else []
        code, reply = conn.mail(sender, options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for recipient in recipients:
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
        conn.putcmd("data")
        code, reply = conn.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        conn.send(data)
    except BaseException:
        with suppress(Exception):
            conn.close()
        raise

    def finish() -> None:
        try:
            conn.send(b"." + CRLF)
            code, reply = conn.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        finally:
            with suppress(Exception):
                backend.close()

    return finish
