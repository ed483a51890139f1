"""Sosedi's own settings (SOSEDI_*), by feature: the rules of the product rather than
Django's configuration, which is mapsite/settings.py (it imports every name here).
Each comes from the environment variable of the same name unless it says otherwise; the
README's configuration table lists them. Values that would weaken a privacy rule stop the
app at start-up."""

from pathlib import Path

import environ
import phonenumbers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# --- Sign-up, links and places ---------------------------------------------------------
# Resolution of the H3 cell a supporter is snapped to (8 is about 0.74 km²).
SOSEDI_H3_RESOLUTION = env.int("SOSEDI_H3_RESOLUTION", default=8)
if not 5 <= SOSEDI_H3_RESOLUTION <= 10:
    raise ImproperlyConfigured("SOSEDI_H3_RESOLUTION must be between 5 and 10.")

SOSEDI_CONFIRM_LINK_MAX_AGE = env.int("SOSEDI_CONFIRM_LINK_HOURS", default=72) * 3600
SOSEDI_MANAGE_LINK_MAX_AGE = env.int("SOSEDI_MANAGE_LINK_DAYS", default=30) * 86400
SOSEDI_SIGNUPS_PER_IP_PER_HOUR = env.int("SOSEDI_SIGNUPS_PER_IP_PER_HOUR", default=10)
SOSEDI_LOCATION_CHANGES_PER_MONTH = env.int("SOSEDI_LOCATION_CHANGES_PER_MONTH", default=3)

# Street- and postcode-level geocoding through geopy, off by default. Point it at a
# self-hosted Nominatim or Photon: SOSEDI_GEOCODER=nominatim|photon, SOSEDI_GEOCODER_URL.
SOSEDI_GEOCODER = env.str("SOSEDI_GEOCODER", default="")
SOSEDI_GEOCODER_URL = env.str("SOSEDI_GEOCODER_URL", default="")
SOSEDI_GEOCODER_USER_AGENT = env.str("SOSEDI_GEOCODER_USER_AGENT", default="sosedi")
SOSEDI_GEOCODER_MIN_DELAY = env.float("SOSEDI_GEOCODER_MIN_DELAY", default=1.0)
SOSEDI_GEOCODER_TIMEOUT = env.float("SOSEDI_GEOCODER_TIMEOUT", default=5.0)
if SOSEDI_GEOCODER not in {"", "nominatim", "photon"}:
    raise ImproperlyConfigured("SOSEDI_GEOCODER must be empty, 'nominatim' or 'photon'.")
if SOSEDI_GEOCODER and not SOSEDI_GEOCODER_URL:
    raise ImproperlyConfigured("SOSEDI_GEOCODER_URL is required when SOSEDI_GEOCODER is set.")

# Demo organizer created by seed_demo (development only).
SOSEDI_DEMO_ORGANIZER = ("organizer", "sosedi-demo-2026")

# --- Public map (issue 3): snapshot, cells API, /map/ and /map/embed/ -----------------
# A cell is published only with at least k distinct supporters (PRODUCT.md, privacy
# point 3); below 5 the app refuses to start.
SOSEDI_MAP_K = env.int("SOSEDI_MAP_K", default=10)
if SOSEDI_MAP_K < 5:
    raise ImproperlyConfigured(
        "SOSEDI_MAP_K must be 5 or more: smaller public cells could single a person out."
    )
# Each published count gets two-sided geometric noise, P(x) ∝ exp(-ε·|x|), then is rounded
# to a multiple of 5. The noise is keyed on (cell, true count) with this key, so an
# unchanged cell keeps its published count from one snapshot to the next and averaging
# many snapshots does not wash the noise out. Defaults to a key derived from SECRET_KEY.
SOSEDI_MAP_NOISE_EPSILON = env.float("SOSEDI_MAP_NOISE_EPSILON", default=0.5)
if not 0.05 <= SOSEDI_MAP_NOISE_EPSILON <= 5:
    raise ImproperlyConfigured("SOSEDI_MAP_NOISE_EPSILON must be between 0.05 and 5.")
