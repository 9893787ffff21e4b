"""Homeward's one settings module; everything that differs between installations comes from the environment.

HOMEWARD_ENV         development (default), test or production
DATABASE_URL         postgres://user:pass@host:5432/name, or sqlite:///path; default: SQLite under the var folder
HOMEWARD_VAR_DIR     where the SQLite database, uploads and the key file live (default: ./var of the project)
HOMEWARD_KEY_FILE    the key file made by `homeward keys init` (default: <var>/keys.json)
HOMEWARD_KEYS        the key file's JSON itself, instead of a file
HOMEWARD_ALLOWED_HOSTS  comma-separated host names (production)
HOMEWARD_DEBUG       1 to show Django's debug pages (never in production)
HOMEWARD_DB_CONN_MAX_AGE  seconds a database connection is kept for reuse (default 60; 0 opens one per request)
HOMEWARD_TRUST_PROXY 1 when a TLS-terminating proxy sets X-Forwarded-Proto
HOMEWARD_CENSUS_THRESHOLD, HOMEWARD_CENSUS_ROUNDING, HOMEWARD_CENSUS_GEOGRAPHY  public census releases (10, 5, district)
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from homeward.core.errors import ConfigurationError
from homeward.core.keys import load_keyring, new_keyring, write_key_file

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent

HOMEWARD_ENV = os.environ.get("HOMEWARD_ENV", "development")
if HOMEWARD_ENV not in {"development", "test", "production"}:
    raise ConfigurationError(f"HOMEWARD_ENV={HOMEWARD_ENV!r} is not one of development, test, production")
PRODUCTION = HOMEWARD_ENV == "production"

VAR_DIR = Path(os.environ.get("HOMEWARD_VAR_DIR") or PROJECT_DIR / "var").resolve()
try:
    VAR_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    _probe = VAR_DIR / ".write-probe"
    _probe.write_bytes(b"")
    _probe.unlink()
except OSError as _exc:
    raise ConfigurationError(
        f"the data folder {VAR_DIR} is not writable ({_exc.strerror}); "
        "set HOMEWARD_VAR_DIR to a folder this user can write, or fix its permissions"
    ) from None

KEY_FILE = Path(
    os.environ.get("HOMEWARD_KEY_FILE") or VAR_DIR / ("test-keys.json" if HOMEWARD_ENV == "test" else "keys.json")
)
HOMEWARD_KEYRING = load_keyring(env_value=os.environ.get("HOMEWARD_KEYS"), path=KEY_FILE)
if HOMEWARD_KEYRING is None and HOMEWARD_ENV == "test":
    # Tests make their own throw-away keys so that a fresh clone runs them without a set-up step.
    write_key_file(KEY_FILE, new_keyring())
    HOMEWARD_KEYRING = load_keyring(env_value=None, path=KEY_FILE)
if HOMEWARD_KEYRING is None and PRODUCTION:
    raise ConfigurationError(f"no keys: create {KEY_FILE} with `homeward keys init` or set HOMEWARD_KEYS")
# Without keys only `homeward keys init` and `--help` can work; the key check (homeward.E001) says so elsewhere.
SECRET_KEY = HOMEWARD_KEYRING.secret_key if HOMEWARD_KEYRING else "homeward-has-no-keys-yet-" + "x" * 40

DEBUG = os.environ.get("HOMEWARD_DEBUG") == "1" and not PRODUCTION

if PRODUCTION:
    ALLOWED_HOSTS = [h.strip() for h in os.environ.get("HOMEWARD_ALLOWED_HOSTS", "").split(",") if h.strip()]
else:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    # First, so that its `createsuperuser` (audited, with a role) replaces Django's.
    "homeward.access",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "csp",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "homeward.core",
    "homeward.audit",
    "homeward.api",
    "homeward.gazetteer",
    "homeward.registry",
    "homeward.linkage",
    "homeward.census",
    "homeward.planning",
    "homeward.portal",
    "homeward.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "homeward.core.middleware.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",
    "homeward.access.middleware.StaffMfaRequiredMiddleware",
    "homeward.core.middleware.RejectNulMiddleware",
    "homeward.core.middleware.PrivateResponseHeadersMiddleware",
]

ROOT_URLCONF = "homeward.urls"
WSGI_APPLICATION = "homeward.wsgi.application"

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
                "homeward.access.context_processors.roles",
            ],
        },
    },
    # The public registration pages, loaded by many people at once: Jinja2, several times faster to render.
    {
        "NAME": "portal",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "homeward.portal.jinja.environment"},
    },
]


def _database(url: str | None) -> dict[str, object]:
    if not url:
        url = f"sqlite:///{VAR_DIR / 'homeward.sqlite3'}"
    try:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    except (ValueError, KeyError) as exc:
        raise ConfigurationError(
            f"DATABASE_URL is not understood ({exc}); use postgres://USER:PASSWORD@HOST:5432/NAME or sqlite:///PATH"
        ) from None
    engine = str(config.get("ENGINE", ""))
    if engine == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA busy_timeout=20000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;"
            ),
        }
        config["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    elif engine == "django.db.backends.postgresql":
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"] = {"connect_timeout": 5}
    else:
        raise ConfigurationError(f"DATABASE_URL selects {engine!r}; Homeward runs on SQLite or PostgreSQL")
    # Keep each process's connection for a minute instead of opening one per request: a PostgreSQL connection
    # costs a login, an SQLite one runs the six settings above (about 1.5 ms).
    config["CONN_MAX_AGE"] = int(os.environ.get("HOMEWARD_DB_CONN_MAX_AGE", "60"))
    return config


DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if HOMEWARD_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Sign-in: staff only, by user name, no public sign-up, TOTP required (see access.middleware).
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_ADAPTER = "homeward.access.adapters.StaffAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
MFA_ADAPTER = "homeward.access.adapters.EncryptingMfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Homeward"
# One 30-second step either side: a phone's clock a little off, or a code typed as it changes, still works.
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODE_COUNT = 10

# Lock-out after repeated failures, with a cool-off.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# An address is locked after five failures; a user name only together with the address it is tried from,
# so that nobody can lock a colleague out from elsewhere.
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "login"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "access/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False

# Sessions end after 15 minutes without a request.
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if os.environ.get("HOMEWARD_TRUST_PROXY") == "1":
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
TRUST_PROXY = os.environ.get("HOMEWARD_TRUST_PROXY") == "1"
if TRUST_PROXY:
    # Behind one reverse proxy the client's address is the last one the proxy appended.
    AXES_CLIENT_IP_CALLABLE = "homeward.core.middleware.client_ip"
    ALLAUTH_TRUSTED_PROXY_COUNT = 1
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Map tiles: a URL template such as https://tiles.example.org/{z}/{x}/{y}.png; empty keeps maps tile-free.
HOMEWARD_TILE_URL = os.environ.get("HOMEWARD_TILE_URL", "")
_TILE_ORIGIN = "/".join(HOMEWARD_TILE_URL.split("/")[:3]) if HOMEWARD_TILE_URL.startswith("https://") else ""

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *([_TILE_ORIGIN] if _TILE_ORIGIN else [])],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("az", "Azərbaycanca"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "homeward_language"
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "files"}},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = False

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# The self-registration portal: the partner a registrant may agree to share data with (no sharing consent is
# asked when empty), and the rate limits on submissions (per sender address per hour, and for everyone per
# minute) beyond which a friendly page asks to try again later.
PORTAL_PARTNER = os.environ.get("HOMEWARD_PORTAL_PARTNER", "")
PORTAL_SENDER_PER_HOUR = int(os.environ.get("HOMEWARD_PORTAL_SENDER_PER_HOUR", "20"))
PORTAL_ALL_PER_MINUTE = int(os.environ.get("HOMEWARD_PORTAL_ALL_PER_MINUTE", "6000"))
# While registrations keep arriving, the recording job waits up to this long for a fuller group: one import of a
# hundred registrations costs little more than one of ten. Recording is never what a registrant waits for.
PORTAL_RECORD_GATHER_SECONDS = float(
    os.environ.get("HOMEWARD_PORTAL_RECORD_GATHER_SECONDS", "0" if HOMEWARD_ENV == "test" else "2")
)
# The public pages keep the published information sheets and the list of displacement events in each web
# process for this many seconds (a change made in the same process is seen at once; other processes see it
# within this time). A registrant's agreement is always recorded under the version their page showed.
PORTAL_REFERENCE_SECONDS = float(
    os.environ.get("HOMEWARD_PORTAL_REFERENCE_SECONDS", "0" if HOMEWARD_ENV == "test" else "30")
)

EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("HOMEWARD_FROM_EMAIL", "homeward@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "homeward": {"level": "INFO"},
        "django.tasks": {"level": "INFO"},
        "django_tasks": {"level": "INFO"},
        "django_tasks_db": {"level": "INFO"},
    },
}

# How long a running job may go without a heartbeat before it is shown as failed.
try:
    _stale = float(os.environ.get("HOMEWARD_JOB_STALE_SECONDS", "60"))
except ValueError:
    _stale = -1.0
if not 1 <= _stale <= 86400:
    raise ConfigurationError("HOMEWARD_JOB_STALE_SECONDS must be a number of seconds between 1 and 86400")
HOMEWARD_JOB_STALE_AFTER = timedelta(seconds=_stale)
# The heartbeat also carries the job's progress to the pages, which poll every second.
HOMEWARD_JOB_HEARTBEAT_SECONDS = min(1.0, HOMEWARD_JOB_STALE_AFTER.total_seconds() / 4)

# Public census releases: counts below the threshold withheld, the rest rounded to the base, and no table
# below this geography (district or settlement). Checked when a release is made.
HOMEWARD_CENSUS = {
    "threshold": os.environ.get("HOMEWARD_CENSUS_THRESHOLD", "10"),
    "rounding": os.environ.get("HOMEWARD_CENSUS_ROUNDING", "5"),
    "geography": os.environ.get("HOMEWARD_CENSUS_GEOGRAPHY", "district"),
}
