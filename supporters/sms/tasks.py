"""Delivering texts through the worker (procrastinate), exactly once."""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from supporters.sms.gateways import GatewayError, Outgoing, gateway
from supporters.sms.models import TextMessage
from supporters.sms.services import REPLY_KINDS

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


@app.task(queue="sms", retry=RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, exponential_wait=5))
def deliver_text(text_id: int) -> None:
    """Send one queued text through the configured gateway, exactly once.

    As deliver_message does for mail: the row stays locked while the text goes out, so two
    workers never send it twice, and "sent" is committed before the gateway gets the last
    byte of the request (supporters/sms/http.py), so a worker killed mid-send never leaves
    a text the gateway took queued for a second copy. A text that is not an answer goes
    only while its person still accepts texts (a STOP that came meanwhile cancels it). A
    refusal or an unreachable gateway is recorded and re-raised for procrastinate to retry;
    after the last attempt, or a refusal of the text itself (http.PERMANENT), it is failed.

    A worker killed between committing "sent" and the last byte leaves its job stalled;
    retried, the job finds the text sent but unconfirmed and asks the gateway whether it
    has it (Gateway.took): sent again only if it has not, so every text goes exactly once
    where the gateway can say (SMS Gateway for Android by our id, Twilio by number and
    body).
    """
    backend = gateway()
    failed = None
    with transaction.atomic():
        text = (
            TextMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("supporter")
            .filter(
                Q(status=TextMessage.Status.QUEUED)
                # Marked sent by a worker that died before the gateway answered (this is
                # that job again, retried as stalled): the gateway is asked below.
                | Q(status=TextMessage.Status.SENT, sent_at__isnull=True, last_error=""),
                pk=text_id,
            )
            .first()
        )
        if text is None:
            return  # sent already, being sent, cancelled, or erased with its person
        if text.status == TextMessage.Status.SENT:
            outgoing = Outgoing(reference=text.reference, to=text.to_phone, body=text.body)
            took = backend.took(outgoing, since=text.created_at)
            if took is True:  # it has it: never a second copy
                text.sent_at = timezone.now()
                text.save(update_fields=["sent_at"])
                return
            if took is None:  # it cannot say: keep it sent, unconfirmed, as it was
                text.last_error = "not confirmed: the gateway cannot say whether it has it"
                text.save(update_fields=["last_error"])
                return
            text.status = TextMessage.Status.QUEUED  # it never got the last byte: send it
        if text.kind not in REPLY_KINDS and not (
            text.supporter is not None and text.supporter.consent_text_messages
        ):
            text.status = TextMessage.Status.CANCELLED
            text.last_error = "cancelled: no consent to texts any more"
            text.save(update_fields=["status", "last_error"])
            return
        text.attempts += 1
        text.gateway = backend.name
        try:
            finish = backend.stage(
                Outgoing(reference=text.reference, to=text.to_phone, body=text.body)
            )
        except GatewayError as exc:
            _record_failure(text, exc)
            text.save(update_fields=["attempts", "gateway", "last_error", "status"])
            failed = exc
        else:
            text.status = TextMessage.Status.SENT
            text.last_error = ""
            text.save(update_fields=["attempts", "gateway", "last_error", "status"])
    if failed is None:
        try:
            gateway_id = finish()  # the request's last byte, now that the row says "sent"
        except GatewayError as exc:  # refused: the gateway took nothing, so try again
            _record_failure(text, exc)
            TextMessage.objects.filter(pk=text.pk, status=TextMessage.Status.SENT).update(
                status=text.status, last_error=text.last_error
            )
            failed = exc
        except OSError as exc:  # no answer: it may have the text, so never a second copy
            TextMessage.objects.filter(pk=text.pk).update(last_error=str(exc)[:500])
            logger.warning("text %s: %s", text_id, exc)
            return
        else:
            done = {"sent_at": timezone.now()}
            if gateway_id:
                done["gateway_id"] = gateway_id[:100]
            TextMessage.objects.filter(pk=text.pk).update(**done)
            return
    logger.warning("text %s not sent (attempt %s): %s", text_id, text.attempts, failed)
    if text.status == TextMessage.Status.QUEUED:
        raise failed  # for procrastinate to try again later


def _record_failure(text: TextMessage, exc: GatewayError) -> None:
    """Queued for another attempt, or failed: after the last one, or refused for good (a
    number the gateway will not take: the same request would be refused again)."""
    text.last_error = f"{type(exc).__name__}: {exc}"[:500]
    text.status = (
        TextMessage.Status.FAILED
        if exc.permanent or text.attempts >= MAX_ATTEMPTS
        else TextMessage.Status.QUEUED
    )
