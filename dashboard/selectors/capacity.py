"""How many workers are needed, from the measured arrival rate and per-page service time.

Pages are the unit of work (one page occupies one worker thread), so everything is weighted
by pages: a queue of three 300-page documents is not a short queue.

workers needed = the most of
  - steady state: the fewest threads c for which an M/M/c queue (Erlang C) with the measured
    arrival rate and service time keeps the mean wait under the target, and
  - the line: enough threads to start, within the target wait, the pages a new upload would
    find ahead of it, while new ones keep arriving. That is each document's window of pages
    in flight (EXORA_DOCUMENT_WINDOW), not all its open pages: a 300-page document keeps 8
    workers busy, and more workers would not start a newcomer sooner. (Counting all its pages
    asked for twice the workers a 300-page upload could use, and autoscaling on that cost
    more worker-hours than a fixed fleet: benchmarks/autoscale_sim.py);
then divided by the threads each worker process runs.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from dashboard.figures import Capacity, Measurements
from documents.models import Document
from processing import selectors as processing_selectors
from processing.models import Page

ARRIVAL_WINDOW = timedelta(minutes=15)
MAX_SLOTS = 1000  # beyond this the advice is "far too few" anyway


def erlang_c_wait(arrival: float, service: float, slots: int) -> float:
    """Mean wait in an M/M/c queue: arrivals per second, seconds per job, c slots (inf if overloaded)."""
    load = arrival * service  # offered load in Erlangs
    if slots <= load:
        return math.inf
    term, total = 1.0, 1.0  # load**k / k!, summed for k < c
    for k in range(1, slots):
        term *= load / k
        total += term
    last = term * load / slots * slots / (slots - load)  # load**c / c! * c / (c - load)
    waiting_probability = last / (total + last)
    return waiting_probability * service / (slots - load)


def _steady_slots(arrival: float, service: float, target: float) -> int:
    if arrival <= 0 or service <= 0:
        return 0
    slots = max(math.ceil(arrival * service), 1)
    while slots < MAX_SLOTS and erlang_c_wait(arrival, service, slots) > target:
        slots += 1
    return slots


def measurements(now: datetime) -> Measurements:
    """Arrival rate, per-page service time and backlog, from the database."""
    recent = Document.objects.filter(created_at__gte=now - ARRIVAL_WINDOW).aggregate(
        documents=Count("id"), counted=Count("id", filter=Q(page_count__isnull=False)), pages=Sum("page_count")
    )
    pages_per_document = (
        Document.objects.filter(created_at__gte=now - timedelta(days=1), page_count__isnull=False).aggregate(
            avg=Avg("page_count")
        )["avg"]
        or 1.0
    )
    # Documents not counted yet (still queued) are taken at the day's average size.
    uncounted = recent["documents"] - recent["counted"]
    arriving_pages = (recent["pages"] or 0) + uncounted * pages_per_document
    service = _service_seconds(now)
    window = settings.EXORA_DOCUMENT_WINDOW
    line = processing_selectors.pages_in_line(window)
    return {
        "arrival_pages_per_second": arriving_pages / ARRIVAL_WINDOW.total_seconds(),
        "service_seconds_per_page": service,
        "backlog_pages": round(line.open_pages + line.not_started * pages_per_document, 1),
        "pages_in_line": round(line.in_line + line.not_started * min(pages_per_document, window), 1),
        "pages_per_document": round(pages_per_document, 2),
    }


def _service_seconds(now: datetime) -> float | None:
    """The mean seconds a page occupies a worker: over the last hour, else the last day."""
    for since in (now - timedelta(hours=1), now - timedelta(days=1)):
        totals = list(
            Page.objects.filter(status=Page.Status.DONE, done_at__gte=since)
            .order_by("-done_at")
            .values_list("timings__total", flat=True)[:2000]
        )
        values = [float(t) for t in totals if isinstance(t, int | float)]
        if values:
            return sum(values) / len(values)
    return None


def recommendation(measured: Measurements, slots_now: int, threads_per_worker: int, target_wait: float) -> Capacity:
    """Workers needed against workers running, and the advice in words."""
    arrival = measured["arrival_pages_per_second"]
    service = measured["service_seconds_per_page"]
    backlog = measured["backlog_pages"]
    in_line = measured["pages_in_line"]
    workers_now = math.ceil(slots_now / threads_per_worker) if slots_now else 0
    if service is None:
        slots_needed = workers_needed = 1 if backlog else 0
        advice = "no pages read recently: no service time to plan with"
        if backlog and not slots_now:
            advice = "work is waiting and no worker is alive: start 1 worker"
    else:
        steady = _steady_slots(arrival, service, target_wait)
        # Start the pages in line within the target while keeping up with the arrivals.
        drain = math.ceil(arrival * service + in_line * service / target_wait) if in_line else 0
        slots_needed = min(max(steady, drain, 1 if backlog else 0), MAX_SLOTS)
        workers_needed = math.ceil(slots_needed / threads_per_worker)
        advice = _advice(workers_now, workers_needed)
    return {
        **measured,
        "arrival_pages_per_minute": round(arrival * 60, 2),
        "backlog_seconds": round(backlog * service, 1) if service else None,
        "target_wait_seconds": target_wait,
        "slots_now": slots_now,
        "workers_now": workers_now,
        "threads_per_worker": threads_per_worker,
        "slots_needed": slots_needed,
        "workers_needed": workers_needed,
        "advice": advice,
    }


def _advice(now: int, needed: int) -> str:
    if needed > now:
        more = needed - now
        return f"add {more} worker{'s' if more != 1 else ''} ({needed} needed, {now} alive)"
    if needed == 0:
        return f"idle: nothing to read ({now} alive)"
    if now > needed + 1:
        return f"enough: {needed} needed, {now} alive ({now - needed} spare)"
    return f"enough: {needed} needed, {now} alive"


def capacity(slots_now: int, now: datetime | None = None) -> Capacity:
    now = now or timezone.now()
    threads = max(settings.EXORA_WORKER_THREADS, 1)
    return recommendation(measurements(now), slots_now, threads, float(settings.EXORA_TARGET_WAIT_SECONDS))
