"""Local groups in the organizer workspace: proposals to approve, reject or send back for
changes, groups whose last leader left, and every group with its activity; suspending a
group and marking a founder a trusted host. Coordinators and admins; every look is in the
audit log (the page names founders)."""

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from supporters.groups import services
from supporters.groups.forms import ReviewForm
from supporters.groups.models import LocalGroup, TrustedHost
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry
from supporters.organize.roles import VIEW_PEOPLE, permission_required


@require_GET
@permission_required(VIEW_PEOPLE)
def group_queue(request):
    groups = list(
        LocalGroup.objects.select_related("founder")
        .annotate(
            member_count=Count("memberships", distinct=True),
            sharing_count=Count(
                "memberships", filter=Q(memberships__shares_contact=True), distinct=True
            ),
            mail_count=Count("mails", distinct=True),
            joined_30_days=Count(
                "memberships",
                filter=Q(memberships__joined_at__gte=timezone.now() - timedelta(days=30)),
                distinct=True,
            ),
            events_held=Count(
                "events",
                filter=Q(events__status="approved", events__ends_at__lt=timezone.now()),
                distinct=True,
            ),
            attended=Count(
                "events__activity",
                filter=Q(events__activity__kind="event_attended"),
                distinct=True,
            ),
        )
        .order_by("status", "-created_at")
    )
    waiting = [g for g in groups if g.status == LocalGroup.Status.PROPOSED]
    attention = [g for g in groups if g.needs_attention]
    trusted = set(TrustedHost.objects.values_list("supporter_id", flat=True))
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"page": "groups"},
        row_count=len(groups),
        detail=f"{len(waiting)} groups waiting, {len(attention)} without a leader",
    )
    context = {"groups": groups, "waiting": waiting, "attention": attention, "trusted": trusted}
    return render(request, "groups/organize.html", context)


@require_POST
@permission_required(VIEW_PEOPLE)
def group_moderate(request, pk):
    group = get_object_or_404(LocalGroup, pk=pk)
    if request.POST.get("decision") == "trust":
        if group.founder is not None:
            TrustedHost.objects.get_or_create(
                supporter=group.founder, defaults={"marked_by": request.user}
            )
            messages.success(request, _("Their later groups are approved in advance."))
        return redirect("organize_groups:queue")
    form = ReviewForm(request.POST)
    if not form.is_valid():
        context = {"title": _("That did not work"), "message": _("Choose what to do.")}
        return render(request, "supporters/problem.html", context, status=400)
    decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
    try:
        if decision in ("suspend", "restore"):
            services.group_suspend(
                group=group, suspend=decision == "suspend", reviewer=request.user
            )
        else:
            services.group_review(group=group, decision=decision, note=note, reviewer=request.user)
    except services.GroupError as exc:
        context = {"title": _("That did not work"), "message": exc.message}
        return render(request, "supporters/problem.html", context, status=400)
    messages.success(request, _("%(group)s: done.") % {"group": group.name})
    return redirect("organize_groups:queue")
