"""Composing mail and queueing it: the outbox's rows and their delivery jobs, written in
the caller's transaction."""

import re
import secrets
from collections.abc import Iterable

from supporters import emails
from supporters.models import OutboxMessage, Supporter


def message_compose(
    *,
    supporter: Supporter | None,
    kind: str,
    template: str,
    context: dict,
    to_email: str = "",
    language: str = "",
    discloses: Supporter | None = None,
    headers: dict | None = None,
) -> OutboxMessage:
    """An outbox message, not saved yet (messages_queue stores and queues it).

    `template` is "<folder>/<name>", rendered from templates/<folder>/email/<name>.txt in
    the recipient's language (`recipient` in its context); address and language are the
    supporter's unless given. `discloses` is whoever the mail names to the recipient.
    """
    language = language or supporter.language
    subject, body = emails.render(
        template, language=language, context={"recipient": supporter, **context}
    )
    return OutboxMessage(
        supporter=supporter,
        discloses=discloses,
        kind=kind,
        to_email=to_email or supporter.email,
        subject=subject,
        body_text=body,
        headers=headers or {},
    )


class _Recipient:
    """The recipient in a stencil's render: it has a first name and nothing else, and it
    notes whatever else the template asks of it (then no stencil: see _stencil)."""

    def __init__(self, first_name: str):
        self.first_name = first_name
        self.asked: set[str] = set()

    def __getattr__(self, name: str):
        self.asked.add(name)
        raise AttributeError(name)

    def __str__(self) -> str:
        self.asked.add("__str__")
        return ""


# A value the stencils' check stands for: long (a truncation shows), with characters that
# escaping changes, capitals and letters outside ASCII (a case filter shows).
_ODD = "<&>'\" Ёжик Zz " * 12


def _stencil(template: str, *, language: str, context: dict, names: list[str]):
    """The mail as a (subject, body) with a marker where each of `names` (the recipient's
    first name first, then per-person context entries) is printed, or None when the
    template does anything with them but print them as they are (checked by rendering
    it again with other, odd values: the two must differ only in the values)."""
    token = secrets.token_hex(8)
    renders = []
    markers = [f"[{token}:{i}]" for i in range(len(names))]
    odd = [f"{_ODD}{i}" for i in range(len(names))]
    for sample in (markers, odd):
        recipient = _Recipient(sample[0])
        own = dict(zip(names[1:], sample[1:], strict=True))
        both = {**context, **own, "recipient": recipient}
        renders.append(emails.render(template, language=language, context=both))
        if recipient.asked:
            return None
    pattern = re.compile(re.escape(f"[{token}:") + r"(\d+)\]")
    again = tuple(pattern.sub(lambda m: odd[int(m[1])], part) for part in renders[0])
    return (renders[0], pattern) if again == renders[1] else None


def _stands_in(value) -> bool:
    """Whether a value may be put in a stencil: a string the check covered."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= len(_ODD)
        and value == value.strip()
        and not any(c in value for c in "\r\n")
    )


def messages_compose(
    *, people: Iterable[tuple[Supporter, dict]], kind: str, template: str, context: dict
) -> list[OutboxMessage]:
    """message_compose for many people: each (supporter, their own context entries) gets
    the same message, rendered once per language where the template only prints their
    first name and their own entries (a stencil), and on its own where it does more or
    a value is one the stencil's check did not cover (empty, with line breaks, long)."""
    stencils: dict = {}
    messages = []
    for supporter, own in people:
        values = [supporter.first_name, *own.values()]
        key = (supporter.language, tuple(own))
        if key not in stencils:
            stencils[key] = _stencil(
                template, language=supporter.language, context=context, names=["", *own]
            )
        stencil = stencils[key]
        if stencil is None or not all(_stands_in(v) for v in values):
            messages.append(
                message_compose(
                    supporter=supporter, kind=kind, template=template, context={**context, **own}
                )
            )
            continue
        (subject, body), pattern = stencil
        messages.append(
            OutboxMessage(
                supporter=supporter,
                kind=kind,
                to_email=supporter.email,
                subject=_filled(pattern, subject, values),
                body_text=_filled(pattern, body, values),
                headers={},
            )
        )
    return messages


def _filled(pattern: re.Pattern, text: str, values: list[str]) -> str:
    """A stencil's text with each marker replaced by its value, in one pass (a value that
    looks like a marker stays as it is)."""
    return pattern.sub(lambda m: values[int(m[1])], text)


def messages_queue(messages: Iterable[OutboxMessage]) -> list[OutboxMessage]:
    """Store composed messages and queue their delivery, in the caller's transaction.

    The job rows are written on the same connection, so they commit or roll back with the
    messages: no job without a message, no message without a job.
    """
    from supporters.tasks import deliver_message

    # Someone who joined by text has no address: nothing is mailed to them.
    stored = OutboxMessage.objects.bulk_create(m for m in messages if m.to_email)
    if stored:
        deliver_message.batch_defer(*({"message_id": m.pk} for m in stored))
    return stored


def message_queue(**message) -> OutboxMessage | None:
    """Compose one email (message_compose's arguments), store it and queue its delivery
    (None when the person has no address)."""
    stored = messages_queue([message_compose(**message)])
    return stored[0] if stored else None
