"""Rate governor: header windows, waits before exhaustion, 429, daily stop, error budget, sharing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from ml_connector.exact.errors import DailyLimitReachedError, ErrorBudgetExhaustedError
from ml_connector.exact.rate import RateGovernor, Window, endpoint_of, read_window
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.db import Database

MINUTE0 = 1_790_000_040_000  # the next clock minute after START (ms)
START = 1_790_000_000.0


def headers(
    minute_remaining: int | None, day_remaining: int | None = 4000, minute_reset: int = MINUTE0
) -> dict[str, str]:
    out: dict[str, str] = {}
    if minute_remaining is not None:
        out |= {
            "X-RateLimit-Minutely-Limit": "60",
            "X-RateLimit-Minutely-Remaining": str(minute_remaining),
            "X-RateLimit-Minutely-Reset": str(minute_reset),
        }
    if day_remaining is not None:
        out |= {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(day_remaining),
            "X-RateLimit-Reset": "1790035200000",  # 00:00 UTC
        }
    return out


class Sleeper:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def governor(clock: ManualClock, db: Database | None = None, **kwargs: Any) -> tuple[RateGovernor, Sleeper]:
    sleeper = Sleeper(clock)
    return RateGovernor(123, db=db, clock=clock, sleep=sleeper, **kwargs), sleeper


def test_headers_are_read_and_missing_ones_stay_unknown():
    assert read_window(headers(59, None), "X-RateLimit-Minutely-") == Window(60, 59, MINUTE0)
    assert read_window(headers(59, None), "X-RateLimit-") is None


def test_windows_merge_by_reset_then_lowest_count():
    early, late = Window(60, 5, 1000), Window(60, 50, 2000)
    assert early.merge(late) == late and late.merge(early) == late
    assert Window(60, 9, 1000).merge(Window(60, 7, 1000)).remaining == 7


def test_endpoint_of_strips_division_key_and_query():
    assert endpoint_of("/api/v1/123/crm/Accounts(guid'0b')") == "crm/Accounts"
    assert endpoint_of("/api/v1/current/Me") == "current/Me"


def test_waits_for_the_reset_instead_of_sending_into_a_429():
    clock = ManualClock(start=START)
    gov, sleeper = governor(clock, low_water=0)
    gov.observe("crm/Accounts", 200, headers(1))
    gov.acquire("crm/Accounts")  # the last call of the minute
    assert sleeper.waits == []
    gov.acquire("crm/Accounts")  # none left: wait for the reset (+ skew margin)
    assert sleeper.waits == [pytest.approx(41.0)]
    assert clock.time() * 1000 >= MINUTE0


def test_counts_down_between_answers():
    clock = ManualClock(start=START)
    gov, sleeper = governor(clock, low_water=0)
    gov.observe("x", 200, headers(3))
    for _ in range(3):
        gov.acquire("x")
    assert sleeper.waits == []
    gov.acquire("x")
    assert len(sleeper.waits) == 1


def test_a_429_with_only_minutely_headers_blocks_until_reset():
    clock = ManualClock(start=START)
    gov, sleeper = governor(clock)
    gov.observe("x", 200, headers(40))
    gov.observe("x", 429, headers(0, day_remaining=None))
    assert gov.day is not None and gov.day.remaining == 4000  # the daily window is unknown in a 429, not zero
    gov.acquire("x")
    assert sleeper.waits and clock.time() * 1000 >= MINUTE0


def test_daily_exhaustion_stops_with_the_resume_time():
    clock = ManualClock(start=START)
    gov, _ = governor(clock)
    gov.observe("x", 429, headers(None, day_remaining=0))
    with pytest.raises(
        DailyLimitReachedError, match=r"daily limit reached for Exact division 123, resumes at 00:00 UTC"
    ):
        gov.acquire("x")


def test_error_budget_per_endpoint():
    clock = ManualClock(start=START)
    gov, _ = governor(clock, max_errors_per_hour=9)
    for _ in range(9):
        gov.acquire("crm/Accounts")
        gov.observe("crm/Accounts", 404, {})
    gov.acquire("logistics/Items")  # another endpoint is unaffected
    with pytest.raises(ErrorBudgetExhaustedError, match="crm/Accounts"):
        gov.acquire("crm/Accounts")
    clock.advance(3601)
    gov.acquire("crm/Accounts")


def test_processes_share_a_low_budget_through_the_database(sqlite_db):
    clock = ManualClock(start=START)
    one, _ = governor(clock, db=sqlite_db, low_water=10)
    two, sleeper_two = governor(clock, db=sqlite_db, low_water=10)
    one.observe("x", 200, headers(5))
    one.persist()
    for _ in range(5):  # "process" two has never seen a header, yet it counts down the shared row
        two.acquire("x")
    assert sleeper_two.waits == []
    two.acquire("x")
    assert len(sleeper_two.waits) == 1


def test_plenty_of_budget_costs_no_database_write(sqlite_db):
    clock = ManualClock(start=START)
    gov, _ = governor(clock, db=sqlite_db, persist_interval=1e9)
    gov.observe("x", 200, headers(59))
    gov.acquire("x")  # the first call loads what other processes know (one read)
    statements: list[str] = []
    event.listen(sqlite_db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for _ in range(20):
        gov.acquire("x")
        gov.observe("x", 200, headers(58))
    assert statements == []


def test_calls_in_flight_are_not_yet_in_the_servers_count():
    clock = ManualClock(start=START)
    gov, _ = governor(clock)
    for _ in range(4):  # four threads send before anything is known
        gov.acquire("x")
    gov.observe("x", 200, headers(57))  # the server had counted only the first of them
    assert gov.minute is not None and gov.minute.remaining == 54
    gov.abandon()  # one of the others failed in transport
    gov.observe("x", 200, headers(56))
    assert gov.minute.remaining == 54


def test_a_new_window_starts_without_the_calls_still_in_flight():
    clock = ManualClock(start=START)
    gov, _ = governor(clock, low_water=0)
    gov.observe("x", 200, headers(30))
    gov.acquire("x")
    gov.acquire("x")
    clock.advance(45)  # past the reset: the two calls may be counted in the new minute
    gov.acquire("x")
    assert gov.minute == Window(60, 57, MINUTE0 + 60_000)


def test_when_low_every_answer_is_shared_with_the_other_processes(sqlite_db):
    clock = ManualClock(start=START)
    one, _ = governor(clock, db=sqlite_db, low_water=10)
    two, sleeper_two = governor(clock, db=sqlite_db, low_water=10)
    one.observe("x", 200, headers(8))
    two.observe("x", 200, headers(9))  # "process" two saw an older answer
    one.observe("x", 200, headers(2))  # the server's count fell (calls by others): shared at once
    two.acquire("x")
    two.acquire("x")
    assert sleeper_two.waits == []
    two.acquire("x")
    assert len(sleeper_two.waits) == 1
