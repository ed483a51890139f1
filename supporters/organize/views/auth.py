"""Login with a password and a second factor: an authenticator app, or a recovery code."""

from base64 import b32encode
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice

from supporters.organize import two_factor
from supporters.organize.forms import SecondStepForm, TokenForm

# Where the codes wait between the redirect after making them and the page that shows them.
CODES_KEY = "organize_recovery_codes"


def _next(request, default: str = "organize:dashboard") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


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
