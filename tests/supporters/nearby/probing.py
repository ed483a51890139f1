"""What the probing tests (test_trilateration.py, test_sybil.py) share: answers made
comparable byte for byte, and worlds built and undone inside one test."""

import re

from django.db import transaction

_TOKEN = re.compile(r"/[A-Za-z0-9_\-]{6,}:[A-Za-z0-9_\-:]+/")
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise(text: str) -> str:
    """Signed link tokens, CSRF tokens and the ids of rows created for the run differ on
    every answer by design; nothing else may."""
    return _UUID.sub("<id>", _CSRF.sub("", _TOKEN.sub("/<token>/", text)))


def section(html: str, section_id: str) -> str:
    """The page's <section id=...>, or "" when it has none."""
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    return match.group(0) if match else ""


class _Rollback(Exception):
    pass


def isolated(fn):
    """Run fn() in a savepoint, return its result, and undo everything it wrote."""
    result = {}
    try:
        with transaction.atomic():
            result["value"] = fn()
            raise _Rollback
    except _Rollback:
        pass
    return result["value"]
