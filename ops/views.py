"""Project-wide views: the error page while the database is away."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

RETRY_AFTER_SECONDS = 5


def _database_unavailable(exc: BaseException | None) -> bool:
    # OperationalError covers a refused or dropped connection, a server that is starting
    # or shutting down, and a query cancelled by the statement timeout.
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request, template_name="500.html"):
    """500, or 503 with Retry-After when the database is unreachable: a passing fault."""
    if _database_unavailable(sys.exc_info()[1]):
        # Rendered without a request: context processors could need the database.
        response = HttpResponse(render_to_string("ops/unavailable.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    return defaults.server_error(request, template_name)
