# ruff: noqa: F811 (the workspace's role fixtures, imported, are arguments of the tests)
"""The survey by text (supporters/sms/survey.py): asked once someone who joined by text
confirms, answered with numbers that fill in their preferences, asked again once when
not understood; and the workspace page where organizers set its questions."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from supporters.models import Frequency, Supporter, Topic
from supporters.sms.gateways import Received
from supporters.sms.inbound import text_received
from supporters.sms.models import InboundText, SurveyProgress, SurveyQuestion, TextMessage
from supporters.sms.survey import survey_replace
from tests.supporters.organize.conftest import (  # noqa: F401 (fixtures)
    _fast_passwords,
    _roles,
    as_role,
    make_staff,
)

pytestmark = pytest.mark.django_db

PHONE = "+79035550177"
URL = "/organize/texts/survey/"


def receive(body: str, phone: str = PHONE):
    return text_received(
        gateway="outbox", received=Received(from_phone=phone, body=body, gateway_id="")
    )


def texts(kind: str) -> list[TextMessage]:
    return list(TextMessage.objects.filter(to_phone=PHONE, kind=kind).order_by("id"))


@pytest.fixture
def survey():
    return survey_replace(
        questions=[
            {
                "asks": "topics",
                "prompts": {"en": "What interests you?", "ru": "Что вам интересно?"},
            },
            {"asks": "frequency", "prompts": {"en": "How often?", "ru": "Как часто?"}},
        ]
    )


def joined(body="JOIN Kazan", yes="yes") -> Supporter:
    person = receive(body).supporter
    receive(yes)
    person.refresh_from_db()
    return person


def test_confirming_asks_the_first_question_with_its_numbered_choices(survey):
    person = joined()
    (welcome,) = texts("sms_welcome")
    (question,) = texts("sms_survey_question")
    assert question.pk > welcome.pk
    assert question.body.startswith("What interests you?")
    assert "Reply with one or more numbers" in question.body
    for n, label in enumerate(Topic.labels, start=1):
        assert f"{n} {label}" in question.body
    progress = SurveyProgress.objects.get(supporter=person)
    assert (progress.question, progress.reminded) == (survey[0], False)


def test_the_question_is_in_the_language_of_the_person(survey):
    joined("ВСТУПИТЬ Казань", "да")
    (question,) = texts("sms_survey_question")
    assert question.body.startswith("Что вам интересно?")
    with translation.override("ru"):
        first = str(Topic.labels[0])
    assert f"1 {first}" in question.body


@pytest.mark.parametrize("answer", ["1 3", "1,3", "1и3", "3, 1", "1 and 3", "1 и 3!", " 1;3 "])
def test_a_topics_answer_takes_several_numbers(survey, answer):
    person = joined()
    stored = receive(answer)
    assert stored.handled_as == InboundText.Handling.SURVEY
    assert stored.supporter == person
    person.refresh_from_db()
    assert person.topics == [Topic.CAMPAIGNS, Topic.ENVIRONMENT]
    (following,) = texts("sms_survey_question")[1:]
    assert following.body.startswith("How often?")
    assert "Reply with one number" in following.body
    for n, label in enumerate(Frequency.labels, start=1):
        assert f"{n} {label}" in following.body
    assert SurveyProgress.objects.get(supporter=person).question == survey[1]


def test_the_last_answer_saves_the_frequency_and_thanks_them(survey):
    person = joined()
    receive("2 5")
    stored = receive("2.")
    assert stored.handled_as == InboundText.Handling.SURVEY
    person.refresh_from_db()
    assert person.topics == [Topic.EVENTS, Topic.VOLUNTEERING]
    assert person.frequency == Frequency.WEEKLY
    assert len(texts("sms_survey_done")) == 1
    assert not SurveyProgress.objects.exists()
    # After the survey a number is a text for the inbox.
    assert receive("3").handled_as == InboundText.Handling.INBOX


@pytest.mark.parametrize("answer", ["maybe", "7", "0", "1 7", "13", "🙂", "", "one"])
def test_an_answer_not_understood_gets_the_question_once_more_then_goes_to_the_inbox(
    survey, answer
):
    person = joined()
    again = receive(answer)
    assert again.handled_as == InboundText.Handling.SURVEY
    (repeat,) = texts("sms_survey_again")
    assert repeat.body.startswith("Sorry, we did not understand. What interests you?")
    assert SurveyProgress.objects.get(supporter=person).reminded is True

    second = receive(answer)
    assert second.handled_as == InboundText.Handling.INBOX
    assert second.supporter == person
    assert not SurveyProgress.objects.exists()
    assert len(texts("sms_survey_again")) == 1
    assert len(texts("sms_survey_question")) == 1
    person.refresh_from_db()
    assert person.topics == []


@pytest.mark.parametrize("answer", ["1 2", "5", "2 and 3"])
def test_a_frequency_answer_is_one_number_of_the_choices(survey, answer):
    person = joined()
    receive("1")
    assert receive(answer).handled_as == InboundText.Handling.SURVEY
    assert len(texts("sms_survey_again")) == 1
    person.refresh_from_db()
    assert person.frequency == Frequency.MONTHLY  # unchanged
    assert receive("4").handled_as == InboundText.Handling.SURVEY
    person.refresh_from_db()
    assert person.frequency == Frequency.CALLS_TO_ACTION


def test_an_answer_a_week_late_is_no_answer(survey):
    person = joined()
    SurveyProgress.objects.update(asked_at=timezone.now() - timedelta(days=7, minutes=1))
    assert receive("1").handled_as == InboundText.Handling.INBOX
    person.refresh_from_db()
    assert person.topics == []
    assert not SurveyProgress.objects.exists()


def test_stop_in_the_middle_of_the_survey_ends_it(survey):
    person = joined()
    assert receive("STOP").handled_as == InboundText.Handling.STOP
    assert not SurveyProgress.objects.exists()
    assert receive("1").handled_as == InboundText.Handling.INBOX
    person.refresh_from_db()
    assert person.topics == [] and person.consent_text_messages is False


def test_with_no_survey_nobody_is_asked():
    joined()
    assert not texts("sms_survey_question")
    assert not SurveyProgress.objects.exists()


# -- the page where organizers set the questions ---------------------------------------


def form_data(*rows, total=2):
    data = {"form-TOTAL_FORMS": str(total), "form-INITIAL_FORMS": "0"}
    for n in range(total):
        asks, en, ru = rows[n] if n < len(rows) else ("", "", "")
        data |= {f"form-{n}-asks": asks, f"form-{n}-prompt_en": en, f"form-{n}-prompt_ru": ru}
    return data


def test_only_those_who_may_send_mailings_set_the_survey(as_role, client):
    assert as_role("organizer").get(URL).status_code == 403
    assert as_role(None).post(URL, form_data(("topics", "Q", "В"))).status_code == 403
    assert client.get(URL).status_code in (302, 403)
    assert not SurveyQuestion.objects.exists()
    assert as_role("coordinator").get(URL).status_code == 200


def test_saving_replaces_the_questions(as_role, survey):
    coordinator = as_role("coordinator")
    person = joined()  # in the middle of the old survey
    page = coordinator.get(URL)
    assert "What interests you?" in page.content.decode()

    response = coordinator.post(
        URL, form_data(("frequency", " How  often? ", "Как часто?"), ("topics", "Topics?", "Темы?"))
    )
    assert response.status_code == 302
    questions = list(SurveyQuestion.objects.order_by("position"))
    assert [(q.position, q.asks, q.prompts) for q in questions] == [
        (1, "frequency", {"en": "How often?", "ru": "Как часто?"}),
        (2, "topics", {"en": "Topics?", "ru": "Темы?"}),
    ]
    assert not SurveyQuestion.objects.filter(pk__in=[q.pk for q in survey]).exists()
    assert not SurveyProgress.objects.filter(supporter=person).exists()
    assert "The survey is saved." in coordinator.get(URL).content.decode()


def test_one_question_is_a_survey_and_no_question_is_none(as_role, survey):
    coordinator = as_role("coordinator")
    assert coordinator.post(URL, form_data(("", "", ""), ("topics", "T?", "Т?"))).status_code == 302
    assert list(SurveyQuestion.objects.values_list("position", "asks")) == [(1, "topics")]
    assert coordinator.post(URL, form_data()).status_code == 302
    assert not SurveyQuestion.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (form_data(("topics", "Topics?", "")), "Write the question in Russian."),
        (form_data(("", "Topics?", "Темы?")), "Choose what this question asks"),
        (form_data(("topics", "A?", "А?"), ("topics", "B?", "Б?")), "asked only once"),
        (form_data(("topics", "x" * 201, "Т?")), "at most 200 characters"),
        (form_data(("colour", "A?", "А?")), "Select a valid choice"),
        (form_data(("topics", "A?", "А?"), total=5), "Please submit at most 2 forms"),
        ({"form-0-asks": "topics"}, "ManagementForm data is missing"),
    ],
)
def test_a_survey_that_does_not_hold_together_is_refused_and_nothing_changes(
    as_role, survey, data, error
):
    response = as_role("coordinator").post(URL, data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert list(SurveyQuestion.objects.order_by("position")) == survey
