"""End-to-end tests in Debian's Chromium, driven by Playwright."""

import os
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to test-artifacts/ (ignored by git); `make screenshots` points this at
# docs/img/ to refresh the README's pictures.
SCREENSHOTS = Path(os.environ.get("SOSEDI_SCREENSHOTS") or ROOT / "test-artifacts")
SCREENSHOTS.mkdir(parents=True, exist_ok=True)

CHROMIUM = "/usr/bin/chromium"


def chromium(playwright):
    """Debian's Chromium, headless, asking nothing of the network on its own."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    )


@contextmanager
def launched_chromium():
    """Debian's Chromium for a whole test module (a module-scoped fixture yields it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        yield browser
        browser.close()


def watched_page(browser, *, width: int = 1100, height: int = 900):
    """A page in a browser context of its own (its own cookies: one person at one
    computer), recording the hosts it asks (`hosts_requested`) and its console errors."""
    from urllib.parse import urlsplit

    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": height})
    page = context.new_page()
    page.hosts_requested = set()
    page.console_errors = []
    page.on("request", lambda r: page.hosts_requested.add(urlsplit(r.url).netloc))
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    return page


def open_mail(page, live_server, *, to: str, subject_contains: str) -> str:
    """Open the newest matching mail in the development outbox; its first link."""
    page.goto(f"{live_server.url}/dev/outbox/")
    row = page.locator("tr", has_text=to).filter(has_text=subject_contains).first
    row.locator("a").click()
    return page.locator("pre.mail-body a").first.get_attribute("href")


def nearby_sign_in(page, live_server, email: str) -> None:
    """As an activist does: /nearby/, a sign-in link by mail, the button on its page."""
    page.goto(f"{live_server.url}/nearby/")
    page.fill("#id_email", email)
    page.click("button[type=submit]:has-text('Email me a sign-in link')")
    page.wait_for_selector("h1:has-text('Check your email')")
    link = open_mail(page, live_server, to=email, subject_contains="sign-in link")
    page.goto(link)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/nearby/")


def organizer_log_in(page, live_server, *, username: str, password: str, device) -> None:
    """An organizer's two steps: password, then the TOTP code of their phone."""
    from django_otp.oath import totp

    page.goto(f"{live_server.url}/organize/")
    page.wait_for_url("**/organize/login/**")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url("**/organize/verify/**")
    page.fill("#id_token", f"{totp(device.bin_key, step=30, t0=0, digits=6, drift=0):06d}")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/organize/")


def worker_run(run_worker, *, queue: str) -> None:
    """The worker until `queue` is empty, in a thread of its own: Playwright's sync API
    keeps an event loop running in this one, and the worker starts its own."""
    import threading

    failures = []

    def run():
        try:
            run_worker(queues=[queue])
        except Exception as exc:  # re-raised below, in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the worker did not finish within 60 s"
    if failures:
        raise failures[0]
