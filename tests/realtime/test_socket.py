"""The socket at /ws/documents/: who may open it, what it sends on connect and afterwards."""

import asyncio
from datetime import timedelta
from typing import Any

import dramatiq
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import DocumentRead
from documents import events, lifecycle
from documents.consumers import MIN_INTERVAL
from documents.models import Document
from processing.housekeeping import Housekeeping
from processing.models import Job
from tests.conftest import drain
from tests.factories import api_token, born_digital_pdf
from tests.realtime.conftest import communicator, queued_document, receive_all, session_cookie, worker


def test_anonymous_is_refused(transactional_db):
    async def scenario() -> None:
        # GIVEN no session WHEN a socket is opened
        socket = communicator()
        connected, code = await socket.connect()
        # THEN the handshake is refused
        assert (connected, code) == (False, 4401)

    asyncio.run(scenario())


def test_another_origin_is_refused_even_with_a_session(alice):
    cookie = session_cookie("alice")

    async def scenario() -> None:
        # GIVEN alice's session cookie, sent by a page of another site
        socket = communicator(cookie=cookie, origin=b"http://evil.example")
        connected, _ = await socket.connect()
        # THEN the socket is refused
        assert not connected

    asyncio.run(scenario())


def test_a_token_client_connects_and_a_wrong_token_is_refused(alice):
    # GIVEN alice's API token and one queued document
    token = api_token(alice)
    document = queued_document(alice)

    async def scenario() -> None:
        # WHEN a client without a browser connects with the token header (no Origin)
        socket = communicator(token=token, origin=None)
        connected, _ = await socket.connect()
        assert connected
        # THEN it gets the snapshot of her document
        message = await socket.receive_json_from(timeout=5)
        assert message["id"] == str(document.id)
        await socket.disconnect()
        # AND a wrong token is refused
        connected, _ = await communicator(token="not-a-token", origin=None).connect()
        assert not connected

    asyncio.run(scenario())


def test_snapshot_on_connect_has_one_message_per_open_document(alice):
    # GIVEN two queued documents of alice's, two workers alive, and one finished long ago
    worker("w1"), worker("w2")
    first = queued_document(alice, pages=3, ago=30)
    second = queued_document(alice, pages=1, ago=10)
    old = queued_document(alice, ago=3600)
    Document.objects.filter(id=old.id).update(
        status=Document.Status.COMPLETED, finished_at=first.created_at.replace(year=2020)
    )
    cookie = session_cookie("alice")

    async def scenario() -> tuple[list[dict[str, Any]], None]:
        socket = communicator(cookie=cookie)
        connected, _ = await socket.connect()
        assert connected
        return await receive_all(socket), await socket.disconnect()

    # WHEN she connects
    messages, _ = asyncio.run(scenario())

    # THEN she gets one message per open document, in queue order, with every field
    assert [m["id"] for m in messages] == [str(first.id), str(second.id)]
    assert messages[0]["type"] == "document.status"
    assert messages[0]["status"] == "queued" and messages[0]["stage"] == "Queued"
    assert [m["position"] for m in messages] == [1, 2]
    assert messages[0]["eta_seconds"] == {"p50": 0, "p90": 0}
    assert (
        messages[1]["eta_seconds"]["p50"] > 0 and messages[1]["eta_seconds"]["p90"] >= messages[1]["eta_seconds"]["p50"]
    )
    assert (messages[0]["pages_done"], messages[0]["pages_total"]) == (0, 3)
    assert messages[0]["message"] == "" and messages[0]["seq"] >= 1


