"""Attune settings: one file, configured from the environment (django-environ).

Unset variables fall back to the embedded defaults that let `make run` and `make test`
work on a bare machine: SQLite under var/, the in-memory channel layer, eager Celery
and a local-memory cache. Setting REDIS_URL switches the last three to Redis.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ

from accounts import conf as accounts_conf
from config import conf as config_conf
from config.app_settings import SettingError, from_environment
from emotion import conf as emotion_conf
from recommender import conf as recommender_conf
from studies.experiments import conf as experiments_conf
from studies.listening import conf as listening_conf
from studies.recruitment import conf as recruitment_conf
from studies.surveys import conf as surveys_conf

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # created by `make` and by the commands that write there, never at import

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development, the key `make` writes into var/secret_key
    (`make secret-key`), or else one random key for this process (sessions end when it stops)."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if PRODUCTION:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")
    path = VAR_DIR / "secret_key"
    return path.read_text().strip() if path.exists() else secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # first, so `manage.py runserver` serves ASGI (HTTP + websockets)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "csp",
    "accounts",
    "recommender",
    "studies.surveys",
    "studies.listening",
    "therapy",  # above recommender and studies.listening: builds playlists, plays them
    "studies.experiments",
    "studies.recruitment",
    "emotion",
    "config.apps.WiringConfig",  # last: config/wiring.py plugs the apps into each other
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RequestGuardMiddleware",  # 413 for oversized bodies, 404 for out-of-range ids
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # Accept-Language, then the switcher's cookie
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.auth_middleware.AuthenticationMiddleware",  # Django's, reading the account with the session
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "config.middleware.FriendlyErrorPagesMiddleware",  # the site's 404/403 pages under DEBUG too
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'attune.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the dev server, a worker and tests read while one writes. secure_delete overwrites
    # deleted content with zeros, so an erased account's text does not stay in free pages
    # (accounts.services.database_forget_deleted also checkpoints the WAL after an erasure).
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA secure_delete=ON;"
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"]["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's backends with the per-request user read precompiled (accounts/auth_backends.py).
    "accounts.auth_backends.ModelBackend",
    "accounts.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.ContextWordsValidator"},  # demo password, the site's name
    {"NAME": "accounts.passwords.PatternValidator"},  # passwordpassword, password2026!
]

# --- django-allauth: username log-in, optional e-mail, no verification -------------------
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_USER_MODEL_EMAIL_FIELD = "email"
ACCOUNT_FORMS = {"signup": "accounts.forms.PseudonymSignupForm", "login": "accounts.forms.PseudonymLoginForm"}
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_USERNAME_MIN_LENGTH = 3
ACCOUNT_PREVENT_ENUMERATION = True
# Log-in throttles (README, Security): failed log-ins 10 a minute per client IP and 5 per 5
# minutes per (IP, pseudonym) pair — the adapter adds the IP to allauth's per-login key, so
# wrong passwords typed elsewhere never lock the real person out; log-in attempts 30 a minute
# per IP. The client IP is REMOTE_ADDR, which uvicorn --proxy-headers takes from X-Forwarded-For
# (platform/); a server that does not should set ALLAUTH_TRUSTED_PROXY_COUNT instead.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "login": env.str("ACCOUNT_RATE_LIMIT_LOGIN", default="30/m/ip"),
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_SIGNUP_REDIRECT_URL = "consent"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

LANGUAGE_CODE = "en"
# Two languages: English (the msgids) and Norwegian Bokmål (locale/nb). The browser's
# Accept-Language picks the default; the switcher in base.html sets the language cookie.
LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MODELS_DIR = Path(env.str("MODELS_DIR", default=str(VAR_DIR / "models")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Content-Security-Policy (django-csp 4) --------------------------------------------------
# Every page, the admin, Swagger and Redoc run under this policy: scripts and stylesheets only
# from our own origin (no inline script, no eval), websockets to our own origin, nothing framed.
# Inline style *attributes* (progress-bar widths drawn by templates) are allowed; <style>
# elements are not, except matplotlib's fixed one-line sheet in its SVG figures (by hash).
# Stored files are served with their own stricter, sandboxing policy (recommender.views).
from csp.constants import NONE, SELF, UNSAFE_INLINE  # noqa: E402

# sha256 of matplotlib's SVG sheet '*{stroke-linejoin: round; stroke-linecap: butt}' (kept in step by
# tests/security/test_csp.py, which recomputes it from the installed matplotlib).
MATPLOTLIB_SVG_STYLE_HASH = "'sha256-2Iqu4MW0P4n79bqVmTDfLWhO8TS7MxwRJn7HVNDr7EQ='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-elem": [SELF, MATPLOTLIB_SVG_STYLE_HASH],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "media-src": [SELF, "blob:"],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Redis: channel layer, Celery broker/results, cache -----------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Heavy ML work (TensorFlow, librosa, label propagation) goes to its own queue, served by
# a worker with the solo or threads pool: TensorFlow does not survive prefork's fork().
CELERY_TASK_ROUTES = {"*.tasks.ml_*": {"queue": "ml"}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- Django REST Framework + drf-spectacular -----------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.AttuneAutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_errors.exception_handler",
    # Bad JSON (too deep, NaN/Infinity, 1e999, integers beyond 64 bits) is a 400 (config/api_parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "config.api_parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "1200/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Attune API",
    "DESCRIPTION": "Emotion-aware receptive music therapy research platform.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Attune domain settings -----------------------------------------------------------------
CONSENT_TEXT_VERSION = "2026-11-v1"
DEMO_USERS_PASSWORD = env.str("DEMO_USERS_PASSWORD", default="attune-demo-2026")

# Every app declares its settings once, typed, in `<app>/conf.py` (config/app_settings.py); each
# can be set from the environment as its ATTUNE_* name. A value that does not parse, or an
# ATTUNE_* name nobody declares (a misspelling), stops start-up with a message naming it.
try:
    globals().update(
        from_environment(
            os.environ,
            (
                config_conf.SETTINGS,
                accounts_conf.SETTINGS,
                recommender_conf.SETTINGS,
                emotion_conf.SETTINGS,
                listening_conf.SETTINGS,
                surveys_conf.SETTINGS,
                experiments_conf.SETTINGS,
                recruitment_conf.SETTINGS,
            ),
            ignore=config_conf.TEST_HARNESS_VARIABLES,
        )
    )
except SettingError as exc:
    raise environ.ImproperlyConfigured(str(exc)) from None

# --- Production hardening (`manage.py check --deploy` is clean with DJANGO_ENV=production) ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, stored as accounts.LoginSession and read with their account (accounts/session_store.py).
SESSION_ENGINE = "accounts.session_store"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
