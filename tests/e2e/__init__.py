"""End-to-end tests in Debian's Chromium, driven by Playwright."""

import os
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
