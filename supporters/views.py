import uuid
from datetime import timedelta

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supporters import links, selectors, services
from supporters.forms import (
    ConsentsForm,
    CoordinatesOutOfRange,
    DevTextForm,
    JoinForm,
    LocationFields,
    ManageLinkForm,
    ProfileForm,
)
from supporters.groups import selectors as group_selectors
from supporters.groups import services as group_services
from supporters.groups.models import GroupMembership
from supporters.models import ConsentRecord, OutboxMessage, Supporter
from supporters.phones import phone_key, phone_shown
from supporters.ratelimit import RateLimited, client_ip, client_key, ratelimit_hit
from supporters.sms import inbound
from supporters.sms.gateways import Received
from supporters.sms.models import TextMessage


def _language() -> str:
    return (get_language() or settings.LANGUAGE_CODE)[:2]


def _bad_coordinates(request):
    return render(
        request,
        "supporters/problem.html",
        {"title": _("Invalid coordinates"), "message": _("That pin is outside the map.")},
        status=400,
    )


def _limited(request, exc: RateLimited):
    return render(
        request,
        "supporters/problem.html",
        {"title": _("Please wait"), "message": exc.message},
        status=429,
    )


@require_GET
def landing(request):
    return render(request, "supporters/landing.html")


@require_http_methods(["GET", "POST"])
def join(request):
    status = 200
    if request.method == "POST":
        form = JoinForm(request.POST, language=_language())
        try:
            valid = form.is_valid()
        except CoordinatesOutOfRange:
            return _bad_coordinates(request)
        if valid:
            try:
                ratelimit_hit(
                    scope="signup",
                    key=client_key(client_ip(request)),
                    limit=settings.SOSEDI_SIGNUPS_PER_IP_PER_HOUR,
                    window=timedelta(hours=1),
                    message=_(
                        "Too many sign-ups from your network in the last hour. "
                        "Please try again later."
                    ),
                )
            except RateLimited as exc:
                return _limited(request, exc)
            d = form.cleaned_data
            services.supporter_sign_up(
                email=d["email"],
                display_name=d["display_name"],
                phone=d["phone"],
                location=form.location,
                consents=form.granted,
                preferences=form.preferences,
                language=_language(),
            )
            return redirect("supporters:join_done")
        status = 400
    else:
        form = JoinForm(language=_language())
    return render(request, "supporters/join.html", {"form": form}, status=status)


@require_GET
def join_done(request):
    return render(request, "supporters/join_done.html")


@require_http_methods(["GET", "POST"])
@links.link_view()
def confirm(request, token: str):
    # GET shows a button and POST confirms, so mail scanners that open links don't confirm.
    supporter = get_object_or_404(Supporter, pk=links.CONFIRM.read(token))
    if request.method == "POST":
        supporter = services.supporter_confirm(supporter=supporter)
        return render(request, "supporters/confirmed.html", {"supporter": supporter})
    return render(request, "supporters/confirm.html", {"supporter": supporter})


def _back_to_manage(token: str, saved: str):
    return redirect(reverse("supporters:manage", args=[token]) + f"?saved={saved}")


def _managed(token: str) -> Supporter:
    """The supporter a manage link belongs to; LinkError if forged or old, 404 if erased."""
    return get_object_or_404(Supporter, pk=links.MANAGE.read(token))


def _phone_shown(phone: str) -> str:
    """A stored number as people write it; one stored before numbers were checked as typed."""
    key = phone_key(phone)
    return phone_shown(key) if key else phone


def _manage_page(request, supporter, token, *, status=200, **forms):
    context = {
        "supporter": supporter,
        "token": token,
        "phone": _phone_shown(supporter.phone) if supporter.phone else "",
        "consents_form": forms.get("consents_form")
        or ConsentsForm(
            initial={f"consent_{k}": v for k, v in supporter.consents().items()},
            supporter=supporter,
        ),
        "profile_form": forms.get("profile_form")
        or ProfileForm(
            initial={
                "display_name": supporter.display_name,
                "language": supporter.language,
                "channel": supporter.channel,
                "frequency": supporter.frequency,
                "topics": supporter.topics,
                "phone": _phone_shown(supporter.phone) if supporter.phone else "",
            },
            supporter=supporter,
        ),
        "location_form": forms.get("location_form") or LocationFields(language=_language()),
        "consent_history": supporter.consent_records.all()[:50],
        "memberships": group_selectors.memberships_of(supporter=supporter),
        "saved": request.GET.get("saved"),
    }
    return render(request, "supporters/manage.html", context, status=status)


@require_GET
@links.link_view()
def manage(request, token: str):
    supporter = _managed(token)
    return _manage_page(request, supporter, token)


