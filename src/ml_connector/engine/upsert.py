"""INSERT .. ON CONFLICT DO NOTHING for the session's database (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflict(session: Session, table: Any, unique: list[str]) -> Any:
    """An INSERT statement on `table` that does nothing when a row with the same `unique` columns exists.

    Add `.values(...)` and `.returning(...)`: the returned row is absent when nothing was inserted.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=unique)
