"""Loaded with `-p` before Django: the test run's environment, set before settings are read."""

import os
import tempfile

# A database per run (pytest-django prefixes test_ and drops it at the end), so that runs
# side by side on one machine do not drop each other's tables.
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/exora_{os.getpid()}")
os.environ.setdefault("EXORA_DATA_DIR", tempfile.mkdtemp(prefix="exora-test-data-"))
# Enqueued messages stay in-process unless a test starts real workers on Redis.
os.environ.setdefault("EXORA_BROKER", "stub")
# In-process workers renew leases but leave recovery to the tests that exercise it.
os.environ.setdefault("EXORA_RECOVERY_INTERVAL_SECONDS", "0")
# Announcements made at once, in the test's thread (processes the e2e tests start coalesce).
os.environ.setdefault("EXORA_EVENTS_COALESCE_SECONDS", "0")
# Socket events go to a Redis database of their own, under a prefix of this run.
os.environ.setdefault("EXORA_EVENTS_REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("EXORA_EVENTS_PREFIX", f"exora-test-{os.getpid()}")
# The S3 server the storage tests use (scripts/services.sh s3 starts SeaweedFS there), with the
# keys it was given; each test makes a bucket of its own.
os.environ.setdefault("EXORA_S3_ENDPOINT_URL", "http://127.0.0.1:8333")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "exora")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "exora-secret-key")