SOSEDI_MAP_NOISE_KEY = env.str("SOSEDI_MAP_NOISE_KEY", default="")
# When the worker rebuilds the snapshot (cron, UTC); empty turns the schedule off and
# leaves `manage.py refresh_map` as the only way.
SOSEDI_MAP_REFRESH_CRON = env.str("SOSEDI_MAP_REFRESH_CRON", default="0 * * * *")
# The most cells one /api/public/cells response holds; beyond it a coarser resolution is
# served instead.
SOSEDI_MAP_MAX_CELLS = env.int("SOSEDI_MAP_MAX_CELLS", default=1500)
if SOSEDI_MAP_MAX_CELLS < 100:
    raise ImproperlyConfigured("SOSEDI_MAP_MAX_CELLS must be 100 or more.")
# How long browsers and proxies may reuse a cells response (it also carries an ETag).
SOSEDI_MAP_CACHE_SECONDS = env.int("SOSEDI_MAP_CACHE_SECONDS", default=300)

# --- Base map (issue 16): geo/basemap.py, static/js/base-layer.js ----------------------
# `pmtiles:PATH` (vector tiles from one file the app serves itself), `tiles:URL` (a raster
# tile server), `none` (country outlines only). Empty: the archive installed with
# `manage.py basemap_install` (SOSEDI_BASEMAP_DIR/basemap.pmtiles), else the demo one
# `make setup` builds (SOSEDI_BASEMAP_DIR/demo.pmtiles), else none: never a third party
# unless it is named here.
# The older SOSEDI_TILE_URL still works while this is empty: a URL is tiles:URL, "" none.
SOSEDI_BASEMAP = env.str("SOSEDI_BASEMAP", default="").strip()
if SOSEDI_BASEMAP and not (
    SOSEDI_BASEMAP == "none"
    or (SOSEDI_BASEMAP.startswith("pmtiles:") and len(SOSEDI_BASEMAP) > len("pmtiles:"))
    or SOSEDI_BASEMAP.startswith(("tiles:http://", "tiles:https://"))
):
    raise ImproperlyConfigured(
        "SOSEDI_BASEMAP must be pmtiles:PATH, tiles:URL (http or https), none, or empty."
    )
# Where `manage.py basemap_install` puts an archive and `basemap_build` the demo one.
SOSEDI_BASEMAP_DIR = env.path("SOSEDI_BASEMAP_DIR", default=BASE_DIR / "var" / "basemap")
# The tile server the Content-Security-Policy must allow, if any.
if SOSEDI_BASEMAP:
    SOSEDI_BASEMAP_TILE_URL = (
        SOSEDI_BASEMAP.removeprefix("tiles:") if SOSEDI_BASEMAP.startswith("tiles:") else ""
    )
else:
    SOSEDI_BASEMAP_TILE_URL = env.str("SOSEDI_TILE_URL", default="")

