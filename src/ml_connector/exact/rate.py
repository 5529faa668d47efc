"""Rate governor for one Exact division: obey the minutely and daily windows and the error budget.

Exact reports its windows in `X-RateLimit-*` headers (resets in epoch milliseconds) and answers 429
once a window is used up. The governor keeps the last known windows in memory and counts its own
calls down between answers. While plenty of budget is left it touches nothing else (no per-call
database work); once a window runs low, every call reserves its slot through the shared `RateBudget`
row under a database lock, so that several processes together never send a call that is known to
get a 429. Waiting for a window is not a failure: `acquire` sleeps (injectable clock and sleep) and
only raises when the daily budget is gone or the endpoint's error budget is spent.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ml_connector.exact.errors import SYSTEM, ErrorBudgetExhaustedError, daily_limit_reached
from ml_connector.sandbox_kit.clock import Clock, SystemClock
from ml_connector.store.db import Database
from ml_connector.store.models import RateBudget

MINUTE_MS = 60_000
DAY_MS = 86_400_000
ERROR_WINDOW_S = 3600.0
COUNTED_ERRORS = frozenset({400, 401, 403, 404})  # Exact counts these toward its hourly block


@dataclass(frozen=True)
class Window:
    limit: int | None
    remaining: int | None
    reset_ms: int | None

    def merge(self, other: Window | None) -> Window:
        """Combine two observations: a later window wins; within one window the lower count wins."""
        if other is None:
            return self
        if self.reset_ms is None or (other.reset_ms is not None and other.reset_ms > self.reset_ms):
            return other
        if other.reset_ms is None or other.reset_ms < self.reset_ms:
            return self
        remaining = (
            min(r for r in (self.remaining, other.remaining) if r is not None)
            if (self.remaining is not None or other.remaining is not None)
            else None
        )
        return Window(self.limit or other.limit, remaining, self.reset_ms)

    def rolled(self, now_ms: int, period_ms: int, margin_ms: int, in_flight: int) -> Window:
        """After the reset (plus a margin for clock skew) the window is full again (clock-aligned),
        less the calls still in flight: they may land in the new window."""
        if self.reset_ms is None or now_ms < self.reset_ms + margin_ms:
            return self
        periods = max(1, math.ceil((now_ms - self.reset_ms + 1) / period_ms))
        remaining = None if self.limit is None else self.limit - in_flight
        return Window(self.limit, remaining, self.reset_ms + periods * period_ms)

    def less(self, uncounted: int) -> Window:
        """The server's count minus our calls it had not seen yet when it answered."""
        if self.remaining is None or uncounted <= 0:
            return self
        return replace(self, remaining=self.remaining - uncounted)

    def take(self) -> Window:
        return self if self.remaining is None else replace(self, remaining=self.remaining - 1)

    def low(self, low_water: int) -> bool:
        return self.remaining is not None and self.remaining <= low_water

    def empty(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def read_window(headers: Mapping[str, str], prefix: str) -> Window | None:
    """One window from the headers; a missing header means unknown (a 429 carries only the exhausted one)."""
    limit, remaining, reset = (_int(headers, f"{prefix}{part}") for part in ("Limit", "Remaining", "Reset"))
    if limit is None and remaining is None and reset is None:
        return None
    return Window(limit, remaining, reset)


_KEY_RE = re.compile(r"\(.*\)$")


def endpoint_of(url_or_path: str) -> str:
    """`https://h/api/v1/1/crm/Accounts(guid'..')?$x` -> `crm/Accounts`: the unit of the error budget."""
    path = url_or_path.split("?", 1)[0]
    _, marker, rest = path.partition("/api/v1/")
    parts = (rest if marker else path).strip("/").split("/")
    if parts and parts[0].isdigit():
        parts = parts[1:]
    return _KEY_RE.sub("", "/".join(parts))


class RateGovernor:
    def __init__(
        self,
        division: int,
        *,
        db: Database | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        low_water: int = 10,
        persist_interval: float = 10.0,
        max_errors_per_hour: int = 9,
        skew_margin_ms: int = 1000,
    ) -> None:
        self.division = division
        self.scope = f"exact:{division}"
        self._db = db
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._low_water = low_water
        self._persist_interval = persist_interval
        self._max_errors = max_errors_per_hour
        self._margin_ms = skew_margin_ms
        self._lock = threading.Lock()
        self._minute: Window | None = None
        self._day: Window | None = None
        self._loaded = db is None
        self._saved_at = 0.0
        self._in_flight = 0  # admitted calls without an answer yet: the server has not counted them all
        self._errors: dict[str, deque[float]] = {}

    # -- before a call --------------------

    def acquire(self, endpoint: str) -> None:
        """Block until a call may be sent; raise when it may not be sent at all."""
        if not self._loaded:
            self._load()
        while True:
            with self._lock:
                now = self._clock.time()
                self._roll(now)
                self._check_daily(now)
                self._check_error_budget(endpoint, now)
                if not self._is_low():
                    self._take()
                    self._in_flight += 1
                    return
            wait = self._reserve_shared() if self._db is not None else self._reserve_local()
            if wait <= 0:
                with self._lock:
                    self._in_flight += 1
                return
            self._sleep(wait)

    def _is_low(self) -> bool:
        minute, day = self._minute, self._day
        return (minute is not None and minute.low(self._low_water)) or (
            day is not None and day.low(self._low_water)
        )

    def _take(self) -> None:
        self._minute = self._minute.take() if self._minute else None
        self._day = self._day.take() if self._day else None

    def _roll(self, now: float) -> None:
        now_ms = int(now * 1000)
        if self._minute:
            self._minute = self._minute.rolled(now_ms, MINUTE_MS, self._margin_ms, self._in_flight)
        if self._day:
            self._day = self._day.rolled(now_ms, DAY_MS, self._margin_ms, self._in_flight)

    def _check_daily(self, now: float) -> None:
        if self._day is not None and self._day.empty() and self._day.reset_ms is not None:
            raise daily_limit_reached(self.division, self._day.reset_ms, now)

    def _wait_seconds(self, now: float) -> float:
        """Until the minutely window resets, if it is used up; 0 when a call may go."""
        if self._minute is None or not self._minute.empty() or self._minute.reset_ms is None:
            return 0.0
        return max(0.001, (self._minute.reset_ms + self._margin_ms) / 1000 - now)

    def _reserve_local(self) -> float:
        with self._lock:
            now = self._clock.time()
            wait = self._wait_seconds(now)
            if wait <= 0:
                self._take()
            return wait

    def _reserve_shared(self) -> float:
        """Claim one call from the shared row under the database lock (all processes count down together)."""
        assert self._db is not None
        with self._db.locked_session() as session:
            row = session.scalar(select(RateBudget).where(RateBudget.scope == self.scope).with_for_update())
            with self._lock:
                now = self._clock.time()
                if row is not None:
                    self._merge_row(row)
                self._roll(now)
                self._check_daily(now)
                wait = self._wait_seconds(now)
                if wait <= 0:
                    self._take()
                if row is None:
                    row = RateBudget(scope=self.scope)
                    session.add(row)
                self._write_row(row)
                self._saved_at = now
        return wait

    # -- after a call --------------------

    def observe(self, endpoint: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer: its rate-limit headers, a 429, or an error that counts toward the block."""
        minute = read_window(headers, "X-RateLimit-Minutely-")
        day = read_window(headers, "X-RateLimit-")
        now = self._clock.time()
        with self._lock:
            # Calls admitted before this one was answered may not be in the server's count yet.
            self._in_flight = max(0, self._in_flight - 1)
            minute = minute.less(self._in_flight) if minute else None
            day = day.less(self._in_flight) if day else None
            if status == 429 and minute is None and day is None:
                # No headers at all: assume the minute is used up until the next clock minute.
                next_minute = (int(now * 1000) // MINUTE_MS + 1) * MINUTE_MS
                minute = Window(None, 0, next_minute)
            elif status == 429:
                minute = replace(minute, remaining=0) if minute is not None and day is None else minute
                day = replace(day, remaining=0) if day is not None and minute is None else day
            self._minute = minute.merge(self._minute) if minute else self._minute
            self._day = day.merge(self._day) if day else self._day
            if status in COUNTED_ERRORS:
                self._errors.setdefault(endpoint, deque()).append(now)
            # Other processes need what this answer says when the budget runs low (then they reserve every
            # call through the shared row) or after a 429; else an occasional write keeps the row current.
            persist = self._db is not None and (
                status == 429 or self._is_low() or now - self._saved_at >= self._persist_interval
            )
        if persist:
            self.persist()

    def abandon(self) -> None:
        """An admitted call got no answer (transport error): it is no longer in flight."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def _check_error_budget(self, endpoint: str, now: float) -> None:
        errors = self._errors.get(endpoint)
        if not errors:
            return
        while errors and errors[0] <= now - ERROR_WINDOW_S:
            errors.popleft()
        if len(errors) >= self._max_errors:
            retry_after = errors[0] + ERROR_WINDOW_S - now
            raise ErrorBudgetExhaustedError(
                f"{len(errors)} errors on Exact endpoint {endpoint} within the last hour; calls to it "
                f"pause for {retry_after / 60:.0f} min so that Exact does not block the app "
                "(10 errors/hour per endpoint)",
                system=SYSTEM,
                endpoint=endpoint,
                retry_after=retry_after,
            )

    # -- sharing through the database --------------------

    def _load(self) -> None:
        assert self._db is not None
        with self._db.session() as session:
            row = session.get(RateBudget, self.scope)
            with self._lock:
                if row is not None:
                    self._merge_row(row)
                self._loaded = True

    def persist(self) -> None:
        """Write what this process knows into the shared row (merged with what others wrote)."""
        if self._db is None:
            return
        for _attempt in range(2):  # two processes may insert the first row at once
            try:
                with self._db.locked_session() as session:
                    row = session.scalar(
                        select(RateBudget).where(RateBudget.scope == self.scope).with_for_update()
                    )
                    with self._lock:
                        if row is None:
                            row = RateBudget(scope=self.scope)
                            session.add(row)
                        else:
                            self._merge_row(row)
                        self._write_row(row)
                        self._saved_at = self._clock.time()
                return
            except IntegrityError:
                continue

    def _merge_row(self, row: RateBudget) -> None:
        stored_minute = Window(row.minutely_limit, row.minutely_remaining, row.minutely_reset_ms)
        stored_day = Window(row.daily_limit, row.daily_remaining, row.daily_reset_ms)
        self._minute = stored_minute.merge(self._minute) if row.minutely_reset_ms else self._minute
        self._day = stored_day.merge(self._day) if row.daily_reset_ms else self._day

    def _write_row(self, row: RateBudget) -> None:
        if self._minute is not None:
            row.minutely_limit, row.minutely_remaining, row.minutely_reset_ms = (
                self._minute.limit,
                self._minute.remaining,
                self._minute.reset_ms,
            )
        if self._day is not None:
            row.daily_limit, row.daily_remaining, row.daily_reset_ms = (
                self._day.limit,
                self._day.remaining,
                self._day.reset_ms,
            )

    # -- for ping and tests --------------------

    @property
    def minute(self) -> Window | None:
        return self._minute

    @property
    def day(self) -> Window | None:
        return self._day
