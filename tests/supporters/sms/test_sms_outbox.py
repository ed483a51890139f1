"""The development outbox shows texts as it shows mail, and plays a received text (a STOP
here) so the demo works without a gateway."""

import pytest

from supporters.models import ConsentRecord
from supporters.sms.models import InboundText, TextMessage
from supporters.sms.services import text_queue

pytestmark = pytest.mark.django_db

OUTBOX = "/dev/outbox/"


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True
    settings.SOSEDI_SMS_GATEWAY = "outbox"


def test_texts_are_listed_newest_first_with_to_kind_status_parts_and_body(client, texter):
    person = texter(phone="+79161234567")
    text_queue(supporter=person, kind="texting:1", body="First text")
    text_queue(supporter=person, kind="nearby_event_invitation", body="Приглашение " * 10)
    page = client.get(OUTBOX).content.decode()
    texts = page.split('id="texts"', 1)[1]
    assert texts.index("Приглашение") < texts.index("First text")
    for shown in ("+79161234567", "nearby_event_invitation", "texting:1", "queued", "<td>2</td>"):
        assert shown in texts


def test_a_stop_played_from_the_outbox_withdraws_the_consent_and_is_answered(client, texter):
    person = texter(phone="+79161234567")
    response = client.post(OUTBOX, {"from_phone": "8 916 123-45-67", "body": "СТОП"})
    assert response.status_code == 302
    (received,) = InboundText.objects.all()
    assert (received.from_phone, received.gateway, received.handled_as) == (
        "+79161234567",
        "outbox",
        "stop",
    )
    person.refresh_from_db()
    assert not person.consent_text_messages
    record = person.consent_records.filter(purpose="text_messages").first()
    assert (record.granted, record.source) == (False, ConsentRecord.Source.TEXT_MESSAGE)
    (answer,) = TextMessage.objects.filter(kind="sms_stop_reply")
    assert answer.to_phone == "+79161234567"
    shown = client.get(response["Location"]).content.decode().split('id="texts"', 1)[1]
    assert answer.body.split(" http")[0] in shown and "sms_stop_reply" in shown


@pytest.mark.parametrize("number", ["call me", "+7 000 000-00-00", ""])
def test_a_text_from_an_invalid_number_is_a_form_error_and_nothing_is_received(client, number):
    response = client.post(OUTBOX, {"from_phone": number, "body": "STOP"})
    assert response.status_code == 400
    assert "from_phone" in response.context["text_form"].errors
    assert not InboundText.objects.exists()


def test_the_outbox_is_not_there_outside_development(client, settings):
    settings.DEBUG = False
    assert client.get(OUTBOX).status_code == 404
    assert client.post(OUTBOX, {"from_phone": "+79161234567", "body": "STOP"}).status_code == 404
    assert not InboundText.objects.exists()
