"""Every form and signed link, fed what an attacker sends: SQL and HTML injection strings in
every field, wrong types, bodies over the limit, no CSRF token, forged and expired links.
The answer is always a clear 4xx or a form error, never a 500, and a refused submission
leaves every table as it was.

Forms are found by crawling (tests/security/site.py) as a visitor, as a supporter through
the links in their mail, and as an organizer; each round of valid submissions (a sign-up,
a sign-in link asked for and used) opens the next pages, whose forms are fuzzed in turn.
"""

import re
import time
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from tests.security import site

pytestmark = pytest.mark.django_db

# Forms whose valid submission ends the session or erases the person: fuzzed for CSRF and
# size only (no field to inject into), and submitted for real only at the very end.
DESTRUCTIVE = re.compile(r"(delete|erase|logout|sign_out|unsubscribe)")
# Django's own admin (staff only, behind two-factor login) is checked for CSRF only.
ADMIN = "/admin/"
# Tables a refused request may still write to, by design: sessions, the login lockout's
# record of failed attempts, the organizers' audit log, rate-limit counters, job queue.
MAY_CHANGE = re.compile(
    r"^(django_session|axes_|supporters_auditentry|supporters_ratelimitevent|procrastinate_)"
)
# Links that must keep working however old they are (RFC 8058 one-click unsubscribe).
NON_EXPIRING = {"organize:unsubscribe"}
ERROR_MARKERS = ('role="alert"', 'class="errorlist', "has-error", 'class="error')


def fingerprint() -> dict[str, int]:
    """Row counts of every table a refused request must leave alone (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            # The gazetteer and PostGIS's own table are reference data no form writes.
            " AND tablename NOT IN ('spatial_ref_sys', 'geo_place', 'geo_placename')"
            " ORDER BY tablename"
        )
        tables = [t for (t,) in cursor.fetchall() if not MAY_CHANGE.match(t)]
        cursor.execute(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables))
        return dict(cursor.fetchall())


def refused(response) -> bool:
    if response.status_code >= 400:
        return True
    if response.status_code == 200 and site.is_html(response):
        body = response.content.decode(errors="replace")
        return any(marker in body for marker in ERROR_MARKERS)
    return False


def guess(name: str, kind: str, email: str) -> str:
    """A plausible value for a field, from its name and type."""
    n = name.lower()
    if kind == "date":
        return "2030-05-01"
    if kind == "datetime-local" or re.search(r"(starts|ends|_at$|when)", n):
        return "2030-05-01T18:00"
    if kind == "time":
        return "18:00"
    for pattern, value in (
        (r"email", email),
        (r"phone", "+7 900 123-45-67"),
        (r"lat", "55.75"),
        (r"lon", "37.62"),
        (r"(location|city|venue|place|address)", "Moscow"),
        (r"password", "pw-Sec-2026!"),
        (r"username", "security-admin"),
        (r"(otp|code|token)", "123456"),
        (r"country", "RU"),
        (r"next", "/"),
        (r"(body|message|description|text|note|reason)", "Hello, neighbours."),
    ):
        if re.search(pattern, n):
            return value
    return "Fuzz test"


def plausible(form: site.Form, email: str) -> dict:
    data = form.data()
    for name in form.text_fields:
        if not any(v.strip() for v in data.get(name, [])):
            data[name] = [guess(name, form.types.get(name, "text"), email)]
    for name, choices in form.choices.items():
        if form.types.get(name) == "select" and not any(data.get(name, [])):
            data[name] = [next((c for c in choices if c), "")]
    return data


def files_for(form: site.Form, content: bytes) -> dict:
    return {name: SimpleUploadedFile("people.csv", content, "text/csv") for name in form.files}


class Fuzzer:
    """Feeds one client's forms with bad input and keeps what each answered."""

    def __init__(self, client: Client, email: str):
        self.client = client
        self.email = email
        self.done: set[tuple] = set()
        self.outcomes: list[tuple[str, str, int, str]] = []  # route, case, status, verdict

    def post(self, form: site.Form, data: dict, case: str, *, files: dict | None = None):
        before = fingerprint()
        response = self.client.post(form.action, {**data, **(files or {})})
        route = site.route_of(form.action)
        assert response.status_code < 500, f"{route} {case}: {response.status_code}"
        if refused(response):
            after = fingerprint()
            changed = {t: (before[t], after[t]) for t in before if before[t] != after.get(t)}
            assert not changed, f"{route} {case}: refused ({response.status_code}) yet {changed}"
            verdict = "refused"
        else:
            verdict = "accepted"
        self.outcomes.append((route, case, response.status_code, verdict))
        return response

    def fuzz(self, form: site.Form) -> bool:
        route = site.route_of(form.action) or form.action
        key = (route, tuple(sorted(form.fields)))
        if key in self.done or form.method != "post" or form.action.startswith(ADMIN):
            return False
        self.done.add(key)
        if DESTRUCTIVE.search(route):
            return True
        good = plausible(form, self.email)
        csv = b"email,name,location\r\nfuzz-import@example.org,Fuzz,Moscow\r\n"
        for name in form.text_fields:
            for value in site.INJECTIONS:
                self.post(
                    form,
                    {**good, name: [value]},
                    f"{name}={value[:20]!r}",
                    files=files_for(form, csv),
                )
            # wrong types: several values, a list where one is expected, control characters
            self.post(
                form, {**good, name: ["1", "2", "3"]}, f"{name}=[1,2,3]", files=files_for(form, csv)
            )
            self.post(
                form,
                {**good, name: ["\x00\x01\x1b"]},
                f"{name}=control chars",
                files=files_for(form, csv),
            )
        for name, _choices in form.choices.items():
            self.post(
                form,
                {**good, name: ["not-a-choice' OR 1=1"]},
                f"{name}=bad choice",
                files=files_for(form, csv),
            )
        for name in form.files:
            for content in (b"\x00\xff" * 100, b"email\r\n' OR 1=1 --\r\n", b""):
                self.post(
                    form,
                    good,
                    f"{name}={content[:10]!r}",
                    files={name: SimpleUploadedFile("x.csv", content, "text/csv")},
                )
        # a missing field each
        for name in list(good):
            if name != "csrfmiddlewaretoken":
                self.post(
                    form,
                    {k: v for k, v in good.items() if k != name},
                    f"no {name}",
                    files=files_for(form, csv),
                )
        # and once as a person would fill it (opens the next pages: mail, sessions)
        self.post(form, good, "plausible", files=files_for(form, csv))
        return True


