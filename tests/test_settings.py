"""Production refuses to start without its secrets; development needs nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOAD = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"

PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "map.example.org",
    "EMAIL_URL": "smtp+tls://user:pass@mail.example.org:587",
    "DEFAULT_FROM_EMAIL": "Sosedi <map@example.org>",
    "SITE_URL": "https://map.example.org",
}


def _load(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", LOAD],
        env={**clean, "DJANGO_SETTINGS_MODULE": "mapsite.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_development_starts_with_no_configuration():
    result = _load({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_production_starts_when_configured_and_is_not_in_debug():
    result = _load(PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_URL", "DEFAULT_FROM_EMAIL", "SITE_URL"]
)
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _load(env)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"SOSEDI_H3_RESOLUTION": "12"},
        {"SOSEDI_GEOCODER": "google"},
        {"SOSEDI_GEOCODER": "nominatim"},
        {"SOSEDI_PHONE_REGION": "XX"},
        {"SOSEDI_DUPLICATE_NAME_SIMILARITY": "0.1"},
        {"SOSEDI_REPLICA_MAX_LAG_SECONDS": "0"},
        {"SOSEDI_REPLICA_MAX_LAG_SECONDS": "soon"},
        {"SOSEDI_REPLICA_CHECK_SECONDS": "-1"},
        {"DJANGO_ENV": "staging"},
    ],
)
def test_nonsense_settings_are_refused_at_start(env):
    assert _load(env).returncode != 0
