"""The organizer workspace: two-factor login, dashboard, segments, exports, mail, imports.

Every page below the login needs a verified second factor (StaffTwoFactorMiddleware) and
the permission of a role (roles.permission_required); views only validate, call one
service or selector, audit what shows people, and render.
"""

import hashlib
import time
from base64 import b32encode
from urllib.parse import urlencode

import segno
from csp.constants import NONCE, SELF
from csp.decorators import csp_replace, csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice

from geo import gazetteer
from geo.heatmap import MapAssets, cell_counts, cell_counts_and_subset, figure_html, heatmap_figure
from geo.hotspots import hotspots_find
from supporters import links
from supporters.models import Purpose, Supporter
from supporters.organize import charts, exports, roles, selectors, services, two_factor
from supporters.organize.audit import audit_record
from supporters.organize.forms import (
    FilterForm,
    HotspotForm,
    ImportForm,
    MailingForm,
    SecondStepForm,
    SegmentForm,
    TokenForm,
)
from supporters.organize.models import AuditEntry, Import, Mailing, MailingRecipient, Segment

# Where the codes wait between the redirect after making them and the page that shows them.
CODES_KEY = "organize_recovery_codes"

# The dashboard's consent counts: one whole phrase per purpose, so that translations can
# agree with their own grammar (Purpose's labels continue "I agree to …").
AGREED_TO = {
    Purpose.PUBLIC_MAP: gettext_lazy("agreed to appear on the public map"),
    Purpose.INTRODUCTIONS: gettext_lazy("agreed to be offered for introductions"),
    Purpose.EVENT_INVITATIONS: gettext_lazy("agreed to receive event invitations"),
    Purpose.EMAIL_UPDATES: gettext_lazy("agreed to receive email updates"),
}


def _next(request, default: str = "organize:dashboard") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


# --- login, second factor ---------------------------------------------------------------


def _to(name: str, request) -> str:
    """The URL of page `name`, passing on where to go after it."""
    return f"{reverse(name)}?{urlencode({'next': _next(request)})}"


class LoginView(auth_views.LoginView):
    """Password first (django-axes counts failures); then the second factor."""

    template_name = "organize/login.html"
    redirect_authenticated_user = False

    def get_success_url(self):
        return _to("organize:verify", self.request)


@require_http_methods(["GET", "POST"])
def verify(request):
    """Ask for a code from the authenticator app, or a recovery code."""
    if not request.user.is_authenticated:
        return redirect("organize:login")
    if request.user.is_verified():
        return redirect(_next(request))
    if not two_factor.totp_device_confirmed(user=request.user):
        return redirect(_to("organize:enrol", request))
    form = SecondStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # match_token tries every confirmed device; TOTP devices slow repeated failures down.
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request,
                    _("You used a recovery code; %(n)s are left.") % {"n": left},
                )
            return redirect(_next(request))
        form.add_error("token", _("That code is not right, or it has expired. Try the next one."))
    return render(
        request,
        "organize/verify.html",
        {"form": form, "next": _next(request)},
        status=400 if form.errors else 200,
    )


def _qr_svg(data: str) -> str:
    return segno.make(data, error="m").svg_inline(scale=5, dark="#1d2330", light="#fff")


