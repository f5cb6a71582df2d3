"""The database: PostgreSQL at DATABASE_URL (SQLite in the data dir when unset), reached
directly or through PgBouncer, with a bounded pool of connections in every process."""

import dj_database_url

from exora import env
from exora.settings.django import DATA_DIR

# "pgbouncer": PostgreSQL is reached through PgBouncer in transaction pooling mode, where
# consecutive transactions of one client may run on different server connections: nothing may
# outlive a transaction on the server (named cursors, session settings, startup options).
EXORA_DB_POOLER = env.get_choice("EXORA_DB_POOLER", "none", ("none", "pgbouncer"))
# Connections one process keeps open at most (its web requests or worker threads share them):
# the server's limit is then a sum the operator can count, whatever the load.
EXORA_DB_POOL_SIZE = env.get_int("EXORA_DB_POOL_SIZE", 8, minimum=1)
# How long a request waits for a free connection before it is answered 503 (a worker's step
# fails and is retried).
EXORA_DB_POOL_TIMEOUT_SECONDS = env.get_float("EXORA_DB_POOL_TIMEOUT_SECONDS", 10.0)
# HTTP requests a web process works on at once (exora.admission); the others wait their turn,
# first come first served, for as long as a request may wait for a connection.
EXORA_WEB_REQUESTS_AT_ONCE = env.get_int("EXORA_WEB_REQUESTS_AT_ONCE", EXORA_DB_POOL_SIZE, minimum=1)

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'exora.sqlite3'}",
        # The pool keeps connections; Django's own persistence is per thread, and under ASGI
        # every request runs on a thread of its own: connections grew with the load until
        # PostgreSQL refused more.
        conn_max_age=0,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the init command applies it to
    # every new connection.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg's pool; PostgreSQL's JIT is turned off for our role by a migration
    # (processing 0006), not per connection: PgBouncer refuses startup options.
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": 1,
            "max_size": EXORA_DB_POOL_SIZE,
            "timeout": EXORA_DB_POOL_TIMEOUT_SECONDS,
            # Idle connections beyond the first are closed after a minute, so a burst's
            # connections go back to the server.
            "max_idle": 60,
        },
    }
    if EXORA_DB_POOLER == "pgbouncer":
        # A named cursor lives in its session, which transaction pooling does not keep.
        # (Prepared statements, the other such thing, Django leaves off by default.)
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
