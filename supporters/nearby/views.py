"""Pages of /nearby/ (activists) and /events/ (public); the events layer of the public map
is an API operation (supporters/nearby/api.py), and the moderation queue (staff) a page of
the organizer workspace (supporters/organize/views/moderation.py)."""

import uuid
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from geo.bands import BAND_EDGES_M, Band
from ops.replica import reads_may_lag
from supporters import links
from supporters.models import Supporter
from supporters.nearby import holds, selectors, services
from supporters.nearby.forms import (
    AttendanceForm,
    EventForm,
    IntroductionRequestForm,
    ReportForm,
    RsvpForm,
    SignInForm,
)
from supporters.nearby.models import Event, Introduction, Rsvp
from supporters.ratelimit import RateLimited, client_ip, client_key, ratelimit_hit

SESSION_KEY = "nearby_supporter"


def _language() -> str:
    return (get_language() or settings.LANGUAGE_CODE)[:2]


def _limited(request, exc: RateLimited):
    return render(
        request,
        "supporters/problem.html",
        {"title": _("Please wait"), "message": exc.message},
        status=429,
    )


def _refused(request, exc: services.NearbyError):
    return render(
        request,
        "supporters/problem.html",
        {"title": _("That did not work"), "message": exc.message},
        status=400,
    )


# Views opened from a nearby mail: a broken link leads back to asking for a new sign-in.
nearby_link_view = links.link_view("nearby/link_invalid.html")


def signed_in_activist(request) -> Supporter | None:
    """The activist of this session, if they are still an active supporter."""
    pk = request.session.get(SESSION_KEY)
    if not pk:
        return None
    supporter = Supporter.objects.filter(pk=pk, status=Supporter.Status.ACTIVE).first()
    if supporter is None:
        request.session.pop(SESSION_KEY, None)
    return supporter


def activist_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        activist = signed_in_activist(request)
        if activist is None:
            return redirect("nearby:home")
        return view(request, activist, *args, **kwargs)

    return wrapper


# --- sign-in ------------------------------------------------------------------------------


@require_GET
def home(request):
    activist = signed_in_activist(request)
    if activist is None:
        return render(request, "nearby/sign_in.html", {"form": SignInForm()})
    return _dashboard(request, activist)


def _dashboard(request, activist, *, form=None, status=200):
    held_until = holds.hold_ends(supporter=activist)
    counts = None if held_until else selectors.activist_band_counts(supporter=activist)
    context = {
        "activist": activist,
        "held_until": held_until,
        "bands": counts.shown(k=settings.SOSEDI_NEARBY_K) if counts else [],
        "k": settings.SOSEDI_NEARBY_K,
        "form": form or IntroductionRequestForm(),
        "requests": selectors.introduction_requests_of(supporter=activist),
        "accepted": selectors.introductions_accepted_by(supporter=activist)[:20],
        "events": selectors.events_of(supporter=activist)[:20],
        "banned": selectors.supporter_is_banned(supporter=activist),
        "weekly_requests": settings.SOSEDI_INTRODUCTION_REQUESTS_PER_WEEK,
    }
    return render(request, "nearby/home.html", context, status=status)


@require_POST
def sign_in_request(request):
    form = SignInForm(request.POST)
    if not form.is_valid():
        return render(request, "nearby/sign_in.html", {"form": form}, status=400)
    try:
        ratelimit_hit(
            scope="nearby_sign_in_ip",
            key=client_key(client_ip(request)),
            limit=settings.SOSEDI_NEARBY_SIGN_INS_PER_HOUR * 10,
            window=timedelta(hours=1),
        )
        services.sign_in_link_send(email=form.cleaned_data["email"])
    except RateLimited as exc:
        return _limited(request, exc)
    return render(
        request,
        "nearby/sign_in_sent.html",
        {"minutes": settings.SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES},
    )


@require_http_methods(["GET", "POST"])
@nearby_link_view
def sign_in(request, token: str):
    # GET shows a button and POST signs in, so a mail scanner opening the link does not
    # use it up.
    if request.method == "GET":
        links.SIGN_IN.read(token)
        return render(request, "nearby/sign_in_confirm.html", {"token": token})
    supporter = services.sign_in_link_use(token=token)
    request.session.cycle_key()
    request.session[SESSION_KEY] = str(supporter.pk)
    return redirect("nearby:home")


@require_POST
def sign_out(request):
    request.session.flush()
    return redirect("nearby:home")


# --- introductions ------------------------------------------------------------------------


@require_POST
@activist_required
def introduction_request(request, activist):
    form = IntroductionRequestForm(request.POST)
    if not form.is_valid():
        return _dashboard(request, activist, form=form, status=400)
    try:
        services.introduction_request(
            requester=activist,
            message=form.cleaned_data["message"],
            count=form.cleaned_data["count"],
            farthest=form.band,
        )
    except RateLimited as exc:
        return _limited(request, exc)
    except services.NearbyError as exc:
        return _refused(request, exc)
    return render(
        request,
        "nearby/request_sent.html",
        {
            "count": form.cleaned_data["count"],
            "km": f"{BAND_EDGES_M[form.band][1] / 1000:g}",
            "days": settings.SOSEDI_INTRODUCTION_EXPIRY_DAYS,
        },
    )


def _introduction(token: str) -> Introduction:
    pk = links.INTRODUCTION.read(token)
    return get_object_or_404(
        Introduction.objects.select_related("request__requester", "candidate"), pk=pk
    )