@require_http_methods(["GET", "POST"])
def enrol(request):
    """Set up the authenticator app: a QR code drawn here, then one code to confirm it."""
    user = request.user
    if not user.is_authenticated:
        return redirect("organize:login")
    if two_factor.totp_device_confirmed(user=user):
        return redirect(_to("organize:verify", request))
    device = two_factor.totp_device_pending(user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.totp_device_confirm(device=device, token=form.cleaned_data["token"])
        except two_factor.CodeWrong:
            form.add_error("token", _("That code is not right. Check the phone's clock and retry."))
        else:
            otp_login(request, device)
            request.session[CODES_KEY] = codes
            return redirect(_to("organize:recovery", request))
    return render(
        request,
        "organize/enrol.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "secret": b32encode(device.bin_key).decode(),
            "next": _next(request),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def recovery(request):
    """Show fresh recovery codes once (after enrolment), or make new ones on request."""
    if request.method == "POST":
        request.session[CODES_KEY] = two_factor.recovery_codes_reset(user=request.user)
        return redirect("organize:recovery")
    codes = request.session.pop(CODES_KEY, None)
    return render(request, "organize/recovery.html", {"codes": codes, "next": _next(request)})


class LogoutView(auth_views.LogoutView):
    next_page = "organize:login"


# --- dashboard ---------------------------------------------------------------------------


def _filters(request) -> tuple[FilterForm, selectors.SupporterFilter]:
    form = FilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.filters()
    return form, selectors.SupporterFilter()


HOTSPOT_CACHE_SECONDS = 300


def _cells(filters, queryset) -> tuple[list, list]:
    """The heatmap's cells (every status the filters allow) and the hotspots' cells.

    Hotspots count as a segment counts (active supporters only, whatever the status
    filter), so the people "within 3 km" of a meeting point are exactly the "3 km segment"
    around it. With no status filter those are a subset of the heatmap's rows, counted in
    the same pass.
    """
    active = Supporter.Status.ACTIVE
    if filters.status == active:
        cells = cell_counts(queryset)
        return cells, cells
    if not filters.status:
        return cell_counts_and_subset(queryset, Q(status=active))
    return cell_counts(queryset), cell_counts(selectors.segment_population(filters=filters))


def _hotspots(request, cells) -> tuple[HotspotForm, list]:
    """Hotspots of these cells (see _cells), named after the nearest locality.

    Cached for a few minutes by the cells' content, so the dashboard and its map frame
    (two requests) compute them once, and a new supporter changes the key.
    """
    form = HotspotForm(request.GET or None)
    params = form.cleaned_data if form.is_bound and form.is_valid() else {}
    eps_km = params.get("eps_km") or 1.0
    min_supporters = params.get("min_supporters") or 10
    language = (get_language() or "en")[:2]
    digest = hashlib.sha256(
        repr((eps_km, min_supporters, language, [(c.cell, c.count) for c in cells])).encode()
    ).hexdigest()
    key = f"organize:hotspots:{digest}"
    labelled = cache.get(key)
    if labelled is None:
        labelled = []
        for h in hotspots_find(cells, eps_km=eps_km, min_supporters=min_supporters):
            place = gazetteer.place_nearest(Point(h.meeting_lon, h.meeting_lat, srid=4326))
            labelled.append({"spot": h, "place": place.display_name(language) if place else ""})
        cache.set(key, labelled, HOTSPOT_CACHE_SECONDS)
    return form, labelled


@require_GET
@roles.permission_required(roles.VIEW_AGGREGATES)
def dashboard(request):
    started = time.perf_counter()
    form, filters = _filters(request)
    queryset = selectors.supporters_filtered(filters=filters)
    cells, hotspot_cells = _cells(filters, queryset)
    hotspot_form, spots = _hotspots(request, hotspot_cells)
    context = {
        "form": form,
        "hotspot_form": hotspot_form,
        "totals": (totals := selectors.supporter_totals(queryset=queryset)),
        "status_counts": [(label, totals.by_status[v]) for v, label in Supporter.Status.choices],
        "purpose_counts": [(AGREED_TO[p], totals.by_purpose[p]) for p in Purpose],
        "regions": selectors.supporters_by_region(queryset=queryset),
        "localities": selectors.supporters_by_locality(
            queryset=queryset, language=(get_language() or "en")[:2]
        ),
        "hotspots": spots,
        "cells": len(cells),
        "query": request.GET.urlencode(),
        "segment_form": SegmentForm.from_filters(filters),
        "segment_scope": [
            (form.fields[name].label, value)
            for name, value in [
                ("country", filters.country),
                ("region", filters.region),
                ("joined_from", filters.joined_from),
                ("joined_to", filters.joined_to),
            ]
            if value
        ],
        "segment_ignores_status": filters.status not in ("", Supporter.Status.ACTIVE),
        "segments": Segment.objects.all()[:10],
        "role": roles.role_of(request.user),
        "config": {
            "size_url": reverse("organize:segment_size"),
            "strings": {
                "size": _("%(n)s active supporters, %(m)s of them reachable by email"),
                "drawn": _("Area drawn on the map."),
            },
        },
    }
    response = render(request, "organize/dashboard.html", context)
    response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.0f}"
    return response


def _asset_urls() -> MapAssets:
    return MapAssets(
        leaflet_js=static("leaflet/leaflet.js"),
        leaflet_css=static("leaflet/leaflet.css"),
        heat_js=static("vendor/leaflet.heat/leaflet-heat.js"),
        extra_js=(static("leaflet/draw/leaflet.draw.js"), static("js/organize-map.js")),
        extra_css=(static("leaflet/draw/leaflet.draw.css"), static("css/organize-map.css")),
    )


@require_GET
@roles.permission_required(roles.VIEW_AGGREGATES)
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
@csp_update({"script-src": [NONCE], "style-src": [NONCE]})
def heatmap_frame(request):
    """The folium heatmap as its own document, framed by the dashboard."""
    _form, filters = _filters(request)
    queryset = selectors.supporters_filtered(filters=filters)
    cells, hotspot_cells = _cells(filters, queryset)
    _hotspot_form, spots = _hotspots(request, hotspot_cells)
    centre = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (55.75, 37.62))
    fmap = heatmap_figure(
        cells,
        assets=_asset_urls(),
        tile_url=settings.TILE_URL,
        attribution=settings.TILE_ATTRIBUTION,
        center=centre,
        zoom=settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 4),
        hook=(
            "sosediOrganizeMap",
            {
                "cells": len(cells),
                "hotspots": [
                    {
                        "rank": s["spot"].rank,
                        "lat": s["spot"].meeting_lat,
                        "lon": s["spot"].meeting_lon,
                        "supporters": s["spot"].supporters,
                        "label": s["place"],
                    }
                    for s in spots
                ],
                "strings": {
                    "hotspot": _("Hotspot %(rank)s near %(place)s: %(n)s active supporters"),
                    "empty": _("No supporters match these filters."),
                },
            },
        ),
    )
    return HttpResponse(figure_html(fmap, nonce=request.csp_nonce))