def test_another_users_events_never_arrive(alice, bob):
    mine = queued_document(alice)
    theirs = queued_document(bob)
    cookie = session_cookie("alice")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        snapshot = await receive_all(socket)
        # WHEN bob's document changes, several times
        for _ in range(3):
            await sync_to_async(events.document_changed)(theirs.id)
        heard = await receive_all(socket, quiet=1.5)
        # AND then hers
        await sync_to_async(events.document_changed)(mine.id)
        after = await receive_all(socket, quiet=1.5)
        await socket.disconnect()
        return snapshot, heard, after

    snapshot, heard, after = asyncio.run(scenario())
    # THEN she only ever hears of her own document (the socket does work: hers arrives)
    assert [m["id"] for m in snapshot] == [str(mine.id)]
    assert heard == []
    assert [m["id"] for m in after] == [str(mine.id)]


def test_many_changes_within_a_second_arrive_as_one_message_with_the_last_state(alice):
    document = queued_document(alice, pages=10)
    cookie = session_cookie("alice")

    def read_pages(count: int) -> None:
        for done in range(1, count + 1):
            Document.objects.filter(id=document.id).update(status=Document.Status.READING, pages_done=done)
            events.document_changed(document.id)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], float]:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        snapshot = await socket.receive_json_from(timeout=5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # WHEN six pages are stored in quick succession, right after the snapshot
        await sync_to_async(read_pages)(6)
        sent_in = loop.time() - started
        messages = await receive_all(socket, quiet=1.5)
        await socket.disconnect()
        return snapshot, messages, sent_in

    snapshot, messages, sent_in = asyncio.run(scenario())
    assert sent_in < 1.0, "the changes were not all made within a second"
    # THEN exactly one message arrives, carrying the last state and the latest sequence number
    assert len(messages) == 1, messages
    assert messages[0]["pages_done"] == 6 and messages[0]["stage"] == "Reading page 7 of 10"
    assert messages[0]["seq"] == snapshot["seq"] + 6


def test_a_document_from_queued_to_completed(alice, stub_broker, settings):
    # GIVEN alice's three-page upload, queued while no worker runs
    settings.EXORA_DOCUMENT_WINDOW = 1
    client = APIClient()
    client.force_authenticate(alice)
    pdf = born_digital_pdf([[f"Progress note page {n}"] for n in (1, 2, 3)])
    response = client.post("/api/v1/documents/", {"file": SimpleUploadedFile("note.pdf", pdf)}, format="multipart")
    assert response.status_code == 201, response.content
    document_id = response.json()["id"]
    cookie = session_cookie("alice")

    async def scenario() -> list[dict[str, Any]]:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        seen = [await socket.receive_json_from(timeout=5)]
        # WHEN a worker reads it (started and stopped off the event loop: it writes to the database)
        worker = dramatiq.Worker(stub_broker, worker_timeout=100, worker_threads=2)
        await sync_to_async(worker.start)()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while seen[-1]["status"] != "completed":
                assert loop.time() < deadline, seen
                seen.append(await socket.receive_json_from(timeout=10))
            await sync_to_async(drain)(stub_broker)
        finally:
            await sync_to_async(worker.stop)()
        await socket.disconnect()
        return seen

    seen = asyncio.run(scenario())
    # THEN she saw it queued first, at the head of the queue, then each change in order to the end
    assert seen[0]["id"] == document_id
    assert (seen[0]["status"], seen[0]["position"], seen[0]["pages_total"]) == ("queued", 1, 3)
    assert all(m["id"] == document_id for m in seen)
    assert [m["seq"] for m in seen] == sorted({m["seq"] for m in seen}), "seq must grow"
    assert [m["pages_done"] for m in seen] == sorted(m["pages_done"] for m in seen)
    order = [status.value for status in Document.Status]  # declared in the order they happen
    assert [order.index(m["status"]) for m in seen] == sorted(order.index(m["status"]) for m in seen)
    # (a position until a page starts being read, then none for good)
    positions = [m["position"] for m in seen]
    first_none = positions.index(None)
    assert positions[first_none:] == [None] * (len(seen) - first_none), positions
    last = seen[-1]
    assert (last["status"], last["stage"], last["pages_done"], last["pages_total"]) == ("completed", "Completed", 3, 3)
    assert Job.objects.get(document_id=document_id).finished_at is not None


def test_owners_hear_when_the_last_worker_stops_and_when_one_is_back(alice):
    # GIVEN one worker alive, a queued document of alice's, and her page open on it
    alive = worker("w1")
    document = queued_document(alice)
    cookie = session_cookie("alice")
    housekeeping = Housekeeping()
    housekeeping.tell_owners_when_workers_change()  # what the first round sees

    async def scenario() -> None:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        snapshot = await socket.receive_json_from(timeout=5)
        assert (snapshot["id"], snapshot["message"]) == (str(document.id), "")
        assert snapshot["eta_seconds"] is not None

        # WHEN the worker's heartbeat goes stale, and the alert evaluator makes its round
        alive.last_heartbeat = timezone.now() - timedelta(minutes=5)
        await database_sync_to_async(alive.save)()
        await database_sync_to_async(housekeeping.tell_owners_when_workers_change)()
        # THEN her page hears that the document waits for a worker, with no ETA
        stopped = await socket.receive_json_from(timeout=5)
        assert (stopped["message"], stopped["eta_seconds"], stopped["position"]) == ("waiting for a worker", None, 1)

        # WHEN a worker is back
        await database_sync_to_async(worker)("w2")
        await asyncio.sleep(MIN_INTERVAL)  # one message per document per second
        await database_sync_to_async(housekeeping.tell_owners_when_workers_change)()
        # THEN the ETA is back
        back = await socket.receive_json_from(timeout=5)
        assert back["message"] == "" and back["eta_seconds"] is not None
        # AND a round in which nothing changed sends nothing
        await asyncio.sleep(MIN_INTERVAL)
        await database_sync_to_async(housekeeping.tell_owners_when_workers_change)()
        assert await socket.receive_nothing(timeout=1.5)
        await socket.disconnect()

    asyncio.run(scenario())


def test_a_snapshot_is_on_the_record_of_reads(alice):
    # GIVEN a queued document of alice's
    document = queued_document(alice)
    cookie = session_cookie("alice")

    async def scenario() -> list[dict[str, Any]]:
        socket = communicator(cookie=cookie)
        connected, _ = await socket.connect()
        assert connected
        messages = await receive_all(socket)
        await socket.disconnect()
        return messages

    # WHEN her socket connects and gets its snapshot
    assert [m["id"] for m in asyncio.run(scenario())] == [str(document.id)]
    # THEN the read is on record, through the socket's door
    read = DocumentRead.objects.get(document_id=document.id)
    assert (read.reader_name, read.door, read.owner_id) == ("alice", "socket", alice.id)


def test_an_upload_at_the_end_of_the_line_moves_nobody_and_a_priority_one_tells_those_it_passed(alice, bob):
    # GIVEN a worker, and bob's standard document waiting, his page open on it
    worker("w1")
    waiting = queued_document(bob, ago=60)
    cookie = session_cookie("bob")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        await receive_all(socket)  # the snapshot
        # WHEN alice uploads a standard document, which queues behind his
        behind = await database_sync_to_async(queued_document)(alice, ago=1)
        await sync_to_async(lifecycle.announce_queued)(str(behind.id))
        after_standard = await receive_all(socket, quiet=1.5)
        # AND then a priority one, which goes ahead of his
        ahead = await database_sync_to_async(queued_document)(alice, lane="priority", ago=0)
        await sync_to_async(lifecycle.announce_queued)(str(ahead.id))
        after_priority = await receive_all(socket, quiet=1.5)
        await socket.disconnect()
        return after_standard, after_priority

    after_standard, after_priority = asyncio.run(scenario())
    # THEN his page heard nothing of the upload behind him
    assert after_standard == []
    # AND heard that the priority one moved him back, with his new place
    assert [(m["id"], m["position"], m["message"]) for m in after_priority] == [
        (str(waiting.id), 2, "moved back: a priority document was added")
    ]
