"""Every organizer page and the admin site need a password and a second factor."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

GATED = ("/organize/", "/admin/")


class StaffTwoFactorMiddleware:
    """Sends anyone not yet two-factor verified to the login, enrolment or code page.

    Runs after django-otp's OTPMiddleware, which sets `request.user.is_verified()`. The
    admin site's own login page is never reached: its path is gated like the rest.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(GATED) and not path.startswith(self._open_paths()):
            user = request.user
            if not user.is_authenticated:
                return self._to("organize:login", path)
            if not user.is_verified():
                from django_otp import user_has_device

                target = "organize:verify" if user_has_device(user) else "organize:enrol"
                return self._to(target, path)
        return self.get_response(request)

    @staticmethod
    def _open_paths() -> tuple[str, ...]:
        return tuple(
            reverse(name)
            for name in ("organize:login", "organize:verify", "organize:enrol", "organize:logout")
        )

    @staticmethod
    def _to(name: str, next_path: str):
        return redirect(f"{reverse(name)}?{urlencode({'next': next_path})}")
