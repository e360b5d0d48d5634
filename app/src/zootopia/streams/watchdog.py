"""Ends a stream that stopped making progress, so systemd starts it afresh.

kafka-python can wait forever for a transaction coordinator that went away
and came back. Exiting is safe: the new process's init_transactions aborts the
open transaction, and streaming resumes from the last committed progress.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

# The exit status systemd sees (EX_TEMPFAIL): Restart=always starts the stream again.
STALLED = 75


class Watchdog:
    def __init__(self, limit_seconds: float) -> None:
        self.limit_seconds = limit_seconds
        self._last = time.monotonic()
        self._armed = False
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._thread.start()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """A Kafka call that must return within the limit."""
        self._last = time.monotonic()
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    def _watch(self) -> None:
        while True:
            time.sleep(min(5.0, self.limit_seconds / 4))
            stalled = time.monotonic() - self._last
            if self._armed and stalled > self.limit_seconds:
                log.error("no progress for %.0f s (Kafka unreachable?): exiting to be restarted", stalled)
                logging.shutdown()
                os._exit(STALLED)
