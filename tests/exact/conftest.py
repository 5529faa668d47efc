"""Fixtures for the Exact client tests: a stored Exact connection, seeded tokens, a manual clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ml_connector.app import App
from ml_connector.exact.oauth import TokenPair
from ml_connector.exact.tokens import store_pair
from ml_connector.sandbox_kit.clock import ManualClock, utc_datetime
from ml_connector.secrets import secret
from ml_connector.store.connections import add_connection
from ml_connector.store.models import ConnectionKind, OAuthToken

BASE_URL = "https://exact.test"
DIVISION = 123456
START = 1_790_000_000.0  # a fixed moment, so that day boundaries are predictable


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=START)


@pytest.fixture
def conn_id(app: App) -> int:
    with app.db.session() as session:
        conn = add_connection(
            session,
            app.vault,
            name="exact",
            kind=ConnectionKind.EXACT,
            credentials={"client_secret": "client-secret-value", "webhook_secret": "webhook-secret-value"},
            base_url=BASE_URL,
            division=DIVISION,
            settings={"client_id": "client-id-1", "redirect_uri": "https://app.test/callback"},
        )
        return conn.id


def seed_tokens(
    app: App, conn_id: int, access: str, refresh: str, issued: datetime, expires_in: int = 600
) -> None:
    with app.db.session() as session:
        row = session.get(OAuthToken, conn_id) or OAuthToken(
            connection_id=conn_id, token_calls_today=0, version=0
        )
        session.add(row)
        store_pair(row, app.vault, TokenPair(secret(access), secret(refresh), expires_in), issued)
        row.last_token_call_at = issued


def stored_tokens(app: App, conn_id: int) -> tuple[str, str, OAuthToken]:
    with app.db.session() as session:
        row = session.get(OAuthToken, conn_id)
        assert row is not None and row.access_token_ciphertext and row.refresh_token_ciphertext
        access = app.vault.decrypt(row.access_token_ciphertext, "access").get_secret_value()
        refresh = app.vault.decrypt(row.refresh_token_ciphertext, "refresh").get_secret_value()
        return access, refresh, row


@pytest.fixture
def tokens_seeded(app: App, conn_id: int, clock: ManualClock) -> datetime:
    issued = utc_datetime(clock)
    seed_tokens(app, conn_id, "access-0", "refresh-0", issued)
    return issued


def advance_to_refresh_window(clock: ManualClock, issued: datetime) -> None:
    """Move the clock into the token's last 30 s (past the 570 s rule)."""
    target = issued + timedelta(seconds=580)
    clock.advance(target.timestamp() - clock.time())