@require_POST
@links.link_view()
def manage_consents(request, token: str):
    supporter = _managed(token)
    form = ConsentsForm(request.POST, supporter=supporter)
    if not form.is_valid():
        return _manage_page(request, supporter, token, status=400, consents_form=form)
    services.consents_update(
        supporter=supporter, granted=form.granted, source=ConsentRecord.Source.MANAGE_PAGE
    )
    return _back_to_manage(token, "consents")


@require_POST
@links.link_view()
def manage_profile(request, token: str):
    supporter = _managed(token)
    form = ProfileForm(request.POST, supporter=supporter)
    if not form.is_valid():
        return _manage_page(request, supporter, token, status=400, profile_form=form)
    d = form.cleaned_data
    services.supporter_update_profile(
        supporter=supporter,
        display_name=d["display_name"],
        phone=d["phone"],
        language=d["language"],
        preferences=form.preferences,
    )
    return _back_to_manage(token, "profile")


@require_POST
@links.link_view()
def manage_location(request, token: str):
    supporter = _managed(token)
    form = LocationFields(request.POST, language=_language())
    try:
        valid = form.is_valid()
    except CoordinatesOutOfRange:
        return _bad_coordinates(request)
    if not valid:
        return _manage_page(request, supporter, token, status=400, location_form=form)
    try:
        services.supporter_relocate(supporter=supporter, location=form.location)
    except RateLimited as exc:
        return _limited(request, exc)
    return _back_to_manage(token, "location")


@require_GET
@links.link_view()
def manage_export(request, token: str):
    supporter = _managed(token)
    response = JsonResponse(
        selectors.supporter_data_export(supporter=supporter), json_dumps_params={"indent": 2}
    )
    response["Content-Disposition"] = 'attachment; filename="sosedi-my-data.json"'
    return response


@require_POST
@links.link_view()
def manage_group_leave(request, token: str, membership: uuid.UUID):
    """Leave one of one's groups; another person's membership is a 404."""
    supporter = _managed(token)
    mine = get_object_or_404(GroupMembership, pk=membership, supporter=supporter)
    group_services.group_leave(membership=mine)
    return _back_to_manage(token, "group_left")


@require_http_methods(["GET", "POST"])
@links.link_view()
def manage_delete(request, token: str):
    supporter = _managed(token)
    if request.method == "POST":
        services.supporter_erase(supporter=supporter)
        return render(request, "supporters/erased.html")
    return render(
        request, "supporters/delete_confirm.html", {"supporter": supporter, "token": token}
    )


@require_POST
@links.link_view()
def manage_unsubscribe(request, token: str):
    supporter = _managed(token)
    services.supporter_unsubscribe(supporter=supporter, source=ConsentRecord.Source.MANAGE_PAGE)
    return _back_to_manage(token, "unsubscribed")


@require_http_methods(["GET", "POST"])
def manage_request(request):
    """Ask for a fresh manage link. The answer is the same whether or not the address is known."""
    if request.method == "POST":
        form = ManageLinkForm(request.POST)
        if form.is_valid():
            try:
                ratelimit_hit(
                    scope="manage_link",
                    key=client_key(client_ip(request)),
                    limit=settings.SOSEDI_SIGNUPS_PER_IP_PER_HOUR,
                    window=timedelta(hours=1),
                )
            except RateLimited as exc:
                return _limited(request, exc)
            services.manage_link_send(email=form.cleaned_data["email"])
            return render(request, "supporters/manage_request_done.html")
        return render(request, "supporters/manage_request.html", {"form": form}, status=400)
    return render(request, "supporters/manage_request.html", {"form": ManageLinkForm()})


# --- development outbox ---------------------------------------------------------------


def _debug_only():
    if not settings.DEBUG:
        raise Http404


@require_http_methods(["GET", "POST"])
def dev_outbox(request):
    """Mail and texts Sosedi would have sent, newest first; and a text "arriving" from a
    number, played through what a gateway's received text goes through."""
    _debug_only()
    status = 200
    form = DevTextForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            inbound.text_received(
                gateway="outbox",
                received=Received(from_phone=d["from_phone"], body=d["body"], gateway_id=""),
            )
            return redirect(reverse("supporters:dev_outbox") + "?received=1#texts")
        status = 400
    context = {
        # Not "messages": that name is django.contrib.messages' in every template.
        "outbox": OutboxMessage.objects.all()[:200],
        "texts": TextMessage.objects.all()[:200],
        "text_form": form,
        "received": request.GET.get("received"),
    }
    return render(request, "supporters/dev_outbox.html", context, status=status)


@require_GET
def dev_outbox_message(request, pk: int):
    _debug_only()
    message = get_object_or_404(OutboxMessage, pk=pk)
    return render(request, "supporters/dev_outbox_message.html", {"message": message})
