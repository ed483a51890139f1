"""The documented production configuration (docs/deploy/) passes Django's deploy checks."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"


def documented_env() -> dict[str, str]:
    """docs/deploy/sosedi.env, with a real secret where it says change-me."""
    env = {}
    for line in (DEPLOY / "sosedi.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["SOSEDI_BACKUP_PASSPHRASE"] = secrets.token_urlsafe(24)
    return env


def run_production(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    # Nothing from the test run's own environment may stand in for the documented one.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in env and not k.startswith(("SOSEDI_", "DJANGO_")) and k != "DEBUG"
    }
    return subprocess.run(
        [sys.executable, *args],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_security_settings() -> dict:
    """The security settings production really runs with (read in a subprocess)."""
    names = [
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_SAMESITE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REFERRER_POLICY",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "DATA_UPLOAD_MAX_MEMORY_SIZE",
    ]
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    env = {**documented_env(), "DJANGO_SETTINGS_MODULE": "mapsite.settings"}
    result = run_production(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_documented_production_configuration_passes_check_deploy():
    result = run_production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], documented_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_the_placeholder_secret_is_left_in():
    env = {**documented_env(), "SECRET_KEY": "change-me"}
    result = run_production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_production_cookies_and_transport_are_locked_down():
    s = production_security_settings()
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SESSION_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert s["CSRF_COOKIE_SECURE"] and s["CSRF_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert s["SECURE_SSL_REDIRECT"] and s["SECURE_HSTS_SECONDS"] >= 365 * 86400
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert 64 * 1024 <= s["DATA_UPLOAD_MAX_MEMORY_SIZE"] <= 2 * 1024 * 1024


def test_the_units_and_nginx_agree_with_each_other():
    web = (DEPLOY / "sosedi-web.service").read_text()
    worker = (DEPLOY / "sosedi-worker.service").read_text()
    nginx = (DEPLOY / "nginx.conf").read_text()
    for unit in (web, worker):
        assert "EnvironmentFile=/etc/sosedi/sosedi.env" in unit
        assert "User=sosedi" in unit and "Restart=always" in unit
    assert "gunicorn mapsite.wsgi" in web and "--bind 127.0.0.1:8000" in web
    assert "SOSEDI_DB_STATEMENT_TIMEOUT" in web
    assert "access-logfile" not in web  # URLs carry signed links
    assert "manage.py procrastinate worker" in worker
    assert "server 127.0.0.1:8000" in nginx
    # Production trusts these two headers, so nginx must overwrite them.
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "proxy_set_header X-Real-IP $remote_addr;" in nginx
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in nginx
    assert (ROOT / "mapsite" / "wsgi.py").exists()


def test_pgbouncer_pgbackrest_and_the_units_agree_with_the_environment():
    from urllib.parse import urlsplit

    env = documented_env()
    pgbouncer = (DEPLOY / "pgbouncer.ini").read_text()
    pooled, direct = urlsplit(env["DATABASE_URL"]), urlsplit(env["DATABASE_DIRECT_URL"])
    # The web app talks to pgbouncer in transaction mode, which forwards to PostgreSQL itself.
    assert env["SOSEDI_DB_POOLED"] == "true"
    assert f"listen_port = {pooled.port}" in pgbouncer
    assert "pool_mode = transaction" in pgbouncer
    assert f"sosedi = host={direct.hostname} port={direct.port} dbname=sosedi" in pgbouncer
    assert "statement_timeout" in pgbouncer  # the `options` parameter cannot pass pgbouncer
    # The worker (LISTEN) and the dump (one snapshot) connect directly.
    for unit in ("sosedi-worker.service", "sosedi-backup.service"):
        assert "Environment=SOSEDI_DB_DIRECT=true" in (DEPLOY / unit).read_text()
    assert "SOSEDI_DB_DIRECT" not in (DEPLOY / "sosedi-web.service").read_text()
    # pgBackRest: an encrypted repository with retention, backed up by both timers.
    pgbackrest = (DEPLOY / "pgbackrest.conf").read_text()
    assert "repo1-cipher-type=aes-256-cbc" in pgbackrest
    assert "repo1-retention-full=" in pgbackrest and "[sosedi]" in pgbackrest
    assert "--stanza=sosedi --type=%i backup" in (DEPLOY / "sosedi-pgbackrest@.service").read_text()
    for kind in ("full", "diff"):
        timer = (DEPLOY / f"sosedi-pgbackrest-{kind}.timer").read_text()
        assert f"Unit=sosedi-pgbackrest@{kind}.service" in timer