@require_GET
@roles.permission_required(roles.VIEW_AGGREGATES)
def growth_svg(request):
    _form, filters = _filters(request)
    weeks = selectors.supporter_weekly_growth(
        queryset=selectors.supporters_filtered(filters=filters)
    )
    return render(
        request,
        "organize/growth.svg",
        charts.growth_svg_context(weeks),
        content_type="image/svg+xml; charset=utf-8",
    )


# --- segments ----------------------------------------------------------------------------


def _segment_from_form(form: SegmentForm) -> Segment:
    return Segment(**form.segment_fields())


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
    segment = _segment_from_form(form)
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
        request=request,
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={**segment.describe(), "page": page.number},
        row_count=len(page.object_list),
        detail=segment.name,
    )
    return render(request, "organize/people.html", {"segment": segment, "page": page})


@require_GET
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
        request=request,
        action=AuditEntry.Action.EXPORT,
        filter={**segment.describe(), "level": level, "format": fmt},
        row_count=count,
        detail=segment.name,
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-{level}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


# --- mail to a segment -------------------------------------------------------------------


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
        user=request.user,
    )
    audit_record(
        request=request,
        action=AuditEntry.Action.MAILING,
        filter={
            **segment.describe(),
            "mailing": mailing.pk,
            "subject": mailing.subject,
            "topic": mailing.topic,
            "call_to_action": mailing.call_to_action,
        },
        row_count=mailing.recipients_total,
        detail=segment.name,
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
        request=request,
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


# --- one-click unsubscribe (public) ------------------------------------------------------


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


# --- imports -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_upload(request):
    from supporters.organize.csv_import import import_create

    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_create(upload=form.cleaned_data["file"], user=request.user, queue=True)
        return redirect("organize:import", pk=job.pk)
    return render(
        request,
        "organize/import_upload.html",
        {"form": form, "imports": Import.objects.all()[:20]},
        status=400 if form.errors else 200,
    )


def _import_progress(job: Import) -> dict:
    progress = {
        "status": job.status,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "created": job.created,
        "updated": job.updated,
        "failed": job.failed,
        "percent": round(100 * job.rows_done / job.rows_total) if job.rows_total else 0,
        "message": job.message,
    }
    progress["text"] = _(
        "%(status)s: %(done)s of %(total)s rows; %(created)s new, %(updated)s updated, "
        "%(failed)s problems"
    ) % {
        "status": job.get_status_display(),
        "done": job.rows_done,
        "total": job.rows_total,
        "created": job.created,
        "updated": job.updated,
        "failed": job.failed,
    }
    return progress


@require_GET
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_detail(request, pk: int):
    job = get_object_or_404(Import, pk=pk)
    return render(
        request,
        "organize/import.html",
        {"job": job, "progress": _import_progress(job), "errors": job.errors[:50]},
    )


@require_GET
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_progress(request, pk: int):
    return JsonResponse(_import_progress(get_object_or_404(Import, pk=pk)))


@require_GET
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_errors(request, pk: int):
    from supporters.organize.csv_import import error_report_csv

    job = get_object_or_404(Import, pk=pk)
    response = HttpResponse(error_report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


# --- audit log (admins) ------------------------------------------------------------------


@require_GET
@roles.permission_required(roles.VIEW_AUDIT)
def audit_log(request):
    page = Paginator(AuditEntry.objects.all(), 100).get_page(request.GET.get("page"))
    return render(request, "organize/audit.html", {"page": page})
