"""Segments: an area, tags and a consent; their size, their people and their exports."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from ops.replica import reads_may_lag
from supporters.organize import exports, roles, selectors, services
from supporters.organize.audit import Actor, audit_record
from supporters.organize.forms import MailingForm, SegmentForm
from supporters.organize.models import AuditEntry, Segment


def segment_page_context(
    request,
    segment: Segment,
    *,
    audience: selectors.MailingAudience | None = None,
    mailing_form: MailingForm | None = None,
    form_errors=(),
) -> dict:
    """What the segment page shows: also when a mailing re-renders it with new counts or
    errors (`audience` for its topic and kind, its form), so the two pages cannot differ."""
    members = selectors.segment_members(segment=segment)
    if audience is None:
        audience = selectors.mailing_audience(segment=segment)
    if mailing_form is None:
        mailing_form = MailingForm(initial={"confirm_count": audience.recipients})
    return {
        "segment": segment,
        "size": members.count(),
        "reachable": audience.consenting,
        "audience": audience,
        "regions": selectors.supporters_by_region(queryset=members, limit=10),
        "mailing_form": mailing_form,
        "form_errors": form_errors,
        "mailings": segment.mailings.all(),
        "can_people": request.user.has_perm(roles.VIEW_PEOPLE),
        "can_export_people": request.user.has_perm(roles.EXPORT_PEOPLE),
        "can_export": request.user.has_perm(roles.EXPORT_AGGREGATES),
        "can_mail": request.user.has_perm(roles.SEND_MAILING),
    }


@require_POST
@roles.permission_required(roles.ADD_SEGMENT)
def segment_size(request):
    """How many people a segment being defined holds (before saving or acting on it)."""
    data = request.POST.copy()
    if not data.get("name", "").strip():
        data["name"] = "preview"  # a name is needed to save, not to count
    form = SegmentForm(data)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    segment = Segment(**form.segment_fields())
    return JsonResponse(
        {
            "supporters": selectors.segment_members(segment=segment).count(),
            "reachable": selectors.segment_consenting(segment=segment).count(),
        }
    )


@require_POST
@roles.permission_required(roles.ADD_SEGMENT)
def segment_create(request):
    form = SegmentForm(request.POST)
    if not form.is_valid():
        return render(request, "organize/segment_invalid.html", {"form": form}, status=400)
    segment = services.segment_create(user=request.user, **form.segment_fields())
    return redirect("organize:segment", pk=segment.pk)


@require_GET
@roles.permission_required(roles.VIEW_AGGREGATES)
def segment_detail(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    return render(request, "organize/segment.html", segment_page_context(request, segment))


@require_GET
@roles.permission_required(roles.VIEW_PEOPLE)
def segment_people(request, pk: int):
    """The people in a segment, 100 a page; every page viewed is audited."""
    segment = get_object_or_404(Segment, pk=pk)
    members = selectors.segment_members(segment=segment).order_by("created_at", "pk")
    page = Paginator(members, 100).get_page(request.GET.get("page"))
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={**segment.describe(), "page": page.number},
        row_count=len(page.object_list),
        detail=segment.name,
    )
    return render(request, "organize/people.html", {"segment": segment, "page": page})


@require_GET
@reads_may_lag
def segment_export(request, pk: int, level: str, fmt: str):
    """CSV or GeoJSON; `cells` (organizers) or `people` (coordinators). Audited."""
    needed = {"cells": roles.EXPORT_AGGREGATES, "people": roles.EXPORT_PEOPLE}.get(level)
    if needed is None or fmt not in {"csv", "geojson"}:
        raise Http404
    return roles.permission_required(needed)(_segment_export)(request, pk, level, fmt)


def _segment_export(request, pk: int, level: str, fmt: str):
    segment = get_object_or_404(Segment, pk=pk)
    members = selectors.segment_members(segment=segment)
    if fmt == "csv":
        if level == "cells":
            body, count = exports.csv_text(exports.CELL_FIELDS, exports.cells_rows(members))
        else:
            body, count = exports.csv_text(exports.PEOPLE_FIELDS, exports.people_rows(members))
        content_type = "text/csv; charset=utf-8"
    else:
        body, count = (exports.cells_geojson if level == "cells" else exports.people_geojson)(
            members
        )
        content_type = "application/geo+json"
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.EXPORT,
        filter={**segment.describe(), "level": level, "format": fmt},
        row_count=count,
        detail=segment.name,
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-{level}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
