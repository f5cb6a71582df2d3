"""Django itself: where data lives, the secret key, apps, middleware, templates, static files,
sign-in, uploads, the API, e-mail and logging."""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

import django_stubs_ext

from exora import env, hosts
from exora.mailurl import email_settings

# Generic classes of Django's (ModelAdmin[Document], QuerySet[Page]) subscriptable at run time,
# as the type checker reads them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# What this process creates is its own: files 0600, folders 0700 (uploads, page images, the
# workers' cache and scratch, the database file, the secret key).
os.umask(0o077)

DATA_DIR = env.get_path("EXORA_DATA_DIR", BASE_DIR / "data")
MEDIA_ROOT = DATA_DIR / "media"
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
# Scratch of every kind (Django's spooled uploads, the workers' page folders, the servers'
# temporary files) lives here rather than in a /tmp shared with other users, where the orphan
# sweep (documents.retention) finds what a killed process left behind.
EXORA_TMP_DIR = env.get_path("EXORA_TMP_DIR", DATA_DIR / "tmp")
EXORA_TMP_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
tempfile.tempdir = str(EXORA_TMP_DIR)
FILE_UPLOAD_TEMP_DIR = str(EXORA_TMP_DIR)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Set for every host of a fleet (fleet.py refuses a host without it): a key generated into one
# host's data dir would sign sessions no other host accepts.
EXORA_SECRET_KEY = env.get_str("EXORA_SECRET_KEY", "")


def _secret_key() -> str:
    """A stable key per data dir, so sessions survive restarts without any set-up."""
    if EXORA_SECRET_KEY:
        return EXORA_SECRET_KEY
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        write_new_file_atomically(key_file, secrets.token_urlsafe(50).encode())
    return key_file.read_text().strip()


def write_new_file_atomically(path: Path, content: bytes) -> None:
    """Create `path` whole and 0600 from its first moment, unless it exists: written to a file
    of its own (created 0600, never readable by others), then linked into place, which fails
    if another process (a web and a worker starting together) made it first; theirs stays."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


SECRET_KEY = _secret_key()
DEBUG = env.get_bool("EXORA_DEBUG", False)
ALLOWED_HOSTS = env.get_list("EXORA_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.get_list("EXORA_CSRF_TRUSTED_ORIGINS", [])
# The web server (`manage.py runweb`): where it listens, and how many processes serve.
EXORA_HOST = env.get_str("EXORA_HOST", "127.0.0.1")
EXORA_PORT = env.get_int("EXORA_PORT", 8000, minimum=1)
EXORA_WEB_PROCESSES = env.get_int("EXORA_WEB_PROCESSES", hosts.usable_cpus(), minimum=1)
EXORA_ADMIN_USER = env.get_str("EXORA_ADMIN_USER", "admin")
EXORA_ADMIN_PASSWORD = env.get_str("EXORA_ADMIN_PASSWORD", "")  # empty: a random one is printed

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_dramatiq",
    "channels",
    "documents",
    "processing",
    "dashboard",
    "access",
]

MIDDLEWARE = [
    "dashboard.probes.HealthProbesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "exora.twofactor.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "exora.nostore.PrivateByDefaultMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
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
                "csp.context_processors.nonce",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.get_str("EXORA_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
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

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "exora.token_auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "exora.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exora API",
    "DESCRIPTION": "Upload medical documents and read back their pages, text and words.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the package (drf-spectacular-sidecar), not a CDN; the schema and the
    # docs need a signed-in user like the API itself.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# Where e-mail goes (exora/mailurl.py): none unless set; `make run` prints it to the console.
_email = email_settings(env.get_str("EXORA_EMAIL_URL", ""))
EMAIL_BACKEND = _email.pop("EMAIL_BACKEND")
globals().update(_email)
DEFAULT_FROM_EMAIL = env.get_str("EXORA_FROM_EMAIL", "exora@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get_str("EXORA_LOG_LEVEL", "INFO")},
}
