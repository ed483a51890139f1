"""Possible duplicates: pairs side by side with why they were proposed, to dismiss or to
merge (after a page that shows both records and what would move), and the merges done."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from procrastinate.exceptions import AlreadyEnqueued

from supporters.models import Supporter
from supporters.organize import duplicates, merge, roles
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry, SupporterMerge

PAIRS_PER_PAGE = 25
MERGES_SHOWN = 20

# What the counts of a merge are, by table, as the pages name them.
TABLES = {
    "supporters_consentrecord": gettext_lazy("consent records"),
    "supporters_outboxmessage": gettext_lazy("emails"),
    "supporters_mergedaddress": gettext_lazy("addresses of earlier merges"),
    "supporters_supportermerge": gettext_lazy("earlier merges"),
    "supporters_tagging": gettext_lazy("tags"),
    "supporters_signinlink": gettext_lazy("sign-in links"),
    "supporters_introductionrequest": gettext_lazy("introduction requests"),
    "supporters_introduction": gettext_lazy("introductions offered"),
    "supporters_report": gettext_lazy("reports"),
    "supporters_block": gettext_lazy("blocks"),
    "supporters_nearbyban": gettext_lazy("bars from nearby"),
    "supporters_areaarrival": gettext_lazy("arrivals in an area"),
    "supporters_event": gettext_lazy("events hosted"),
    "supporters_rsvp": gettext_lazy("RSVPs"),
    "supporters_activity": gettext_lazy("activity"),
    "supporters_mailingrecipient": gettext_lazy("send-log rows of mailings"),
    "supporters_duplicatedismissal": gettext_lazy("dismissed pairs"),
    "supporters_possibleduplicate": gettext_lazy("possible duplicates"),
    "supporters_ratelimitevent": gettext_lazy("counted limits"),
    "supporters_localgroup": gettext_lazy("groups founded"),
    "supporters_groupmembership": gettext_lazy("group memberships"),
    "supporters_groupinvitation": gettext_lazy("group invitations"),
    "supporters_groupmail": gettext_lazy("group mail sent"),
    "supporters_trustedhost": gettext_lazy("trusted host mark"),
}


def described(counts: dict[str, int]) -> list[tuple[str, int]]:
    """A merge's counts as (what, how many), in the order of TABLES."""
    known = [(label, counts[table]) for table, label in TABLES.items() if counts.get(table)]
    return known + [(table, n) for table, n in sorted(counts.items()) if table not in TABLES]


class PairForm(forms.Form):
    first = forms.UUIDField()
    second = forms.UUIDField()


class MergeForm(forms.Form):
    kept = forms.UUIDField()
    merged = forms.UUIDField()


def _back(request):
    """To the duplicates page the button was on."""
    page = request.POST.get("page", "")
    url = reverse("organize:duplicates")
    return redirect(f"{url}?page={page}" if page.isdigit() else url)


def _refused(request, message: str, status: int = 400):
    context = {"title": _("That did not work"), "message": message}
    return render(request, "supporters/problem.html", context, status=status)


@require_GET
@roles.permission_required(roles.VIEW_PEOPLE)
def duplicate_list(request):
    page = Paginator(duplicates.possible_duplicates(), PAIRS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    # The older record on the left, as the one most often kept.
    pairs = [
        (*sorted((pair.first, pair.second), key=lambda s: (s.created_at, str(s.pk))),
         duplicates.duplicate_reasons(pair))
        for pair in page
    ]  # fmt: skip
    merges = [
        (m, described(m.moved), described(m.dropped))
        for m in SupporterMerge.objects.select_related("kept", "merged_by")[:MERGES_SHOWN]
    ]
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"page": "duplicates", "number": page.number},
        row_count=2 * len(pairs) + len(merges),
        detail=f"{len(pairs)} possible duplicates, {len(merges)} merges",
    )
    context = {
        "page": page,
        "pairs": pairs,
        "merges": merges,
        "search": duplicates.duplicate_search_last(),
    }
    return render(request, "organize/duplicates.html", context)


@require_POST
@roles.permission_required(roles.VIEW_PEOPLE)
def duplicate_search(request):
    """Ask the worker to look again now (once: a search already waiting is enough)."""
    from supporters.organize.tasks import duplicates_search

    try:
        with transaction.atomic():  # a refused defer leaves the connection usable
            duplicates_search.defer()
    except AlreadyEnqueued:
        messages.info(request, _("A search is already waiting for the worker."))
    else:
        messages.success(
            request, _("The worker is looking for duplicates; this page shows them once done.")
        )
    return redirect("organize:duplicates")


@require_POST
@roles.permission_required(roles.VIEW_PEOPLE)
def duplicate_dismiss(request):
    form = PairForm(request.POST)
    if not form.is_valid():
        return _refused(request, _("Choose a pair on the page."))
    first = get_object_or_404(Supporter, pk=form.cleaned_data["first"])
    second = get_object_or_404(Supporter, pk=form.cleaned_data["second"])
    duplicates.duplicate_dismiss(first=first, second=second, user=request.user)
    messages.success(
        request,
        _("%(first)s and %(second)s will not be proposed as duplicates again.")
        % {"first": first.display_name, "second": second.display_name},
    )
    return _back(request)


@require_http_methods(["GET", "POST"])
@roles.permission_required(roles.VIEW_PEOPLE)
def supporter_merge(request):
    """GET: both records side by side, and what merging would move. POST: merge."""
    form = MergeForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return _refused(request, _("Choose which record to keep on the duplicates page."))
    ids = form.cleaned_data["kept"], form.cleaned_data["merged"]
    if ids[0] == ids[1]:
        return _refused(request, _("A record cannot be merged into itself."))
    found = Supporter.objects.in_bulk(ids)
    if len(found) != 2:
        return _refused(
            request, _("One of the two records is no longer on the list: it may have been merged.")
        )
    kept, merged = found[ids[0]], found[ids[1]]
    if request.method == "POST":
        try:
            done = merge.supporter_merge(kept=kept, merged=merged, actor=Actor.of(request))
        except merge.MergeRefused as refused:
            return _refused(
                request, _("These two records cannot be merged: %(why)s") % {"why": refused}
            )
        messages.success(
            request,
            _("Merged %(merged)s into %(kept)s: %(moved)s rows moved, %(dropped)s dropped.")
            % {
                "merged": done.merged_email,
                "kept": kept.email,
                "moved": sum(done.moved.values()),
                "dropped": sum(done.dropped.values()),
            },
        )
        return redirect("organize:duplicates")
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"page": "merge"},
        row_count=2,
    )
    context = {
        "kept": kept,
        "merged": merged,
        "kept_holds": described(merge.merge_preview(merged=kept)),
        "merged_holds": described(merge.merge_preview(merged=merged)),
        "kept_tags": list(kept.taggings.values_list("name", flat=True)),
        "merged_tags": list(merged.taggings.values_list("name", flat=True)),
    }
    return render(request, "organize/merge.html", context)
