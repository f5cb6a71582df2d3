"""A socket lives only as long as what opened it: closed when its session ends or its token is
revoked (at once), or when either expires (at the next check); and its snapshots are limited."""

import asyncio

from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from knox.models import AuthToken

from tests.factories import api_token
from tests.realtime.conftest import communicator, queued_document, receive_all, signed_in_browser


async def closed_with(socket, timeout: float = 5.0) -> int | None:
    """The close code the server sends within `timeout`, skipping other messages."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await socket.receive_nothing(timeout=0.1, interval=0.02):
            continue
        message = await socket.receive_output(timeout=1)
        if message["type"] == "websocket.close":
            return int(message.get("code", 1000))
    return None


def test_signing_out_closes_the_sessions_socket(alice):
    queued_document(alice)
    browser, cookie = signed_in_browser(alice)

    async def scenario() -> int | None:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        await receive_all(socket)
        # WHEN she signs out in the browser
        await database_sync_to_async(browser.post)("/accounts/logout/")
        return await closed_with(socket)

    # THEN her socket is closed as refused
    assert asyncio.run(scenario()) == 4401


def test_revoking_a_token_closes_its_socket_and_no_other(alice):
    key, other_key = api_token(alice), api_token(alice)

    async def scenario() -> tuple[int | None, int | None]:
        revoked, kept = communicator(token=key, origin=None), communicator(token=other_key, origin=None)
        assert (await revoked.connect())[0] and (await kept.connect())[0]
        # WHEN the first token is revoked
        await database_sync_to_async(AuthToken.objects.filter(token_key=key[:15]).delete)()
        codes = await closed_with(revoked), await closed_with(kept, timeout=1.0)
        await kept.disconnect()
        return codes

    # THEN its socket closes; the other token's stays open
    assert asyncio.run(scenario()) == (4401, None)


def test_an_expired_session_closes_its_socket_at_the_next_check(settings, alice):
    settings.EXORA_SOCKET_RECHECK_SECONDS = 1
    _, cookie = signed_in_browser(alice)

    async def scenario() -> int | None:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]
        # WHEN the session ends without a sign-out (it expired and was cleared)
        await database_sync_to_async(Session.objects.all().delete)()
        return await closed_with(socket, timeout=5)

    assert asyncio.run(scenario()) == 4401


def test_snapshots_are_limited_per_person_and_minute(settings, alice):
    settings.EXORA_SOCKET_SNAPSHOTS_PER_MINUTE = 2
    queued_document(alice)
    _, cookie = signed_in_browser(alice)

    async def scenario() -> tuple[list[dict], dict, int | None]:
        socket = communicator(cookie=cookie)
        assert (await socket.connect())[0]  # the first snapshot
        await receive_all(socket)
        await socket.send_json_to({"type": "snapshot"})  # the second
        await receive_all(socket)
        await socket.send_json_to({"type": "snapshot"})  # one too many
        refused = await receive_all(socket)
        await socket.disconnect()
        again = communicator(cookie=cookie)
        assert (await again.connect())[0]
        told = await again.receive_json_from()
        code = await closed_with(again)
        await again.disconnect()
        return refused, told, code

    refused, told, code = asyncio.run(scenario())
    # THEN the third is refused with a reason, and a new socket this minute is told why and closed
    assert [m["type"] for m in refused] == ["refused"]
    assert "at most 2 a minute" in refused[0]["message"]
    assert told["type"] == "refused" and code == 4429
