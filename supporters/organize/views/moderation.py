"""The moderation queue: reported introductions, proposed events, areas where many new
accounts arrived at once, and recent activity."""

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from supporters.nearby import holds, selectors, services
from supporters.nearby.models import Event, Report
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry
from supporters.organize.roles import VIEW_PEOPLE, permission_required


# The queue names reported senders and event hosts, with their emails: it is person-level
# data, so it takes the role that may see people (coordinator, admin), and every look at
# it is in the audit log.
def _moderator(view):
    return staff_member_required(permission_required(VIEW_PEOPLE)(view))


def _refused(request, message: str):
    """A decision the page's buttons do not offer."""
    context = {"title": _("That did not work"), "message": message}
    return render(request, "supporters/problem.html", context, status=400)


@require_GET
@_moderator
def moderation(request):
    reports, events = list(selectors.reports_open()), list(selectors.events_pending())
    crowds = holds.crowded_areas()
    held = sum(len(c.accounts) for c in crowds)
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"page": "moderation"},
        row_count=len(reports) + len(events) + held,
        detail=f"{len(reports)} reports, {len(events)} events waiting, {held} accounts held",
    )
    context = {
        "reports": reports,
        "events": events,
        "crowds": crowds,
        "limit": settings.SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK,
    }
    return render(request, "nearby/moderation.html", context)


@require_POST
@_moderator
def moderation_area(request, area: int):
    """Release an area's held accounts, or close nearby for all of them."""
    decision = request.POST.get("decision")
    if decision not in {"release", "close"}:
        return _refused(request, _("Choose release or close."))
    if decision == "release":
        n = holds.area_release(area=area)
        text = ngettext(
            "Released %(n)s account: nearby is open to it again.",
            "Released %(n)s accounts: nearby is open to them again.",
            n,
        )
    else:
        n = holds.area_close(area=area, reason=f"arrived in a crowd, closed by {request.user}")
        text = ngettext(
            "Closed introductions and events for %(n)s account.",
            "Closed introductions and events for %(n)s accounts.",
            n,
        )
    messages.success(request, text % {"n": n})
    return redirect("moderation:queue")


@require_POST
@_moderator
def moderation_report(request, pk: int):
    report = get_object_or_404(Report, pk=pk)
    decision = request.POST.get("decision")
    if decision not in {"dismiss", "uphold"}:
        return _refused(request, _("Choose dismiss or uphold."))
    was_open = report.status == Report.Status.OPEN
    report = services.report_review(
        report=report, uphold=decision == "uphold", reviewer=request.user
    )
    name = report.reported.display_name
    if not was_open:
        messages.info(request, _("That report had been reviewed already."))
    elif report.status == Report.Status.UPHELD:
        messages.success(
            request,
            _("Upheld: %(name)s can no longer request introductions or propose events.")
            % {"name": name},
        )
    else:
        messages.success(request, _("Dismissed the report about %(name)s.") % {"name": name})
    return redirect("moderation:queue")


@require_POST
@_moderator
def moderation_event(request, pk):
    event = get_object_or_404(Event, pk=pk)
    decision = request.POST.get("decision")
    if decision not in {"approve", "reject"}:
        return _refused(request, _("Choose approve or reject."))
    if event.status != Event.Status.PENDING:
        messages.info(
            request,
            _("“%(title)s” had been reviewed already: %(status)s.")
            % {"title": event.title, "status": event.get_status_display()},
        )
        return redirect("moderation:queue")
    # Counted before approving: the worker may start inviting as soon as it is approved.
    invitations = selectors.event_invitees(event=event).count() if decision == "approve" else 0
    event = services.event_review(event=event, approve=decision == "approve", reviewer=request.user)
    if event.status == Event.Status.REJECTED:
        text = _("Rejected: “%(title)s”. Its host is told by email.")
    elif invitations:
        text = ngettext(
            "Approved: “%(title)s”; %(n)s invitation is being sent.",
            "Approved: “%(title)s”; %(n)s invitations are being sent.",
            invitations,
        )
    else:
        text = _("Approved: “%(title)s”. Nobody within its radius can be invited just now.")
    messages.success(request, text % {"title": event.title, "n": invitations})
    return redirect("moderation:queue")


@require_GET
@_moderator
def moderation_activity(request):
    try:
        days = max(1, min(int(request.GET.get("days", 90)), 3650))
    except ValueError:
        days = 90
    activity = list(selectors.activity_recent(days=days)[:500])
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"page": "activity", "days": days},
        row_count=len(activity),
    )
    return render(request, "nearby/activity.html", {"days": days, "activity": activity})
