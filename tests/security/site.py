"""Finding every page and form of the site, generically, and what each response must carry.

Pages are found from the URL resolver (every route without arguments), from the links in
the mail Sosedi sent (confirm, manage, unsubscribe, sign-in links...) and by following
same-site links from those; forms are read from the pages found. Nothing here names a
page of one app or another, so new pages are covered as soon as they are linked.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

# Pages that may be framed, and by whom (frame-ancestors); every other page denies it.
FRAMABLE = {
    "public_map:embed": "*",  # the map for other sites' iframes
    "organize:heatmap": "'self'",  # the organizer dashboard's own heatmap frame
}
# Problems found in other people's code and reported to them, by route. Each is tolerated
# only while it still occurs: once fixed, the test asks for its entry to be removed.
KNOWN_DEFECTS = {
    "admin:supporters_segment_add": "issue 4: SegmentAdmin uses Django's OpenLayers widget "
    "(inline script without nonce, ol.js from cdn.jsdelivr.net); LeafletGeoAdmin would fix it",
    "admin:supporters_segment_change": "issue 4: as admin:supporters_segment_add",
}
# Routes a crawler must not GET: they end the session it crawls with.
SESSION_ENDING = re.compile(r"(logout|sign_out|signout)")
NOT_PAGES = ("/static/", "/i18n/", "/media/")

INJECTIONS = [
    "' OR '1'='1' --",
    "'); DROP TABLE supporters_supporter; --",
    '" UNION SELECT email, display_name FROM supporters_supporter --',
    "1; SELECT pg_sleep(5)",
    "<script>alert('sosedi')</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{ settings.SECRET_KEY }}{% debug %}",
    "%(secret)s ${jndi:ldap://127.0.0.1/x}",
    "Ꙭ \u202e\u200b Москва 🏳️‍🌈 \x7f",
    "x" * 5000,
]
# Strings that, found raw in a page, show that injected HTML was not escaped.
UNESCAPED = ("<script>alert('sosedi')</script>", '"><img src=x onerror=alert(1)>')


def route_names() -> dict[str, bool]:
    """Every named route (namespace:name) and whether it takes arguments."""
    found: dict[str, bool] = {}

    def walk(patterns, namespace: str, prefix_args: bool):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns, prefix_args or bool(p.pattern.regex.groupindex))
            elif isinstance(p, URLPattern) and p.name:
                has_args = prefix_args or bool(p.pattern.regex.groupindex)
                found[f"{namespace}{p.name}"] = has_args

    walk(get_resolver().url_patterns, "", False)
    return found


def route_of(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> default values
    text_fields: list[str] = field(default_factory=list)  # every field a person types in
    types: dict[str, str] = field(default_factory=dict)  # name -> input type
    choices: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def data(self) -> dict[str, list[str] | str]:
        return {k: list(v) for k, v in self.fields.items() if k not in self.files}


class _Parser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.inline_scripts = 0
        self.inline_handlers: list[str] = []
        self.assets: list[str] = []  # scripts, styles, images and frames the page loads
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._script_inline = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.inline_handlers += [f"<{tag} {k}>" for k in a if k.startswith("on")]
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.assets.append(a["src"])
        elif tag == "link" and "stylesheet" in (a.get("rel") or "") and a.get("href"):
            self.assets.append(a["href"])
        if tag in ("a", "iframe", "link") and (a.get("href") or a.get("src")):
            if tag != "link":
                self.links.append(a.get("href") or a.get("src"))
        elif tag == "script":
            kind = (a.get("type") or "text/javascript").lower()
            self._script_inline = "src" not in a and "json" not in kind
        elif tag == "form":
            self._form = Form(
                page=self.page,
                action=urljoin(self.page, a.get("action") or self.page),
                method=(a.get("method") or "get").lower(),
            )
            self.forms.append(self._form)
        elif self._form is not None and a.get("name"):
            name = a["name"]
            if tag == "input":
                kind = (a.get("type") or "text").lower()
                if kind in ("submit", "button", "image", "reset"):
                    return
                self._form.types[name] = kind
                if kind == "file":
                    self._form.files.append(name)
                    self._form.fields.setdefault(name, [])
                elif kind in ("checkbox", "radio"):
                    self._form.choices.setdefault(name, []).append(a.get("value") or "on")
                    self._form.fields.setdefault(name, [])
                    if "checked" in a:
                        self._form.fields[name].append(a.get("value") or "on")
                else:
                    self._form.fields.setdefault(name, []).append(a.get("value") or "")
                    if name != "csrfmiddlewaretoken" and name not in self._form.text_fields:
                        self._form.text_fields.append(name)
            elif tag == "select":
                self._select = name
                self._form.types[name] = "select"
                self._form.fields.setdefault(name, [])
                self._form.choices.setdefault(name, [])
            elif tag == "textarea":
                self._textarea = name
                self._form.types[name] = "textarea"
                self._form.fields.setdefault(name, [""])
                self._form.text_fields.append(name)
        if tag == "option" and self._form is not None and self._select:
            value = a.get("value", "")
            self._form.choices[self._select].append(value)
            if "selected" in a or not self._form.fields[self._select]:
                self._form.fields[self._select] = [value]

    def handle_data(self, data):
        if self._script_inline and data.strip():
            self.inline_scripts += 1
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea] = [data]

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_inline = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None


def parse(page: str, html: str) -> _Parser:
    parser = _Parser(page)
    parser.feed(html)
    return parser


def is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def same_site(url: str) -> str | None:
    """The path and query of a link to this site, or None for other sites and non-pages."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "testserver"):
        return None
    if not parts.path.startswith("/") or parts.path.startswith(NOT_PAGES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Crawl:
    pages: dict[str, object] = field(default_factory=dict)  # url -> response
    forms: list[Form] = field(default_factory=list)
    routes: set[str] = field(default_factory=set)


def crawl(client, seeds, *, per_route: int = 2, limit: int = 400) -> Crawl:
    """GET pages breadth-first from `seeds`, at most `per_route` URLs of each route."""
    result = Crawl()
    seen_per_route: dict[str, int] = {}
    queue = [s for s in (same_site(u) for u in seeds) if s]
    visited: set[str] = set()
    while queue and len(result.pages) < limit:
        url = queue.pop(0)
        if url in visited:
            continue
        visited.add(url)
        route = route_of(url)
        if route is None or SESSION_ENDING.search(route):
            continue
        if seen_per_route.get(route, 0) >= per_route:
            continue
        seen_per_route[route] = seen_per_route.get(route, 0) + 1
        response = client.get(url)
        result.pages[url] = response
        result.routes.add(route)
        if response.status_code in (301, 302, 303, 307, 308):
            target = same_site(urljoin(url, response["Location"]))
            if target:
                queue.append(target)
            continue
        if not is_html(response):
            continue
        parsed = parse(url, response.content.decode(errors="replace"))
        for form in parsed.forms:
            form.action = same_site(form.action) or form.action
            result.forms.append(form)
            if form.method == "get":
                queue.append(form.action)
        queue += [s for s in (same_site(urljoin(url, link)) for link in parsed.links) if s]
    return result


def mailed_links(host: str = "http://testserver") -> list[str]:
    """Every link to this site in the mail Sosedi has written (signed links included)."""
    from supporters.models import OutboxMessage

    links = []
    for body in OutboxMessage.objects.values_list("body_text", flat=True):
        links += re.findall(re.escape(host) + r"(/[^\s<>\"')]*)", body)
    return links


# --- what every HTML response must carry --------------------------------------------------


def csp(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    policy = {}
    for part in header.split(";"):
        if part.strip():
            name, *values = part.split()
            policy[name.lower()] = values
    return policy


def header_problems(url: str, response, *, production: bool) -> list[str]:
    """What is wrong with the security headers of one HTML response (empty: nothing)."""
    problems = []
    if 300 <= response.status_code < 400:
        return []  # no body is shown; SecurityMiddleware's headers are checked on pages
    route = route_of(url)
    policy = csp(response)
    if not policy:
        return [f"{url}: no Content-Security-Policy"]
    for directive in ("script-src", "script-src-elem", "script-src-attr"):
        sources = policy.get(directive, policy.get("default-src", []))
        bad = {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(sources)
        if bad:
            problems.append(f"{url}: {directive} allows {sorted(bad)}")
    if policy.get("object-src") != ["'none'"]:
        problems.append(f"{url}: object-src is not 'none'")
    if response.get("Referrer-Policy") not in {"same-origin", "no-referrer", "strict-origin"}:
        problems.append(f"{url}: Referrer-Policy is {response.get('Referrer-Policy')!r}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{url}: no X-Content-Type-Options: nosniff")
    allowed = FRAMABLE.get(route)
    ancestors = policy.get("frame-ancestors")
    if allowed is None:
        if ancestors != ["'none'"] or response.get("X-Frame-Options") != "DENY":
            problems.append(
                f"{url}: may be framed (frame-ancestors {ancestors}, "
                f"X-Frame-Options {response.get('X-Frame-Options')})"
            )
    elif ancestors != [allowed]:
        problems.append(f"{url}: frame-ancestors {ancestors}, expected [{allowed}]")
    if production:
        hsts = response.get("Strict-Transport-Security", "")
        age = re.search(r"max-age=(\d+)", hsts)
        if not age or int(age.group(1)) < 365 * 86400 or "includeSubDomains" not in hsts:
            problems.append(f"{url}: Strict-Transport-Security is {hsts!r}")
    for name, cookie in response.cookies.items():
        if not cookie.value and cookie["max-age"] == 0:
            continue  # a deletion
        if production and not cookie["secure"]:
            problems.append(f"{url}: cookie {name} is not Secure")
        if cookie["samesite"] not in ("Lax", "Strict"):
            problems.append(f"{url}: cookie {name} has SameSite={cookie['samesite']!r}")
        if name == "sessionid" and not cookie["httponly"]:
            problems.append(f"{url}: the session cookie is not HttpOnly")
    if response.status_code == 200:
        parsed = parse(url, response.content.decode(errors="replace"))
        nonce = any(v.startswith("'nonce-") for v in policy.get("script-src", []))
        if parsed.inline_scripts and not nonce:
            problems.append(f"{url}: {parsed.inline_scripts} inline script(s) CSP will block")
        if parsed.inline_handlers:
            problems.append(
                f"{url}: inline event handlers CSP will block: {parsed.inline_handlers}"
            )
        third_party = [
            a for a in parsed.assets if urlsplit(urljoin(url, a)).netloc not in ("", "testserver")
        ]
        if third_party:
            problems.append(f"{url}: loads from third parties: {third_party}")
    return problems
