"""Middleware of the public JSON API."""

from django.conf import settings
from django.http import HttpResponseNotAllowed

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ReadOnlyApiMiddleware:
    """The public JSON API (/api/…) is read-only: other methods get 405 with `Allow`.

    It sits before CsrfViewMiddleware, so a POST to the API is answered "method not
    allowed" (what it is) rather than "CSRF failed"; unknown paths still get 404.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(getattr(settings, "SOSEDI_READ_ONLY_API_PREFIXES", ("/api/",)))

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(self.prefixes) and request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(["GET"])
        return None
