"""The cache the web processes count their throttles in: Redis, one pool of connections per
process. Under ASGI Django makes a cache backend for every request; Django's own Redis backend
kept its pool in the backend, so every request opened a connection of its own."""

import contextvars

import redis
from django.conf import settings as django_settings
from django.core.cache import cache


def use_the_cache(key: str) -> None:
    cache.set(key, 1, timeout=60)
    assert cache.get(key) == 1


def test_requests_in_contexts_of_their_own_share_the_process_redis_connections(settings):
    # GIVEN the Redis cache the web processes use (on the tests' own Redis database)
    tests_redis = django_settings.EXORA_EVENTS_REDIS_URL
    settings.CACHES = {"default": {**settings.REDIS_CACHE, "LOCATION": tests_redis}}
    server = redis.Redis.from_url(tests_redis)
    accepted_before = server.info("stats")["total_connections_received"]
    # WHEN twenty requests use it, each in a context of its own, as the ASGI handler runs them
    for number in range(20):
        contextvars.Context().run(use_the_cache, f"throttle-{number}")
    # THEN Redis accepted one connection for all of them
    accepted = server.info("stats")["total_connections_received"] - accepted_before
    assert accepted == 1
