"""Django itself: where data lives, the secret key, apps, middleware, templates, static files,
sign-in, uploads, the API, e-mail and logging."""

import secrets
from pathlib import Path

import django_stubs_ext

from exora import env, hosts

# Generic classes of Django's (ModelAdmin[Document], QuerySet[Page]) subscriptable at run time,
# as the type checker reads them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DATA_DIR = env.get_path("EXORA_DATA_DIR", BASE_DIR / "data")
MEDIA_ROOT = DATA_DIR / "media"
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Set for every host of a fleet (fleet.py refuses a host without it): a key generated into one
# host's data dir would sign sessions no other host accepts.
EXORA_SECRET_KEY = env.get_str("EXORA_SECRET_KEY", "")


def _secret_key() -> str:
    """A stable key per data dir, so sessions survive restarts without any set-up."""
    if EXORA_SECRET_KEY:
        return EXORA_SECRET_KEY
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.get_bool("EXORA_DEBUG", False)
ALLOWED_HOSTS = env.get_list("EXORA_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.get_list("EXORA_CSRF_TRUSTED_ORIGINS", [])
# The web server (`manage.py runweb`): where it listens, and how many processes serve.
EXORA_HOST = env.get_str("EXORA_HOST", "127.0.0.1")
EXORA_PORT = env.get_int("EXORA_PORT", 8000, minimum=1)
EXORA_WEB_PROCESSES = env.get_int("EXORA_WEB_PROCESSES", hosts.usable_cpus(), minimum=1)
# Behind a proxy that ends TLS (an Ingress, a load balancer), the header it sets to say the
# request came over https, e.g. X-Forwarded-Proto: only set it when the proxy always sets or
# overwrites that header, or a client could claim https itself.
EXORA_PROXY_SSL_HEADER = env.get_str("EXORA_PROXY_SSL_HEADER", "")
if EXORA_PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + EXORA_PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
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

EMAIL_BACKEND = env.get_str("EXORA_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.get_str("EXORA_FROM_EMAIL", "exora@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get_str("EXORA_LOG_LEVEL", "INFO")},
}
