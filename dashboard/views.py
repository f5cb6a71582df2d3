"""The operators' pages (/ops/), /metrics, and the health probes. Thin: the work is in
services (snapshot, operations) and selectors; figures come from the shared snapshot."""

import datetime
import functools
import hmac
from collections.abc import Callable
from typing import Any
from uuid import UUID

import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from access import records
from dashboard import metrics, presenters
from dashboard.services import operations, snapshot
from documents.models import Document
from processing.brokers import broker_queues

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Anonymous people are sent to sign in; signed-in people who are not staff are refused."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            return HttpResponseForbidden("Operators only.")
        return view(request, *args, **kwargs)

    return guarded


def permission_needed(permission: str, what: str) -> Callable[[View], View]:
    """An operator's action needs its Django permission, not only staff status."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perm(permission):
                return HttpResponseForbidden(f"You need the permission to {what} ({permission}).")
            return view(request, *args, **kwargs)

        return guarded

    return decorate


RETRY = "documents.retry_document"
ACKNOWLEDGE = "dashboard.acknowledge_alert"


class DashboardPage(presenters.PageContext):
    refresh_seconds: int


def _context() -> DashboardPage:
    current = snapshot.current()
    return {
        **presenters.page_context(current.data, current.computed_at),
        "refresh_seconds": settings.EXORA_DASHBOARD_REFRESH_SECONDS,
    }


@never_cache
@staff_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    context = _context()
    _record_documents_shown(request, context)
    return render(request, "dashboard/index.html", context)


@never_cache
@staff_required
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """What the page polls: the sections rendered by the server (autoescaped), and the figures."""
    context = _context()
    _record_documents_shown(request, context)
    html = render_to_string("dashboard/_sections.html", context, request=request)
    return JsonResponse(
        {
            "computed_at": context["computed_at"].isoformat() if context["computed_at"] else None,
            "refresh_seconds": context["refresh_seconds"],
            "html": html,
            "figures": context["data"],
        }
    )


def _record_documents_shown(request: HttpRequest, context: DashboardPage) -> None:
    """The failures inbox and the dead workers' jobs show documents' names and errors: each such
    document is a read, noted once per few minutes however often the page polls."""
    shown = {d.get("id") for group in context["failures"] for d in group.get("documents", [])}
    shown |= {held.get("document") for worker in context["workers"] for held in worker.get("held", [])}
    documents = Document.objects.filter(id__in=shown - {None, ""}).only("id", "owner_id")
    address = records.address_of(request.META)
    records.record(request.user, records.Door.OPERATIONS, documents, address, once_per_window=True)


@staff_required
@permission_needed(RETRY, "retry documents")
@require_POST
def retry_document(request: HttpRequest, document_id: UUID) -> HttpResponse:
    problem = operations.retry_document(str(document_id), request.user)
    if problem:
        messages.warning(request, problem)
    else:
        messages.success(request, "Queued again.")
    return redirect("dashboard:index")


@staff_required
@permission_needed(RETRY, "retry documents")
@require_POST
def retry_group(request: HttpRequest) -> HttpResponse:
    stage, error_class = request.POST.get("stage", ""), request.POST.get("error_class", "")
    result = operations.retry_failure_group(stage, error_class, request.user)
    level = messages.SUCCESS if result.retried else messages.WARNING
    messages.add_message(
        request, level, f"Retried {len(result.retried)} document(s); {len(result.refused)} could not be retried."
    )
    return redirect("dashboard:index")


@staff_required
@permission_needed(ACKNOWLEDGE, "acknowledge alerts")
@require_POST
def acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    if operations.acknowledge_alert(alert_id, request.user):
        messages.success(request, "Alert acknowledged.")
    else:
        messages.warning(request, "That alert is resolved or acknowledged already.")
    return redirect("dashboard:index")


@never_cache
@staff_required
@require_GET
@permission_needed("access.view_documentread", "view the record of reads")
def export_reads(request: HttpRequest) -> HttpResponseBase:
    """The record of reads between two dates (`since` included, `until` excluded; UTC), as CSV,
    for operators allowed to view it. The export is itself in the audit log."""
    try:
        since = datetime.date.fromisoformat(request.GET.get("since", ""))
        until = datetime.date.fromisoformat(request.GET.get("until", ""))
    except ValueError:
        return HttpResponseBadRequest("Give since and until as dates: ?since=2026-01-01&until=2026-02-01\n")
    start = datetime.datetime.combine(since, datetime.time(), tzinfo=datetime.UTC)
    end = datetime.datetime.combine(until, datetime.time(), tzinfo=datetime.UTC)
    operations.audit(request.user, "export record of reads", target_type="record of reads", detail=f"{since}..{until}")
    response = StreamingHttpResponse(records.as_csv(records.reads_between(start, end)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="reads-{since}-{until}.csv"'
    return response


@never_cache
@require_GET
def prometheus(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for staff sessions or `Authorization: Bearer $EXORA_METRICS_TOKEN`."""
    if not (_has_metrics_token(request) or (request.user.is_authenticated and request.user.is_staff)):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="exora-metrics"'
        return response
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)


def _has_metrics_token(request: HttpRequest) -> bool:
    expected = settings.EXORA_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    # Constant time: a timing difference would tell an attacker how much of a guess is right.
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and answers; nothing else is checked, and nothing is told."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """The database, the broker and Redis (the sockets' channel layer) answer. Which one does
    not is logged, not shown: the probe is public."""
    ready = _database_answers() and _broker_answers() and _redis_answers()
    return HttpResponse("ready\n" if ready else "not ready\n", status=200 if ready else 503, content_type="text/plain")


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row: tuple[object, ...] | None = cursor.fetchone()
            return row == (1,)
    except Exception:
        metrics.logger.warning("readyz: the database does not answer", exc_info=True)
        return False


def _broker_answers() -> bool:
    broker = broker_queues()
    if broker is None:  # the stub broker: nothing to reach
        return True
    try:
        return broker.ping()
    except Exception:
        metrics.logger.warning("readyz: the broker does not answer", exc_info=True)
        return False


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(settings.EXORA_EVENTS_REDIS_URL, socket_timeout=2).ping())
    except Exception:
        metrics.logger.warning("readyz: Redis does not answer", exc_info=True)
        return False
