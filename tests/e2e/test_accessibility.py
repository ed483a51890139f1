"""axe-core (the npm package, from node_modules/) in Debian's Chromium on every public,
activist and organizer page, in English and in Russian: no violation of WCAG 2.0/2.1 A or
AA whose impact is serious or critical.

Each page is set up with the least it needs (a pending supporter for the confirmation
page, a snapshot for the map, an approved event and group, a segment), opened as the
person who would see it (signed out, an activist, an organizer past both factors) with the
`django_language` cookie, and checked once its maps have drawn.
"""

import os

import pytest
from django.conf import settings as django_settings

from tests.e2e import ROOT
from tests.e2e.pages import PAGES, Site

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = {"serious", "critical"}


@pytest.fixture
def site(module_browser, live_server, settings, make_supporter):
    settings.DEBUG = True  # the development outbox's link in the header
    settings.TILE_URL = ""  # no base layer: the maps draw country outlines
    settings.SITE_URL = live_server.url
    # The pages' Content-Security-Policy allows no inline script, and axe is injected as
    # one: this context alone bypasses it (the app's own scripts run as they always do).
    context = module_browser.new_context(
        bypass_csp=True, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    yield Site(context=context, live_server=live_server, make_supporter=make_supporter)
    context.close()


def axe_violations(page) -> list[dict]:
    """axe-core's violations of WCAG 2.0/2.1 A and AA on the page as it is now, its frames
    (the dashboard's heatmap) included."""
    for frame in page.frames:
        frame.add_script_tag(path=str(AXE))
    return page.evaluate(
        """tags => axe.run(document, {
              runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
            })
            .then(r => r.violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help,
              targets: v.nodes.map(n => n.target.join(' ')),
              why: v.nodes.map(n => [...n.any, ...n.all, ...n.none].map(c => c.message)[0] || ''),
            })))""",
        WCAG_A_AA,
    )


# axe 4.14 no longer checks duplicate ids (WCAG 2.2 dropped the parsing criterion) and only
# flags a reference to a missing id for review; both still leave a field with the wrong
# label or a description that is never read. An empty `for` (Django's id_for_label of a
# group of radio buttons) labels nothing either.
ID_PROBLEMS = """() => {
  const count = new Map();
  for (const el of document.querySelectorAll('[id]')) {
    count.set(el.id, (count.get(el.id) || 0) + 1);
  }
  const problems = [...count].filter(([, n]) => n > 1)
    .map(([id, n]) => `id "${id}" is used ${n} times`);
  for (const label of document.querySelectorAll('label[for=""]')) {
    problems.push(`label "${label.textContent.trim()}" has an empty for="": it labels nothing`);
  }
  const referring = ['for', 'list', 'aria-describedby', 'aria-labelledby', 'aria-controls',
                     'aria-errormessage'];
  for (const attr of referring) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) {
          const name = el.tagName.toLowerCase()
            + (el.id ? '#' + el.id : el.name ? `[name=${el.name}]` : '');
          problems.push(`${name} ${attr}="${id}" names no element`);
        }
      }
    }
  }
  return problems;
}"""


def id_problems(page) -> list[str]:
    """Duplicate ids, and labels or ARIA attributes naming an id that is not there."""
    return [problem for frame in page.frames for problem in frame.evaluate(ID_PROBLEMS)]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']}\n"
        + "".join(
            f"    {target}: {why[:160]}\n"
            for target, why in zip(v["targets"][:10], v["why"], strict=False)
        )
        + (f"    … and {len(v['targets']) - 10} more\n" if len(v["targets"]) > 10 else "")
        for v in violations
    )


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("name", PAGES)
def test_no_serious_or_critical_wcag_violation(site, name, language):
    spec = PAGES[name]
    path = spec.setup(site)
    site.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": site.url}]
    )
    page = site.context.new_page()
    response = page.goto(site.url + path)
    assert response.status == 200, f"{path}: {response.status}"
    if spec.ready:
        page.wait_for_selector(spec.ready, state="attached", timeout=20_000)
    if spec.then:
        spec.then(page)
    # Every document in the page, the dashboard's framed heatmap too, in its language.
    langs = {frame.url: frame.locator("html").get_attribute("lang") for frame in page.frames}
    assert set(langs.values()) == {language}, langs
    # Leaflet's zoom buttons are named in the page's language, not Leaflet's English.
    zoom_in = {"en": "Zoom in", "ru": "Приблизить"}[language]
    for frame in page.frames:
        for button in frame.locator(".leaflet-control-zoom-in").all():
            assert button.get_attribute("aria-label") == zoom_in, frame.url
    violations = [v for v in axe_violations(page) if v["impact"] in FAILING]
    problems = id_problems(page)
    assert not violations and not problems, (
        f"{path} in {language}:\n{describe(violations)}" + "".join(f"  {p}\n" for p in problems)
    )
