"""The model behind autoscale_sim.py: a day of uploads, the OCR workers reading their pages,
and either a fixed fleet or KEDA's autoscaler on Exora's capacity figure. Plain Python, no
Django: the figure is passed in as a function (autoscale_sim.py passes the dashboard's own).

What is modelled, and how (each a simplification, said here once):
- Uploads arrive as a Poisson process whose rate is constant within each hour (the day's
  curve, `hourly_rates`). A document starts (its pages counted, its first messages sent)
  `start_seconds` after its upload: the documents queue has workers of its own that keep up.
- Pages are messages in the lane queues, taken first-come first-served by idle worker
  processes, the standard lane before the bulk lane (documents over EXORA_BULK_PAGES pages).
  A document has at most `window` (EXORA_DOCUMENT_WINDOW) messages queued or running; each
  page read sends its next one, to the back of the queue. The priority lane (a paid tier) and
  "many documents from one person" are not modelled.
- A page occupies one worker process for a lognormal time of mean `page_seconds`.
- The wait of a document is from its upload to its first page starting.
- Autoscaled: Prometheus scrapes the figure every `scrape_seconds`; every `polling_seconds`
  the HPA (through KEDA) reads the mean of the values scraped over `average_seconds` (the
  query's avg_over_time), wants ceil(value / threshold) pods (threshold: processes per pod),
  ignores a change within its tolerance, scales up at once (at most doubling, or +4
  pods, per step), and down to the highest want of the last `scale_down_window` seconds. A new
  pod reads pages `startup_seconds` after it is asked for; a removed one finishes its pages.
  With minimum 0 pods, KEDA takes the last pod away after `cooldown_seconds` of a zero figure.
- Worker-hours count each pod's processes from when it is asked for to when it is gone.
"""

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.figures import Measurements

HOUR = 3600.0
DAY = 24 * HOUR
ARRIVAL_WINDOW = 15 * 60.0  # as dashboard.selectors.capacity measures the arrival rate
SERVICE_HISTORY = 2000  # pages the service time is averaged over (the last hour's at most)


@dataclass(frozen=True)
class Day:
    uploads: int = 10_000
    peak_per_hour: float = 400.0
    spike_per_hour: float = 1000.0
    spike_hour: int = 10  # the hour of the spike, 10:00-11:00
    curve_top_hour: int = 14  # where the day's curve peaks
    mean_pages: float = 30.0
    page_sigma: float = 1.0  # of the pages' lognormal: median 18, 5% over 100 pages
    max_pages: int = 1000  # EXORA_MAX_PAGES
    bulk_pages: int = 100  # EXORA_BULK_PAGES

    @property
    def spike_start(self) -> float:
        return self.spike_hour * HOUR


@dataclass(frozen=True)
class Service:
    page_seconds: float = 1.6
    page_cv: float = 0.5  # coefficient of variation of a page's time
    window: int = 8  # EXORA_DOCUMENT_WINDOW
    start_seconds: float = 0.5


@dataclass(frozen=True)
class Autoscaler:
    target_wait: float = 30.0  # the figure's EXORA_TARGET_WAIT_SECONDS
    polling_seconds: float = 15.0
    scrape_seconds: float = 15.0
    startup_seconds: float = 45.0
    processes_per_pod: int = 2
    # The trigger's threshold, the figure's workers per pod: the pod's processes, or more to
    # scale on a fraction of the figure.
    threshold: float | None = None
    min_pods: int = 2
    max_pods: int = 15
    tolerance: float = 0.1  # the HPA's default
    scale_down_window: float = 300.0
    cooldown_seconds: float = 300.0
    # The trigger's query averages the figure over this long (PromQL avg_over_time); 0: not.
    average_seconds: float = 300.0


Figure = Callable[[Measurements, int, int, float], int]  # measured, slots, threads, target -> workers


