"""The coordinators' inbox of received texts, and the survey by text's questions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from supporters.organize import roles
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry
from supporters.phones import phone_shown
from supporters.sms import survey as survey_config
from supporters.sms.forms import SurveyFormSet, survey_initial
from supporters.sms.models import InboundText

PER_PAGE = 50


def _shown(phone: str) -> str:
    return phone_shown(phone) if phone.startswith("+") and phone[1:].isdigit() else phone


@require_http_methods(["GET", "HEAD"])
@roles.permission_required(roles.VIEW_PEOPLE)
def inbox(request):
    """Texts that were not STOP, a sign-up or a survey answer: open ones first, newest
    first. The numbers and names shown are person-level data: each look is audited."""
    texts = (
        InboundText.objects.filter(handled_as=InboundText.Handling.INBOX)
        .select_related("supporter", "done_by")
        .order_by(F("done_at").asc(nulls_first=True), "-received_at", "-id")
    )
    page = Paginator(texts, PER_PAGE).get_page(request.GET.get("page"))
    rows = [(text, _shown(text.from_phone)) for text in page]
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"inbox": True},
        row_count=len(rows),
        detail=f"page {page.number}",
    )
    return render(request, "sms/inbox.html", {"page": page, "rows": rows})


@require_POST
@roles.permission_required(roles.VIEW_PEOPLE)
def inbox_done(request, pk: int):
    text = get_object_or_404(InboundText, pk=pk, handled_as=InboundText.Handling.INBOX)
    # Once: a second coordinator's click does not take the first one's name off it.
    InboundText.objects.filter(pk=text.pk, done_at__isnull=True).update(
        done_at=timezone.now(), done_by=request.user
    )
    return redirect("sms:inbox")


@require_http_methods(["GET", "HEAD", "POST"])
@roles.permission_required(roles.SEND_MAILING)
def survey(request):
    """Set the survey by text: what each question asks and its wording per language."""
    if request.method == "POST":
        formset = SurveyFormSet(request.POST)
        if formset.is_valid():
            survey_config.survey_replace(questions=formset.questions())
            messages.success(request, _("The survey is saved."))
            return redirect("sms:survey")
    else:
        formset = SurveyFormSet(initial=survey_initial(survey_config.survey_questions()))
    return render(request, "sms/survey.html", {"formset": formset})
