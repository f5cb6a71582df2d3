"""The answer to an error no view handled (Django's handler500).

A database that cannot take one more request right now (every pooled connection of this
process busy past EXORA_DB_POOL_TIMEOUT_SECONDS, or the server at its connection limit) is a
burst, not a fault: the client gets 503 with Retry-After and a sentence, and tries again.
Anything else is the usual 500.
"""

import logging
import sys

import psycopg
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from psycopg_pool import PoolTimeout

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
BUSY_MESSAGE = "The service is busy right now. Please try again in a few seconds."
# What PostgreSQL says when it refuses a connection at its limit.
_SERVER_FULL = ("too many clients", "remaining connection slots")


def server_error(request: HttpRequest) -> HttpResponse:
    if not database_busy(sys.exc_info()[1]):
        return defaults.server_error(request)
    logger.warning("database busy: answered 503 to %s %s", request.method, request.path)
    response: HttpResponse
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": BUSY_MESSAGE}, status=503)
    else:
        response = HttpResponse(f"<!doctype html><title>Busy</title><p>{BUSY_MESSAGE}</p>", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_busy(problem: BaseException | None) -> bool:
    """Whether `problem` (or what caused it: Django wraps the driver's errors) is a database
    that had no connection to give."""
    seen = 0
    while problem is not None and seen < 10:
        if isinstance(problem, PoolTimeout):
            return True
        if isinstance(problem, psycopg.OperationalError) and any(text in str(problem) for text in _SERVER_FULL):
            return True
        problem, seen = problem.__cause__ or problem.__context__, seen + 1
    return False
