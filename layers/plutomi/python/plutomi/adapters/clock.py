"""Time and identifiers. Services read the time only through a Clock, so tests never sleep."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

from plutomi.domain.ids import format_id


class SystemClock:
    def now(self) -> datetime:
        # BSON dates keep milliseconds; truncating here keeps what we return equal to what we store.
        moment = datetime.now(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def new_id(self, prefix: str) -> str:
        return format_id(prefix, int(self.now().timestamp() * 1000), os.urandom(10))


class FixedClock(SystemClock):
    """A clock that stands still until advanced: for tests, the sweeper's dry runs and benchmarks."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta
