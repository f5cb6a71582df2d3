"""Calls that may wait a moment, to be made once for many.

Announcing a queued document means computing the whole queue (every unfinished document's
place and ETA) and telling everyone whose place moved: 0.3 s with 1,700 documents waiting.
Made once per upload, a burst of uploads is quadratic; made once per burst, it is not.
`Coalescer.add(item)` notes an item and, unless one is already set, sets a timer; when it
fires, a thread makes the call once with every item noted meanwhile. With a wait of 0 the call
is made at once, in the caller's thread (the test suite's setting).
"""

import logging
import threading
from collections.abc import Callable

from django.db import connections

logger = logging.getLogger(__name__)


class Coalescer:
    def __init__(self, seconds: float, call: Callable[[set[str]], None]) -> None:
        self.seconds = seconds
        self.call = call
        self._pending: set[str] = set()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def add(self, item: str) -> None:
        if self.seconds <= 0:
            self.call({item})
            return
        with self._lock:
            self._pending.add(item)
            if self._timer is None:
                self._timer = threading.Timer(self.seconds, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            items, self._pending, self._timer = self._pending, set(), None
        try:
            self.call(items)
        except Exception:
            logger.exception("a coalesced call for %d items failed", len(items))
        finally:
            connections.close_all()  # this thread's connections go back to the pool