def explore(fuzzer: Fuzzer, seeds: list[str], *, rounds: int = 3) -> site.Crawl:
    """Crawl, fuzz every new form, submit it plausibly; again with what that opened."""
    last = site.Crawl()
    for _ in range(rounds):
        last = site.crawl(fuzzer.client, [*seeds, *site.mailed_links()], per_route=1)
        if not any([fuzzer.fuzz(form) for form in last.forms]):
            break
    return last


def _no_raw_injection(found: site.Crawl):
    for url, response in found.pages.items():
        if site.is_html(response):
            body = response.content.decode(errors="replace")
            for raw in site.UNESCAPED:
                assert raw not in body, f"{url} shows injected HTML unescaped"


@pytest.fixture
def activist(populated):
    return populated[0]  # confirmed, consents to the map and to introductions


def test_every_form_refuses_bad_input_without_500_or_half_stored_rows(
    populated, activist, organizer_client
):
    from django.urls import reverse

    plain = [reverse(n) for n, has_args in site.route_names().items() if not has_args]
    visitor = Fuzzer(Client(), activist.email)
    found = explore(visitor, plain)
    # The organizer's turn: only the forms a visitor could not reach.
    organizer = Fuzzer(organizer_client(), activist.email)
    organizer.done = visitor.done
    explore(organizer, ["/organize/"], rounds=2)

    outcomes = visitor.outcomes + organizer.outcomes
    routes = sorted({route for route, *_ in outcomes})
    refused_count = sum(1 for *_, verdict in outcomes if verdict == "refused")
    print(
        f"\n{len(outcomes)} submissions ({refused_count} refused, the rest accepted and "
        f"stored as typed) to {len(routes)} forms: {routes}"
    )
    assert {"supporters:join", "supporters:manage_request", "supporters:manage_profile"} <= set(
        routes
    )
    assert "organize:segment_create" in routes and len(outcomes) > 200
    # What was accepted is shown escaped wherever it appears.
    _no_raw_injection(found)
    _no_raw_injection(site.crawl(visitor.client, [*plain, *site.mailed_links()]))
    _no_raw_injection(site.crawl(organizer.client, ["/organize/", "/admin/"]))
    # Every kind of link the mail now holds (sign-in, introductions...) forged and aged.
    print(f"forged, swapped and expired links refused: {check_signed_links(Client())}")


