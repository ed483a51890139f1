"""Glue for django-axes, the organizer login lockout."""

from django.conf import settings

# Longer than any username can be (auth.User allows 150); axes' own column holds 255.
MAX_USERNAME = 150


def axes_username(request, credentials: dict | None = None) -> str:
    """The username axes records a failed login under, storable whatever was typed.

    Without this, a 5,000-character or NUL-containing username made axes' INSERT fail and
    the login page answer 500 instead of "wrong username or password".
    """
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    value = (credentials or {}).get(field)
    if value is None:
        value = request.POST.get(field, "") if request is not None else ""
    return str(value).replace("\x00", "")[:MAX_USERNAME]
