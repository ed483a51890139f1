"""Every HTML page carries the security headers: CSP without inline scripts, HSTS,
Referrer-Policy, nosniff, locked-down cookies, and frame denial except the embed.

Pages are found generically (tests/security/site.py): every route without arguments,
every link in the mail the site sent, and the links from those pages, as a visitor and
as an organizer. Production's own settings (read from a production process) are applied.
"""

import pytest
from django.test import Client

from tests.ops.test_deploy import production_security_settings
from tests.security import site

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def production_settings():
    return production_security_settings()


@pytest.fixture
def as_production(settings, production_settings):
    for name, value in production_settings.items():
        if name != "DEBUG":
            setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    return {"HTTP_X_FORWARDED_PROTO": "https"}  # what nginx sets in front


def _seeds() -> list[str]:
    from django.urls import reverse

    plain = [name for name, has_args in site.route_names().items() if not has_args]
    return [reverse(name) for name in plain] + site.mailed_links()


def _check(pages: dict, *, production: bool) -> list[str]:
    """Problems of every HTML response, less known defects (which must still be there)."""
    problems, known_seen = [], set()
    for url, response in pages.items():
        assert response.status_code < 500, f"{url} answered {response.status_code}"
        if not site.is_html(response):
            continue
        found = site.header_problems(url, response, production=production)
        route = site.route_of(url)
        if found and route in site.KNOWN_DEFECTS:
            known_seen.add(route)
            print(f"known defect, tolerated: {route}: {site.KNOWN_DEFECTS[route]}")
        else:
            problems += found
    reached = {site.route_of(u) for u, r in pages.items() if r.status_code == 200}
    fixed = {r for r in site.KNOWN_DEFECTS if r in reached and r not in known_seen}
    assert not fixed, f"fixed now: remove {fixed} from KNOWN_DEFECTS in tests/security/site.py"
    return problems


def test_every_public_page_carries_the_security_headers(populated, as_production):
    visitor = Client(**as_production)
    found = site.crawl(visitor, _seeds())
    html = [u for u, r in found.pages.items() if site.is_html(r)]
    assert len(html) >= 8, sorted(found.routes)
    assert {"public_map:map", "public_map:embed", "supporters:join"} <= found.routes
    assert "supporters:manage" in found.routes  # reached through the mailed link
    assert _check(found.pages, production=True) == []


def test_every_organizer_page_carries_the_security_headers(
    populated, organizer_client, as_production
):
    organizer = organizer_client(**as_production)
    found = site.crawl(organizer, ["/organize/", "/admin/", *_seeds()], limit=300)
    assert "organize:dashboard" in found.routes and "admin:index" in found.routes
    assert _check(found.pages, production=True) == []
    # The session cookie is renewed on every response and must be locked down each time.
    with_session = [r for r in found.pages.values() if "sessionid" in r.cookies]
    assert with_session


def test_plain_http_is_redirected_to_https_in_production(populated, as_production):
    response = Client().get("/map/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_development_pages_carry_the_same_headers_without_hsts(populated):
    found = site.crawl(Client(), _seeds(), limit=60)
    assert _check(found.pages, production=False) == []
    assert all("Strict-Transport-Security" not in r for r in found.pages.values())