# --- Organizer workspace (issue 4, imports and duplicates issue 11): supporters/organize/
# The audit log keeps where each action came from: the client IP address, or with
# SOSEDI_AUDIT_HASH_IP=true a keyed hash of it (comparable, not readable).
SOSEDI_AUDIT_HASH_IP = env.bool("SOSEDI_AUDIT_HASH_IP", default=False)
# Mail to a segment is queued in batches of this many recipients per transaction.
SOSEDI_MAILING_BATCH = env.int("SOSEDI_MAILING_BATCH", default=500)
# Rows an import handles per transaction (and per progress update).
SOSEDI_IMPORT_BATCH = env.int("SOSEDI_IMPORT_BATCH", default=1000)
# Where uploaded CSV files wait for the worker; each is deleted once imported.
SOSEDI_IMPORT_DIR = env.path("SOSEDI_IMPORT_DIR", default=BASE_DIR / "var" / "imports")
# An upload left on its mapping page, or after its dry run, is deleted after this many days.
SOSEDI_IMPORT_KEEP_DAYS = env.int("SOSEDI_IMPORT_KEEP_DAYS", default=7)
# Possible duplicates (supporters/organize/duplicates.py), looked for by the worker on
# SOSEDI_DUPLICATES_CRON and on an organizer's request: the same phone number (one written
# without a country code is read as SOSEDI_PHONE_REGION's), unless more than
# SOSEDI_DUPLICATE_PHONE_SHARED_BY people give it (an office, a placeholder); or names at
# least SOSEDI_DUPLICATE_NAME_SIMILARITY alike (pg_trgm similarity, 0-1) in one hexagon or town.
SOSEDI_PHONE_REGION = env.str("SOSEDI_PHONE_REGION", default="RU").upper()
if SOSEDI_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured("SOSEDI_PHONE_REGION must be a country code, such as RU.")
SOSEDI_DUPLICATE_PHONE_SHARED_BY = env.int("SOSEDI_DUPLICATE_PHONE_SHARED_BY", default=5)
if SOSEDI_DUPLICATE_PHONE_SHARED_BY < 2:
    raise ImproperlyConfigured("SOSEDI_DUPLICATE_PHONE_SHARED_BY must be 2 or more.")
SOSEDI_DUPLICATE_NAME_SIMILARITY = env.float("SOSEDI_DUPLICATE_NAME_SIMILARITY", default=0.6)
if not 0.3 <= SOSEDI_DUPLICATE_NAME_SIMILARITY <= 1:
    raise ImproperlyConfigured("SOSEDI_DUPLICATE_NAME_SIMILARITY must be between 0.3 and 1.")
SOSEDI_DUPLICATES_CRON = env.str("SOSEDI_DUPLICATES_CRON", default="40 2 * * *")

# --- Backups (issue 7): ops/ -----------------------------------------------------------
# `manage.py backup` encrypts with a key derived from this passphrase (scrypt, AES-256-GCM);
# `restore` needs the same one. Keep it outside the server, next to the backups' copies.
SOSEDI_BACKUP_PASSPHRASE = env.str("SOSEDI_BACKUP_PASSPHRASE", default="")
SOSEDI_BACKUP_DIR = env.path("SOSEDI_BACKUP_DIR", default=BASE_DIR / "var" / "backups")

# --- Nearby introductions and local events (issue 5): supporters/nearby/ ---------------
# One-time sign-in links for activists at /nearby/ work this long, once.
SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES = env.int("SOSEDI_NEARBY_SIGN_IN_LINK_MINUTES", default=20)
# Sign-in links mailed per address per hour (and per client IP, ten times that).
SOSEDI_NEARBY_SIGN_INS_PER_HOUR = env.int("SOSEDI_NEARBY_SIGN_INS_PER_HOUR", default=3)
# k for nearby: every count of other people an activist sees (bands, requests, event
# invitations) says only "fewer than k" below it, for 0 as for k - 1; from k on, counts
# are rounded down to a multiple of 5. Never below 3.
SOSEDI_NEARBY_K = env.int("SOSEDI_NEARBY_K", default=5)
if SOSEDI_NEARBY_K < 3:
    raise ImproperlyConfigured("SOSEDI_NEARBY_K must be 3 or more.")
# An account counts in other people's nearby answers, and is asked for introductions,
# once it has lived at its home this many days (moving starts again). At least 7.
SOSEDI_NEARBY_SETTLE_DAYS = env.int("SOSEDI_NEARBY_SETTLE_DAYS", default=14)
if SOSEDI_NEARBY_SETTLE_DAYS < 7:
    raise ImproperlyConfigured("SOSEDI_NEARBY_SETTLE_DAYS must be 7 or more.")
