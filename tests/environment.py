"""Loaded with `-p` before Django: the test run's environment, set before settings are read."""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/exora")
os.environ.setdefault("EXORA_DATA_DIR", tempfile.mkdtemp(prefix="exora-test-data-"))
# Enqueued messages stay in-process unless a test starts real workers on Redis.
os.environ.setdefault("EXORA_BROKER", "stub")
