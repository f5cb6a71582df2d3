"""One leader at a time among processes on any number of hosts, by a lock in Redis.

redis-py's `Lock` takes, renews and releases the lock atomically (a token of its own and Lua
scripts): a leader that lost the lock (it stalled past the lock's life) cannot renew or
release another's. The lock lives for three rounds, so a leader that dies is replaced within
three rounds.
"""

import contextlib

import redis
from redis.exceptions import LockError


class Leadership:
    def __init__(self, client: "redis.Redis[bytes]", key: str, interval: float) -> None:
        self.lock = client.lock(key, timeout=interval * 3, blocking=False, thread_local=False)

    def hold(self) -> bool:
        """Take the lock, or renew it when this process has it; False while another has it."""
        if self.lock.owned():
            try:
                self.lock.reacquire()
                return True
            except LockError:
                pass  # it ran out and another took it in between
        return bool(self.lock.acquire(blocking=False))

    def release(self) -> None:
        """Let another process take over at once (after a clean stop)."""
        with contextlib.suppress(LockError):  # not ours any more: it ran out
            self.lock.release()