def hourly_rates(day: Day) -> list[float]:
    """Uploads per hour: a cosine from a trough to the peak and back, its trough chosen so that
    the day (spike hour included) adds up to `day.uploads`."""
    shape = [(1 + math.cos(2 * math.pi * (h - day.curve_top_hour) / 24)) / 2 for h in range(24)]
    others = [h for h in range(24) if h != day.spike_hour]
    # sum over the other hours of trough + (peak - trough) * shape = uploads - spike
    wanted = day.uploads - day.spike_per_hour
    weight = sum(shape[h] for h in others)
    trough = (wanted - day.peak_per_hour * weight) / (len(others) - weight)
    if not 0 <= trough <= day.peak_per_hour:
        raise ValueError(
            f"{day.uploads} uploads cannot make a day with a peak of {day.peak_per_hour:g}/h and one hour "
            f"at {day.spike_per_hour:g}/h (the trough would be {trough:.0f}/h)"
        )
    rates = [trough + (day.peak_per_hour - trough) * s for s in shape]
    rates[day.spike_hour] = day.spike_per_hour
    return rates


@dataclass
class Document:
    index: int
    arrived: float
    pages: int
    bulk: bool
    sent: int = 0
    done: int = 0
    first_start: float | None = None
    reading: bool = False


def make_uploads(day: Day, rng: random.Random, warm_up: float) -> list[Document]:
    """The day's documents, and the last `warm_up` seconds of the day before (same curve)."""
    rates = hourly_rates(day)
    mu = math.log(day.mean_pages) - day.page_sigma**2 / 2
    documents: list[Document] = []
    t = -warm_up
    while t < DAY:
        hour_start = math.floor(t / HOUR) * HOUR
        rate = rates[int(hour_start // HOUR) % 24] / HOUR
        gap = rng.expovariate(rate)
        if t + gap >= hour_start + HOUR:  # memoryless: start again at the hour's boundary
            t = hour_start + HOUR
            continue
        t += gap
        pages = min(max(round(rng.lognormvariate(mu, day.page_sigma)), 1), day.max_pages)
        documents.append(Document(len(documents), arrived=t, pages=pages, bulk=pages > day.bulk_pages))
    return documents


@dataclass
class Pod:
    asked_at: float
    processes: int
    ready: bool = False
    removed: bool = False
    busy: int = 0
    idle: int = 0
    gone_at: float | None = None


@dataclass(frozen=True)
class Reading:
    """A page being read: the event of its end."""

    pod: Pod
    doc: Document
    seconds: float


@dataclass
class Result:
    waits: list[float]  # seconds, per document arriving within the day
    arrivals: list[float]
    worker_hours: float
    max_processes: int = 0


class Simulation:
    """One day through one fleet: `processes` fixed, or an `autoscaler` with `figure`."""

    def __init__(
        self,
        documents: list[Document],
        service: Service,
        rng: random.Random,
        processes: int | None = None,
        autoscaler: Autoscaler | None = None,
        figure: Figure | None = None,
        warm_up: float = HOUR,
    ) -> None:
        assert (processes is None) != (autoscaler is None) and (autoscaler is None) == (figure is None)
        self.docs = [Document(d.index, d.arrived, d.pages, d.bulk) for d in documents]  # fresh state
        self.unfinished = len(self.docs)
        self.service, self.rng, self.scaler, self.figure = service, rng, autoscaler, figure
        self.warm_up = warm_up
        sigma = math.sqrt(math.log(1 + service.page_cv**2))
        self.page_mu, self.page_sigma = math.log(service.page_seconds) - sigma**2 / 2, sigma
        self.events: list[tuple[float, int, int, object]] = []
        self.seq = 0
        self.queues: tuple[deque[Document], deque[Document]] = (deque(), deque())  # standard, bulk
        self.pods: list[Pod] = []
        self.idle_pods: list[Pod] = []  # ready pods with an idle process (may hold stale entries)
        self.reading: set[int] = set()
        self.waiting_to_start = 0
        self.arrived: deque[tuple[float, int]] = deque()  # (time, pages) over the arrival window
        self.served: deque[tuple[float, float]] = deque()  # (time, seconds) of pages done
        self.served_total = 0.0
        self.pages_seen, self.docs_seen = 0, 0
        self.scraped: deque[tuple[float, int]] = deque()  # (time, figure) over average_seconds
        self.wants: deque[tuple[float, int]] = deque()  # (time, pods) for the scale-down window
        self.zero_since: float | None = None
        self.max_processes = 0
        if processes is not None:
            self.max_processes = processes
            pod = Pod(-warm_up, processes, ready=True, idle=processes)
            self.pods.append(pod)
            self.idle_pods.append(pod)
        else:
            assert autoscaler is not None
            for _ in range(autoscaler.min_pods):
                per_pod = autoscaler.processes_per_pod
                self.pods.append(Pod(-warm_up, per_pod, ready=True, idle=per_pod))
            self.idle_pods.extend(self.pods)
            self.push(-warm_up, SCRAPE)
            self.push(-warm_up + autoscaler.polling_seconds / 2, POLL)

    def push(self, at: float, kind: int, payload: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, payload))

    def run(self) -> Result:
        for index, doc in enumerate(self.docs):
            self.push(doc.arrived, ARRIVE, index)
        handlers = {
            ARRIVE: self.on_arrive,
            START: self.on_start,
            DONE: self.on_done,
            READY: self.on_ready,
            SCRAPE: self.on_scrape,
            POLL: self.on_poll,
        }
        now = -self.warm_up
        while self.events and self.unfinished:
            now, _, kind, payload = heapq.heappop(self.events)
            handlers[kind](now, payload)
        end = max(DAY, now)
        day = [d for d in self.docs if 0 <= d.arrived < DAY]
        return Result(
            waits=[(d.first_start if d.first_start is not None else end) - d.arrived for d in day],
            arrivals=[d.arrived for d in day],
            worker_hours=self.worker_seconds() / HOUR,
            max_processes=self.max_processes,
        )

    def worker_seconds(self) -> float:
        """Process-seconds reserved within the day (00:00 to 24:00)."""
        total = 0.0
        for pod in self.pods:
            start, stop = max(pod.asked_at, 0.0), min(pod.gone_at if pod.gone_at is not None else DAY, DAY)
            total += max(stop - start, 0.0) * pod.processes
        return total

    # -- the work ------------------------------------------------------------------------

    def on_arrive(self, now: float, index: object) -> None:
        assert isinstance(index, int)
        self.waiting_to_start += 1
        self.push(now + self.service.start_seconds, START, index)

    def on_start(self, now: float, index: object) -> None:
        assert isinstance(index, int)
        doc = self.docs[index]
        self.waiting_to_start -= 1
        doc.reading = True
        self.reading.add(index)
        self.arrived.append((now, doc.pages))
        self.pages_seen += doc.pages
        self.docs_seen += 1
        first = min(self.service.window, doc.pages)
        doc.sent = first
        self.queues[doc.bulk].extend([doc] * first)
        self.dispatch(now)

    def on_done(self, now: float, reading: object) -> None:
        assert isinstance(reading, Reading)
        pod, doc = reading.pod, reading.doc
        doc.done += 1
        self.served.append((now, reading.seconds))
        self.served_total += reading.seconds
        if doc.sent < doc.pages:
            doc.sent += 1
            self.queues[doc.bulk].append(doc)
        elif doc.done == doc.pages:
            doc.reading = False
            self.reading.discard(doc.index)
            self.unfinished -= 1
        pod.busy -= 1
        if pod.removed:
            if pod.busy == 0:
                pod.gone_at = now
        else:
            pod.idle += 1
            self.idle_pods.append(pod)
        self.dispatch(now)

    def dispatch(self, now: float) -> None:
        while self.idle_pods and (self.queues[0] or self.queues[1]):
            pod = self.idle_pods[-1]
            if pod.removed or pod.idle == 0:
                self.idle_pods.pop()
                continue
            doc = (self.queues[0] or self.queues[1]).popleft()
            pod.idle -= 1
            pod.busy += 1
            if pod.idle == 0:
                self.idle_pods.pop()
            if doc.first_start is None:
                doc.first_start = now
            seconds = self.rng.lognormvariate(self.page_mu, self.page_sigma)
            self.push(now + seconds, DONE, Reading(pod, doc, seconds))

    # -- the autoscaler ------------------------------------------------------------------

    def measured(self, now: float) -> Measurements:
        """What dashboard.selectors.capacity.measurements() would read from the database."""
        while self.arrived and self.arrived[0][0] <= now - ARRIVAL_WINDOW:
            self.arrived.popleft()
        while self.served and (len(self.served) > SERVICE_HISTORY or self.served[0][0] <= now - HOUR):
            self.served_total -= self.served.popleft()[1]
        per_document = self.pages_seen / self.docs_seen if self.docs_seen else 1.0
        window = self.service.window
        open_pages = [self.docs[i].pages - self.docs[i].done for i in self.reading]
        in_line = sum(min(open_of_one, window) for open_of_one in open_pages)
        return {
            "arrival_pages_per_second": sum(p for _, p in self.arrived) / ARRIVAL_WINDOW,
            "service_seconds_per_page": self.served_total / len(self.served) if self.served else None,
            "backlog_pages": round(sum(open_pages) + self.waiting_to_start * per_document, 1),
            "pages_in_line": round(in_line + self.waiting_to_start * min(per_document, window), 1),
            "pages_per_document": round(per_document, 2),
        }

    def on_scrape(self, now: float, _: object) -> None:
        assert self.scaler is not None and self.figure is not None
        slots = sum(p.busy + p.idle for p in self.pods if p.ready and not p.removed)
        self.scraped.append((now, self.figure(self.measured(now), slots, 1, self.scaler.target_wait)))
        while len(self.scraped) > 1 and self.scraped[0][0] <= now - self.scaler.average_seconds:
            self.scraped.popleft()
        self.push(now + self.scaler.scrape_seconds, SCRAPE)

    def on_poll(self, now: float, _: object) -> None:
        scaler = self.scaler
        assert scaler is not None
        live = [p for p in self.pods if not p.removed]
        current = len(live)
        value = sum(v for _, v in self.scraped) / len(self.scraped) if self.scraped else 0.0
        if value > 0:
            self.zero_since = None
        elif self.zero_since is None:
            self.zero_since = now
        if current == 0:
            want = max(scaler.min_pods, 1) if value > 0 else 0
        else:
            threshold = scaler.threshold or scaler.processes_per_pod
            ratio = value / (threshold * current)
            want = current if abs(ratio - 1) <= scaler.tolerance else math.ceil(value / threshold)
            want = min(max(want, scaler.min_pods, 1), scaler.max_pods)
            self.wants.append((now, want))
            while self.wants[0][0] < now - scaler.scale_down_window:
                self.wants.popleft()
            if want > current:
                want = min(want, max(2 * current, current + 4))
            else:
                want = max(w for _, w in self.wants)
                idle_long = self.zero_since is not None and now - self.zero_since >= scaler.cooldown_seconds
                if scaler.min_pods == 0 and idle_long:
                    want = 0
        for _ in range(want - current):
            pod = Pod(now, scaler.processes_per_pod)
            self.pods.append(pod)
            self.push(now + scaler.startup_seconds, READY, pod)
        if want < current:
            # The ReplicaSet removes pods not ready yet first, then the youngest.
            by_age = sorted(live, key=lambda p: (p.ready, -p.asked_at))
            for pod in by_age[: current - want]:
                pod.removed = True
                if pod.busy == 0:
                    pod.gone_at = now
        self.max_processes = max(self.max_processes, want * scaler.processes_per_pod)
        self.push(now + scaler.polling_seconds, POLL)
        self.dispatch(now)

    def on_ready(self, now: float, pod: object) -> None:
        assert isinstance(pod, Pod) and self.scaler is not None
        if pod.removed:
            return
        pod.ready = True
        pod.idle = pod.processes
        self.idle_pods.append(pod)
        self.dispatch(now)


ARRIVE, START, DONE, READY, SCRAPE, POLL = range(6)
