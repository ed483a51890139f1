"""Erasure removes a person's texts, received texts, survey progress and the counts kept
under their number, and nobody else's, not even those of someone sharing the number; the
export ("My data") holds their number, text consent and texts."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from supporters import links
from supporters.models import RateLimitEvent, Supporter
from supporters.ratelimit import client_key
from supporters.services import supporter_erase
from supporters.sms.models import InboundText, SurveyProgress, SurveyQuestion, TextMessage
from supporters.sms.services import text_queue

pytestmark = pytest.mark.django_db

FAMILY = "+79160000077"


def _traces(supporter, *, question):
    """Texts both ways, a survey in progress."""
    text_queue(supporter=supporter, kind="texting:1", body=f"to {supporter.pk}")
    InboundText.objects.create(
        supporter=supporter, from_phone=supporter.phone, body="1 3", gateway="outbox",
        handled_as=InboundText.Handling.SURVEY,
    )  # fmt: skip
    SurveyProgress.objects.create(supporter=supporter, question=question, asked_at=timezone.now())


def test_erasure_removes_texts_and_the_number_and_spares_a_family_member_on_it(texter):
    question = SurveyQuestion.objects.create(position=1, asks="topics", prompts={"en": "Topics?"})
    me = texter(phone=FAMILY, name="Me")
    sister = texter(phone=FAMILY, name="Sister")
    stranger = texter(name="Stranger")
    for person in (me, sister, stranger):
        _traces(person, question=question)
    # The number's traces no row ties to anyone (before anyone on it joined).
    text_queue(supporter=None, to_phone=FAMILY, kind="sms_stop_reply", body="Stopped.")
    InboundText.objects.create(
        from_phone=FAMILY, body="hello?", gateway="outbox", handled_as=InboundText.Handling.INBOX
    )
    RateLimitEvent.objects.create(scope="sms_inbound", key=client_key(FAMILY))
    RateLimitEvent.objects.create(scope="sms_inbound", key=client_key(stranger.phone))

    supporter_erase(supporter=me)

    assert not Supporter.objects.filter(pk=me.pk).exists()
    assert not TextMessage.objects.filter(supporter_id=me.pk).exists()
    assert not InboundText.objects.filter(supporter_id=me.pk).exists()
    assert not SurveyProgress.objects.filter(supporter_id=me.pk).exists()
    assert not TextMessage.objects.filter(to_phone=FAMILY, supporter__isnull=True).exists()
    assert not InboundText.objects.filter(from_phone=FAMILY, supporter__isnull=True).exists()
    # The sister's rows on the same number are all there, and the number is still counted.
    assert TextMessage.objects.get(supporter=sister).body == f"to {sister.pk}"
    assert InboundText.objects.get(supporter=sister).from_phone == FAMILY
    assert SurveyProgress.objects.filter(supporter=sister).exists()
    assert RateLimitEvent.objects.filter(key=client_key(FAMILY)).exists()
    sister.refresh_from_db()
    assert sister.phone == FAMILY and sister.consent_text_messages
    # A stranger's too.
    assert TextMessage.objects.filter(supporter=stranger).count() == 1
    assert InboundText.objects.filter(supporter=stranger).count() == 1
    assert RateLimitEvent.objects.filter(key=client_key(stranger.phone)).exists()

    # The last person on the number goes: its counts go with them.
    supporter_erase(supporter=sister)
    assert not RateLimitEvent.objects.filter(key=client_key(FAMILY)).exists()
    assert not TextMessage.objects.filter(to_phone=FAMILY).exists()
    assert not InboundText.objects.filter(from_phone=FAMILY).exists()
    assert RateLimitEvent.objects.filter(key=client_key(stranger.phone)).exists()


def test_erasing_someone_without_a_phone_touches_no_text(texter, make_supporter):
    stranger = texter()
    text_queue(supporter=None, to_phone=stranger.phone, kind="sms_stop_reply", body="x")
    supporter_erase(supporter=make_supporter())
    assert TextMessage.objects.count() == 1


def test_my_data_holds_my_number_text_consent_and_texts_both_ways(client, texter):
    question = SurveyQuestion.objects.create(position=1, asks="topics", prompts={"en": "Topics?"})
    me = texter(phone=FAMILY)
    sister = texter(phone=FAMILY)
    _traces(me, question=question)
    text_queue(supporter=sister, kind="texting:2", body="for the sister only")
    token = links.MANAGE.make(me.pk)
    response = client.get(reverse("supporters:manage_export", args=[token]))
    data = json.loads(response.content)
    assert data["phone"] == FAMILY and data["consents"]["text_messages"] is True
    texts = data["text_messages"]
    assert (texts["phone"], texts["consent"]) == (FAMILY, True)
    assert [(t["kind"], t["text"], t["status"]) for t in texts["sent_to_you"]] == [
        ("texting:1", f"to {me.pk}", "queued")
    ]
    assert [(t["text"], t["handled_as"]) for t in texts["received_from_you"]] == [("1 3", "survey")]
    assert texts["survey"]["question"] == 1
    assert "for the sister only" not in response.content.decode()
    assert [h["purpose"] for h in data["consent_history"]] == ["text_messages"]
