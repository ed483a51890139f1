"""Sosedi's Django settings, driven by environment variables; the product's own SOSEDI_*
settings are in mapsite/sosedi.py, imported below.

Development needs no configuration. With DJANGO_ENV=production the app refuses to start
unless SECRET_KEY, ALLOWED_HOSTS, EMAIL_URL and DEFAULT_FROM_EMAIL are set.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"
# In production the app runs behind nginx, whose X-Real-IP header is the client's address
# (supporters/ratelimit.py: client_ip); anywhere else REMOTE_ADDR is.
CLIENT_IP_FROM_PROXY = PRODUCTION

if PRODUCTION:
    # No defaults: a missing secret stops the process at start-up.
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    DEBUG = env.bool("DEBUG", default=False)
else:
    SECRET_KEY = env.str("SECRET_KEY", default="development-only-not-secret-0b7f1c5e9a")
    ALLOWED_HOSTS = env.list(
        "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"]
    )
    DEBUG = env.bool("DEBUG", default=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "leaflet",
    "procrastinate.contrib.django",
    "geo",
    "supporters",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mapsite.urls"
WSGI_APPLICATION = "mapsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supporters.context_processors.sosedi",
            ],
        },
    },
]

# The local default matches the cluster that `make setup` (scripts/db.sh) creates.
PGPORT = env.int("SOSEDI_PGPORT", default=54329)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"postgis://sosedi@127.0.0.1:{PGPORT}/sosedi"),
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Lets several test runs share one cluster, each with its own test database.
DATABASES["default"]["TEST"] = {"NAME": env.str("SOSEDI_TEST_DB", default="test_sosedi")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Email. Development keeps mail in the outbox table only (read it at /dev/outbox/);
# production sends through SMTP given as EMAIL_URL, e.g. smtp+tls://user:pass@host:587.
if PRODUCTION:
    vars().update(env.email_url("EMAIL_URL"))
    DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL")
else:
    if "EMAIL_URL" in env:
        vars().update(env.email_url("EMAIL_URL"))
    else:
        EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Sosedi <sosedi@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The site's own address, for links in emails sent by the worker (no request there).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
if PRODUCTION and "SITE_URL" not in env:
    raise ImproperlyConfigured("Set SITE_URL (e.g. https://map.example.org) in production.")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SILENCED_SYSTEM_CHECKS = [
    # Debian 12 ships GDAL 3.6. Sosedi never opens spatial files or spatial references
    # that users supply (only lat/lon numbers and WKT it builds itself).
    "gis.W001",
]

# Procrastinate, the PostgreSQL-backed worker.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "procrastinate": {"level": env.str("WORKER_LOG_LEVEL", default="WARNING")},
    },
}

# django-leaflet: every asset is served by the app. The base map of every map is
# SOSEDI_BASEMAP (mapsite/sosedi.py, geo/basemap.py): by default the installed PMTiles
# archive, served by the app itself, else country outlines; no tile server unless one is
# configured. SOSEDI_TILE_URL, from before it, still works when SOSEDI_BASEMAP is unset:
# a URL is tiles:URL, empty is none; unset (None) leaves the choice to SOSEDI_BASEMAP.
TILE_URL = env.str("SOSEDI_TILE_URL", default=None)
TILE_ATTRIBUTION = env.str(
    "SOSEDI_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
)
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (55.75, 37.62),
    "DEFAULT_ZOOM": 4,
    "MIN_ZOOM": 2,
    "MAX_ZOOM": 18,
    "TILES": [],  # the admin's map widgets: the tile server, when one is configured (below)
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
}


# Sosedi's own settings, SOSEDI_* by feature (privacy thresholds, limits, schedules).
from mapsite.sosedi import *  # noqa: E402, F403

# Front-end packages installed by `npm ci` (package-lock.json) and served as static files.
STATICFILES_DIRS += [
    ("vendor/leaflet.heat", BASE_DIR / "node_modules" / "leaflet.heat" / "dist"),
    ("vendor/topojson-client", BASE_DIR / "node_modules" / "topojson-client" / "dist"),
    ("vendor/world-atlas", BASE_DIR / "node_modules" / "world-atlas"),
    # Home pins snap to their hexagon in the page itself (static/js/location-field.js).
    ("vendor/h3-js", BASE_DIR / "node_modules" / "h3-js" / "dist"),
    # The vector base map's renderer, with pmtiles inside (static/js/base-layer.js).
    ("vendor/protomaps-leaflet", BASE_DIR / "node_modules" / "protomaps-leaflet" / "dist"),
]
if SOSEDI_BASEMAP_TILE_URL:  # noqa: F405
    LEAFLET_CONFIG["TILES"] = [
        ("Tiles", SOSEDI_BASEMAP_TILE_URL, {"attribution": TILE_ATTRIBUTION})  # noqa: F405
    ]
# Loaded on the public map through django-leaflet's {% leaflet_js plugins="…" %}.
LEAFLET_CONFIG["PLUGINS"] = {
    "heat": {"js": ["vendor/leaflet.heat/leaflet-heat.js"]},
    "topojson": {"js": ["vendor/topojson-client/topojson-client.min.js"]},
}

# Content-Security-Policy (django-csp 4): everything from this site, the base map's
# archive included; a tile server only when SOSEDI_BASEMAP=tiles:URL names one. Framing
# is denied except on /map/embed/.
INSTALLED_APPS += ["csp"]
MIDDLEWARE += ["csp.middleware.CSPMiddleware"]


def _tile_origin(url: str) -> list[str]:
    """The CSP source of a tile URL template: 'https://{s}.tile.example/…' → 'https://*.tile.example'."""
    from urllib.parse import urlsplit

    if not url:
        return []
    parts = urlsplit(url.replace("{s}", "tiles-subdomain"))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured("A tile URL must be an http(s) URL template.")
    host = parts.netloc.replace("tiles-subdomain", "*")
    return [f"{parts.scheme}://{host}"]


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_tile_origin(SOSEDI_BASEMAP_TILE_URL)],  # noqa: F405
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Organizer workspace (issue 4): roles, two-factor login, lockout, audit --------------
# Organizer pages and /admin/ need a password and a second factor (TOTP app or a one-time
# recovery code); see supporters/organize/. Repeated failed logins lock the account out.
from datetime import timedelta  # noqa: E402

INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "supporters.organize.middleware.StaffTwoFactorMiddleware",
)
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as django-axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "organize:login"
LOGIN_REDIRECT_URL = "organize:dashboard"

# django-axes: N failed logins for one username (from any address), or from one address
# (for any username), lock that username or address out for the cool-off time; an admin
# lifts a lock early with `manage.py axes_reset_username NAME` or `axes_reset_ip IP`.
AXES_FAILURE_LIMIT = env.int("SOSEDI_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SOSEDI_LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "organize/locked.html"
AXES_CLIENT_IP_CALLABLE = "supporters.ratelimit.client_ip"
AXES_VERBOSE = False

# django-otp: the issuer shown in authenticator apps; TOTP codes are 6 digits / 30 s.
OTP_TOTP_ISSUER = env.str("SOSEDI_OTP_ISSUER", default="Sosedi")

# Idle sessions expire: every request renews the cookie, so SESSION_COOKIE_AGE is the
# idle limit. Public visitors have no session (language is a cookie of its own).
SESSION_COOKIE_AGE = env.int("SOSEDI_SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True

# Background jobs of the workspace (imports, bulk messages).
PROCRASTINATE_IMPORT_PATHS = ["supporters.organize.tasks"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024


# --- Reliability and security (issue 7): ops/ -------------------------------------------
# Backups (`manage.py backup` / `restore`), a 503 while the database is away, the
# read-only /api/ (its OpenAPI document at /api/schema/ comes from mapsite/api.py).
# docs/deploy/ holds the production configuration this is checked against
# (`manage.py check --deploy --fail-level WARNING`, tests/ops/test_deploy.py).
INSTALLED_APPS += ["ops"]
# The public JSON API (/api/) is read-only: other methods get 405 before the CSRF check.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.csrf.CsrfViewMiddleware"),
    "ops.middleware.ReadOnlyApiMiddleware",
)
if PRODUCTION:
    # Sends the `preload` token; submitting the domain to the browsers' list stays a choice.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# The largest form body (a 500-vertex segment polygon, a 20,000-character Cyrillic mail) is
# a few hundred kB URL-encoded; beyond this, 400. CSV imports are files and don't count.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("SOSEDI_MAX_FORM_BYTES", default=1024 * 1024)
# The database never makes a request hang: connecting gives up after a few seconds, TCP
# keepalives notice a peer that vanished, and with SOSEDI_DB_STATEMENT_TIMEOUT (seconds,
# 0 = none; docs/deploy/sosedi-web.service sets 30) a query is cancelled.
DATABASES["default"].setdefault("OPTIONS", {}).update(
    {
        "connect_timeout": env.int("SOSEDI_DB_CONNECT_TIMEOUT", default=5),
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
)
if _statement_timeout := env.int("SOSEDI_DB_STATEMENT_TIMEOUT", default=0):
    DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={_statement_timeout}s"
# An SMTP server that accepts the connection and then says nothing must not hold the
# worker forever: the attempt fails and is retried with backoff.
EMAIL_TIMEOUT = env.int("SOSEDI_EMAIL_TIMEOUT", default=30)
# Inline scripts run only with the response's own nonce, never 'unsafe-inline': the admin's
# map widgets (django-leaflet) ask for one; pages that don't get no nonce in their header.
from csp.constants import NONCE  # noqa: E402

CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"] = [
    *CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"],
    NONCE,
]
# django-axes records failed logins under the typed username: keep it storable (ops/axes.py).
AXES_USERNAME_CALLABLE = "ops.axes.axes_username"

# --- Nearby introductions and local events (issue 5): supporters/nearby/ ---------------
PROCRASTINATE_IMPORT_PATHS = [
    *globals().get("PROCRASTINATE_IMPORT_PATHS", []),
    "supporters.nearby.tasks",
    "supporters.groups.tasks",
    "supporters.sms.tasks",
    "supporters.sms.texting_tasks",
]

# --- Past one machine (issue 14): ops/replica.py, docs/SCALING.md, docs/FAILOVER.md -------
# DATABASE_REPLICA_URL (optional): a streaming replica. Views marked @reads_may_lag (the
# public map and its cells, public events and groups, the organizer dashboard, heatmap and
# exports) read from it while it is reachable and at most SOSEDI_REPLICA_MAX_LAG_SECONDS
# behind; everything else, the worker and every write use the primary (DATABASE_URL).
DATABASE_ROUTERS = ["ops.replica.ReplicaRouter"]
if "DATABASE_REPLICA_URL" in env:
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db("DATABASE_REPLICA_URL"),
        "ENGINE": DATABASES["default"]["ENGINE"],
        # A standby cannot hold a test database: in tests the alias is the default one.
        "TEST": {"MIRROR": "default"},
    }
    # A replica that does not answer is skipped quickly rather than waited for.
    DATABASES["replica"]["OPTIONS"] = {
        **DATABASES["default"]["OPTIONS"],
        "connect_timeout": env.int("SOSEDI_REPLICA_CONNECT_TIMEOUT", default=2),
    }
# Behind pgbouncer in transaction mode (SOSEDI_DB_POOLED=true, docs/deploy/pgbouncer.ini) a
# client's statements may run on different server connections: no server-side prepared
# statements (psycopg's prepare_threshold) nor cursors, and no startup `options` (pgbouncer
# refuses them; its connect_query sets the statement timeout instead).
SOSEDI_DB_POOLED = env.bool("SOSEDI_DB_POOLED", default=False)
# The worker holds a LISTEN session and long transactions, which a transaction pool cannot
# keep: its unit sets SOSEDI_DB_DIRECT=true, and DATABASE_DIRECT_URL (PostgreSQL itself,
# not the pooler) replaces DATABASE_URL for it, as for migrations and backups.
if env.bool("SOSEDI_DB_DIRECT", default=False) and "DATABASE_DIRECT_URL" in env:
    _direct = env.db("DATABASE_DIRECT_URL")
    DATABASES["default"].update(
        {k: _direct[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
    )
    SOSEDI_DB_POOLED = False
if SOSEDI_DB_POOLED:
    for _alias in DATABASES.values():
        _alias["DISABLE_SERVER_SIDE_CURSORS"] = True
        _alias["OPTIONS"] = {
            **{k: v for k, v in _alias["OPTIONS"].items() if k != "options"},
            "prepare_threshold": None,
        }
SOSEDI_REPLICA_MAX_LAG_SECONDS = env.float("SOSEDI_REPLICA_MAX_LAG_SECONDS", default=10)
SOSEDI_REPLICA_CHECK_SECONDS = env.float("SOSEDI_REPLICA_CHECK_SECONDS", default=5)
if not 0 < SOSEDI_REPLICA_MAX_LAG_SECONDS <= 3600 or not 0 < SOSEDI_REPLICA_CHECK_SECONDS <= 300:
    raise ImproperlyConfigured(
        "SOSEDI_REPLICA_MAX_LAG_SECONDS must be in (0, 3600] and SOSEDI_REPLICA_CHECK_SECONDS"
        " in (0, 300]."
    )
