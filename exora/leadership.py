"""One leader at a time among processes on any number of hosts, by a lock in Redis.

The lock lives for three rounds, so a leader that dies is replaced within three rounds.
"""

import redis


def hold_leadership(client: "redis.Redis[bytes]", key: str, owner: str, interval: float) -> bool:
    """Take the lock `key` for `owner`, or keep it if `owner` has it; False if another has it."""
    ttl_ms = int(interval * 3 * 1000)
    if client.set(key, owner, nx=True, px=ttl_ms):
        return True
    if client.get(key) == owner.encode():
        client.pexpire(key, ttl_ms)
        return True
    return False


def release_leadership(client: "redis.Redis[bytes]", key: str, owner: str) -> None:
    """Let another process take over at once (after a clean stop)."""
    if client.get(key) == owner.encode():
        client.delete(key)
