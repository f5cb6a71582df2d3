"""The clients of benchmarks/upload_load.py: locust as a library, in a process of its own
(gevent patches the standard library as locust is imported). Writes the figures as JSON."""

import argparse
import itertools
import json
import random
import time
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import between, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from upload_body import upload_body

MIX = (("scan", 0.85), ("pdf30", 0.12), ("big", 0.03))
POLL_SECONDS = 2


def make_uploader(
    tokens: list[str], contents: dict[str, bytes], record: dict[str, Any], watch_seconds: float
) -> type[FastHttpUser]:
    next_token = itertools.count()

    class Uploader(FastHttpUser):
        wait_time = between(0.5, 1.5) if watch_seconds else between(0, 0)

        def on_start(self) -> None:
            self.token = tokens[next(next_token) % len(tokens)]
            self.headers = {"Authorization": f"Token {self.token}"}
            self.opening = True  # this client's first upload: all clients send theirs at once

        @task
        def upload_and_watch(self) -> None:
            kind = random.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
            body, content_type = upload_body(contents[kind], f"{kind}.pdf")
            first = True
            while True:
                started = time.perf_counter()
                with self.client.post(
                    "/api/v1/documents/",
                    data=body,  # type: ignore[arg-type]  # sent as they are; locust's hint forgets bytes
                    headers={**self.headers, "Content-Type": content_type},
                    name=f"upload {kind}",
                    catch_response=True,
                ) as response:
                    seconds = time.perf_counter() - started
                    record["times"].append((kind, first, seconds))
                    if self.opening and kind == "scan":
                        record["opening_scans"].append(seconds)
                    self.opening = False
                    answer = str(response.status_code)
                    record["answers"][answer] = record["answers"].get(answer, 0) + 1
                    if response.status_code == 201:
                        response.success()
                        document_id = response.json()["id"]
                        break
                    retry_after = response.headers.get("Retry-After")
                    if response.status_code in (429, 503) and retry_after and "detail" in response.text:
                        response.success()  # a clear refusal, not an error: come back later
                        first = False
                        gevent.sleep(float(retry_after))
                        continue
                    kind_of_error = f"{response.status_code} {response.error or response.text[:80]!r}"
                    record["errors"][kind_of_error] = record["errors"].get(kind_of_error, 0) + 1
                    response.failure(kind_of_error)
                    return
            watch_until = time.monotonic() + watch_seconds
            while time.monotonic() < watch_until:
                gevent.sleep(POLL_SECONDS)
                record["polls"] += 1
                polled = self.client.get(f"/api/v1/documents/{document_id}/", headers=self.headers, name="watch")
                if polled.status_code == 200 and polled.json().get("finished_at"):
                    break

    return Uploader


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--seconds", type=int, required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--files", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--watch-seconds", type=float, default=10, help="0: upload again at once")
    args = parser.parse_args()
    tokens = json.loads(Path(args.tokens).read_text())
    contents = {kind: Path(path).read_bytes() for kind, path in json.loads(args.files).items()}
    record: dict[str, Any] = {"times": [], "opening_scans": [], "answers": {}, "errors": {}, "polls": 0}
    uploader = make_uploader(tokens, contents, record, args.watch_seconds)
    environment = Environment(user_classes=[uploader], host=args.host)
    runner = environment.create_local_runner()
    me = psutil.Process()
    cpu_before, started = sum(me.cpu_times()[:2]), time.monotonic()
    runner.start(args.clients, spawn_rate=args.clients)  # all at once
    gevent.spawn_later(args.seconds, runner.quit)
    runner.greenlet.join()
    seconds = time.monotonic() - started
    times = [t for _, _, t in record["times"]]
    scans = [t for kind, _, t in record["times"] if kind == "scan"]

    def pct(values: list[float], share: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")

    figures = {
        "seconds": seconds,
        "taken": record["answers"].get("201", 0),
        "answers": record["answers"],
        "errors": record["errors"],
        "p50": pct(times, 0.5),
        "p95": pct(times, 0.95),
        "p99": pct(times, 0.99),
        "p95_scan": pct(scans, 0.95),
        "p95_opening_scan": pct(record["opening_scans"], 0.95),
        "polls": record["polls"],
        "locust_cpu": (sum(me.cpu_times()[:2]) - cpu_before) / seconds,
    }
    Path(args.out).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