# Accounts that sign up in, or move their home to, one resolution-7 area (about 5 km²)
# in a week: past this many, all of that week's arrivals there are held from nearby for a
# week or until a moderator releases the area (supporters/nearby/holds.py). At least k.
SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK = env.int("SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK", default=10)
if SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK < SOSEDI_NEARBY_K:
    raise ImproperlyConfigured(
        "SOSEDI_NEARBY_ARRIVALS_PER_AREA_WEEK must be at least SOSEDI_NEARBY_K."
    )
# Limits (PRODUCT.md, privacy point 5): beyond them, HTTP 429 and a message.
SOSEDI_INTRODUCTION_REQUESTS_PER_WEEK = env.int("SOSEDI_INTRODUCTION_REQUESTS_PER_WEEK", default=3)
SOSEDI_INTRODUCTION_EMAILS_PER_WEEK = env.int("SOSEDI_INTRODUCTION_EMAILS_PER_WEEK", default=2)
SOSEDI_INTRODUCTION_MAX_CANDIDATES = 5
SOSEDI_INTRODUCTION_EXPIRY_DAYS = env.int("SOSEDI_INTRODUCTION_EXPIRY_DAYS", default=14)
SOSEDI_EVENT_PROPOSALS_PER_WEEK = env.int("SOSEDI_EVENT_PROPOSALS_PER_WEEK", default=2)
SOSEDI_EVENT_INVITATIONS_PER_WEEK = env.int("SOSEDI_EVENT_INVITATIONS_PER_WEEK", default=2)
# Organizers approve events before any invitation goes out; false publishes at once.
SOSEDI_EVENTS_REQUIRE_APPROVAL = env.bool("SOSEDI_EVENTS_REQUIRE_APPROVAL", default=True)
# When the worker expires old introductions and sends the day-before reminders (cron, UTC).
SOSEDI_NEARBY_HOUSEKEEPING_CRON = env.str("SOSEDI_NEARBY_HOUSEKEEPING_CRON", default="*/15 * * * *")

# --- Local groups (issue 12): supporters/groups/ ---------------------------------------
# A group's area: a town is a circle of this radius around it; a circle is at most 25 km;
# a drawn area at least a resolution-7 hexagon (geo/areas.py) and at most this large.
SOSEDI_GROUP_TOWN_RADIUS_KM = env.float("SOSEDI_GROUP_TOWN_RADIUS_KM", default=10)
if not 2 <= SOSEDI_GROUP_TOWN_RADIUS_KM <= 25:
    raise ImproperlyConfigured("SOSEDI_GROUP_TOWN_RADIUS_KM must be between 2 and 25.")
SOSEDI_GROUP_MAX_AREA_KM2 = env.int("SOSEDI_GROUP_MAX_AREA_KM2", default=50000)
# Limits (429 with a message beyond them).
SOSEDI_GROUP_PROPOSALS_PER_MONTH = env.int("SOSEDI_GROUP_PROPOSALS_PER_MONTH", default=2)
SOSEDI_GROUP_JOINS_PER_HOUR = env.int("SOSEDI_GROUP_JOINS_PER_HOUR", default=5)
SOSEDI_GROUP_MAILS_PER_WEEK = env.int("SOSEDI_GROUP_MAILS_PER_WEEK", default=2)

# --- Text messages (issue 13): supporters/sms/ ------------------------------------------
# The gateway texts go through: "outbox" (nothing leaves; /dev/outbox/ shows them),
# "android" (SMS Gateway for Android, an open-source app on a phone of your own) or
# "twilio" (Twilio's Messages API, or any provider speaking it). README "Text messages".
SOSEDI_SMS_GATEWAY = env.str("SOSEDI_SMS_GATEWAY", default="outbox")
if SOSEDI_SMS_GATEWAY not in ("outbox", "android", "twilio"):
    raise ImproperlyConfigured("SOSEDI_SMS_GATEWAY must be outbox, android or twilio.")
