"""What several hosts need, checked at start: a host that cannot work with the others is
refused with a message saying why, rather than failing later one request at a time.

`EXORA_SEVERAL_HOSTS` (on by default with S3 storage) says this host is one of several.
"""

from django.core.exceptions import ImproperlyConfigured

from exora import env
from exora.settings.database import DATABASES
from exora.settings.django import EXORA_SECRET_KEY
from exora.settings.storage import EXORA_S3_BUCKET, EXORA_STORAGE

EXORA_SEVERAL_HOSTS = env.get_bool("EXORA_SEVERAL_HOSTS", EXORA_STORAGE == "s3")


def fleet_problems() -> list[str]:
    """Why this host cannot be one of several; empty when it can."""
    problems = []
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        problems.append("SQLite is a file on one host: set DATABASE_URL to a PostgreSQL database all hosts share.")
    if not EXORA_SECRET_KEY:
        problems.append(
            "EXORA_SECRET_KEY is not set: a key generated on one host signs sessions the others refuse. "
            "Give every host the same EXORA_SECRET_KEY."
        )
    if EXORA_STORAGE != "s3":
        problems.append("Files on local disk are not seen by other hosts: set EXORA_STORAGE=s3 and EXORA_S3_BUCKET.")
    elif not EXORA_S3_BUCKET:
        problems.append("EXORA_STORAGE=s3 needs EXORA_S3_BUCKET.")
    return problems


if EXORA_SEVERAL_HOSTS and (_problems := fleet_problems()):
    raise ImproperlyConfigured(
        "This host is one of several (EXORA_SEVERAL_HOSTS), and cannot be:\n- " + "\n- ".join(_problems)
    )
