"""Per-connection schedules: a cron expression or an interval, and when a poll is due.

`Connection.settings["schedule"]` is the user's cadence ("*/15 * * * *", "15m", "90s", "2h", or
seconds as a number; default 15 minutes). While the connection's webhooks are healthy, polling is a
reconciliation only, at `settings["reconcile_schedule"]` (default hourly). The time of the last
run is kept per connection (as the `_schedule` cursor), so a schedule missed during downtime runs
once when the process is back, not once per missed slot, and several workers start it only once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from sqlalchemy import update
from sqlalchemy.orm import Session

from ml_connector.engine.upsert import insert_ignoring_conflict
from ml_connector.store.models import SyncCursor

SCHEDULE_STREAM = "_schedule"
DEFAULT_SCHEDULE = "15m"
DEFAULT_RECONCILE = "1h"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


class ScheduleError(ValueError):
    """A schedule setting that is neither a cron expression nor an interval."""


@dataclass(frozen=True)
class Schedule:
    text: str
    interval: timedelta | None  # None: a cron expression

    @classmethod
    def parse(cls, value: Any, where: str) -> Schedule:
        text = str(value).strip()
        match = _INTERVAL.match(text)
        if match:
            seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
            if seconds <= 0:
                raise ScheduleError(f"{where}: interval '{text}' must be positive")
            return cls(text, timedelta(seconds=seconds))
        if croniter.is_valid(text):
            return cls(text, None)
        raise ScheduleError(
            f"{where}: '{text}' is neither a cron expression (e.g. '*/15 * * * *') "
            "nor an interval (e.g. '90s', '15m', '2h', '1d')"
        )

    def next_after(self, moment: datetime) -> datetime:
        if self.interval is not None:
            return moment + self.interval
        following: datetime = croniter(self.text, moment).get_next(datetime)
        return following

    def due(self, last_run: datetime | None, now: datetime) -> bool:
        return last_run is None or self.next_after(last_run) <= now


def schedules_of(name: str, settings: dict[str, Any]) -> tuple[Schedule, Schedule]:
    """The connection's polling schedule and its reconciliation schedule (used while webhooks work)."""
    where = f"connection '{name}'"
    primary = Schedule.parse(settings.get("schedule", DEFAULT_SCHEDULE), f"{where} setting 'schedule'")
    reconcile = Schedule.parse(
        settings.get("reconcile_schedule", DEFAULT_RECONCILE), f"{where} setting 'reconcile_schedule'"
    )
    return primary, reconcile


def last_run(session: Session, connection_id: int) -> datetime | None:
    row = session.get(SyncCursor, (connection_id, SCHEDULE_STREAM))
    return datetime.fromisoformat(row.value) if row and row.value else None


def claim_run(session: Session, connection_id: int, seen: datetime | None, now: datetime) -> bool:
    """Record `now` as the last run if it is still `seen` (compare-and-set): one claimant wins."""
    if seen is None:
        statement = insert_ignoring_conflict(session, SyncCursor, ["connection_id", "stream"])
        values = {"connection_id": connection_id, "stream": SCHEDULE_STREAM, "value": now.isoformat()}
        inserted = session.scalar(
            statement.values(**values, updated_at=now).returning(SyncCursor.connection_id)
        )
        return inserted is not None
    result = session.execute(
        update(SyncCursor)
        .where(
            SyncCursor.connection_id == connection_id,
            SyncCursor.stream == SCHEDULE_STREAM,
            SyncCursor.value == seen.isoformat(),
        )
        .values(value=now.isoformat(), updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
