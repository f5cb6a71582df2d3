"""Exora settings: every knob comes from the environment, parsed once, here.

`DATABASE_URL` and `REDIS_URL` follow the usual conventions; everything else is `EXORA_*`.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext

from exora import env

# Generic classes of Django's (ModelAdmin[Document], QuerySet[Page]) subscriptable at run time,
# as the type checker reads them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Paths -------------------------------------------------------------------------------
DATA_DIR = env.get_path("EXORA_DATA_DIR", BASE_DIR / "data")
MEDIA_ROOT = DATA_DIR / "media"
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """A stable key per data dir, so sessions survive restarts without any set-up."""
    configured = os.environ.get("EXORA_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.get_bool("EXORA_DEBUG", False)
ALLOWED_HOSTS = env.get_list("EXORA_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.get_list("EXORA_CSRF_TRUSTED_ORIGINS", [])

# --- Processing ----------------------------------------------------------------------------
EXORA_MAX_UPLOAD_MB = env.get_int("EXORA_MAX_UPLOAD_MB", 200, minimum=1)
EXORA_MAX_UPLOAD_BYTES = EXORA_MAX_UPLOAD_MB * 1024 * 1024
EXORA_MAX_PAGES = env.get_int("EXORA_MAX_PAGES", 1000, minimum=1)
# Pages beyond these are refused: a small file can describe a page that would take
# gigabytes to render (a decompression bomb).
EXORA_MAX_PAGE_INCHES = env.get_int("EXORA_MAX_PAGE_INCHES", 50, minimum=1)
EXORA_MAX_IMAGE_PIXELS = env.get_int("EXORA_MAX_IMAGE_PIXELS", 100_000_000, minimum=1_000_000)
# A page is rendered at EXORA_OCR_DPI unless that would exceed this many pixels.
EXORA_MAX_RENDER_PIXELS = env.get_int("EXORA_MAX_RENDER_PIXELS", 40_000_000, minimum=1_000_000)
EXORA_OCR_MODE = env.get_choice("EXORA_OCR_MODE", "auto", ("auto", "force", "off"))
EXORA_OCR_DPI = env.get_int("EXORA_OCR_DPI", 300, minimum=50)
EXORA_DISPLAY_DPI = env.get_int("EXORA_DISPLAY_DPI", 100, minimum=36)
EXORA_OCR_LANGUAGES = "+".join(env.get_list("EXORA_OCR_LANGUAGES", ["eng"]))
EXORA_PAGE_TIMEOUT = env.get_int("EXORA_PAGE_TIMEOUT_SECONDS", 180, minimum=5)
# How the extraction passes read an all-numeric date that reads both ways (03/04/2015):
# month first (US records) or day first. Such dates are marked ambiguous either way.
EXORA_DATE_ORDER = env.get_choice("EXORA_DATE_ORDER", "mdy", ("mdy", "dmy")).upper()  # get_choice lowercases
# One OCR page per core is the throughput limit; more threads only fight over the cores.
EXORA_WORKERS = env.get_int("EXORA_WORKERS", os.cpu_count() or 1, minimum=1)
EXORA_WORKER_THREADS = env.get_int("EXORA_WORKER_THREADS", 1, minimum=1)
EXORA_ADMIN_USER = env.get_str("EXORA_ADMIN_USER", "admin")
EXORA_ADMIN_PASSWORD = env.get_str("EXORA_ADMIN_PASSWORD", "")  # empty: a random one is printed
# Lanes: members of this group skip the queue; a document over EXORA_BULK_PAGES pages, or
# one of EXORA_BULK_DOCUMENTS or more waiting from the same person, goes after the others.
EXORA_PRIORITY_GROUP = env.get_str("EXORA_PRIORITY_GROUP", "priority")
EXORA_BULK_PAGES = env.get_int("EXORA_BULK_PAGES", 100, minimum=1)
EXORA_BULK_DOCUMENTS = env.get_int("EXORA_BULK_DOCUMENTS", 10, minimum=1)
# Pages of one document in the queue at once: each stored page sends the next, so a small
# document uploaded after a large one waits for a page or two, not for the whole document.
EXORA_DOCUMENT_WINDOW = env.get_int("EXORA_DOCUMENT_WINDOW", EXORA_WORKERS * EXORA_WORKER_THREADS, minimum=1)
# Text-layer pages take milliseconds each, less than a message costs: up to this many
# neighbours go in one message (one poppler run for all), still far shorter than one OCR page.
EXORA_TEXT_BATCH_PAGES = env.get_int("EXORA_TEXT_BATCH_PAGES", 16, minimum=1)
# A worker renews the lease on the page it reads; a lease that runs out means it died.
EXORA_LEASE_SECONDS = env.get_int("EXORA_LEASE_SECONDS", 30, minimum=3)
# How often the leader worker looks for lost work (0 turns recovery off).
EXORA_RECOVERY_INTERVAL_SECONDS = env.get_float("EXORA_RECOVERY_INTERVAL_SECONDS", 5.0)
EXORA_BROKER = env.get_choice("EXORA_BROKER", "redis", ("redis", "stub"))

# --- Operations (the /ops/ dashboard, alerts, /metrics) -------------------------------------
# Figures are computed once per this many seconds and shared by every viewer and scrape.
EXORA_DASHBOARD_REFRESH_SECONDS = env.get_int("EXORA_DASHBOARD_REFRESH_SECONDS", 5, minimum=1)
# The wait a queued job should not exceed; capacity advice and latency targets use it.
EXORA_TARGET_WAIT_SECONDS = env.get_int("EXORA_TARGET_WAIT_SECONDS", 30, minimum=1)
EXORA_WORKER_HEARTBEAT_SECONDS = env.get_float("EXORA_WORKER_HEARTBEAT_SECONDS", 5.0)
# A worker silent this long is stale, then dead; a dead one is forgotten after an hour.
EXORA_WORKER_STALE_SECONDS = env.get_int("EXORA_WORKER_STALE_SECONDS", 15, minimum=1)
EXORA_WORKER_DEAD_SECONDS = env.get_int("EXORA_WORKER_DEAD_SECONDS", 60, minimum=1)
# 0: the container's cgroup limit, else the machine's memory.
EXORA_WORKER_MEMORY_LIMIT_MB = env.get_int("EXORA_WORKER_MEMORY_LIMIT_MB", 0, minimum=0)
EXORA_ALERT_INTERVAL_SECONDS = env.get_float("EXORA_ALERT_INTERVAL_SECONDS", 15.0)
EXORA_ALERT_EMAILS = env.get_list("EXORA_ALERT_EMAILS", [])  # empty: no alert e-mail
EXORA_ALERT_WEBHOOK_URL = env.get_str("EXORA_ALERT_WEBHOOK_URL", "")  # empty: no webhook
# Lets a scraper without a staff session read /metrics (Authorization: Bearer <token>).
EXORA_METRICS_TOKEN = env.get_str("EXORA_METRICS_TOKEN", "")

# Tesseract's OpenMP threads collapse throughput when several pages run at once (12 s per
# page instead of 2 s here); parallelism comes from running pages side by side instead.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# --- Django --------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_dramatiq",
    "channels",
    "documents",
    "processing",
    "dashboard",
]

MIDDLEWARE = [
    "dashboard.probes.HealthProbesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "exora.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "exora.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'exora.sqlite3'}",
        conn_max_age=env.get_int("EXORA_DB_CONN_MAX_AGE", 600, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the init command applies it to
    # every new connection.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The queue's aggregate query has a large estimated cost, so PostgreSQL's JIT compiled it
    # every time: 35 ms of compiling for a 1 ms query. Short OLTP queries never gain from it.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.get_str("EXORA_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves what collectstatic put in STATIC_ROOT (`make run` runs it), compressed.
# Not the manifest storage: without a manifest from collectstatic every page would fail to
# render, and unit tests render pages without running it.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "documents:list"
LOGOUT_REDIRECT_URL = "login"

# Uploads over this size stream to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "documents.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exora API",
    "DESCRIPTION": "Upload medical documents and read back their pages, text and words.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Broker, channels ----------------------------------------------------------------------
REDIS_URL = env.get_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# django-dramatiq's default list names middleware that dramatiq 2 no longer ships
# (Prometheus) and adds a database write per message (AdminMiddleware): list ours in full.
_DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.ShutdownNotifications",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Pipelines",
    "dramatiq.middleware.Retries",
    "dramatiq.middleware.CurrentMessage",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "processing.supervision.PageMessageIds",
    "processing.supervision.WorkerSupervision",
    "processing.supervision.WorkerHeartbeat",
]
if EXORA_BROKER == "stub":
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
else:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        # Dramatiq gives a dead worker's unacknowledged messages to others once its heartbeat
        # is this old, checked on a share of broker calls; its defaults (60 s, 0.1%) leave
        # them waiting for minutes.
        "OPTIONS": {"url": REDIS_URL, "heartbeat_timeout": 15_000, "maintenance_chance": 50_000},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]

# Sockets' groups and the per-document event counters; tests point it at their own database.
EXORA_EVENTS_REDIS_URL = env.get_str("EXORA_EVENTS_REDIS_URL", REDIS_URL)
# Keys and group names start with this, so test runs side by side never hear each other.
EXORA_EVENTS_PREFIX = env.get_str("EXORA_EVENTS_PREFIX", "exora")
# "pubsub" pushes each group message to the daphne process holding the socket (Redis
# pub/sub); "lists" (channels_redis' core layer) keeps messages in Redis lists, which every
# daphne process drains one round trip per message: slower when one change goes to 1,000
# sockets (benchmarks/sockets_fanout.py). Nothing is lost by pub/sub that matters here: a
# socket that reconnects gets a fresh snapshot.
EXORA_CHANNEL_LAYER = env.get_choice("EXORA_CHANNEL_LAYER", "pubsub", ("pubsub", "lists"))
EXORA_CHANNEL_LAYER_PREFIX = f"{EXORA_EVENTS_PREFIX}:asgi"
if EXORA_CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [EXORA_EVENTS_REDIS_URL], "prefix": EXORA_CHANNEL_LAYER_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Every socket of one daphne process shares one Redis list, and a message beyond the
            # capacity is dropped silently: the default (100) lost most of a change sent to 1,000.
            "CONFIG": {
                "hosts": [EXORA_EVENTS_REDIS_URL],
                "prefix": EXORA_CHANNEL_LAYER_PREFIX,
                "capacity": 20_000,
            },
        }
    }

# --- E-mail, logging -----------------------------------------------------------------------
EMAIL_BACKEND = env.get_str("EXORA_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.get_str("EXORA_FROM_EMAIL", "exora@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get_str("EXORA_LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}},
}
