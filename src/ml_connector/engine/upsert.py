"""INSERT .. ON CONFLICT for the session's database (SQLite or PostgreSQL)."""

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


def upsert(session: Session, table: Any, unique: list[str], update: list[str]) -> Any:
    """An INSERT on `table` that, when a row with the same `unique` columns exists, sets its `update`
    columns to the new values instead. Execute it with a list of rows (one executemany)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=unique, set_={column: statement.excluded[column] for column in update}
    )
