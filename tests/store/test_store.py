"""The state store on SQLite and on the real PostgreSQL: migrations, constraints, locking, time zones."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from ml_connector.store import migrate
from ml_connector.store.connections import (
    NotFoundError,
    add_connection,
    get_connection,
    get_credential,
    list_connections,
    remove_connection,
    set_credential,
)
from ml_connector.store.db import Database
from ml_connector.store.models import (
    Base,
    CachedRecord,
    Connection,
    ConnectionKind,
    ConnectionStatus,
    Credential,
    LedgerEntry,
    LedgerState,
)
from ml_connector.vault import Vault

NOW = datetime(2026, 11, 23, tzinfo=UTC)
EXPECTED_TABLES = {
    "connections",
    "credentials",
    "oauth_tokens",
    "rate_budgets",
    "ledger",
    "audit_events",
    "sync_cursors",
    "webhook_inbox",
    "mappings",
    "cached_records",
}


def _woo(session, vault: Vault, name: str = "shop") -> Connection:
    return add_connection(
        session,
        vault,
        name=name,
        kind=ConnectionKind.WOOCOMMERCE,
        base_url="https://shop.example",
        credentials={"consumer_key": "ck_0123456789", "consumer_secret": "cs_0123456789"},
    )


def test_migrations_create_every_table_at_head(db: Database) -> None:
    assert set(inspect(db.engine).get_table_names()) >= EXPECTED_TABLES
    assert migrate.current_revision(db) == migrate.head_revision()


def test_migrations_downgrade_and_upgrade_again(db: Database) -> None:
    migrate.downgrade(db, "base")
    assert not EXPECTED_TABLES & set(inspect(db.engine).get_table_names())
    migrate.upgrade(db)
    assert set(inspect(db.engine).get_table_names()) >= EXPECTED_TABLES


def test_the_models_and_the_migrations_describe_the_same_schema(db: Database) -> None:
    with db.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == []


def test_migration_0002_indexes_the_emails_of_cached_accounts(db: Database) -> None:
    migrate.downgrade(db, "0001")
    with db.session() as session:
        session.add(Connection(name="books", kind=ConnectionKind.EXACT, division=1))
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cached_records (connection_id, entity, remote_id, code, data, updated_at) "
                "VALUES (1, 'Accounts', 'a1', '7', :account, :now), (1, 'Items', 'i1', 'X', :item, :now)"
            ),
            {"account": '{"ID": "a1", "Email": " Ann@Example.COM "}', "item": '{"ID": "i1"}', "now": NOW},
        )
    migrate.upgrade(db)
    with db.session() as session:
        emails = dict(session.execute(select(CachedRecord.remote_id, CachedRecord.email)).all())
    assert emails == {"a1": "ann@example.com", "i1": None}


def test_connection_round_trip_with_encrypted_credentials(db: Database, vault: Vault) -> None:
    with db.session() as session:
        _woo(session, vault)
    with db.session() as session:
        conn = get_connection(session, "shop")
        assert conn.kind is ConnectionKind.WOOCOMMERCE
        assert conn.status is ConnectionStatus.ACTIVE
        assert get_credential(session, vault, conn, "consumer_secret").get_secret_value() == "cs_0123456789"
        stored = session.scalars(select(Credential.value_ciphertext)).all()
        assert stored and all(value.startswith(f"v1:{vault.primary_key_id}:") for value in stored)
        assert not any("0123456789" in value for value in stored)


def test_set_credential_replaces_the_value(db: Database, vault: Vault) -> None:
    with db.session() as session:
        conn = _woo(session, vault)
        set_credential(session, vault, conn, "consumer_secret", "cs_replaced_value")
    with db.session() as session:
        conn = get_connection(session, "shop")
        assert (
            get_credential(session, vault, conn, "consumer_secret").get_secret_value() == "cs_replaced_value"
        )
        assert len(session.scalars(select(Credential)).all()) == 2


def test_duplicate_connection_name_is_refused_with_the_fix(db: Database, vault: Vault) -> None:
    with db.session() as session:
        _woo(session, vault)
    with pytest.raises(ValueError, match="already exists"), db.session() as session:
        _woo(session, vault)


def test_unknown_connection_names_the_list_command(db: Database) -> None:
    with pytest.raises(NotFoundError, match="connections list"), db.session() as session:
        get_connection(session, "missing")


def test_removing_a_connection_cascades_to_credentials(db: Database, vault: Vault) -> None:
    with db.session() as session:
        _woo(session, vault)
        _woo(session, vault, "other")
    with db.session() as session:
        remove_connection(session, "shop")
    with db.session() as session:
        assert [c.name for c in list_connections(session)] == ["other"]
        assert len(session.scalars(select(Credential)).all()) == 2


def test_ledger_claim_is_unique_per_source_record_and_target_entity(db: Database, vault: Vault) -> None:
    with db.session() as session:
        source = _woo(session, vault)
        target = add_connection(session, vault, name="exact", kind=ConnectionKind.EXACT, credentials={})
        ids = (source.id, target.id)

    def entry() -> LedgerEntry:
        return LedgerEntry(
            source_connection_id=ids[0],
            source_type="order",
            source_id="42",
            target_connection_id=ids[1],
            target_entity="SalesInvoices",
            external_ref="WC-shop-42",
        )

    with db.session() as session:
        session.add(entry())
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(entry())
    with db.session() as session:
        row = session.scalars(select(LedgerEntry)).one()
        assert row.state is LedgerState.PENDING
        assert row.attempts == 0


def test_datetimes_come_back_timezone_aware_utc(db: Database, vault: Vault) -> None:
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC) + timedelta(microseconds=5)
    with db.session() as session:
        conn = _woo(session, vault)
        conn.created_at = moment
    with db.session() as session:
        loaded = get_connection(session, "shop").created_at
    assert loaded == moment
    assert loaded.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db: Database, vault: Vault) -> None:
    with db.session() as session:
        conn = _woo(session, vault)
        conn.created_at = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
        with pytest.raises(StatementError, match="naive datetimes"):
            session.flush()
        session.rollback()


def test_locked_session_serialises_read_modify_write(db: Database, vault: Vault) -> None:
    """Two writers increment the same row; with the lock no increment is lost."""
    with db.session() as session:
        _woo(session, vault)

    def bump() -> None:
        for _ in range(10):
            with db.locked_session() as session:
                conn = session.scalars(
                    select(Connection).where(Connection.name == "shop").with_for_update()
                ).one()
                current = int(conn.settings.get("n", 0))
                time.sleep(0.002)  # widen the window a lost update would need
                conn.settings = {"n": current + 1}

    threads = [threading.Thread(target=bump) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.session() as session:
        assert get_connection(session, "shop").settings == {"n": 20}


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