SOSEDI_SMS_ANDROID_URL = env.str("SOSEDI_SMS_ANDROID_URL", default="")  # http://phone:8080
SOSEDI_SMS_ANDROID_USER = env.str("SOSEDI_SMS_ANDROID_USER", default="")
SOSEDI_SMS_ANDROID_PASSWORD = env.str("SOSEDI_SMS_ANDROID_PASSWORD", default="")
SOSEDI_SMS_ANDROID_SIGNING_KEY = env.str("SOSEDI_SMS_ANDROID_SIGNING_KEY", default="")
SOSEDI_SMS_TWILIO_URL = env.str("SOSEDI_SMS_TWILIO_URL", default="https://api.twilio.com")
SOSEDI_SMS_TWILIO_ACCOUNT_SID = env.str("SOSEDI_SMS_TWILIO_ACCOUNT_SID", default="")
SOSEDI_SMS_TWILIO_AUTH_TOKEN = env.str("SOSEDI_SMS_TWILIO_AUTH_TOKEN", default="")
SOSEDI_SMS_TWILIO_FROM = env.str("SOSEDI_SMS_TWILIO_FROM", default="")  # +7..., or MG...
SOSEDI_SMS_TIMEOUT = env.int("SOSEDI_SMS_TIMEOUT", default=30)
if SOSEDI_SMS_GATEWAY == "android" and not (
    SOSEDI_SMS_ANDROID_URL and SOSEDI_SMS_ANDROID_SIGNING_KEY
):
    raise ImproperlyConfigured(
        "The android gateway needs SOSEDI_SMS_ANDROID_URL and SOSEDI_SMS_ANDROID_SIGNING_KEY."
    )
if SOSEDI_SMS_GATEWAY == "twilio" and not (
    SOSEDI_SMS_TWILIO_ACCOUNT_SID and SOSEDI_SMS_TWILIO_AUTH_TOKEN and SOSEDI_SMS_TWILIO_FROM
):
    raise ImproperlyConfigured(
        "The twilio gateway needs SOSEDI_SMS_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM."
    )
# Texting a segment: the price of one part (for the estimate shown before sending), the
# texts a person gets from segments in 7 days, the longest text, and the hours (in the
# recipient's own time zone) when nothing but a reply goes out: "21-9" is 21:00 to 09:00.
SOSEDI_SMS_PRICE_PER_PART = env.float("SOSEDI_SMS_PRICE_PER_PART", default=0.05)
SOSEDI_SMS_CURRENCY = env.str("SOSEDI_SMS_CURRENCY", default="EUR")
SOSEDI_SMS_PER_WEEK = env.int("SOSEDI_SMS_PER_WEEK", default=2)
SOSEDI_SMS_MAX_PARTS = env.int("SOSEDI_SMS_MAX_PARTS", default=4)
_quiet = env.str("SOSEDI_SMS_QUIET_HOURS", default="21-9")
try:
    SOSEDI_SMS_QUIET_HOURS = tuple(int(h) for h in _quiet.split("-")) if _quiet else ()
except ValueError:
    SOSEDI_SMS_QUIET_HOURS = (-1,)
if SOSEDI_SMS_QUIET_HOURS and (
    len(SOSEDI_SMS_QUIET_HOURS) != 2 or not all(0 <= h <= 23 for h in SOSEDI_SMS_QUIET_HOURS)
):
    raise ImproperlyConfigured("SOSEDI_SMS_QUIET_HOURS must be like 21-9 (hours 0-23), or empty.")
# Inbound: the words that start a sign-up by text ("JOIN Kazan"), and the texts one number
# may send in an hour before the rest are dropped unanswered.
SOSEDI_SMS_JOIN_KEYWORDS = [
    k.strip().upper() for k in env.list("SOSEDI_SMS_JOIN_KEYWORDS", default=["JOIN", "ВСТУПИТЬ"])
]
SOSEDI_SMS_INBOUND_PER_HOUR = env.int("SOSEDI_SMS_INBOUND_PER_HOUR", default=20)


__all__ = [name for name in dir() if name.startswith("SOSEDI_")]
