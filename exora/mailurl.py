"""EXORA_EMAIL_URL: where e-mail goes, as one URL, so the mail backend is always set on purpose.

smtp://user:password@host:587     SMTP, STARTTLS (on by default; ?tls=false to turn it off)
smtps://user:password@host:465    SMTP over TLS
console:                          printed to the log (`make run` only: it would log e-mails)
dummy: (or empty)                 no e-mail is sent
"""

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}


def email_settings(url: str) -> dict[str, Any]:
    """Django's EMAIL_* settings for the URL; ValueError for a scheme it does not know."""
    parts = urlsplit(url.strip() or "dummy:")
    if parts.scheme not in BACKENDS:
        raise ValueError(f"EXORA_EMAIL_URL must start with one of {', '.join(BACKENDS)}:, got {parts.scheme!r}")
    found: dict[str, Any] = {"EMAIL_BACKEND": BACKENDS[parts.scheme]}
    if parts.scheme in ("smtp", "smtps"):
        options = parse_qs(parts.query)
        found.update(
            EMAIL_HOST=parts.hostname or "localhost",
            EMAIL_PORT=parts.port or (465 if parts.scheme == "smtps" else 587),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_SSL=parts.scheme == "smtps",
            EMAIL_USE_TLS=parts.scheme == "smtp" and options.get("tls", ["true"])[0].lower() != "false",
            EMAIL_TIMEOUT=10,
        )
    return found
