"""Texting a segment: the form with its counts, the texting's page and its progress."""

from django import forms
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from supporters.organize import roles
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry, Segment
from supporters.sms import texting as texting_service
from supporters.sms.models import Texting
from supporters.sms.parts import text_parts


class TextingForm(forms.Form):
    body = forms.CharField(
        label=_("Text"),
        max_length=5000,  # a bound for the request; the parts limit is the real one
        widget=forms.Textarea(attrs={"rows": 6, "class": "sms-body", "spellcheck": "true"}),
        error_messages={"required": _("Write the text.")},
    )
    # The number of recipients the page showed: sending checks it still holds.
    confirm_count = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def clean_body(self) -> str:
        # Browsers send a textarea's line breaks as CRLF; a text (and the counter on the
        # page, which reads the textarea's value) has one character per line break.
        body = self.cleaned_data["body"].replace("\r\n", "\n").replace("\r", "\n").strip()
        if refusal := texting_service.texting_refusal(body=body):
            raise forms.ValidationError(refusal)
        return body


def _body_typed(form: TextingForm) -> str:
    """The body as typed, also when the form is invalid (its counts are shown again)."""
    body = form.data.get("body", "") if form.is_bound else ""
    return body.replace("\r\n", "\n").replace("\r", "\n").strip()


def _form_page(request, segment: Segment, form: TextingForm, *, status: int = 200):
    audience = texting_service.texting_audience(segment=segment, body=_body_typed(form))
    language = get_language() or settings.LANGUAGE_CODE
    page_footer = texting_service.texting_footer(language=language)
    context = {
        "segment": segment,
        "form": form,
        "audience": audience,
        "page_footer": page_footer,
        "page_footer_length": text_parts(page_footer).length + 1,
        "page_language": language,
        "page_share": next(
            (share for share in audience.languages if share.language == language),
            audience.languages[0],
        ),
        "price": texting_service.texting_price(),
        "currency": settings.SOSEDI_SMS_CURRENCY,
        "per_week": settings.SOSEDI_SMS_PER_WEEK,
        "max_parts": settings.SOSEDI_SMS_MAX_PARTS,
        "quiet_hours": settings.SOSEDI_SMS_QUIET_HOURS,
        "textings": segment.textings.all()[:20],
    }
    return render(request, "sms/texting.html", context, status=status)


@require_http_methods(["GET", "POST"])
@roles.permission_required(roles.SEND_MAILING)
def texting_create(request, pk: int):
    """GET: the form and who it reaches. POST: start it, or show the same page again with
    what to change (a text too long, a segment that changed since it was counted)."""
    segment = get_object_or_404(Segment, pk=pk)
    if request.method == "GET":
        audience = texting_service.texting_audience(segment=segment)
        form = TextingForm(initial={"confirm_count": audience.recipients})
        return _form_page(request, segment, form)
    form = TextingForm(request.POST)
    if not form.is_valid():
        return _form_page(request, segment, form, status=400)
    try:
        texting = texting_service.texting_start(
            segment=segment,
            body=form.cleaned_data["body"],
            confirm_count=form.cleaned_data["confirm_count"],
            actor=Actor.of(request),
        )
    except texting_service.TextingRefused as exc:
        if exc.recipients is not None:
            # The numbers shown anew, and the count they are now, to send with them.
            data = request.POST.copy()
            data["confirm_count"] = str(exc.recipients)
            form = TextingForm(data)
            form.is_valid()
        form.add_error(None, str(exc))
        return _form_page(request, segment, form, status=400)
    return redirect("sms:texting", pk=texting.pk)


@require_GET
@roles.permission_required(roles.SEND_MAILING)
def texting_detail(request, pk: int):
    texting = get_object_or_404(Texting.objects.select_related("segment", "created_by"), pk=pk)
    log = texting_service.texting_log(texting=texting)
    # The send log names people (their numbers): looking at it is a person-level view.
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"texting": texting.pk, "send_log": True},
        row_count=len(log),
        detail=texting.segment.name,
    )
    context = {
        "texting": texting,
        "progress": texting_service.texting_progress(texting=texting),
        "log": log,
        "currency": settings.SOSEDI_SMS_CURRENCY,
    }
    return render(request, "sms/texting_detail.html", context)


@require_GET
@roles.permission_required(roles.SEND_MAILING)
def texting_progress(request, pk: int):
    texting = get_object_or_404(Texting, pk=pk)
    return JsonResponse(texting_service.texting_progress(texting=texting))
