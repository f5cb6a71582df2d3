"""Exora settings: every knob comes from the environment, parsed once, in this package.

`DATABASE_URL` and `REDIS_URL` follow the usual conventions; everything else is `EXORA_*`
(exora/env.py parses them, typed). One module per concern:

    django       Django itself: data dir, secret key, apps, templates, API, logging
    database     PostgreSQL (or SQLite), its pool, PgBouncer
    processing   reading pages: limits, OCR, workers and their sizes, lanes, leases, the node
    storage      where files live: local disk (default) or an S3 bucket; the workers' cache
    broker       Dramatiq's broker, the channel layer, the socket events
    operations   the operators' dashboard, alerts, /metrics
    fleet        what several hosts need, refused at start when missing
    security     request sizes, sign-in, tokens, HTTPS, CSP, the record of reads, retention
"""

from exora.settings.broker import *  # noqa: F403
from exora.settings.database import *  # noqa: F403
from exora.settings.django import *  # noqa: F403
from exora.settings.fleet import *  # noqa: F403
from exora.settings.operations import *  # noqa: F403
from exora.settings.processing import *  # noqa: F403
from exora.settings.security import *  # noqa: F403
from exora.settings.storage import *  # noqa: F403
