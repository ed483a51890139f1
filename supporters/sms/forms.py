"""The survey by text's page: a row per question, what it asks and its wording in each
language (the numbered choices are added to it in the recipient's language)."""

from django import forms
from django.conf import settings
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from supporters.sms.models import SurveyQuestion
from supporters.sms.survey import MAX_QUESTIONS

PROMPT_MAX = 200  # the choices follow it: a question over two texts long is not read


class SurveyQuestionForm(forms.Form):
    asks = forms.ChoiceField(
        label=_("Asks"),
        required=False,
        choices=[("", _("(no question)")), *SurveyQuestion.Asks.choices],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, name in settings.LANGUAGES:
            self.fields[f"prompt_{code}"] = forms.CharField(
                label=_("Question in %(language)s") % {"language": name},
                required=False,
                max_length=PROMPT_MAX,
                widget=forms.TextInput(attrs={"size": 60}),
            )

    def prompt_fields(self):
        return [self[f"prompt_{code}"] for code, _ in settings.LANGUAGES]

    def clean(self):
        data = super().clean()
        asks = data.get("asks")
        for code, name in settings.LANGUAGES:
            field = f"prompt_{code}"
            data[field] = " ".join((data.get(field) or "").split())
            if asks and not data[field] and field not in self.errors:
                self.add_error(field, _("Write the question in %(language)s.") % {"language": name})
        if not asks and any(data.get(f"prompt_{code}") for code, _ in settings.LANGUAGES):
            self.add_error("asks", _("Choose what this question asks, or clear its wording."))
        return data

    def question(self) -> dict | None:
        if not self.cleaned_data.get("asks"):
            return None
        return {
            "asks": self.cleaned_data["asks"],
            "prompts": {c: self.cleaned_data[f"prompt_{c}"] for c, _ in settings.LANGUAGES},
        }


class BaseSurveyFormSet(BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        asked = [q["asks"] for q in self.questions()]
        if len(asked) != len(set(asked)):
            # A second question on topics would only overwrite the first one's answer.
            raise forms.ValidationError(_("Each thing can be asked only once."))

    def questions(self) -> list[dict]:
        return [q for form in self.forms if (q := form.question()) is not None]


# One row per thing a question can ask, at most MAX_QUESTIONS.
SURVEY_ROWS = min(MAX_QUESTIONS, len(SurveyQuestion.Asks.choices))

SurveyFormSet = formset_factory(
    SurveyQuestionForm,
    formset=BaseSurveyFormSet,
    extra=0,
    min_num=SURVEY_ROWS,
    max_num=SURVEY_ROWS,
    validate_max=True,
    absolute_max=SURVEY_ROWS,
)


def survey_initial(questions: list[SurveyQuestion]) -> list[dict]:
    rows = [
        {"asks": q.asks, **{f"prompt_{c}": q.prompts.get(c, "") for c, _ in settings.LANGUAGES}}
        for q in questions[:SURVEY_ROWS]
    ]
    return rows + [{}] * (SURVEY_ROWS - len(rows))
