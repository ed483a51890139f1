"""scripts/run.sh (`make run`), with a stand-in for .venv/bin/python that records each call."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/usr/bin/env bash
echo "SITE_URL=${SITE_URL-unset} $*" >> "$RUN_LOG"
case "$*" in
  *"demo_organizer --shell"*) echo "organizer pw-demo abcd2345 JBSWY3DPEHPK3PXP" ;;
esac
"""


def run_script(tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    """Run a copy of scripts/run.sh whose python only logs; (banner, logged calls)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    log = tmp_path / "calls.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SOSEDI_", "SITE_URL"))}
    result = subprocess.run(
        [shutil.which("bash"), str(tmp_path / "scripts" / "run.sh")],
        env={**clean, "RUN_LOG": str(log), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout, log.read_text().splitlines()


def test_links_in_emails_follow_the_port_make_run_serves_on(tmp_path):
    banner, calls = run_script(tmp_path, SOSEDI_HOST="127.0.0.1", SOSEDI_PORT="8123")
    manage = [c for c in calls if " manage.py " in c]
    assert any("runserver 127.0.0.1:8123" in c for c in manage)
    assert any("procrastinate worker" in c for c in manage)
    # The web server, the worker and the demo data all build links to where it serves.
    assert all(c.startswith("SITE_URL=http://127.0.0.1:8123 ") for c in manage), manage
    assert "http://127.0.0.1:8123/organize/" in banner


def test_a_site_url_that_is_set_is_kept(tmp_path):
    _banner, calls = run_script(tmp_path, SOSEDI_PORT="8123", SITE_URL="https://map.example.org")
    manage = [c for c in calls if " manage.py " in c]
    assert manage and all(c.startswith("SITE_URL=https://map.example.org ") for c in manage)


def test_the_banner_calls_the_code_a_single_use_recovery_code_and_explains_the_totp_key(tmp_path):
    banner, _calls = run_script(tmp_path, SOSEDI_PORT="8123")
    assert "login: organizer / pw-demo" in banner
    assert "the single-use recovery code abcd2345" in banner
    assert "TOTP key JBSWY3DPEHPK3PXP to an authenticator" in banner
    assert "6-digit" in banner
    assert "one-time code" not in banner
