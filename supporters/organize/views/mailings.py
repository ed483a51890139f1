"""Mail to a segment, its send log and progress, and the one-click unsubscribe page (public)."""

from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supporters import links
from supporters.models import Supporter
from supporters.organize import roles, selectors, services
from supporters.organize.audit import Actor, audit_record
from supporters.organize.forms import MailingForm
from supporters.organize.models import AuditEntry, Mailing, MailingRecipient, Segment
from supporters.organize.views.segments import segment_page_context


@require_POST
@roles.permission_required(roles.SEND_MAILING)
def mailing_create(request, pk: int):
    """Send, or (the 'count' button, or numbers shown for another choice) show the counts."""
    segment = get_object_or_404(Segment, pk=pk)
    form = MailingForm(request.POST)
    valid = form.is_valid()
    topic = form.cleaned_data.get("topic", "")
    call_to_action = form.cleaned_data.get("call_to_action", False)
    audience = selectors.mailing_audience(
        segment=segment, topic=topic, call_to_action=call_to_action
    )
    counting = "count" in request.POST
    if valid and not counting and not form.counted_as_shown(recipients=audience.recipients):
        d = form.cleaned_data
        if (d["counted_topic"], d["counted_call_to_action"]) == (topic, call_to_action):
            message = _("The segment changed: it now reaches %(n)s people. Check and send again.")
        else:
            message = _(
                "With this topic and kind of mailing it reaches %(n)s people. Check and send again."
            )
        form.add_error(None, message % {"n": audience.recipients})
    if counting or not form.is_valid():
        errors = [] if counting else form.non_field_errors()
        if counting or errors:
            # The numbers shown anew; the form carries what they were counted for.
            counted = {
                "call_to_action": call_to_action,
                "confirm_count": audience.recipients,
                "counted_topic": topic,
                "counted_call_to_action": call_to_action,
            }
            form = MailingForm(initial=request.POST.dict() | counted)
        context = segment_page_context(
            request, segment, audience=audience, mailing_form=form, form_errors=errors
        )
        return render(request, "organize/segment.html", context, status=200 if counting else 400)
    mailing = services.mailing_start(
        segment=segment,
        subject=form.cleaned_data["subject"],
        body=form.cleaned_data["body"],
        topic=topic,
        call_to_action=call_to_action,
        actor=Actor.of(request),
    )
    return redirect("organize:mailing", pk=mailing.pk)


def _mailing_progress(mailing: Mailing) -> dict:
    counts = dict.fromkeys(["queued", "sent", "failed"], 0)
    for status, n in (
        MailingRecipient.objects.filter(mailing=mailing)
        .values_list("message__status")
        .order_by()
        .annotate(n=Count("pk"))
    ):
        counts[status] = n
    addressed = sum(counts.values())
    total = max(mailing.recipients_total, addressed)
    done = mailing.status != Mailing.Status.PREPARING and counts["queued"] == 0
    progress = {
        "status": "done" if done else mailing.status,
        "total": total,
        "addressed": addressed,
        **counts,
        "percent": round(100 * (counts["sent"] + counts["failed"]) / total) if total else 100,
    }
    progress["text"] = (
        _("%(sent)s of %(total)s sent, %(queued)s waiting, %(failed)s failed") % progress
    )
    return progress


@require_GET
@roles.permission_required(roles.SEND_MAILING)
def mailing_detail(request, pk: int):
    mailing = get_object_or_404(Mailing, pk=pk)
    log = list(
        MailingRecipient.objects.filter(mailing=mailing)
        .select_related("message")
        .order_by("message__status", "pk")[:200]
    )
    # The send log names people: looking at it is a person-level view.
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"mailing": mailing.pk, "send_log": True},
        row_count=len(log),
        detail=mailing.subject,
    )
    return render(
        request,
        "organize/mailing.html",
        {"mailing": mailing, "progress": _mailing_progress(mailing), "log": log},
    )


@require_GET
@roles.permission_required(roles.SEND_MAILING)
def mailing_progress(request, pk: int):
    return JsonResponse(_mailing_progress(get_object_or_404(Mailing, pk=pk)))


@csrf_exempt  # RFC 8058: mail clients POST here with no cookie and no CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows a button (link scanners open links); POST withdraws email updates."""
    try:
        supporter_id = links.UNSUBSCRIBE.read(token)
    except links.LinkError as exc:
        raise Http404 from exc
    supporter = Supporter.objects.filter(pk=supporter_id).first()
    if request.method == "POST":
        if supporter is not None:
            services.supporter_updates_unsubscribe(supporter=supporter)
        return render(request, "organize/unsubscribed.html", {"done": True})
    return render(request, "organize/unsubscribed.html", {"done": False, "token": token})
