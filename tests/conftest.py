"""Fixtures shared by every test area: databases (SQLite and the real PostgreSQL), vault, app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ml_connector.app import App, open_app
from ml_connector.config import load_settings
from ml_connector.store import migrate
from ml_connector.store.db import Database
from ml_connector.vault import KeySource, Vault

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("ML_CONNECTOR_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_unavailable_reason(url: str) -> str | None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {make_url(url).render_as_string()} is not reachable: {type(exc).__name__}"
    return None


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the user's real config, data dir or key."""
    for name in list(os.environ):
        if name.startswith("ML_CONNECTOR_") and name != "ML_CONNECTOR_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def postgres_db() -> Iterator[Database]:
    """A migrated database in a fresh schema of the real PostgreSQL; skipped (or failed under CI) if down."""
    url = postgres_url()
    reason = _postgres_unavailable_reason(url)
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must prove the PostgreSQL path (start it, see .ci/run)")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(scoped.render_as_string(hide_password=False))
    migrate.upgrade(db)
    yield db
    db.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Database:
    name = "sqlite_db" if request.param == "sqlite" else "postgres_db"
    database: Database = request.getfixturevalue(name)
    return database


@pytest.fixture
def vault() -> Vault:
    return Vault([Fernet.generate_key()], KeySource("test", None))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    settings = load_settings(
        None, data_dir=tmp_path / "data", secret_key=SecretStr(Fernet.generate_key().decode())
    )
    application = open_app(settings)
    yield application
    application.close()
