"""The broker that carries work (Dramatiq), and the channel layer and events the sockets use.

Redis carries work by default (the one it already is for the sockets); RabbitMQ is what
Dramatiq recommends for a fleet: messages are pushed to idle workers instead of polled for,
kept on disk, and a dead connection's unacknowledged messages return to the queue. Redis
stays needed either way: the channel layer, the socket events and the leader locks use it.
"""

from exora import env

EXORA_BROKER = env.get_choice("EXORA_BROKER", "redis", ("redis", "rabbitmq", "stub"))
REDIS_URL = env.get_str("REDIS_URL", "redis://127.0.0.1:6379/0")
_DEFAULT_BROKER_URL = {"rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F"}.get(EXORA_BROKER, REDIS_URL)
EXORA_BROKER_URL = env.get_str("EXORA_BROKER_URL", _DEFAULT_BROKER_URL)
# RabbitMQ's management API, for the queue figures (empty: the broker's host, port 15672).
EXORA_RABBITMQ_MANAGEMENT_URL = env.get_str("EXORA_RABBITMQ_MANAGEMENT_URL", "")

# django-dramatiq's default list names middleware that dramatiq 2 no longer ships
# (Prometheus) and adds a database write per message (AdminMiddleware): list ours in full.
_DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.ShutdownNotifications",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Pipelines",
    "dramatiq.middleware.Retries",
    "dramatiq.middleware.CurrentMessage",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "processing.supervision.PageMessageIds",
    "processing.supervision.WorkerSupervision",
    "processing.supervision.WorkerHeartbeat",
]
if EXORA_BROKER == "stub":
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
elif EXORA_BROKER == "rabbitmq":
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
        # A message counts as sent once RabbitMQ confirms it has it.
        "OPTIONS": {"url": EXORA_BROKER_URL, "confirm_delivery": True},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
else:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        # Dramatiq gives a dead worker's unacknowledged messages to others once its heartbeat
        # is this old, checked on a share of broker calls; its defaults (60 s, 0.1%) leave
        # them waiting for minutes.
        "OPTIONS": {"url": EXORA_BROKER_URL, "heartbeat_timeout": 15_000, "maintenance_chance": 50_000},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]

# Sockets' groups and the per-document event counters; tests point it at their own database.
EXORA_EVENTS_REDIS_URL = env.get_str("EXORA_EVENTS_REDIS_URL", REDIS_URL)
# Keys and group names start with this, so test runs side by side never hear each other.
EXORA_EVENTS_PREFIX = env.get_str("EXORA_EVENTS_PREFIX", "exora")
# A queued document is announced (the queue computed, everyone whose place moved told) with
# the others queued within this many seconds: once per burst of uploads, not once per upload.
EXORA_EVENTS_COALESCE_SECONDS = env.get_float("EXORA_EVENTS_COALESCE_SECONDS", 1.0)
# "pubsub" pushes each group message to the web process holding the socket (Redis
# pub/sub); "lists" (channels_redis' core layer) keeps messages in Redis lists, which every
# web process drains one round trip per message: slower when one change goes to 1,000
# sockets (benchmarks/sockets_fanout.py). Nothing is lost by pub/sub that matters here: a
# socket that reconnects gets a fresh snapshot.
EXORA_CHANNEL_LAYER = env.get_choice("EXORA_CHANNEL_LAYER", "pubsub", ("pubsub", "lists"))
EXORA_CHANNEL_LAYER_PREFIX = f"{EXORA_EVENTS_PREFIX}:asgi"
if EXORA_CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [EXORA_EVENTS_REDIS_URL], "prefix": EXORA_CHANNEL_LAYER_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Every socket of one web process shares one Redis list, and a message beyond the
            # capacity is dropped silently: the default (100) lost most of a change sent to 1,000.
            "CONFIG": {
                "hosts": [EXORA_EVENTS_REDIS_URL],
                "prefix": EXORA_CHANNEL_LAYER_PREFIX,
                "capacity": 20_000,
            },
        }
    }