def _post_forms(client: Client, seeds: list[str]) -> list[site.Form]:
    found = site.crawl(client, seeds, per_route=1)
    return [f for f in found.forms if f.method == "post"]


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(
    populated, organizer_client
):
    from django.urls import reverse

    plain = [reverse(n) for n, has_args in site.route_names().items() if not has_args]
    checked = set()
    for client, seeds in (
        (Client(), [*plain, *site.mailed_links()]),
        (organizer_client(), ["/organize/", "/admin/", *site.mailed_links()]),
    ):
        strict = Client(enforce_csrf_checks=True)
        strict.cookies = client.cookies  # the same session, without the token
        for form in _post_forms(client, seeds):
            data = {k: v for k, v in form.data().items() if k != "csrfmiddlewaretoken"}
            before = fingerprint()
            response = strict.post(form.action, data)
            route = site.route_of(form.action)
            assert response.status_code == 403, f"{route}: {response.status_code} without CSRF"
            assert fingerprint() == before, route
            checked.add(route)
    print(f"\nCSRF refused on {len(checked)} forms: {sorted(checked)}")
    assert "supporters:join" in checked and "supporters:manage_delete" in checked


def test_bodies_over_the_limit_get_400_and_change_nothing(populated, organizer_client):
    from django.urls import reverse

    plain = [reverse(n) for n, has_args in site.route_names().items() if not has_args]
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    checked = set()
    for client, seeds in (
        (Client(enforce_csrf_checks=True), [*plain, *site.mailed_links()]),
        (organizer_client(enforce_csrf_checks=True), ["/organize/", *site.mailed_links()]),
    ):
        # With the CSRF check on, as in production, the body is read before any view.
        for form in _post_forms(client, seeds):
            if form.action.startswith(ADMIN):
                continue
            data = {**form.data(), "padding": big}
            route = site.route_of(form.action)
            for encoded in (False, True):
                before = fingerprint()
                if encoded:
                    response = client.post(
                        form.action,
                        urlencode(data, doseq=True),
                        content_type="application/x-www-form-urlencoded",
                    )
                else:
                    response = client.post(form.action, data)  # multipart
                assert response.status_code == 400, f"{route}: {response.status_code}"
                assert fingerprint() == before, route
            checked.add(route)
    # The same through the API: a query string far beyond any field's limit.
    response = Client().get("/api/public/cells", {"bbox": "1," * 50_000, "zoom": "3"})
    assert response.status_code == 400
    print(f"\n400 for oversized bodies on {len(checked)} forms: {sorted(checked)}")


def _forgeries(token: str) -> list[str]:
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    value, _, _signature = token.rpartition(":")
    return [
        flipped,
        value,  # the signature left off
        value + ":" + "A" * 43,
        "x",
        "' OR '1'='1",
        "%3Cscript%3E",
        "Ꙭ" * 300,
        "0" * 2000,
        token.replace(token.split(":")[0], "00000000-0000-0000-0000-000000000000", 1),
    ]


def check_signed_links(client: Client) -> list[str]:
    """Forge, swap and age every kind of link found in the mail; each must get a 4xx."""
    links = {}
    for path in site.mailed_links():
        route = site.route_of(path)
        if route:
            links.setdefault(route, path)
    for route, path in links.items():
        prefix, token, rest = re.match(r"^(.*/)([^/]+)(/.*)?$", path.split("?")[0]).groups()
        for forged in _forgeries(token):
            for method in ("get", "post"):
                response = getattr(client, method)(prefix + forged + (rest or "/"))
                assert 400 <= response.status_code < 500, (
                    f"{route} {method} forged {forged[:30]!r}: {response.status_code}"
                )
        # Swapped: a link of one kind used as another.
        for other_route, other in links.items():
            if other_route != route:
                other_token = re.match(r"^.*/([^/]+)/?$", other.split("?")[0]).group(1)
                response = client.get(prefix + other_token + (rest or "/"))
                assert 400 <= response.status_code < 500, f"{other_route} token on {route}"
        if route in NON_EXPIRING:
            continue
        # A year and a day later every emailed link has expired, signed or stored.
        later = time.time() + 366 * 86400
        with (
            mock.patch("django.core.signing.time.time", return_value=later),
            mock.patch(
                "django.utils.timezone.now",
                return_value=datetime.fromtimestamp(later, tz=UTC),
            ),
        ):
            response = client.get(path)
        assert 400 <= response.status_code < 500, f"{route} still works a year later"
    return sorted(links)


def test_forged_and_expired_signed_links_are_refused(populated):
    checked = check_signed_links(Client())
    assert {"supporters:confirm", "supporters:manage"} <= set(checked)
