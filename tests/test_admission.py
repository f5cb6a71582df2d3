"""How many requests a web process works on at once (exora.admission): the rest wait their
turn in the order their bodies arrived, and a request that waits too long is answered 503 with
Retry-After. The application behind the door reads each body, as Django does, then answers
when the test says."""

import asyncio
from typing import Any

from asgiref.testing import ApplicationCommunicator

from exora.admission import AdmissionLimit
from exora.errors import BUSY_MESSAGE, RETRY_AFTER_SECONDS


class HeldApplication:
    """An ASGI application that reads a request's body, notes that the request is being worked
    on, and answers only once `answer(path)` is called (with `start_only`, it starts the answer
    and never ends it)."""

    def __init__(self) -> None:
        self.working_on: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.start_only: set[str] = set()

    def answer(self, path: str) -> None:
        self.release.setdefault(path, asyncio.Event()).set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # as Django drops a request whose client left
            if not message.get("more_body", False):
                break
        self.working_on.append(path)
        if path == "/fails":
            raise RuntimeError("the view failed")
        if path not in ("/healthz", "/readyz"):
            await self.release.setdefault(path, asyncio.Event()).wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if path in self.start_only:
            await asyncio.Event().wait()  # a body that never ends: a slow client's download
        await send({"type": "http.response.body", "body": b"ok"})


def http_scope(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}


async def arrive(door: AdmissionLimit, path: str, *, body_complete: bool = True) -> ApplicationCommunicator:
    """A request comes to the door with its body (or the first part of it). (Keep what this
    returns: a communicator dropped cancels its request.)"""
    communicator = ApplicationCommunicator(door, http_scope(path))
    await communicator.send_input({"type": "http.request", "body": b"x" * 1024, "more_body": not body_complete})
    await asyncio.sleep(0.01)  # each in its turn
    return communicator


async def status_of(communicator: ApplicationCommunicator) -> tuple[int, dict[bytes, bytes], bytes]:
    start = await communicator.receive_output(timeout=2)
    body = await communicator.receive_output(timeout=2)
    return start["status"], dict(start["headers"]), body["body"]


def test_requests_past_the_limit_wait_and_are_let_in_in_the_order_they_came() -> None:
    async def scenario() -> None:
        # GIVEN a door that lets two requests in at once, and two requests inside
        application = HeldApplication()
        door = AdmissionLimit(application, at_once=2, wait_seconds=5)
        first, second = await arrive(door, "/first"), await arrive(door, "/second")
        # WHEN two more come
        third, fourth = await arrive(door, "/third"), await arrive(door, "/fourth")
        # THEN they wait outside
        assert application.working_on == ["/first", "/second"]
        # WHEN one of those inside is answered
        application.answer("/second")
        assert (await status_of(second))[0] == 200
        await asyncio.sleep(0.01)
        # THEN the first to come after them goes in, and the next still waits
        assert application.working_on == ["/first", "/second", "/third"]
        application.answer("/first")
        await status_of(first)
        await asyncio.sleep(0.01)
        assert application.working_on[-1] == "/fourth"
        for path, communicator in (("/third", third), ("/fourth", fourth)):
            application.answer(path)
            assert (await status_of(communicator))[0] == 200

    asyncio.run(scenario())


def test_an_upload_still_coming_in_keeps_no_one_waiting() -> None:
    async def scenario() -> None:
        # GIVEN a door for one request at a time, and a large upload coming in over a slow line
        application = HeldApplication()
        door = AdmissionLimit(application, at_once=1, wait_seconds=5)
        upload = await arrive(door, "/upload", body_complete=False)
        # WHEN another request comes, whole
        other = await arrive(door, "/other")
        # THEN it is worked on and answered while the upload's body is still arriving
        assert application.working_on == ["/other"]
        application.answer("/other")
        assert (await status_of(other))[0] == 200
        # AND the upload takes its turn once its body is complete
        await upload.send_input({"type": "http.request", "body": b"end", "more_body": False})
        application.answer("/upload")
        assert (await status_of(upload))[0] == 200
        assert application.working_on == ["/other", "/upload"]

    asyncio.run(scenario())


def test_a_request_that_waits_too_long_is_answered_503_with_retry_after() -> None:
    async def scenario() -> None:
        # GIVEN a door for one request at a time, taken by a request that is not answered
        application = HeldApplication()
        door = AdmissionLimit(application, at_once=1, wait_seconds=0.2)
        slow = await arrive(door, "/slow")
        # WHEN another waits longer than a request may wait
        waiting = await arrive(door, "/next")
        status, headers, body = await status_of(waiting)
        # THEN it is told the service is busy and when to come back, and was never worked on
        assert status == 503
        assert headers[b"retry-after"] == str(RETRY_AFTER_SECONDS).encode()
        assert BUSY_MESSAGE.encode() in body
        await waiting.wait(timeout=2)
        assert application.working_on == ["/slow"]
        slow.future.cancel()

    asyncio.run(scenario())


def test_health_probes_never_wait() -> None:
    async def scenario() -> None:
        # GIVEN a door for one request, taken
        application = HeldApplication()
        door = AdmissionLimit(application, at_once=1, wait_seconds=5)
        slow = await arrive(door, "/slow")
        # WHEN the orchestrator probes the process
        probes = [await arrive(door, "/healthz"), await arrive(door, "/readyz")]
        # THEN the probes are answered at once: a busy process is alive
        assert [(await status_of(probe))[0] for probe in probes] == [200, 200]
        assert not slow.future.done()
        slow.future.cancel()

    asyncio.run(scenario())


def test_a_place_is_given_up_once_the_answer_starts_or_the_application_fails() -> None:
    async def scenario() -> None:
        # GIVEN a door for one request, taken by a download whose body never ends
        application = HeldApplication()
        application.start_only.add("/download")
        door = AdmissionLimit(application, at_once=1, wait_seconds=5)
        download = await arrive(door, "/download")
        application.answer("/download")
        assert (await download.receive_output(timeout=2))["status"] == 200
        # WHEN a request comes whose view fails, and then another
        failing = await arrive(door, "/fails")
        after = await arrive(door, "/after")
        # THEN both were worked on: the download's place was freed when its answer started,
        # and the failed one's when it failed
        assert application.working_on == ["/download", "/fails", "/after"]
        application.answer("/after")
        assert (await status_of(after))[0] == 200
        assert failing.future.done() and isinstance(failing.future.exception(), RuntimeError)
        download.future.cancel()

    asyncio.run(scenario())