@require_http_methods(["GET", "POST"])
@nearby_link_view
def introduction(request, token: str):
    """The page a candidate reaches from the email: accept, decline, block."""
    intro = _introduction(token)
    done = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "accept":
            done = "accepted" if services.introduction_accept(introduction=intro) else "late"
        elif action == "decline":
            done = "declined" if services.introduction_decline(introduction=intro) else "late"
        elif action == "block":
            services.requester_block(introduction=intro)
            done = "blocked"
        else:
            return _refused(request, services.NearbyError(_("Choose one of the buttons.")))
        intro.refresh_from_db()
    return render(
        request,
        "nearby/introduction.html",
        {
            "intro": intro,
            "token": token,
            "first_name": intro.request.requester.first_name,
            "band": Band(intro.band).label,
            "done": done,
            "report_form": ReportForm(),
        },
    )


@require_POST
@nearby_link_view
def introduction_report(request, token: str):
    intro = _introduction(token)
    form = ReportForm(request.POST)
    if not form.is_valid():
        return _refused(request, services.NearbyError(_("The note is too long.")))
    services.introduction_report(introduction=intro, note=form.cleaned_data["note"])
    return render(request, "nearby/reported.html")


# --- events (activists) -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@activist_required
def event_new(request, activist):
    group = _led_group(request, activist)
    if request.method == "POST":
        form = EventForm(request.POST, language=_language(), group=group)
        if form.is_valid():
            try:
                event = services.event_propose(host=activist, draft=form.draft)
            except RateLimited as exc:
                return _limited(request, exc)
            except services.NearbyError as exc:
                return _refused(request, exc)
            return redirect("nearby:event_manage", pk=event.pk)
        status = 400
    else:
        form, status = EventForm(language=_language(), group=group), 200
    return render(request, "nearby/event_form.html", {"form": form, "group": group}, status=status)


def _led_group(request, activist):
    """The local group whose event this is (?group=<id>): one the activist leads, else 404."""
    from supporters.groups.models import LocalGroup
    from supporters.groups.selectors import membership_of

    pk = request.GET.get("group") or request.POST.get("group")
    if not pk:
        return None
    group = LocalGroup.objects.filter(pk=pk).first() if _is_uuid(pk) else None
    membership = membership_of(group=group, supporter=activist) if group else None
    if membership is None or not membership.leads:
        raise Http404
    return group


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@require_http_methods(["GET", "POST"])
@activist_required
def event_manage(request, activist, pk):
    event = get_object_or_404(Event, pk=pk, host=activist)
    guests = list(selectors.event_guests_for_attendance(event=event))
    form = AttendanceForm(guests=guests)
    saved = False
    status = 200
    if request.method == "POST":
        form = AttendanceForm(request.POST, guests=guests)
        if form.is_valid():
            try:
                services.event_attendance_record(
                    event=event, attended_ids=set(form.cleaned_data["came"])
                )
                saved = True
            except services.NearbyError as exc:
                return _refused(request, exc)
            guests = list(selectors.event_guests_for_attendance(event=event))
            form = AttendanceForm(guests=guests)
        else:
            status = 400
    return render(
        request,
        "nearby/event_manage.html",
        {
            "event": event,
            "turnout": selectors.event_turnout(event=event),
            "k": settings.SOSEDI_NEARBY_K,
            "form": form,
            "saved": saved,
            "started": event.starts_at <= timezone.now(),
        },
        status=status,
    )


# --- events (public) ----------------------------------------------------------------------


@require_GET
@reads_may_lag
def events(request):
    return render(request, "nearby/events.html", {"events": selectors.events_upcoming()})


@require_GET
def event_detail(request, pk):
    event = get_object_or_404(Event, pk=pk, status=Event.Status.APPROVED)
    activist = signed_in_activist(request)
    mine = None
    if activist is not None:
        mine = Rsvp.objects.filter(event=event, supporter=activist).first()
    return render(
        request,
        "nearby/event_detail.html",
        {
            "event": event,
            "activist": activist,
            "mine": mine,
            "is_host": activist is not None and activist.pk == event.host_id,
            "open": event.ends_at > timezone.now(),
            "answers": Rsvp.Answer.choices,
        },
    )


@require_POST
@activist_required
def event_rsvp_signed_in(request, activist, pk):
    event = get_object_or_404(Event, pk=pk, status=Event.Status.APPROVED)
    form = RsvpForm(request.POST)
    if not form.is_valid():
        return _refused(request, services.NearbyError(_("Choose yes, maybe or no.")))
    try:
        services.rsvp_answer(event=event, supporter=activist, answer=form.cleaned_data["answer"])
    except services.NearbyError as exc:
        return _refused(request, exc)
    return redirect("events:detail", pk=event.pk)


@require_http_methods(["GET", "POST"])
@nearby_link_view
def rsvp(request, token: str):
    """RSVP from the invitation's signed link (GET shows the choice, POST records it)."""
    rsvp = get_object_or_404(
        Rsvp.objects.select_related("event", "supporter"), pk=links.RSVP.read(token)
    )
    if rsvp.event.status != Event.Status.APPROVED:
        raise Http404
    saved = False
    if request.method == "POST":
        form = RsvpForm(request.POST)
        if not form.is_valid():
            return _refused(request, services.NearbyError(_("Choose yes, maybe or no.")))
        try:
            rsvp = services.rsvp_answer(
                event=rsvp.event, supporter=rsvp.supporter, answer=form.cleaned_data["answer"]
            )
        except services.NearbyError as exc:
            return _refused(request, exc)
        saved = True
    return render(
        request,
        "nearby/rsvp.html",
        {"rsvp": rsvp, "event": rsvp.event, "saved": saved, "answers": Rsvp.Answer.choices},
    )
