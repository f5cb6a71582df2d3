"""Security: how large a request may be, sign-in and its lockouts, tokens, HTTPS, the content
security policy, the record of reads, retention and deletion. (Issue 14; README "Security".)"""

from datetime import timedelta

from csp.constants import NONCE, NONE, SELF

from exora import env
from exora.settings.broker import EXORA_BROKER, EXORA_EVENTS_PREFIX, REDIS_URL
from exora.settings.django import REST_FRAMEWORK

# Every request body but an upload's (EXORA_MAX_UPLOAD_MB) is refused past this (exora.bodylimit).
EXORA_MAX_REQUEST_KB = env.get_int("EXORA_MAX_REQUEST_KB", 1024, minimum=16)

# Finished documents older than this many days are deleted with their files (0: kept for ever).
EXORA_RETENTION_DAYS = env.get_int("EXORA_RETENTION_DAYS", 0, minimum=0)
# Files no row owns are deleted once they are this old (a row may be about to name a newer one).
EXORA_ORPHAN_GRACE_HOURS = env.get_int("EXORA_ORPHAN_GRACE_HOURS", 24, minimum=1)
# Records of who read which document are kept this many days (six years: HIPAA's span).
EXORA_ACCESS_LOG_DAYS = env.get_int("EXORA_ACCESS_LOG_DAYS", 2190, minimum=1)

# --- Signing in ----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes: this many failed sign-ins for one username, or from one address, lock it out for
# EXORA_LOGIN_LOCKOUT_MINUTES; operators unlock early by deleting its access attempts in the admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
EXORA_LOGIN_FAILURES = env.get_int("EXORA_LOGIN_FAILURES", 5, minimum=1)
EXORA_LOGIN_LOCKOUT_MINUTES = env.get_int("EXORA_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AXES_FAILURE_LIMIT = EXORA_LOGIN_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=EXORA_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: a user, or an address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "exora.signin.locked_out"
AXES_CLIENT_IP_CALLABLE = "access.records.request_address"  # the address the record of reads keeps

# Sessions end after this much inactivity: each request pushes the end back.
EXORA_SESSION_IDLE_MINUTES = env.get_int("EXORA_SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_COOKIE_AGE = EXORA_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
# Flash messages name uploaded files: they stay on the server, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Time-based one-time passwords (django-otp) for staff: /ops/ and /admin/ need a verified
# session when this is on; staff enrol an authenticator app at /accounts/two-factor/.
EXORA_STAFF_2FA = env.get_bool("EXORA_STAFF_2FA", False)
OTP_TOTP_ISSUER = "Exora"

# --- API tokens and limits ----------------------------------------------------------------------

# django-rest-knox: tokens are stored hashed and expire; their owner revokes them at /tokens/.
EXORA_TOKEN_TTL_DAYS = env.get_int("EXORA_TOKEN_TTL_DAYS", 30, minimum=1)
REST_KNOX = {"TOKEN_TTL": timedelta(days=EXORA_TOKEN_TTL_DAYS), "AUTH_HEADER_PREFIX": "Token"}
EXORA_API_UPLOADS_PER_HOUR = env.get_int("EXORA_API_UPLOADS_PER_HOUR", 200, minimum=1)
EXORA_API_READS_PER_MINUTE = env.get_int("EXORA_API_READS_PER_MINUTE", 300, minimum=1)
# Scoped per view (documents.api): uploads per person per hour, reads per minute.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "uploads": f"{EXORA_API_UPLOADS_PER_HOUR}/hour",
        "reads": f"{EXORA_API_READS_PER_MINUTE}/min",
    },
}
# The API's throttles count in the cache: Redis, so that every web process counts together (the
# stub broker's single process keeps them in its memory). Ids only: no content is ever cached.
# django-redis, not Django's own Redis backend: under ASGI Django makes a cache backend per
# request, and its own keeps the connection pool in the backend, so every request opened (and
# dropped) a Redis connection; django-redis keeps one pool per process.
REDIS_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": REDIS_URL,
    "KEY_PREFIX": f"{EXORA_EVENTS_PREFIX}:cache",
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"} if EXORA_BROKER == "stub" else REDIS_CACHE
}
# Snapshots a person's sockets may ask for (connecting asks for one) per minute.
EXORA_SOCKET_SNAPSHOTS_PER_MINUTE = env.get_int("EXORA_SOCKET_SNAPSHOTS_PER_MINUTE", 30, minimum=1)
# How often an open socket checks that its session or token still holds (logouts and
# revocations close it at once; this catches sessions and tokens that simply expired).
EXORA_SOCKET_RECHECK_SECONDS = env.get_int("EXORA_SOCKET_RECHECK_SECONDS", 60, minimum=1)
# Per person: what their documents may take in the storage, and pages uploaded per 24 hours.
EXORA_USER_QUOTA_MB = env.get_int("EXORA_USER_QUOTA_MB", 10_240, minimum=1)
EXORA_USER_PAGES_PER_DAY = env.get_int("EXORA_USER_PAGES_PER_DAY", 20_000, minimum=1)

# --- HTTPS ---------------------------------------------------------------------------------------

# Behind a TLS-terminating proxy, set EXORA_PROXY_SSL_HEADER to the header it sets (e.g.
# X-Forwarded-Proto); it must strip that header from what clients send.
EXORA_HTTPS = env.get_bool("EXORA_HTTPS", False)
EXORA_PROXY_SSL_HEADER = env.get_str("EXORA_PROXY_SSL_HEADER", "")
EXORA_HSTS_SECONDS = env.get_int("EXORA_HSTS_SECONDS", 31_536_000, minimum=0)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # the pages read the token from their forms, never from the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if EXORA_HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = EXORA_HSTS_SECONDS
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # The probes answer plain HTTP inside the cluster (dashboard.probes answers them first).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if EXORA_PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + EXORA_PROXY_SSL_HEADER.upper().replace("-", "_"), "https")

# --- Content security policy (django-csp): scripts only from here, with the page's nonce ----------

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
