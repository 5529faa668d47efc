"""Injectable clocks: real time for production, a controllable one for tests and sandboxes."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait until `seconds` have passed on this clock."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """Time that moves only when told to (`advance`), optionally also `scale` times faster than real time.

    With scale=60 a sandbox minute passes in one real second, so rate-limit windows can be tested quickly.
    """

    def __init__(self, start: float | None = None, scale: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._real_origin = time.monotonic()
        self._origin = time.time() if start is None else start
        self._offset = 0.0
        self.scale = scale

    def time(self) -> float:
        with self._lock:
            elapsed = (time.monotonic() - self._real_origin) * self.scale
            return self._origin + self._offset + elapsed

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def sleep(self, seconds: float) -> None:
        """Waiting on a manual clock moves it on (a waiter would otherwise never see the time pass)."""
        self.advance(seconds)


def utc_datetime(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), UTC)
