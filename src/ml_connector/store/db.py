"""Engine and session set-up for SQLite (WAL, foreign keys) and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN IMMEDIATE can be issued below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock at BEGIN: the SQLite equivalent of SELECT .. FOR UPDATE.
        mode = "IMMEDIATE" if conn.get_execution_options().get("write_lock") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})
        # Many-row INSERTs as multi-row VALUES statements, as SQLAlchemy already does on PostgreSQL: the
        # driver's executemany lets go of the GIL for every row, and in a busy process getting it back
        # costs more than writing the row.
        engine.dialect.use_insertmanyvalues_wo_returning = True
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


class Database:
    """One engine and its sessions.

    On SQLite every unit of work takes the write lock at BEGIN (IMMEDIATE): a transaction that reads and
    then writes would otherwise fail at once with "database is locked" when another connection wrote in
    between (WAL snapshots cannot be upgraded), whereas waiting for the lock at BEGIN uses the busy timeout.
    The threads of one process also queue on a lock of their own first: SQLite's busy handler polls in
    sleeps of up to 100 ms, so a thread waiting on it would start late after a short transaction of
    another thread; the busy timeout still orders the writes of other processes.
    Pure reads use `read_session()`, which never blocks writers.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(write_lock=True), expire_on_commit=False)
        self._open_units = threading.local()
        self._writer_turn = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work, committed on success and rolled back on error."""
        with self._write_unit() as session:
            yield session

    @contextmanager
    def locked_session(self) -> Iterator[Session]:
        """A unit of work that reads rows in order to change them: on PostgreSQL lock what you read with
        `.with_for_update()`; on SQLite every session already holds the write lock."""
        with self._write_unit() as session:
            yield session

    @contextmanager
    def _write_unit(self) -> Iterator[Session]:
        if self.is_sqlite:
            if getattr(self._open_units, "active", False):
                # the inner BEGIN IMMEDIATE would wait for the lock its own thread holds, then fail
                raise RuntimeError("a database session was opened inside another one in the same thread")
            if not self._writer_turn.acquire(timeout=_SQLITE_BUSY_TIMEOUT_MS / 1000):
                raise TimeoutError("database is locked: another thread held the write lock too long")
            self._open_units.active = True
            try:
                with self._writes.begin() as session:
                    yield session
            finally:
                self._open_units.active = False
                self._writer_turn.release()
        else:
            with self._writes.begin() as session:
                yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only unit of work (no write lock on SQLite)."""
        with self._reads.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
