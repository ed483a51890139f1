"""The survey by text: two or three questions organizers set, answered with numbers, that
fill in the preferences of someone who joined by text (topics, how often)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from supporters.models import Frequency, Supporter, Topic
from supporters.sms.models import SurveyProgress, SurveyQuestion
from supporters.sms.services import text_queue

MAX_QUESTIONS = 3
ANSWER_WITHIN = timedelta(days=7)  # an answer later than this is not an answer any more
# Words allowed between the numbers of an answer ("1 и 3", "1 or 4").
CONNECTORS = frozenset({"и", "или", "а", "также", "and", "or", "also"})

OPTIONS = {
    SurveyQuestion.Asks.TOPICS: Topic,
    SurveyQuestion.Asks.FREQUENCY: Frequency,
}


def survey_questions() -> list[SurveyQuestion]:
    return list(SurveyQuestion.objects.order_by("position"))


@transaction.atomic
def survey_replace(*, questions: list[dict]) -> list[SurveyQuestion]:
    """Make the survey exactly `questions` ({"asks", "prompts"}, in order). Whoever was
    in the middle of the old one is asked nothing more (their progress goes with it)."""
    if len(questions) > MAX_QUESTIONS:
        raise ValueError(f"at most {MAX_QUESTIONS} questions")
    SurveyQuestion.objects.all().delete()
    return SurveyQuestion.objects.bulk_create(
        SurveyQuestion(
            position=n,
            asks=SurveyQuestion.Asks(q["asks"]),
            prompts={c: str(q["prompts"].get(c, "")).strip() for c, _ in settings.LANGUAGES},
        )
        for n, q in enumerate(questions, start=1)
    )


def options(question: SurveyQuestion) -> list[tuple[int, object]]:
    """The numbered choices of a question, in the order of the model's choices (labels
    lazy: they are rendered in the recipient's language)."""
    return list(enumerate(OPTIONS[question.asks].labels, start=1))


def prompt(question: SurveyQuestion, language: str) -> str:
    prompts = question.prompts or {}
    return (
        prompts.get(language)
        or prompts.get(settings.LANGUAGE_CODE)
        or next((p for p in prompts.values() if p), "")
    )


def answer_parse(question: SurveyQuestion, words: list[str]) -> list[str] | None:
    """The choices an answer names, or None if it is not an answer: numbers only (and
    "and", "или"...), each one of the options; one number for how often."""
    if not words or any(not w.isdigit() and w not in CONNECTORS for w in words):
        return None
    numbers = [int(w) for w in words if w.isdigit()]
    values = OPTIONS[question.asks].values
    if not numbers or any(not 1 <= n <= len(values) for n in numbers):
        return None
    if question.asks == SurveyQuestion.Asks.FREQUENCY and len(set(numbers)) != 1:
        return None
    chosen = set(numbers)
    return [v for n, v in enumerate(values, start=1) if n in chosen]


def _ask(*, supporter: Supporter, question: SurveyQuestion, phone: str, again: bool) -> None:
    text_queue(
        supporter=supporter,
        kind="sms_survey_again" if again else "sms_survey_question",
        template="sms/survey_question",
        context={
            "again": again,
            "prompt": prompt(question, supporter.language),
            "options": options(question),
            "several": question.asks == SurveyQuestion.Asks.TOPICS,
        },
        to_phone=phone,
    )


def survey_start(*, supporter: Supporter, phone: str) -> SurveyProgress | None:
    """Ask the first question, if organizers set up a survey."""
    first = SurveyQuestion.objects.order_by("position").first()
    if first is None:
        return None
    progress, _ = SurveyProgress.objects.update_or_create(
        supporter=supporter,
        defaults={"question": first, "asked_at": timezone.now(), "reminded": False},
    )
    _ask(supporter=supporter, question=first, phone=phone, again=False)
    return progress


def progress_for(*, phone: str) -> SurveyProgress | None:
    """The survey question the person at `phone` was asked last, if within a week (an
    older one is forgotten: their text is not an answer)."""
    found = list(
        SurveyProgress.objects.select_for_update(of=("self",))
        .select_related("supporter", "question")
        .filter(supporter__phone=phone)
        .order_by("-asked_at")
    )
    since = timezone.now() - ANSWER_WITHIN
    stale = [p.pk for p in found if p.asked_at < since]
    if stale:
        SurveyProgress.objects.filter(pk__in=stale).delete()
    fresh = [p for p in found if p.asked_at >= since]
    return fresh[0] if fresh else None


def survey_answer(*, progress: SurveyProgress, words: list[str], phone: str) -> bool:
    """Take an answer to the question asked: the preference saved and the next question
    asked (or thanks after the last). An answer not understood gets the question once
    more; a second one is not an answer (False: the text is for the inbox) and ends the
    survey for them."""
    supporter, question = progress.supporter, progress.question
    chosen = answer_parse(question, words)
    if chosen is None:
        if progress.reminded:
            progress.delete()
            return False
        progress.reminded, progress.asked_at = True, timezone.now()
        progress.save(update_fields=["reminded", "asked_at"])
        _ask(supporter=supporter, question=question, phone=phone, again=True)
        return True
    if question.asks == SurveyQuestion.Asks.TOPICS:
        Supporter.objects.filter(pk=supporter.pk).update(topics=chosen)
    else:
        Supporter.objects.filter(pk=supporter.pk).update(frequency=chosen[0])
    following = SurveyQuestion.objects.filter(position__gt=question.position).first()
    if following is None:
        progress.delete()
        text_queue(
            supporter=supporter,
            kind="sms_survey_done",
            template="sms/survey_done",
            context={},
            to_phone=phone,
        )
        return True
    progress.question, progress.asked_at, progress.reminded = following, timezone.now(), False
    progress.save(update_fields=["question", "asked_at", "reminded"])
    _ask(supporter=supporter, question=following, phone=phone, again=False)
    return True
